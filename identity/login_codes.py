"""One-time SMS login codes: hashed, valid a few minutes; wrong codes for a phone are
counted (whichever code they were meant for) and too many lock the phone out; requests are
rate-limited per phone. Passwords share the failure counting (`throttle`).

Every step for one phone runs under a transaction-level advisory lock on that phone, so
concurrent requests cannot slip past the counters.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from identity.errors import AuthError, AuthErrorCode
from identity.phones import normalize_phone
from models import AuthFailure, LoginCode, Resident, User

_LOCK_NAMESPACE = 7301  # advisory-lock namespace for login codes


def require_phone(raw: str, field: str = "phone") -> str:
    phone = normalize_phone(raw)
    if phone is None:
        raise AuthError(AuthErrorCode.INVALID_PHONE, "请输入正确的11位手机号", field=field)
    return phone


def _require_sms(settings: Settings) -> None:
    if settings.sms_sender == "off":
        # also where a first WeChat login would prove its phone: that needs SMS too
        raise AuthError(AuthErrorCode.SMS_UNAVAILABLE, "本系统未开通短信验证码，无法用手机验证码登录或验证手机号")


def _code_hash(settings: Settings, phone: str, code: str) -> bytes:
    key = settings.jwt_secret.get_secret_value().encode()
    return hmac.new(key, f"login-code:{phone}:{code}".encode(), hashlib.sha256).digest()


async def lock_phone(session: AsyncSession, phone: str) -> None:
    await session.execute(select(func.pg_advisory_xact_lock(_LOCK_NAMESPACE, func.hashtext(phone))))


async def raise_if_locked(
    session: AsyncSession, phone: str, method: str, settings: Settings, now: datetime
) -> None:
    """Locked: `otp_max_attempts` failures of this method within the lockout window."""
    since = now - timedelta(seconds=settings.otp_lockout_seconds)
    failures = await session.scalar(
        select(func.count()).select_from(AuthFailure).where(
            AuthFailure.phone == phone, AuthFailure.method == method, AuthFailure.failed_at > since
        )
    )
    if failures >= settings.otp_max_attempts:
        minutes = max(1, settings.otp_lockout_seconds // 60)
        raise AuthError(
            AuthErrorCode.LOCKED_OUT, f"错误次数过多，请{minutes}分钟后再试", field="phone"
        )


async def record_failure(
    session: AsyncSession, phone: str, method: str, settings: Settings, now: datetime,
    refusal: AuthError,
) -> AuthError:
    """Count a failure (kept even though the call fails); the last allowed one locks."""
    session.add(AuthFailure(phone=phone, method=method, failed_at=now))
    await session.flush()
    refusal.keep_changes = True
    try:
        await raise_if_locked(session, phone, method, settings, now)
    except AuthError as locked:
        locked.keep_changes = True
        return locked
    return refusal


@dataclass(frozen=True)
class CodeToSend:
    phone: str
    code: str | None  # None: the phone is not registered, nothing is sent


async def request_login_code(
    session: AsyncSession, raw_phone: str, settings: Settings, now: datetime
) -> CodeToSend:
    """A new code for a phone, to be sent once this transaction commits, and only if the
    phone is registered. Unregistered phones get the same answer and the same limits, but
    no SMS, so the answer does not reveal who is registered."""
    _require_sms(settings)
    phone = require_phone(raw_phone)
    await lock_phone(session, phone)
    await raise_if_locked(session, phone, "code", settings, now)

    last_hour = now - timedelta(hours=1)
    latest, count = (
        await session.execute(
            select(func.max(LoginCode.created_at), func.count()).where(
                LoginCode.phone == phone, LoginCode.created_at > last_hour
            )
        )
    ).one()
    if latest is not None and now - latest < timedelta(seconds=settings.otp_resend_interval_seconds):
        raise AuthError(AuthErrorCode.RATE_LIMITED, "验证码发送太频繁，请稍后再试", field="phone")
    if count >= settings.otp_max_per_hour:
        raise AuthError(AuthErrorCode.RATE_LIMITED, "本小时验证码次数已用完，请稍后再试", field="phone")

    await session.execute(
        update(LoginCode)
        .where(LoginCode.phone == phone, LoginCode.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    code = f"{secrets.randbelow(10**6):06d}"
    session.add(
        LoginCode(
            phone=phone,
            code_hash=_code_hash(settings, phone, code),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.otp_ttl_seconds),
        )
    )
    await session.flush()
    return CodeToSend(phone, code if await _is_registered(session, phone) else None)


async def _is_registered(session: AsyncSession, phone: str) -> bool:
    return bool(
        await session.scalar(
            select(
                or_(
                    exists().where(User.phone == phone),
                    exists().where(Resident.phone == phone),
                )
            )
        )
    )


async def consume_login_code(
    session: AsyncSession, raw_phone: str, code: str, settings: Settings, now: datetime
) -> str:
    """Check a code; on success it is used up. A wrong code counts toward the phone's
    lockout, and that count is committed even though the call fails."""
    _require_sms(settings)
    phone = require_phone(raw_phone)
    await lock_phone(session, phone)
    await raise_if_locked(session, phone, "code", settings, now)
    row = await session.scalar(
        select(LoginCode)
        .where(LoginCode.phone == phone, LoginCode.consumed_at.is_(None))
        .order_by(LoginCode.created_at.desc())
        .limit(1)
    )
    if row is None:
        raise AuthError(AuthErrorCode.INVALID_CODE, "验证码不正确，请重新获取", field="code")
    if row.expires_at <= now:
        raise AuthError(AuthErrorCode.CODE_EXPIRED, "验证码已过期，请重新获取", field="code")
    if not hmac.compare_digest(row.code_hash, _code_hash(settings, phone, code.strip())):
        raise await record_failure(
            session, phone, "code", settings, now,
            AuthError(AuthErrorCode.INVALID_CODE, "验证码不正确", field="code"),
        )
    row.consumed_at = now
    await session.flush()
    return phone
