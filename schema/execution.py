"""Sibling fields settle before an error moves up.

graphql-core cancels the other pending resolvers of a list or an object as soon as one of
them raises (a member list the viewer may not see, say). A resolver cancelled in the middle
of a statement loses the request's one connection: SQLAlchemy terminates a connection whose
statement was interrupted, and every field still to resolve elsewhere in the document then
fails, as does closing the session. Here the siblings finish their work first and the
first error is raised afterwards: the answer is the same, and the connection stays whole.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from graphql.execution import executor


async def gather_settled(*awaitables: Awaitable[Any]) -> list[Any]:
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def let_siblings_settle() -> None:
    """Used instead of graphql-core's cancelling gather (the version is pinned in uv.lock;
    test_a_failing_field_leaves_its_siblings_statements_whole fails if an upgrade goes
    around this)."""
    executor.gather_with_cancel = gather_settled
