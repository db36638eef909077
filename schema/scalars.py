"""Scalars with the rules of this service."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import strawberry

CHINA = ZoneInfo("Asia/Shanghai")


class InvalidScalar(ValueError):
    """A value a client wrote that the scalar refuses: a client error, wherever it is
    found (a variable, or a literal in the document), never an internal one."""

    extensions = {"code": "BAD_USER_INPUT"}


def parse_datetime(value: object) -> datetime:
    """ISO 8601. A time without an offset is China time (what people here mean); years
    outside 1900–2200 are refused rather than overflowing the arithmetic on them."""
    if not isinstance(value, str):
        raise InvalidScalar("DateTime must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidScalar(f"DateTime must be ISO 8601, not {value[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CHINA)
    if not 1900 <= parsed.year <= 2200:
        raise InvalidScalar("DateTime must fall between the years 1900 and 2200")
    return parsed


DateTime = strawberry.scalar(
    name="DateTime",
    description="ISO 8601 date and time; without an offset it is read as China time (UTC+8).",
    serialize=lambda value: value.isoformat(),
    parse_value=parse_datetime,
)
