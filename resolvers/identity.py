"""Queries and mutations of identity: `me` and the login flows."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from identity import login, login_codes, tokens
from resolvers.payload_errors import converter
from resolvers.transaction import in_transaction
from schema.identity import (
    AuthError,
    AuthErrorCode,
    AuthTokens,
    LoginPayload,
    LoginWithCodeInput,
    LoginWithPasswordInput,
    LoginWithWechatInput,
    LogoutPayload,
    Me,
    RefreshTokenInput,
    RequestLoginCodeInput,
    RequestLoginCodePayload,
    SetPasswordInput,
    SetPasswordPayload,
)

log = structlog.get_logger(__name__)
errors = converter(AuthError, AuthErrorCode)


async def me(info: Info) -> Me | None:
    viewer = await info.context.viewer()
    return None if viewer is None else Me(viewer=viewer)


async def request_login_code(info: Info, input: RequestLoginCodeInput) -> RequestLoginCodePayload:
    ctx = info.context

    async def action(session: AsyncSession):
        return await login_codes.request_login_code(session, input.phone, ctx.settings, ctx.now())

    request, errs = await in_transaction(info, action)
    if request is not None and request.code is not None:
        # after the commit, so that a slow or failing provider neither holds the
        # transaction nor changes the answer (which would tell who is registered)
        try:
            await ctx.services.sms.send_login_code(request.phone, request.code, ctx.settings.otp_ttl_seconds)
        except Exception:  # the served outbox never raises; any other sender must not either
            log.exception("sms.send_failed", phone_tail=request.phone[-4:])
    return RequestLoginCodePayload(sent=request is not None, errors=errors(errs))


async def _login(info: Info, flow) -> LoginPayload:
    pair, errs = await in_transaction(info, flow)
    return LoginPayload(tokens=pair and AuthTokens.from_pair(pair), errors=errors(errs))


async def login_with_code(info: Info, input: LoginWithCodeInput) -> LoginPayload:
    ctx = info.context
    return await _login(
        info,
        lambda session: login.login_with_phone_code(
            session, input.phone, input.code, ctx.settings, ctx.now()
        ),
    )


async def login_with_password(info: Info, input: LoginWithPasswordInput) -> LoginPayload:
    ctx = info.context
    return await _login(
        info,
        lambda session: login.login_with_password(
            session, input.phone, input.password, ctx.settings, ctx.now()
        ),
    )


async def login_with_wechat(info: Info, input: LoginWithWechatInput) -> LoginPayload:
    ctx = info.context
    return await _login(
        info,
        lambda session: login.login_with_wechat(
            session, ctx.services.wechat, input.code, ctx.settings, ctx.now(),
            bind_phone=input.phone, bind_code=input.sms_code,
        ),
    )


async def refresh_token(info: Info, input: RefreshTokenInput) -> LoginPayload:
    ctx = info.context
    return await _login(
        info,
        lambda session: tokens.rotate_refresh_token(
            session, input.refresh_token, ctx.settings, ctx.now()
        ),
    )


async def logout(info: Info, input: RefreshTokenInput) -> LogoutPayload:
    ctx = info.context
    ok, errs = await in_transaction(
        info, lambda session: tokens.revoke_refresh_token(session, input.refresh_token, ctx.now())
    )
    return LogoutPayload(ok=bool(ok), errors=errors(errs))


async def set_password(info: Info, input: SetPasswordInput) -> SetPasswordPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        return await login.set_password(session, viewer.user_id, input.current_password, input.new_password,
                                        ctx.settings, ctx.now())

    pair, errs = await in_transaction(info, action)
    return SetPasswordPayload(ok=not errs, tokens=pair and AuthTokens.from_pair(pair), errors=errors(errs))
