"""Running a mutation: one transaction; a domain refusal rolls back and becomes payload data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from app.errors import DomainError, TryAgain

T = TypeVar("T")

# lock_not_available (lock_timeout), serialization_failure, deadlock_detected
RETRYABLE_SQLSTATES = {"55P03", "40001", "40P01"}


async def in_transaction(
    info: Info, action: Callable[[AsyncSession], Awaitable[T]]
) -> tuple[T | None, list[DomainError]]:
    """Run `action` and commit, or roll back and return the refusal. Nothing half-written
    survives a refusal, except what a refusal explicitly keeps (`keep_changes`)."""
    async with info.context.db() as session:
        try:
            result = await action(session)
        except DomainError as error:
            if error.keep_changes:
                await session.commit()
            else:
                await session.rollback()
            return None, [error]
        except DBAPIError as exc:
            await session.rollback()
            if getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
                raise TryAgain() from exc
            raise
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
        return result, []
