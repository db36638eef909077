"""Small database helpers shared by the grid's write paths."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import DomainError

UNIQUE_VIOLATION = "23505"


def sqlstate(exc: IntegrityError) -> str | None:
    return getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)


async def flush_unique(session: AsyncSession, on_duplicate: DomainError) -> None:
    """Flush in a savepoint; a unique violation becomes `on_duplicate` instead of a 500.
    The constraint decides, so two concurrent writers cannot both pass a pre-check."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        if sqlstate(exc) == UNIQUE_VIOLATION:
            raise on_duplicate from exc
        raise
