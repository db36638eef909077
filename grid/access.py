"""Loading grid records as a viewer: what they may not see reads as not found.

Seeing: grid roles see their subtree; everyone sees the units above them and their own
household and its members. Managing (creating, editing, appointing): admins in their subtree.
"""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Forbidden
from grid.errors import not_found
from identity.viewer import ADMIN_ROLES, GRID_ROLES, Viewer
from models import Household, HouseholdMembership, OrgUnit, Resident


def can_see_unit(viewer: Viewer, path: str) -> bool:
    return viewer.may(GRID_ROLES, path) or viewer.is_near(path)


def can_see_household(viewer: Viewer, household_id: int, unit_path: str) -> bool:
    return viewer.may(GRID_ROLES, unit_path) or viewer.household_id == household_id


def require_manage(viewer: Viewer, path: str) -> None:
    if not viewer.may(ADMIN_ROLES, path):
        raise Forbidden()


async def get_unit(
    session: AsyncSession, viewer: Viewer, unit_id: int, *, manage: bool = False, field: str = "id"
) -> OrgUnit:
    unit = await session.get(OrgUnit, unit_id)
    if unit is None or not can_see_unit(viewer, unit.path):
        raise not_found("单位", field)
    if manage:
        require_manage(viewer, unit.path)
    return unit


async def get_household(
    session: AsyncSession, viewer: Viewer, household_id: int, *, manage: bool = False,
    field: str = "id",
) -> tuple[Household, str]:
    """The household and the path of its unit."""
    row = await household_and_path(session, household_id)
    if row is None or not can_see_household(viewer, row[0].id, row[1]):
        raise not_found("户", field)
    if manage:
        require_manage(viewer, row[1])
    return row[0], row[1]


async def household_and_path(session: AsyncSession, household_id: int) -> tuple[Household, str] | None:
    """The household and the path of its unit, whoever asks (callers decide who may)."""
    row = (
        await session.execute(
            select(Household, OrgUnit.path).join(OrgUnit, OrgUnit.id == Household.unit_id)
            .where(Household.id == household_id)
        )
    ).one_or_none()
    return (row[0], row[1]) if row else None


async def get_resident(
    session: AsyncSession, viewer: Viewer, resident_id: int, *, manage: bool = False,
    field: str = "id",
) -> tuple[Resident, HouseholdMembership | None, str]:
    """The resident, their current membership and the unit path that governs access
    (their household's unit, or their village if they have no household now)."""
    row = (
        await session.execute(
            select(Resident, HouseholdMembership, OrgUnit.path)
            .outerjoin(
                HouseholdMembership,
                and_(
                    HouseholdMembership.resident_id == Resident.id,
                    HouseholdMembership.valid_to.is_(None),
                ),
            )
            .outerjoin(Household, Household.id == HouseholdMembership.household_id)
            .join(OrgUnit, OrgUnit.id == func.coalesce(Household.unit_id, Resident.village_id))
            .where(Resident.id == resident_id)
        )
    ).one_or_none()
    if row is None:
        raise not_found("居民", field)
    resident, membership, path = row
    own_household = membership is not None and membership.household_id == viewer.household_id
    if not (viewer.may(GRID_ROLES, path) or own_household):
        raise not_found("居民", field)
    if manage:
        require_manage(viewer, path)
    return resident, membership, path
