"""Calendar periods and expiry dates, reckoned in China time (Asia/Shanghai) and stored as
UTC instants: "a day" for a cap is a day in the village, not in UTC."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def period_start(period: str, now: datetime) -> datetime | None:
    """Start of the day/week/month/year containing `now`; None for a lifetime."""
    local = now.astimezone(CHINA)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        start = midnight
    elif period == "week":  # weeks start on Monday
        start = midnight - timedelta(days=local.weekday())
    elif period == "month":
        start = midnight.replace(day=1)
    elif period == "year":
        start = midnight.replace(month=1, day=1)
    elif period == "lifetime":
        return None
    else:
        raise ValueError(f"unknown period {period!r}")
    return start


def end_of_next_year(now: datetime) -> datetime:
    """Points earned in 2026 expire when 2027 ends (00:00 on 1 January 2028, China time)."""
    local = now.astimezone(CHINA)
    return datetime(local.year + 2, 1, 1, tzinfo=CHINA)


def period_bounds(period: str, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the month/quarter/year containing `now`, for rankings."""
    local = now.astimezone(CHINA)
    if period == "month":
        start = datetime(local.year, local.month, 1, tzinfo=CHINA)
        end = datetime(local.year + (local.month == 12), local.month % 12 + 1, 1, tzinfo=CHINA)
    elif period == "quarter":
        first = (local.month - 1) // 3 * 3 + 1
        start = datetime(local.year, first, 1, tzinfo=CHINA)
        end = datetime(local.year + (first == 10), (first + 2) % 12 + 1, 1, tzinfo=CHINA)
    elif period == "year":
        start = datetime(local.year, 1, 1, tzinfo=CHINA)
        end = datetime(local.year + 1, 1, 1, tzinfo=CHINA)
    else:
        raise ValueError(f"unknown ranking period {period!r}")
    return start, end
