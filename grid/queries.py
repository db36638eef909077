"""Reading the grid as a viewer, one page at a time. Every query is scoped in SQL to the
subtrees where the viewer holds a grid role."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.pagination import Page, first_pages, keyset_page
from grid.appointments import held_at
from grid.id_numbers import IdNumberVault, normalize_id_number
from identity.phones import normalize_phone
from identity.viewer import ADMIN_ROLES, GRID_ROLES, Viewer, subtree, within
from models import Appointment, Hamlet, Household, HouseholdMembership, OrgUnit, Resident


async def top_units(session: AsyncSession, viewer: Viewer, first: int | None, after: str | None) -> Page:
    """Where the viewer starts browsing: the units of their roles, or their village."""
    ids = {g.unit_id for g in viewer.grants if g.role in GRID_ROLES}
    if viewer.village_id is not None:
        ids.add(viewer.village_id)
    stmt = select(OrgUnit, OrgUnit.id).where(OrgUnit.id.in_(ids))
    return await keyset_page(session, stmt, [OrgUnit.id], first, after)


async def child_units(
    session: AsyncSession, viewer: Viewer, unit: OrgUnit, first: int | None, after: str | None
) -> Page:
    stmt = select(OrgUnit, OrgUnit.id).where(OrgUnit.parent_id == unit.id, visible_units(viewer))
    return await keyset_page(session, stmt, [OrgUnit.id], first, after)


async def first_child_pages(
    session: AsyncSession, viewer: Viewer, unit_ids: list[int], size: int
) -> dict[int, Page]:
    """`child_units` for many units at once (one statement), first pages only."""
    return await first_pages(session, OrgUnit, "parent_id", unit_ids, [visible_units(viewer)], size)


def visible_units(viewer: Viewer):
    """Units in the subtrees where the viewer holds a grid role, or above their own posts
    and household (whose names are public to them)."""
    return or_(within(OrgUnit.path, viewer.roots(GRID_ROLES)), _near(viewer))


def _near(viewer: Viewer):
    own = [g.unit_path for g in viewer.grants]
    if viewer.household_unit_path:
        own.append(viewer.household_unit_path)
    prefixes = {own_path[: i + 1] for own_path in own for i, ch in enumerate(own_path) if ch == "/"}
    return OrgUnit.path.in_(prefixes)


async def households_under(
    session: AsyncSession,
    viewer: Viewer,
    unit: OrgUnit,
    first: int | None,
    after: str | None,
    living_status: str | None = None,
) -> Page:
    """Households anywhere below `unit` that the viewer may see; rows are (Household, path, id)."""
    stmt = (
        select(Household, OrgUnit.path, Household.id)
        .join(OrgUnit, OrgUnit.id == Household.unit_id)
        .where(subtree(OrgUnit.path, unit.path))
    )
    if unit.village_id is not None:  # lets the planner start from the village's households
        stmt = stmt.where(Household.village_id == unit.village_id)
    visible = within(OrgUnit.path, viewer.roots(GRID_ROLES))
    if viewer.household_id is not None:
        visible = or_(visible, Household.id == viewer.household_id)
    stmt = stmt.where(visible)
    if living_status is not None:
        stmt = stmt.where(Household.living_status == living_status)
    return await keyset_page(session, stmt, [Household.id], first, after)


async def hamlets_of(
    session: AsyncSession, village: OrgUnit, first: int | None, after: str | None
) -> Page:
    stmt = select(Hamlet, Hamlet.id).where(Hamlet.village_id == village.id)
    return await keyset_page(session, stmt, [Hamlet.id], first, after)


async def appointments_at_unit(
    session: AsyncSession,
    unit: OrgUnit,
    first: int | None,
    after: str | None,
    *,
    role: str | None = None,
    at: datetime | None = None,
    include_ended: bool = False,
    now: datetime,
) -> Page:
    """Who holds (or held) posts at `unit`, latest first. `at` answers "who was the chief
    in March?"; otherwise current holders, plus past ones with `include_ended`."""
    stmt = select(Appointment, Appointment.valid_from, Appointment.id).where(
        Appointment.unit_id == unit.id
    )
    if role is not None:
        stmt = stmt.where(Appointment.role == role)
    if at is not None:
        stmt = stmt.where(held_at(at))
    elif not include_ended:
        stmt = stmt.where(held_at(now))
    return await keyset_page(
        session, stmt, [Appointment.valid_from, Appointment.id], first, after, descending=True
    )


async def search_residents(
    session: AsyncSession,
    viewer: Viewer,
    vault: IdNumberVault,
    unit: OrgUnit,
    query: str | None,
    first: int | None,
    after: str | None,
) -> Page:
    """Admins' search in a subtree: a full phone or ID number matches exactly, any other
    text matches part of the name. Rows are (Resident, Membership, unit path, id)."""
    stmt = (
        select(Resident, HouseholdMembership, OrgUnit.path, Resident.id)
        .join(
            HouseholdMembership,
            and_(HouseholdMembership.resident_id == Resident.id, HouseholdMembership.valid_to.is_(None)),
        )
        .join(Household, Household.id == HouseholdMembership.household_id)
        .join(OrgUnit, OrgUnit.id == Household.unit_id)
        .where(subtree(OrgUnit.path, unit.path), within(OrgUnit.path, viewer.roots(ADMIN_ROLES)))
    )
    if unit.village_id is not None:
        stmt = stmt.where(Resident.village_id == unit.village_id)
    text = (query or "").strip()
    if text:
        if (phone := normalize_phone(text)) is not None:
            stmt = stmt.where(Resident.phone == phone)
        elif (number := normalize_id_number(text)) is not None:
            stmt = stmt.where(Resident.id_number_digest == vault.digest(number))
        else:
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(Resident.name.like(f"%{escaped}%", escape="\\"))
    return await keyset_page(session, stmt, [Resident.id], first, after)

