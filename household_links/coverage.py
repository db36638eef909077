"""Monthly contact coverage. A month asks one contact of every household: in person if the
household lives at home, any contact if it works away. What counts is the household as it
was at the month's reference moment — its last instant, or now for the running month: the
member linked then answers for it, it counts in the unit it was placed in then, and its
living status then sets the kind of contact. Any qualifying contact in the month meets the duty, whoever made it.

Everything here is one statement over a scope (a member's households, or a unit's subtree),
so a list costs the same whatever its length."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from identity.viewer import subtree, within
from models import (
    Appointment,
    Household,
    HouseholdLink,
    HouseholdLivingStatus,
    HouseholdPlacement,
    OrgUnit,
    User,
    Visit,
    in_force,
)
from rewards.periods import period_bounds

ONE_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Month:
    start: datetime
    end: datetime
    at: datetime  # the reference moment: whose household it was, and where it lived

    @property
    def started(self) -> bool:
        return self.at >= self.start


def month_of(when: datetime, now: datetime) -> Month:
    start, end = period_bounds("month", when)
    return Month(start, end, min(now, end - ONE_TICK))


def months_between(start: datetime, end: datetime, now: datetime) -> list[Month]:
    """The months of [start, end) that have begun by `now`."""
    months, cursor = [], start
    while cursor < end:
        month = month_of(cursor, now)
        if month.started:
            months.append(month)
        cursor = month.end
    return months


def duties(
    month: Month, *, unit_path: str | None = None, member_user_id: int | None = None,
    roots: list[str] | None = None,
) -> Select:
    """One row per household the month asks a contact of, in a unit's subtree or among a
    member's households: household, unit path, living status and member at the reference
    moment, and the first visit of the month that met the duty (NULL: still due, or missed).

    A link counts only while its member holds a party-member post in the household's
    village (it outlives neither the post nor a move to another village): otherwise the
    household reads as unlinked. `roots` keeps only households under those paths (an
    admin's villages)."""
    status = aliased(HouseholdLivingStatus)
    placement = aliased(HouseholdPlacement)
    post_unit = aliased(OrgUnit)
    # the members holding a party-member post in the household's village at that moment
    serving = (
        select(Appointment.user_id).join(post_unit, post_unit.id == Appointment.unit_id)
        .where(Appointment.role == "party_member", post_unit.village_id == Household.village_id,
               in_force(Appointment, month.at))
    )
    living_status = func.coalesce(status.living_status, Household.living_status)
    meeting_visit = (
        select(Visit.id)
        .where(
            Visit.household_id == Household.id,
            Visit.occurred_at >= month.start, Visit.occurred_at < month.end,
            or_(living_status != "at_home", Visit.mode == "in_person"),
        )
        .order_by(Visit.occurred_at, Visit.id)
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        select(
            Household.id.label("household_id"), Household.village_id, OrgUnit.path.label("unit_path"),
            living_status.label("living_status"), HouseholdLink.member_user_id,
            meeting_visit.label("visit_id"),
        )
        .outerjoin(placement, and_(placement.household_id == Household.id, in_force(placement, month.at)))
        .join(OrgUnit, OrgUnit.id == func.coalesce(placement.unit_id, Household.unit_id))
        .outerjoin(status, and_(status.household_id == Household.id, in_force(status, month.at)))
        .outerjoin(HouseholdLink, and_(
            HouseholdLink.household_id == Household.id, in_force(HouseholdLink, month.at),
            HouseholdLink.member_user_id.in_(serving),
        ))
        .where(Household.created_at <= month.at)
    )
    if unit_path is not None:
        stmt = stmt.where(subtree(OrgUnit.path, unit_path))
    if member_user_id is not None:
        stmt = stmt.where(HouseholdLink.member_user_id == member_user_id)
    if roots is not None:
        stmt = stmt.where(within(OrgUnit.path, roots))
    return stmt


@dataclass(frozen=True)
class Tally:
    required: int
    covered: int
    unlinked: int = 0

    @property
    def due(self) -> int:
        return self.required - self.covered

    @property
    def rate(self) -> float | None:
        return round(self.covered / self.required, 4) if self.required else None


def _tally_columns(d):
    return (
        func.count().label("required"),
        func.count(d.c.visit_id).label("covered"),
        func.count().filter(d.c.member_user_id.is_(None)).label("unlinked"),
    )


async def unit_tally(session: AsyncSession, unit: OrgUnit, month: Month) -> Tally:
    d = duties(month, unit_path=unit.path).subquery()
    row = (await session.execute(select(*_tally_columns(d)))).one()
    return Tally(row.required, row.covered, row.unlinked)


async def child_tallies(session: AsyncSession, unit: OrgUnit, month: Month) -> list[tuple[OrgUnit, Tally]]:
    """Each child unit's tally (areas of a village, villages of a town…), by name."""
    d = duties(month, unit_path=unit.path).subquery()
    child = aliased(OrgUnit)
    rows = (
        await session.execute(
            select(child, *_tally_columns(d))
            .join(d, func.starts_with(d.c.unit_path, child.path))
            .where(child.parent_id == unit.id)
            .group_by(child.id)
            .order_by(child.name, child.id)
        )
    ).all()
    return [(r[0], Tally(r.required, r.covered, r.unlinked)) for r in rows]


async def member_tallies(
    session: AsyncSession, month: Month, *, unit: OrgUnit | None = None, member_user_id: int | None = None,
    roots: list[str] | None = None,
) -> list[tuple[User, Tally]]:
    """Each party member's tally over their households (in `unit`, if given), worst first."""
    if unit is None and member_user_id is None:
        raise ValueError("a unit or a member is needed")
    d = duties(month, unit_path=unit.path if unit else None, member_user_id=member_user_id, roots=roots).subquery()
    rows = (
        await session.execute(
            select(User, func.count().label("required"), func.count(d.c.visit_id).label("covered"))
            .join(d, d.c.member_user_id == User.id)
            .group_by(User.id)
            .order_by((func.count(d.c.visit_id) * 1.0 / func.count()), User.id)
        )
    ).all()
    return [(r[0], Tally(r.required, r.covered)) for r in rows]


def due_households(
    month: Month, *, unit_path: str | None = None, member_user_id: int | None = None,
    roots: list[str] | None = None,
) -> Select:
    """The households whose contact this month is still due (or was missed), with where
    each is placed now and was placed then, for paging by household id (the last column)."""
    d = duties(month, unit_path=unit_path, member_user_id=member_user_id, roots=roots).subquery()
    placed_now = aliased(OrgUnit)
    return (
        select(Household, placed_now.path, d.c.unit_path, d.c.living_status, d.c.member_user_id,
               Household.id.label("key"))
        .join(d, d.c.household_id == Household.id)
        .join(placed_now, placed_now.id == Household.unit_id)
        .where(d.c.visit_id.is_(None))
    )


def my_households(member_user_id: int, month: Month, roots: list[str] | None = None) -> Select:
    """The member's households now, with what they need at the door: status, last contact
    (by anyone) and this month's duty. For paging by household id (the last column)."""
    d = duties(month, member_user_id=member_user_id, roots=roots).subquery()
    last = (
        select(Visit.id).where(Visit.household_id == d.c.household_id)
        .order_by(Visit.occurred_at.desc(), Visit.id.desc()).limit(1).scalar_subquery()
    )
    return (
        select(Household, d.c.unit_path, d.c.living_status, d.c.visit_id, last.label("last_visit_id"),
               HouseholdLink.valid_from.label("linked_since"), Household.id.label("key"))
        .join(d, d.c.household_id == Household.id)
        .join(HouseholdLink, and_(HouseholdLink.household_id == Household.id,
                                  HouseholdLink.member_user_id == member_user_id,
                                  HouseholdLink.valid_to.is_(None)))
    )
