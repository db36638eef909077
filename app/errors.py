"""Failures a client can cause. Each carries `extensions` with a `code`, which is how they
reach clients when they surface as top-level GraphQL errors; in a mutation payload a
`DomainError` is data instead."""

from __future__ import annotations

import enum
from collections.abc import Callable


class DomainError(Exception):
    """A refusal the client caused (bad input, a rule, a conflict).

    `keep_changes` marks the rare refusal whose writes must still be committed, such as
    counting a wrong one-time code toward the lockout.
    """

    def __init__(
        self,
        code: enum.Enum,
        message: str,
        *,
        field: str | None = None,
        keep_changes: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.keep_changes = keep_changes

    @property
    def extensions(self) -> dict:
        return {"code": self.code.value, "field": self.field}


class Forbidden(Exception):
    """The viewer may see the record but not do this to it."""

    def __init__(self, message: str = "没有权限执行此操作") -> None:
        super().__init__(message)
        self.message = message
        self.extensions = {"code": "FORBIDDEN"}


class BadInput(Exception):
    """An argument outside what the API accepts (a page size, a cursor, an id's type)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = {"code": "BAD_USER_INPUT", "field": field}


class TryAgain(Exception):
    """A lock could not be had in time; the same request may succeed if retried."""

    def __init__(self, message: str = "系统繁忙，请稍后重试") -> None:
        super().__init__(message)
        self.extensions = {"code": "TRY_AGAIN"}


# lock_not_available (lock_timeout), serialization_failure, deadlock_detected
RETRYABLE_SQLSTATES = {"55P03", "40001", "40P01"}


def client_error_for_database_error(exc: Exception) -> Exception | None:
    """What a database error means to the client, when it is the client's to handle:
    a busy lock or a write that lost a race is TRY_AGAIN (a constraint the code did not
    expect is a conflict with a concurrent change); a value PostgreSQL cannot store or
    compute with (class 22: a NUL character, a date out of range) is BAD_USER_INPUT."""
    state = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
    if state in RETRYABLE_SQLSTATES or state.startswith("23"):
        return TryAgain()
    if state.startswith("22"):
        return BadInput("输入包含无法处理的内容（如控制字符或超出范围的数值、日期）")
    return None


def clean_text(
    value: str | None, field: str, limit: int, *, required: bool, invalid: Callable[[str, str], Exception]
) -> str | None:
    """Free text as the domains accept it: trimmed; empty is None (or refused if required);
    longer than `limit` is refused. `invalid` makes the domain's own INVALID_INPUT error."""
    value = (value or "").strip() or None
    if value is None and required:
        raise invalid("不能为空", field)
    if value is not None and len(value) > limit:
        raise invalid(f"不超过{limit}字", field)
    return value
