"""Sending SMS login codes. The sender is chosen by `SMS_SENDER`; a provider's sender
implements `SmsSender` and is added to `make_sms_sender`."""

from __future__ import annotations

from typing import Protocol

import structlog

from app.settings import Settings

log = structlog.get_logger(__name__)


class SmsSender(Protocol):
    async def send_login_code(self, phone: str, code: str, ttl_seconds: int) -> None: ...


class LogSmsSender:
    """Development sender: writes the code to the log instead of a phone."""

    async def send_login_code(self, phone: str, code: str, ttl_seconds: int) -> None:
        log.warning("sms.login_code", phone=phone, code=code, valid_minutes=ttl_seconds // 60)


def make_sms_sender(settings: Settings) -> SmsSender:
    if settings.sms_sender == "log":
        return LogSmsSender()
    raise ValueError(f"unknown SMS_SENDER {settings.sms_sender!r}")
