"""Top-level GraphQL errors: who you are, what you may do, what is there.

Every error a client can cause carries `extensions.code` (exceptions from `app.errors`
bring theirs along). Anything else is a bug: it is logged with the request id and the
client sees only a generic message and that id.
"""

from __future__ import annotations

import strawberry
import structlog
from graphql import GraphQLError
from strawberry.relay import GlobalIDValueError

from app.errors import client_error_for_database_error

log = structlog.get_logger("graphql")


def unauthenticated() -> GraphQLError:
    return GraphQLError("请先登录", extensions={"code": "UNAUTHENTICATED"})


def not_found(message: str = "记录不存在") -> GraphQLError:
    return GraphQLError(message, extensions={"code": "NOT_FOUND"})


def _is_expected(error: GraphQLError) -> bool:
    """Errors of the document and its variables (no path: parse, validation, coercion),
    and errors that bring their code. A field's value the schema cannot represent (an Int
    past 32 bits) is graphql-core's own error, with a path and no code: a bug, masked."""
    original = error.original_error
    return (original is None or error.path is None
            or bool((getattr(original, "extensions", None) or {}).get("code")))


class MaskUnexpectedErrors(strawberry.extensions.MaskErrors):
    """Keep coded and validation errors; replace the rest, logging them with the request id."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not _is_expected(error))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        request_id = getattr(self.execution_context.context, "request_id", None)
        original = error.original_error
        if isinstance(original, GlobalIDValueError):  # not an id at all: as one that is not there
            return GraphQLError("记录不存在", nodes=error.nodes, path=error.path, extensions={"code": "NOT_FOUND"})
        client_error = client_error_for_database_error(original) if original else None
        if client_error is not None:  # a query the client's input made fail
            return GraphQLError(
                str(client_error), nodes=error.nodes, path=error.path,
                extensions=client_error.extensions,
            )
        log.error(
            "graphql.unexpected_error",
            path=error.path,
            request_id=request_id,
            exc_info=(type(original), original, original.__traceback__) if original else None,
        )
        return GraphQLError(
            "内部错误，请稍后再试",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )
