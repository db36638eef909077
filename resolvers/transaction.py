"""Running a mutation: one transaction; a domain refusal rolls back and becomes payload data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from app.errors import DomainError, client_error_for_database_error

T = TypeVar("T")

log = structlog.get_logger(__name__)


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
                await _roll_back(info, session)
            return None, [error]
        except DBAPIError as exc:
            await _roll_back(info, session)
            client_error = client_error_for_database_error(exc)
            if client_error is not None:
                log.warning("mutation.database_refusal", error=str(exc.orig)[:300])
                raise client_error from exc
            raise
        except BaseException:
            await _roll_back(info, session)
            raise
        await session.commit()
        return result, []


async def _roll_back(info: Info, session: AsyncSession) -> None:
    """Roll back, and forget the rows the request's loaders hold: the rollback expired them,
    and a later field of the same document must load them afresh."""
    await session.rollback()
    info.context.forget_loaded()
