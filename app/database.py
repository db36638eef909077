"""The async engine and sessions. One engine per process, one session per request."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.settings import Settings


def async_url(url: str) -> str:
    """Any PostgreSQL URL (`postgres://`, `postgresql://`, `postgresql+asyncpg://`) for asyncpg."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def create_engine(url: str, settings: Settings, **kwargs) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        # No pre-ping: it cost a round trip on every checkout, i.e. on every request. A
        # connection that died while idle (PostgreSQL restarted, a proxy dropped it) fails
        # its first statement instead; SQLAlchemy recognises asyncpg's disconnect errors,
        # discards that connection and every older one in the pool, so one request gets
        # an error and the next ones reconnect. `pool_recycle` replaces connections before
        # the idle timeouts of proxies and firewalls (usually an hour or more) can cut them.
        pool_recycle=settings.db_pool_recycle_seconds,
        connect_args={
            "server_settings": {
                "timezone": "UTC",
                "lock_timeout": str(settings.db_lock_timeout_ms),
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "application_name": "smart-village",
            }
        },
        **kwargs,
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
