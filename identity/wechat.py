"""WeChat mini-program login: exchange the client's `code` at `jscode2session` for an openid."""

from __future__ import annotations

import httpx
import structlog

from app.settings import Settings
from identity.errors import AuthError, AuthErrorCode

log = structlog.get_logger(__name__)

# errcodes that mean the client's code is bad rather than WeChat being unavailable
_BAD_CODE_ERRORS = {40029, 40163, 40226}


class WeChatClient:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http

    async def openid_for_code(self, code: str) -> str:
        settings = self._settings
        if not settings.wechat_app_id:
            raise AuthError(AuthErrorCode.WECHAT_UNAVAILABLE, "微信登录未配置")
        try:
            response = await self._http.get(
                settings.wechat_api_base.rstrip("/") + "/sns/jscode2session",
                params={
                    "appid": settings.wechat_app_id,
                    "secret": settings.wechat_app_secret.get_secret_value(),
                    "js_code": code,
                    "grant_type": "authorization_code",
                },
                timeout=settings.wechat_timeout_seconds,
            )
            response.raise_for_status()
            body = response.json()
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
        except (httpx.HTTPError, ValueError) as exc:
            # not str(exc): an HTTP error's text holds the URL, and the URL the app secret
            status = exc.response.status_code if isinstance(exc, httpx.HTTPStatusError) else None
            log.warning("wechat.exchange_failed", error=type(exc).__name__, status=status)
            raise AuthError(AuthErrorCode.WECHAT_UNAVAILABLE, "微信服务暂时不可用，请稍后再试") from exc
        errcode = body.get("errcode") or 0
        if errcode in _BAD_CODE_ERRORS:
            raise AuthError(AuthErrorCode.INVALID_CODE, "微信登录凭证无效，请重试", field="code")
        openid = body.get("openid")
        if errcode or not isinstance(openid, str) or not openid:
            log.warning("wechat.exchange_refused", errcode=errcode, errmsg=body.get("errmsg"))
            raise AuthError(AuthErrorCode.WECHAT_UNAVAILABLE, "微信服务暂时不可用，请稍后再试")
        return openid
