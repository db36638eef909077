"""Queries and mutations of identity: `me` and the login flows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from grid import access
from grid.appointments import held_at
from identity import login, login_codes, tokens
from models import Appointment as AppointmentRow
from models import OrgUnit as OrgUnitRow
from models import User as UserRow
from resolvers.transaction import in_transaction
from schema.grid import Appointment, Household, Resident, User
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
)


def errors(domain_errors) -> list[AuthError]:
    return [
        AuthError(code=AuthErrorCode(e.code.value), field=e.field, message=e.message)
        for e in domain_errors
    ]


async def me(info: Info) -> Me | None:
    ctx = info.context
    viewer = await ctx.viewer()
    if viewer is None:
        return None
    async with ctx.db() as session:
        user = await session.get(UserRow, viewer.user_id)
        resident = household = None
        if viewer.resident_id is not None:
            row, membership, path = await access.get_resident(session, viewer, viewer.resident_id)
            resident = Resident.from_row(row, path, membership)
        if viewer.household_id is not None:
            household = Household.from_row(
                *await access.get_household(session, viewer, viewer.household_id)
            )
        posts = (
            await session.execute(
                select(AppointmentRow, OrgUnitRow.path)
                .join(OrgUnitRow, OrgUnitRow.id == AppointmentRow.unit_id)
                .where(AppointmentRow.user_id == viewer.user_id, held_at(ctx.now()))
                .order_by(AppointmentRow.id)
            )
        ).all()
    return Me(
        user=User.from_row(user, None),
        resident=resident,
        household=household,
        appointments=[Appointment.from_row(a, path) for a, path in posts],
    )


async def request_login_code(info: Info, input: RequestLoginCodeInput) -> RequestLoginCodePayload:
    ctx = info.context

    async def action(session: AsyncSession):
        return await login_codes.request_login_code(
            session, input.phone, ctx.settings, ctx.services.sms, ctx.now()
        )

    phone, errs = await in_transaction(info, action)
    return RequestLoginCodePayload(sent=phone is not None, errors=errors(errs))


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
