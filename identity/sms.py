"""Sending SMS login codes. The sender is chosen by `SMS_SENDER`: `log` for development,
`aliyun` for Alibaba Cloud SMS. A sender that cannot deliver raises an `AuthError`; the
login code it was given is then rolled back with the request, so nothing is used up."""

from __future__ import annotations

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

from app.settings import Settings
from identity.errors import AuthError, AuthErrorCode

log = structlog.get_logger(__name__)


class SmsSender(Protocol):
    async def send_login_code(self, phone: str, code: str, ttl_seconds: int) -> None: ...


class LogSmsSender:
    """Development sender: writes the code to the log instead of a phone."""

    async def send_login_code(self, phone: str, code: str, ttl_seconds: int) -> None:
        log.warning("sms.login_code", phone=phone, code=code, valid_minutes=ttl_seconds // 60)


def _percent(value: str) -> str:
    """Alibaba Cloud's percent-encoding: RFC 3986 unreserved characters stay, all else is
    %XX of its UTF-8 bytes (so a space is %20, never +)."""
    return quote(value, safe="-_.~")


def aliyun_signature(secret: str, params: dict[str, str], method: str = "GET") -> str:
    """Signature version 1.0 (HMAC-SHA1) of an RPC-style request's parameters."""
    canonical = "&".join(f"{_percent(k)}={_percent(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{_percent('/')}&{_percent(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# Answer codes that are about this phone, not about the service being unavailable.
_PHONE_REFUSED = {"isv.MOBILE_NUMBER_ILLEGAL"}
_PHONE_RATE_LIMITED = {"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL"}


class AliyunSmsSender:
    """Alibaba Cloud SMS: `SendSms` (API version 2017-05-25) with the login-code template."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http

    def request_params(self, phone: str, code: str, now: datetime) -> dict[str, str]:
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
        return {"Signature": aliyun_signature(secret, params), **params}

    async def send_login_code(self, phone: str, code: str, ttl_seconds: int) -> None:
        params = self.request_params(phone, code, datetime.now(UTC))
        try:
            response = await self._http.get(
                self._settings.aliyun_sms_endpoint.rstrip("/") + "/",
                params=params, timeout=self._settings.sms_timeout_seconds,
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("sms.send_failed", error=str(exc))
            raise _unavailable() from exc
        answer = body.get("Code") if isinstance(body, dict) else None
        if answer == "OK":
            log.info("sms.sent", biz_id=body.get("BizId"))
            return
        log.warning("sms.refused", status=response.status_code, code=answer,
                    message=body.get("Message") if isinstance(body, dict) else None)
        if answer in _PHONE_RATE_LIMITED:
            raise AuthError(AuthErrorCode.RATE_LIMITED, "该号码短信发送太频繁，请稍后再试", field="phone")
        if answer in _PHONE_REFUSED:
            raise AuthError(AuthErrorCode.INVALID_PHONE, "该号码无法接收短信", field="phone")
        raise _unavailable()


def _unavailable() -> AuthError:
    return AuthError(AuthErrorCode.SMS_UNAVAILABLE, "短信服务暂时不可用，请稍后再试")


def make_sms_sender(settings: Settings, http: httpx.AsyncClient) -> SmsSender:
    if settings.sms_sender == "aliyun":
        return AliyunSmsSender(settings, http)
    return LogSmsSender()
