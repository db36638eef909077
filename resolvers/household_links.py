"""Queries and mutations of party-member household links, visits and coverage."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.types import Info

from app.errors import BadInput, Forbidden, clean_text
from app.pagination import keyset_page
from grid import access
from grid.appointments import held_at
from household_links import coverage, links, visits
from household_links.errors import invalid, not_found
from household_links.visibility import may_see_visit, supervises, visible_visits
from identity.viewer import ADMIN_ROLES, Viewer, subtree
from models import Appointment, Household, HouseholdLink, OrgUnit
from models import User as UserRow
from models import Visit as VisitRow
from resolvers.ids import db_id
from resolvers.payload_errors import converter
from resolvers.transaction import in_transaction
from resolvers.villages import village_of
from schema.grid import Household as HouseholdType
from schema.grid import LivingStatus, User
from schema.grid import OrgUnit as OrgUnitType
from schema.household_links import (
    ContactCoverage,
    CorrectVisitInput,
    DueHousehold,
    LinkedHousehold,
    LinkHouseholdsInput,
    LinkHouseholdsPayload,
    LogVisitInput,
    MemberCoverage,
    PartyMember,
    UnitCoverage,
    UnlinkHouseholdsInput,
    UnlinkHouseholdsPayload,
    Visit,
    VisitLocationInput,
    VisitPayload,
    VisitProblemInput,
    contact_needed,
)
from schema.household_links import (
    HouseholdLink as HouseholdLinkType,
)
from schema.household_links import LinkError as LinkErrorType
from schema.household_links import LinkErrorCode as LinkErrorCodeEnum
from schema.relay import connection

errors = converter(LinkErrorType, LinkErrorCodeEnum)


async def _households(
    session: AsyncSession, viewer: Viewer, global_ids: list[relay.GlobalID], *, manage: bool
) -> list[Household]:
    """The households, each visible to the viewer (else not found) and, with `manage`,
    administered by them (else forbidden)."""
    if not global_ids or len(global_ids) > links.MAX_BULK:
        raise invalid(f"请选择1到{links.MAX_BULK}户", "householdIds")
    ids = {db_id(g, "Household", "householdIds") for g in global_ids}
    rows = (
        await session.execute(
            select(Household, OrgUnit.path).join(OrgUnit, OrgUnit.id == Household.unit_id)
            .where(Household.id.in_(ids))
        )
    ).all()
    if len(rows) != len(ids) or not all(access.can_see_household(viewer, h.id, path) for h, path in rows):
        raise not_found("户", "householdIds")
    if manage and not all(viewer.may(ADMIN_ROLES, path) for _, path in rows):
        raise Forbidden()
    return [h for h, _ in rows]


def _location(given: VisitLocationInput | None) -> visits.Location | None:
    if given is None:
        return None
    decimal = lambda v: Decimal(str(round(v, 6))) if v is not None else None  # noqa: E731
    return visits.Location(given.place, decimal(given.latitude), decimal(given.longitude))


def _problems(given: list[VisitProblemInput] | None) -> list[visits.ProblemFound] | None:
    if given is None:
        return None
    return [visits.ProblemFound(p.category.value, p.description, p.raise_request) for p in given]


async def link_households(info: Info, input: LinkHouseholdsInput) -> LinkHouseholdsPayload:
    """Village admins: make a party member responsible for households, one by one or a
    whole unit at a time. A household linked to someone else moves (that link ends)."""
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        if input.household_ids:
            households = await _households(session, viewer, input.household_ids, manage=True)
        elif input.unit_id is not None:
            unit = await access.get_unit(session, viewer, db_id(input.unit_id, "OrgUnit", "unitId"),
                                         manage=True, field="unitId")
            if unit.kind == "town":
                raise invalid("请按村或村内单元联户", "unitId")
            households = await links.households_under(session, unit)
        else:
            raise invalid("请指定农户或单元", "householdIds")
        if not households:
            raise invalid("该单元下没有农户", "unitId")
        village = await session.get(OrgUnit, households[0].village_id)
        member = await links.party_member(session, village, db_id(input.member_id, "User", "memberId"), ctx.now())
        reason = clean_text(input.reason, "reason", 200, required=False, invalid=invalid)
        return await links.link(session, households, member, linked_by=viewer.user_id, now=ctx.now(), reason=reason)

    rows, errs = await in_transaction(info, action)
    return LinkHouseholdsPayload(links=[HouseholdLinkType.from_row(r) for r in rows or []], errors=errors(errs))


async def unlink_households(info: Info, input: UnlinkHouseholdsInput) -> UnlinkHouseholdsPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        households = await _households(session, viewer, input.household_ids, manage=True)
        reason = clean_text(input.reason, "reason", 200, required=True, invalid=invalid)
        return await links.unlink(session, households, ended_by=viewer.user_id, reason=reason, now=ctx.now())

    ended, errs = await in_transaction(info, action)
    return UnlinkHouseholdsPayload(ended=ended, errors=errors(errs))


async def _household_to_contact(session: AsyncSession, viewer: Viewer, global_id) -> tuple[Household, str]:
    """A household the viewer may see, or one they are the linked member of (a member may
    be linked outside the unit where they hold their post)."""
    household_id = db_id(global_id, "Household", "householdId")
    linked = await links.linked_household(session, viewer, household_id)
    return linked or await access.get_household(session, viewer, household_id, field="householdId")


async def log_visit(info: Info, input: LogVisitInput) -> VisitPayload:
    """The household's linked party member, or a chief over it, logs a contact."""
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        household, path = await _household_to_contact(session, viewer, input.household_id)
        return await visits.log_visit(
            session, viewer, household, path, mode=input.mode.value, occurred_at=input.occurred_at,
            notes=input.notes, location=_location(input.location) or visits.Location(),
            problems=_problems(input.problems), now=ctx.now(), idempotency_key=input.idempotency_key,
        )

    row, errs = await in_transaction(info, action)
    return VisitPayload(visit=row and Visit.from_row(row), errors=errors(errs))


