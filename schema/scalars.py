"""Scalars with the rules of this service."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import strawberry

CHINA = ZoneInfo("Asia/Shanghai")


def parse_datetime(value: object) -> datetime:
    """ISO 8601. A time without an offset is China time (what people here mean); years
    outside 1900–2200 are refused rather than overflowing the arithmetic on them."""
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO 8601 string")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CHINA)
    if not 1900 <= parsed.year <= 2200:
        raise ValueError("DateTime must fall between the years 1900 and 2200")
    return parsed


DateTime = strawberry.scalar(
    name="DateTime",
    description="ISO 8601 date and time; without an offset it is read as China time (UTC+8).",
    serialize=lambda value: value.isoformat(),
    parse_value=parse_datetime,
)
