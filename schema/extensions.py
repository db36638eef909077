"""Schema extensions, built once at import: caches, limits, error masking, metrics.

Validation rules are created here once and passed as the same classes to every request,
so the validation cache keys stay equal and hit (a limiter constructed per request would
miss every time). Nothing here hooks into each field: cost is per operation.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule

from app.metrics import observe_operation
from app.settings import Settings
from schema.errors import MaskUnexpectedErrors

_OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# Operation names come from clients; past this many distinct ones, new names count as
# "other", so no client can grow the metrics without bound.
MAX_OPERATION_NAMES = 200
_seen_names: set[str] = set()


def metric_name(name: str | None) -> str:
    if not name or not _OPERATION_NAME.fullmatch(name):
        return "anonymous"
    if name not in _seen_names:
        if len(_seen_names) >= MAX_OPERATION_NAMES:
            return "other"
        _seen_names.add(name)
    return name


class OperationMetrics(SchemaExtension):
    """One observation per operation: name, type, outcome, duration."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        name = metric_name(context.operation_name)
        try:
            kind = context.operation_type.value
        except Exception:  # unparsable documents have no operation type
            kind = "unknown"
        result = context.result
        outcome = "error" if (result is None or getattr(result, "errors", None)) else "ok"
        observe_operation(name, kind, outcome, time.perf_counter() - started)


def build_extensions(settings: Settings) -> list[Callable]:
    rules = [
        max_depth_rule(settings.graphql_max_depth, None, None),
        max_aliases_rule(settings.graphql_max_aliases),
    ]
    extensions: list[Callable] = [
        OperationMetrics,
        # The token limit guards the parser itself; it is part of the parse-cache key.
        lambda: MaxTokensLimiter(settings.graphql_max_tokens),
        lambda: ParserCache(maxsize=512),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=512),
        MaskUnexpectedErrors,
    ]
    if settings.production:
        extensions.append(DisableIntrospection)
    return extensions