async def visible_visit(session: AsyncSession, viewer: Viewer, visit_id: int, field: str = "visitId") -> VisitRow:
    """The visit, if the viewer may see it; else not found."""
    found = (
        await session.execute(
            select(VisitRow, OrgUnit.path, HouseholdLink.member_user_id)
            .join(Household, Household.id == VisitRow.household_id)
            .join(OrgUnit, OrgUnit.id == Household.unit_id)
            .outerjoin(HouseholdLink, (HouseholdLink.household_id == Household.id) & HouseholdLink.valid_to.is_(None))
            .where(VisitRow.id == visit_id)
        )
    ).one_or_none()
    if found is None or not may_see_visit(viewer, *found):
        raise not_found("走访记录", field)
    return found[0]


async def correct_visit(info: Info, input: CorrectVisitInput) -> VisitPayload:
    """Its author, within 24 hours of logging it: a new revision, with the reason."""
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        visit = await visible_visit(session, viewer, db_id(input.visit_id, "Visit", "visitId"))
        return await visits.correct_visit(
            session, viewer, visit.id, reason=input.reason, now=ctx.now(),
            mode=input.mode.value if input.mode else None, occurred_at=input.occurred_at,
            notes=input.notes, location=_location(input.location), problems=_problems(input.problems),
        )

    row, errs = await in_transaction(info, action)
    return VisitPayload(visit=row and Visit.from_row(row), errors=errors(errs))


def _month(info: Info, at: datetime | None) -> coverage.Month:
    now = info.context.now()
    month = coverage.month_of(at or now, now)
    if not month.started:
        raise BadInput("该月份尚未开始", "at")
    return month


