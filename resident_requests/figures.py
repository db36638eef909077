"""Figures per unit, category and period, each drillable to the requests behind it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from identity.viewer import subtree
from models import ResidentRequest as R

# A figure's requests: the drill-down of each number.
FIGURES = {
    "received": None,
    "resolved": R.resolved_at.is_not(None),
    "resolved_on_time": and_(R.resolved_at.is_not(None), R.resolved_at <= R.due_at),
    "rated": R.rating.is_not(None),
    "satisfied": R.rating == "satisfied",
    "open": R.status.in_(("received", "accepted", "in_progress", "escalated", "reopened")),
    "duplicate": R.status == "duplicate",  # handled under another request
}


def cohort(unit_path: str, since: datetime, until: datetime, category: str | None = None):
    """Requests received from `unit_path`'s subtree in [since, until)."""
    conditions = [subtree(R.origin_path, unit_path), R.received_at >= since, R.received_at < until]
    if category is not None:
        conditions.append(R.category == category)
    return and_(*conditions)


async def figures(session: AsyncSession, village_id: int | None, unit_path: str, since: datetime, until: datetime):
    """[(category, {figure: count})] plus the total, for requests received in the period."""
    counts = [func.count().filter(c).label(name) if c is not None else func.count().label(name)
              for name, c in FIGURES.items()]
    stmt = select(R.category, *counts).where(cohort(unit_path, since, until)).group_by(R.category)
    if village_id is not None:
        stmt = stmt.where(R.village_id == village_id)
    rows = (await session.execute(stmt.order_by(R.category))).mappings().all()
    per_category = [(row["category"], {name: row[name] for name in FIGURES}) for row in rows]
    total = {name: sum(c[name] for _, c in per_category) for name in FIGURES}
    return per_category, total
