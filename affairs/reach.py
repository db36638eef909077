"""Who has been reached: per notice, households in the audience with at least one
effective reader, by unit; and the households not reached yet, for a chief to visit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.pagination import Page, keyset_page
from identity.viewer import subtree
from models import Household, Notice, NoticeAudience, NoticeReceipt, OrgUnit


@dataclass(frozen=True)
class UnitReach:
    unit: OrgUnit
    audience_households: int
    reached_households: int

    @property
    def rate(self) -> float:
        return self.reached_households / self.audience_households if self.audience_households else 0.0


def _in_audience(notice_id: int):
    return exists().where(
        NoticeAudience.notice_id == notice_id,
        func.starts_with(OrgUnit.path, NoticeAudience.unit_path),
    )


def _reached(notice_id: int):
    return exists().where(NoticeReceipt.notice_id == notice_id, NoticeReceipt.household_id == Household.id)


async def reach_by_unit(
    session: AsyncSession, notice: Notice, parent: OrgUnit
) -> tuple[UnitReach, list[UnitReach]]:
    """The parent unit's reach and each child unit's, in one statement."""
    children = list(await session.scalars(select(OrgUnit).where(OrgUnit.parent_id == parent.id).order_by(OrgUnit.id)))
    child_of = case(
        *((subtree(OrgUnit.path, child.path), child.id) for child in children), else_=None
    ) if children else None
    columns = [func.count(Household.id), func.count(Household.id).filter(_reached(notice.id))]
    stmt = (
        select(*(columns if child_of is None else [child_of.label("child"), *columns]))
        .select_from(Household)
        .join(OrgUnit, OrgUnit.id == Household.unit_id)
        .where(Household.village_id == notice.village_id, subtree(OrgUnit.path, parent.path),
               _in_audience(notice.id))
    )
    if child_of is not None:
        stmt = stmt.group_by(child_of)
    rows = (await session.execute(stmt)).all()
    if child_of is None:
        total, reached = rows[0] if rows else (0, 0)
        return UnitReach(parent, total, reached), []
    counts = {row.child: (row[1], row[2]) for row in rows}
    per_child = [UnitReach(c, *counts.get(c.id, (0, 0))) for c in children]
    return (
        UnitReach(parent, sum(r.audience_households for r in per_child),
                  sum(r.reached_households for r in per_child)),
        per_child,
    )


async def not_reached(
    session: AsyncSession, notice: Notice, unit: OrgUnit, first: int | None, after: str | None
) -> Page:
    """Households of the audience below `unit` with no effective reader: (Household, path, id)."""
    stmt = (
        select(Household, OrgUnit.path, Household.id)
        .join(OrgUnit, OrgUnit.id == Household.unit_id)
        .where(Household.village_id == notice.village_id, subtree(OrgUnit.path, unit.path),
               _in_audience(notice.id), ~_reached(notice.id))
    )
    return await keyset_page(session, stmt, [Household.id], first, after)

