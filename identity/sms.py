"""Sending SMS login codes. The sender is chosen by `SMS_SENDER`: `log` for development,
`aliyun` for Alibaba Cloud SMS (`off` issues no codes at all; see `login_codes`). The app sends through an `SmsOutbox`, in the background
after the request committed: the answer to `requestLoginCode` is the same, and comes as
fast, whether the phone is registered (an SMS goes out) or not (none does), and whether
the provider delivers or not. A code that was not delivered is logged and counted; the
resident asks for another after the resend interval."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote

import httpx
import structlog
from prometheus_client import Counter

from app.settings import Settings

log = structlog.get_logger(__name__)

SMS_SENT = Counter("sms_login_codes_total", "Login codes handed to the SMS provider", ["outcome"])


class SmsSender(Protocol):
    async def send_login_code(self, phone: str, code: str, ttl_seconds: int) -> None: ...


class NotDelivered(Exception):
    """The provider refused the message or could not be reached."""


class LogSmsSender:
    """Development sender: writes the code to the log instead of a phone."""

    async def send_login_code(self, phone: str, code: str, ttl_seconds: int) -> None:
        log.warning("sms.login_code", phone=phone, code=code, valid_minutes=ttl_seconds // 60)


def _percent(value: str) -> str:
    """Alibaba Cloud's percent-encoding: RFC 3986 unreserved characters stay, all else is
    %XX of its UTF-8 bytes (so a space is %20, never +)."""
    return quote(value, safe="-_.~")


def _canonical(params: dict[str, str]) -> str:
    return "&".join(f"{_percent(k)}={_percent(v)}" for k, v in sorted(params.items()))


def aliyun_signature(secret: str, params: dict[str, str], method: str = "GET") -> str:
    """Signature version 1.0 (HMAC-SHA1) of an RPC-style request's parameters."""
    to_sign = f"{method}&{_percent('/')}&{_percent(_canonical(params))}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSmsSender:
    """Alibaba Cloud SMS: `SendSms` (API version 2017-05-25) with the login-code template.
    The parameters go in a POST body, not the URL, so that neither the code nor the key
    id reaches a log line that records URLs."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http

    def request_body(self, phone: str, code: str, now: datetime) -> str:
        s = self._settings
        params = {
            "AccessKeyId": s.aliyun_sms_access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": "cn-hangzhou",
            "SignName": s.aliyun_sms_sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": s.aliyun_sms_template_code,
            "TemplateParam": json.dumps({"code": code}, separators=(",", ":")),
            "Timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        secret = s.aliyun_sms_access_key_secret.get_secret_value()
        signature = aliyun_signature(secret, params, "POST")
        return f"Signature={_percent(signature)}&{_canonical(params)}"

    async def send_login_code(self, phone: str, code: str, ttl_seconds: int) -> None:
        try:
            response = await self._http.post(
                self._settings.aliyun_sms_endpoint.rstrip("/") + "/",
                content=self.request_body(phone, code, datetime.now(UTC)),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                timeout=self._settings.sms_timeout_seconds,
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise NotDelivered(f"unreachable: {type(exc).__name__}") from exc
        try:
            body = response.json()
        except ValueError:
            raise NotDelivered(f"refused: HTTP {response.status_code}, not JSON") from None
        answer = body.get("Code") if isinstance(body, dict) else None
        if answer != "OK":
            message = body.get("Message") if isinstance(body, dict) else None
            raise NotDelivered(f"refused: HTTP {response.status_code}, {answer}: {message}")


class SmsOutbox:
    """Sends through `sender` in background tasks; `drain` waits for the ones under way
    (at shutdown, and in tests)."""

    def __init__(self, sender: SmsSender) -> None:
        self._sender = sender
        self._pending: set[asyncio.Task] = set()

    async def send_login_code(self, phone: str, code: str, ttl_seconds: int) -> None:
        task = asyncio.create_task(self._deliver(phone, code, ttl_seconds))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _deliver(self, phone: str, code: str, ttl_seconds: int) -> None:
        try:
            await self._sender.send_login_code(phone, code, ttl_seconds)
        except NotDelivered as exc:
            SMS_SENT.labels("not_delivered").inc()
            log.warning("sms.not_delivered", phone_tail=phone[-4:], reason=str(exc)[:300])
        except Exception:  # a bug in a sender must not vanish with its task
            SMS_SENT.labels("error").inc()
            log.exception("sms.send_failed", phone_tail=phone[-4:])
        else:
            SMS_SENT.labels("sent").inc()

    async def drain(self) -> None:
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)


def make_sms_sender(settings: Settings, http: httpx.AsyncClient) -> SmsSender:
    if settings.sms_sender == "aliyun":
        return AliyunSmsSender(settings, http)
    return LogSmsSender()  # with `off` no code is ever issued, so nothing reaches it