async def _member_visible(
    session: AsyncSession, viewer: Viewer, member_id: relay.GlobalID | None, now: datetime
) -> tuple[int, list[str] | None]:
    """The party member whose households the viewer asks about, and the paths their answer
    is limited to: themselves (everywhere they serve), or one serving where the viewer is an
    admin (that admin's villages only). Anyone else reads as not found."""
    if member_id is None:
        return viewer.user_id, None
    user_id = db_id(member_id, "User", "memberId")
    if user_id == viewer.user_id:
        return user_id, None
    paths = (
        await session.scalars(
            select(OrgUnit.path).join(Appointment, Appointment.unit_id == OrgUnit.id)
            .where(Appointment.user_id == user_id, Appointment.role == "party_member", held_at(now))
        )
    ).all()
    if not any(viewer.may(ADMIN_ROLES, p) for p in paths):
        raise not_found("党员", "memberId")
    return user_id, viewer.roots(ADMIN_ROLES)


async def linked_households(
    info: Info, member_id: relay.GlobalID | None = None, first: int | None = None, after: str | None = None
) -> relay.Connection[LinkedHousehold]:
    """A party member's households now (the viewer's own by default; admins may ask for a
    member of their village), with members, last contact and whether this month's is due."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    month = _month(info, None)
    async with ctx.db() as session:
        member, roots = await _member_visible(session, viewer, member_id, ctx.now())
        stmt = coverage.my_households(member, month, roots)
        page = await keyset_page(session, stmt, [Household.id], first, after)
    return connection(
        [
            LinkedHousehold(
                household=HouseholdType.from_row(h, path), living_status=LivingStatus(status),
                contact_needed=contact_needed(status), due_this_month=visit_id is None,
                linked_since=since, last_visit_id=last,
            )
            for h, path, status, visit_id, last, since, _ in page.rows
        ],
        page,
    )


async def household_links(
    info: Info, household_id: relay.GlobalID, at: datetime | None = None
) -> list[HouseholdLinkType]:
    """Who answered for a household, newest first; with `at`, who did at that moment."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        household, _ = await access.get_household(
            session, viewer, db_id(household_id, "Household", "householdId"), field="householdId"
        )
        rows = await links.history(session, household.id, at)
    return [HouseholdLinkType.from_row(r) for r in rows]


async def visits_query(
    info: Info, household_id: relay.GlobalID | None = None, unit_id: relay.GlobalID | None = None,
    author_id: relay.GlobalID | None = None, since: datetime | None = None, until: datetime | None = None,
    first: int | None = None, after: str | None = None,
) -> relay.Connection[Visit]:
    """Visits the viewer may see (their own and their households'; chiefs their subtree;
    admins their village or town), newest first."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        stmt = (
            select(VisitRow, VisitRow.occurred_at, VisitRow.id)
            .join(Household, Household.id == VisitRow.household_id)
            .join(OrgUnit, OrgUnit.id == Household.unit_id)
            .where(visible_visits(viewer, OrgUnit.path))
        )
        if household_id is not None:
            household, _ = await _household_to_contact(session, viewer, household_id)
            stmt = stmt.where(VisitRow.household_id == household.id)
        if unit_id is not None:
            unit = await access.get_unit(session, viewer, db_id(unit_id, "OrgUnit", "unitId"), field="unitId")
            stmt = stmt.where(subtree(OrgUnit.path, unit.path))
        if author_id is not None:
            stmt = stmt.where(VisitRow.author_user_id == db_id(author_id, "User", "authorId"))
        if since is not None:
            stmt = stmt.where(VisitRow.occurred_at >= since)
        if until is not None:
            stmt = stmt.where(VisitRow.occurred_at < until)
        page = await keyset_page(session, stmt, [VisitRow.occurred_at, VisitRow.id], first, after, descending=True)
    return connection([Visit.from_row(r[0]) for r in page.rows], page)


async def _supervised_unit(session: AsyncSession, viewer: Viewer, unit_id: relay.GlobalID) -> OrgUnit:
    unit = await access.get_unit(session, viewer, db_id(unit_id, "OrgUnit", "unitId"), field="unitId")
    if not supervises(viewer, unit.path):
        raise Forbidden()
    return unit


async def contact_coverage(info: Info, unit_id: relay.GlobalID, at: datetime | None = None) -> UnitCoverage:
    """A unit's contact coverage for the month containing `at` (default: this month), with
    its child units' and its party members'. For chiefs over the unit and admins."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    month = _month(info, at)
    async with ctx.db() as session:
        unit = await _supervised_unit(session, viewer, unit_id)
        total = await coverage.unit_tally(session, unit, month)
        children = await coverage.child_tallies(session, unit, month)
        members = await coverage.member_tallies(session, month, unit=unit)

    def of_unit(row: OrgUnit, tally) -> UnitCoverage:
        return UnitCoverage(unit=OrgUnitType.from_row(row), month_start=month.start,
                            coverage=ContactCoverage.of(tally), children=[], members=[])

    result = of_unit(unit, total)
    result.children = [of_unit(child, tally) for child, tally in children]
    result.members = [MemberCoverage(member=User.from_row(u, unit.path), coverage=ContactCoverage.of(t))
                      for u, t in members]
    return result


