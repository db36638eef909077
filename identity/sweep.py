"""Forget what only mattered for a while: login codes, failed logins and refresh tokens
are written by anyone who calls the login mutations, logged in or not, and would
otherwise pile up for good. Run from cron with `village auth sweep`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from models import AuthFailure, LoginCode, RefreshToken

# Kept a day past their use, for whoever looks into an incident the morning after.
GRACE = timedelta(days=1)


@dataclass(frozen=True)
class AuthSweep:
    login_codes: int
    failures: int
    refresh_tokens: int


async def forget_stale(session: AsyncSession, now: datetime, settings: Settings) -> AuthSweep:
    """Delete login codes older than the hourly allowance counts, failures older than the
    lockout window, and refresh tokens past their expiry. A copied token presented after
    that is refused as invalid rather than ending its family as reused: expired, it
    could open nothing either way."""
    codes_used_until = now - timedelta(hours=1, seconds=settings.otp_ttl_seconds) - GRACE
    failures_count_until = now - timedelta(seconds=settings.otp_lockout_seconds) - GRACE
    codes = await session.execute(delete(LoginCode).where(LoginCode.created_at < codes_used_until))
    failures = await session.execute(delete(AuthFailure).where(AuthFailure.failed_at < failures_count_until))
    tokens = await session.execute(delete(RefreshToken).where(RefreshToken.expires_at < now - GRACE))
    return AuthSweep(codes.rowcount, failures.rowcount, tokens.rowcount)
