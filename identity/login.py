"""The login flows. Each returns a token pair for an active user or raises `AuthError`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from identity.errors import AuthError, AuthErrorCode
from identity.login_codes import (
    consume_login_code,
    lock_phone,
    raise_if_locked,
    record_failure,
    require_phone,
)
from identity.passwords import hash_new_password, verify_password
from identity.tokens import TokenPair, hold_user, issue_token_pair, sign_out_everywhere
from identity.viewer import ADMIN_ROLES
from identity.wechat import WeChatClient
from models import Appointment, AuthFailure, User, in_force
from models.grid import HouseholdMembership, Resident


async def login_with_phone_code(
    session: AsyncSession, phone: str, code: str, settings: Settings, now: datetime
) -> TokenPair:
    phone = await consume_login_code(session, phone, code, settings, now)
    user = await user_for_phone(session, phone)
    await _refuse_text_message_alone(session, user, now)
    return await _start_session(session, user, settings, now, proven={"phone": phone})


async def _refuse_text_message_alone(session: AsyncSession, user: User, now: datetime) -> None:
    """An admin with a password logs in with it: admins see full ID numbers, and a text
    message alone (a swapped SIM) must not open that, nor bind a WeChat to them."""
    if user.password_hash is not None and await session.scalar(
        select(Appointment.id).where(
            Appointment.user_id == user.id, Appointment.role.in_(ADMIN_ROLES), in_force(Appointment, now)
        ).limit(1)
    ):
        raise AuthError(AuthErrorCode.PASSWORD_REQUIRED, "管理员请用密码登录")


async def login_with_password(
    session: AsyncSession, phone: str, password: str, settings: Settings, now: datetime
) -> TokenPair:
    """Wrong passwords are counted per phone like wrong codes; too many lock the phone
    out of password login for a while (and stop spending a hash on each guess)."""
    phone = require_phone(phone)
    await lock_phone(session, phone)
    await raise_if_locked(session, phone, "password", settings, now)
    user = await session.scalar(select(User).where(User.phone == phone))
    if not verify_password(user.password_hash if user else None, password):
        raise await record_failure(
            session, phone, "password", settings, now,
            AuthError(AuthErrorCode.INVALID_CREDENTIALS, "手机号或密码不正确"),
        )
    proven = {"phone": phone, "password_hash": user.password_hash}
    return await _start_session(session, user, settings, now, proven=proven)


async def login_with_wechat(
    session: AsyncSession,
    wechat: WeChatClient,
    code: str,
    settings: Settings,
    now: datetime,
    bind_phone: str | None = None,
    bind_code: str | None = None,
) -> TokenPair:
    """Log in by openid; an openid seen for the first time is bound to the user who proves
    their phone with an SMS code in the same call."""
    openid = await wechat.openid_for_code(code)
    user = await session.scalar(select(User).where(User.wechat_openid == openid))
    if user is None:
        if not (bind_phone and bind_code):
            raise AuthError(AuthErrorCode.WECHAT_NOT_BOUND, "首次微信登录，请验证手机号以绑定账号")
        phone = await consume_login_code(session, bind_phone, bind_code, settings, now)
        user = await user_for_phone(session, phone)
        await _refuse_text_message_alone(session, user, now)
        return await _start_session(session, user, settings, now, proven={"phone": phone}, bind_openid=openid)
    return await _start_session(session, user, settings, now, proven={"wechat_openid": openid})


async def user_for_phone(session: AsyncSession, phone: str) -> User:
    """The user with this phone; a resident logging in for the first time gets a user linked
    to them, provided exactly one resident (with a household) has that phone."""
    user = await session.scalar(select(User).where(User.phone == phone))
    if user is not None:
        return user
    residents = (
        await session.scalars(
            select(Resident)
            .join(HouseholdMembership, HouseholdMembership.resident_id == Resident.id)
            .where(Resident.phone == phone, HouseholdMembership.valid_to.is_(None))
            .where(~select(User.id).where(User.resident_id == Resident.id).exists())
            .limit(2)
        )
    ).all()
    if len(residents) != 1:
        raise AuthError(AuthErrorCode.NOT_REGISTERED, "该手机号未登记，请联系村里的管理员")
    user = User(phone=phone, display_name=residents[0].name, resident_id=residents[0].id)
    session.add(user)
    await session.flush()
    return user


async def _start_session(
    session: AsyncSession, user: User, settings: Settings, now: datetime, *, proven: dict,
    bind_openid: str | None = None,
) -> TokenPair:
    """Tokens for the user, who is held and re-read first: a password reset, phone change or
    WeChat unbinding that committed while this login was checking (`proven`: what it
    checked) must end it, not leave it a session that sign-out never saw."""
    held = await hold_user(session, user.id)
    if any(getattr(held, name) != value for name, value in proven.items()):
        raise AuthError(AuthErrorCode.INVALID_CREDENTIALS, "账号的登录信息刚刚已变更，请重新登录")
    if not held.is_active:
        raise AuthError(AuthErrorCode.ACCOUNT_DISABLED, "账号已停用")
    if bind_openid is not None:
        if held.wechat_openid is not None:
            # the code is used up all the same: it was proven, and must not be tried again
            raise AuthError(AuthErrorCode.WECHAT_ALREADY_BOUND, "该手机号已绑定其他微信", keep_changes=True)
        held.wechat_openid = bind_openid
    held.last_login_at = now
    return await issue_token_pair(session, held.id, settings, now)


async def set_password(
    session: AsyncSession, user_id: int, current: str | None, new: str, settings: Settings, now: datetime
) -> TokenPair | None:
    """Set or change the viewer's own password. Changing one needs the current one (a wrong
    one counts toward the phone's password lockout) and ends every session: the caller
    continues with the returned pair. The first needs only the session, and ends none."""
    new_hash = hash_new_password(new)
    phone = await session.scalar(select(User.phone).where(User.id == user_id))
    if phone is not None:  # a login's order: the phone, then the user
        await lock_phone(session, phone)
    user = await hold_user(session, user_id)
    if user.phone not in (phone, None):  # moved meanwhile: count and lock under the number it has now
        await lock_phone(session, user.phone)
    changing = user.password_hash is not None
    if changing:
        if user.phone is not None:
            await raise_if_locked(session, user.phone, "password", settings, now)
        if not verify_password(user.password_hash, current or ""):
            refusal = AuthError(AuthErrorCode.INVALID_CREDENTIALS, "当前密码不正确", field="currentPassword")
            if user.phone is None:
                raise refusal
            raise await record_failure(session, user.phone, "password", settings, now, refusal)
    user.password_hash = new_hash
    if not changing:
        await session.flush()
        return None
    # whoever used the old password is out, this session too: the caller gets a new pair
    await sign_out_everywhere(session, user, now, "password_changed", unbind_wechat=False)
    return await issue_token_pair(session, user.id, settings, now)


async def reset_password(session: AsyncSession, raw_phone: str, new: str, now: datetime) -> User:
    """An operator's reset for someone who forgot their password: the new one takes effect
    at once, every session the user had ends and a bound WeChat is unbound (whoever knew
    the old password, or bound a WeChat, is out)."""
    phone = require_phone(raw_phone)
    new_hash = hash_new_password(new, "password")
    user = await session.scalar(select(User).where(User.phone == phone).with_for_update(key_share=True))
    if user is None:
        raise AuthError(AuthErrorCode.NOT_REGISTERED, "该手机号没有账号", field="phone")
    user.password_hash = new_hash
    await sign_out_everywhere(session, user, now, "password_reset", unbind_wechat=True)
    # the failed tries that usually come before a reset no longer lock the new password out
    await session.execute(delete(AuthFailure).where(AuthFailure.phone == phone, AuthFailure.method == "password"))
    await session.flush()
    return user
