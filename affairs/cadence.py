"""Disclosure cadence (Organic Law of Villagers' Committees, art. 30): village affairs at
least quarterly; finances monthly (or quarterly, by village setting). Lists what is overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from affairs.notices import published_by
from identity.viewer import subtree
from models import AccountEntry, AccountStatement, AffairsPolicy, Notice, OrgUnit
from rewards.periods import CHINA, period_bounds


@dataclass(frozen=True)
class Overdue:
    unit: OrgUnit
    kind: str  # "notice" or "finance"
    last: str | None  # the last publication (a date, or a statement's period)
    due: str  # what should have been published


def _previous_period(now: datetime, cadence: str) -> tuple[str, str]:
    """The last finished month or quarter as (first month, last month), e.g. ("2026-07", "2026-09")."""
    length = 1 if cadence == "month" else 3
    start, _ = period_bounds("month" if cadence == "month" else "quarter", now)
    first = start.replace(day=1)
    month_index = first.year * 12 + first.month - 1 - length
    begin = f"{month_index // 12:04d}-{month_index % 12 + 1:02d}"
    end_index = month_index + length - 1
    return begin, f"{end_index // 12:04d}-{end_index % 12 + 1:02d}"


async def overdue(session: AsyncSession, root: OrgUnit, now: datetime) -> list[Overdue]:
    """For the villages (and their account-keeping units) under `root`."""
    villages = list(
        await session.scalars(
            select(OrgUnit).where(OrgUnit.kind == "village", subtree(OrgUnit.path, root.path))
            .order_by(OrgUnit.id)
        )
    )
    if root.kind == "unit":
        villages = [await session.get(OrgUnit, root.village_id)]
    found: list[Overdue] = []
    quarter_start, _ = period_bounds("quarter", now)
    last_quarter_start, _ = period_bounds("quarter", quarter_start - timedelta(days=1))
    for village in villages:
        last_notice = await session.scalar(
            select(func.max(Notice.published_at)).where(
                Notice.village_id == village.id, Notice.category == "village_affairs", published_by(now),
            )
        )
        if last_notice is None or last_notice < last_quarter_start:
            found.append(Overdue(village, "notice", _day(last_notice), "上一季度的村务公开"))
        cadence = await session.scalar(
            select(AffairsPolicy.finance_cadence).where(AffairsPolicy.village_id == village.id)
        ) or "month"
        first_due, last_due = _previous_period(now, cadence)
        book_ids = set(
            await session.scalars(select(AccountEntry.unit_id).where(AccountEntry.village_id == village.id).distinct())
        ) | set(
            await session.scalars(select(AccountStatement.unit_id).where(AccountStatement.village_id == village.id).distinct())
        )
        book_ids.add(village.id)
        for unit in await session.scalars(select(OrgUnit).where(OrgUnit.id.in_(book_ids)).order_by(OrgUnit.id)):
            latest = await session.scalar(
                select(func.max(AccountStatement.period)).where(AccountStatement.unit_id == unit.id)
            )
            if latest is None or latest < last_due:  # the due period's last month is not out
                due = last_due if first_due == last_due else f"{first_due}至{last_due}"
                found.append(Overdue(unit, "finance", latest, f"{due}的账目公开"))
    return found


def _day(moment: datetime | None) -> str | None:
    return moment.astimezone(CHINA).date().isoformat() if moment else None