async def member_coverage(
    info: Info, member_id: relay.GlobalID | None = None, at: datetime | None = None
) -> MemberCoverage:
    """A party member's coverage for a month over the households they answered for then."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    month = _month(info, at)
    async with ctx.db() as session:
        member, roots = await _member_visible(session, viewer, member_id, ctx.now())
        found = await coverage.member_tallies(session, month, member_user_id=member, roots=roots)
        user = found[0][0] if found else await session.get(UserRow, member)
    tally = found[0][1] if found else coverage.Tally(0, 0)
    return MemberCoverage(member=User.from_row(user, None), coverage=ContactCoverage.of(tally))


async def contacts_due(
    info: Info, unit_id: relay.GlobalID | None = None, member_id: relay.GlobalID | None = None,
    at: datetime | None = None, first: int | None = None, after: str | None = None,
) -> relay.Connection[DueHousehold]:
    """Households whose contact for the month is still due (missed, for a past month): in a
    unit (chiefs and admins), or of a party member (the viewer by default)."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    month = _month(info, at)
    async with ctx.db() as session:
        if unit_id is not None:
            unit = await _supervised_unit(session, viewer, unit_id)
            stmt = coverage.due_households(month, unit_path=unit.path)
        else:
            member, roots = await _member_visible(session, viewer, member_id, ctx.now())
            stmt = coverage.due_households(month, member_user_id=member, roots=roots)
        page = await keyset_page(session, stmt, [Household.id], first, after)
    return connection(
        [
            # the household as it is now (its members and phones are seen by who serves
            # where it lives now); the member answered for it where it was that month
            DueHousehold(household=HouseholdType.from_row(h, path_now), living_status=LivingStatus(status),
                         contact_needed=contact_needed(status), member_id=member, access_path=path_then)
            for h, path_now, path_then, status, member, _ in page.rows
        ],
        page,
    )


async def party_members(info: Info, village_id: relay.GlobalID | None = None) -> list[PartyMember]:
    """Village admins: the village's party members now, with how many households each has."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        village = await village_of(session, viewer, village_id)
        linked = (
            select(func.count()).where(
                HouseholdLink.member_user_id == UserRow.id, HouseholdLink.valid_to.is_(None),
                HouseholdLink.village_id == village.id,
            ).scalar_subquery()
        )
        rows = (
            await session.execute(
                select(UserRow, linked)
                .where(UserRow.id.in_(
                    select(Appointment.user_id).join(OrgUnit, OrgUnit.id == Appointment.unit_id)
                    .where(Appointment.role == "party_member", held_at(ctx.now()), OrgUnit.village_id == village.id)
                ))
                .order_by(UserRow.display_name, UserRow.id)
            )
        ).all()
    return [PartyMember(member=User.from_row(u, village.path), linked_households=n) for u, n in rows]
