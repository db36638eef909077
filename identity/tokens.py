"""Short-lived JWT access tokens and rotating refresh tokens.

A refresh token is 32 random bytes shown once; only its SHA-256 is stored. Using it marks
it rotated and issues a successor in the same family. A rotated token presented again
means someone else holds a copy, so the whole family is revoked; except within
`REFRESH_REUSE_GRACE_SECONDS` of its rotation, when it is refused without revoking
anything (`TOKEN_ROTATED`): that is one client that refreshed twice at once.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from identity.errors import AuthError, AuthErrorCode
from models import RefreshToken, User

ALGORITHM = "HS256"
REFRESH_PREFIX = "rt_"


@dataclass(frozen=True)
class TokenPair:
    user_id: int
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime


class InvalidAccessToken(Exception):
    pass


def issue_access_token(user_id: int, settings: Settings, now: datetime) -> tuple[str, datetime]:
    expires_at = now + timedelta(seconds=settings.access_token_ttl_seconds)
    claims = {"sub": str(user_id), "iat": now, "exp": expires_at, "typ": "access"}
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), ALGORITHM), expires_at


def decode_access_token(token: str, settings: Settings) -> int:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "iat"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken(str(exc)) from exc
    sub = str(claims["sub"])
    if claims.get("typ") != "access" or not (sub.isascii() and sub.isdigit() and len(sub) <= 18):
        raise InvalidAccessToken("not an access token")
    return int(sub)


def _hash(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


async def issue_token_pair(
    session: AsyncSession,
    user_id: int,
    settings: Settings,
    now: datetime,
    family_id: uuid.UUID | None = None,
) -> TokenPair:
    raw = REFRESH_PREFIX + secrets.token_urlsafe(32)
    refresh_expires_at = now + timedelta(days=settings.refresh_token_ttl_days)
    session.add(
        RefreshToken(
            user_id=user_id,
            family_id=family_id or uuid.uuid4(),
            token_hash=_hash(raw),
            created_at=now,
            expires_at=refresh_expires_at,
        )
    )
    await session.flush()
    access, access_expires_at = issue_access_token(user_id, settings, now)
    return TokenPair(user_id, access, access_expires_at, raw, refresh_expires_at)


# Every change to a user's refresh tokens (rotating, revoking) first holds the user's row, so
# that a revocation sees the successor of a rotation running at the same time (its statement
# would otherwise only wait for the rotated token, and miss the successor inserted beside it).
_HOLD_USER = (
    select(User).where(User.id == bindparam("user_id")).with_for_update(key_share=True)
    .execution_options(populate_existing=True)
)


async def hold_user(session: AsyncSession, user_id: int) -> User | None:
    """The user's row, held for this transaction and read as it is now. Logins hold it too,
    before they issue tokens (see `identity.login`)."""
    return await session.scalar(_HOLD_USER, {"user_id": user_id})


async def rotate_refresh_token(
    session: AsyncSession, raw: str, settings: Settings, now: datetime
) -> TokenPair:
    """Exchange a refresh token for a new pair; the guarded update makes a race pick one winner."""
    token_hash = _hash(raw)
    owner = await session.scalar(select(RefreshToken.user_id).where(RefreshToken.token_hash == token_hash))
    holder = owner and await hold_user(session, owner)
    active = holder is not None and holder.is_active
    rotated = (
        await session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.token_hash == token_hash,
                RefreshToken.rotated_at.is_(None),
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > now,
            )
            .values(rotated_at=now)
            .returning(RefreshToken.user_id, RefreshToken.family_id)
        )
    ).one_or_none()
    if rotated is None:
        await _explain_refusal(session, token_hash, settings, now)
    user_id, family_id = rotated
    if not active:
        raise AuthError(AuthErrorCode.ACCOUNT_DISABLED, "账号已停用")
    return await issue_token_pair(session, user_id, settings, now, family_id)


async def _explain_refusal(
    session: AsyncSession, token_hash: bytes, settings: Settings, now: datetime
) -> None:
    token = await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash))
    if token is not None and token.rotated_at is not None and token.revoked_at is None:
        if now - token.rotated_at <= timedelta(seconds=settings.refresh_reuse_grace_seconds):
            # Moments after its rotation this is one client refreshing twice at once (two
            # pages of a mini-program waking together), not a copied token: the other
            # request got the new pair. Refuse without logging every device out.
            raise AuthError(AuthErrorCode.TOKEN_ROTATED, "登录凭证刚刚已刷新，请使用最新的凭证")
        await revoke_family(session, token.family_id, now, reason="reuse")
        raise AuthError(
            AuthErrorCode.TOKEN_REUSED,
            "登录凭证已被使用过，为安全起见已退出所有设备，请重新登录",
            keep_changes=True,
        )
    raise AuthError(AuthErrorCode.INVALID_TOKEN, "登录凭证无效或已过期，请重新登录")


async def revoke_family(
    session: AsyncSession, family_id: uuid.UUID, now: datetime, reason: str
) -> None:
    owner = await session.scalar(select(RefreshToken.user_id).where(RefreshToken.family_id == family_id).limit(1))
    if owner is not None:
        await hold_user(session, owner)
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, revoke_reason=reason)
    )


async def revoke_refresh_token(session: AsyncSession, raw: str, now: datetime) -> bool:
    """Log out: revoke the token's family. False when the token is unknown."""
    family_id = await session.scalar(
        select(RefreshToken.family_id).where(RefreshToken.token_hash == _hash(raw))
    )
    if family_id is None:
        return False
    await revoke_family(session, family_id, now, reason="logout")
    return True


async def sign_out_everywhere(
    session: AsyncSession, user: User, now: datetime, reason: str, *, unbind_wechat: bool
) -> None:
    """End every session of the user: their refresh tokens are revoked (access tokens lapse
    within minutes). With `unbind_wechat`, a WeChat bound to the account must be bound again,
    which proves the account's phone by SMS: whoever bound it is out too."""
    await hold_user(session, user.id)
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, revoke_reason=reason)
    )
    if unbind_wechat:
        user.wechat_openid = None
