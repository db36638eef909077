"""The viewer of a request: the user, their household if they are a resident, and the roles
they hold now. Permission is role × the subtree of the unit where the role is held."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, false, func, or_, select, true
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement

from models import Appointment, Household, HouseholdMembership, OrgUnit, User, in_force

ADMIN_ROLES = frozenset({"village_admin", "town_admin"})
# Who may browse the grid (units, households, residents) of the subtree where they serve.
GRID_ROLES = ADMIN_ROLES | {"chief", "grid_worker", "information_officer", "party_member"}
# Who needs residents' phone numbers to do their work.
PHONE_ROLES = ADMIN_ROLES | {"chief", "grid_worker", "information_officer"}
# Who needs full ID numbers (registering, verifying identity).
ID_NUMBER_ROLES = ADMIN_ROLES


@dataclass(frozen=True, slots=True)
class Grant:
    role: str
    unit_id: int
    unit_path: str
    village_id: int | None


@dataclass(frozen=True, slots=True)
class Viewer:
    user_id: int
    display_name: str
    resident_id: int | None
    # The household's row, loaded with the viewer: `me { household }` (the home screen)
    # needs no second query.
    household: Household | None
    household_unit_path: str | None
    grants: tuple[Grant, ...]

    @property
    def household_id(self) -> int | None:
        return self.household.id if self.household is not None else None

    @property
    def village_id(self) -> int | None:
        """The village of the viewer's household."""
        return self.household.village_id if self.household is not None else None

    def roots(self, roles: frozenset[str]) -> list[str]:
        """Paths of the units where the viewer holds one of `roles` (their subtrees)."""
        return [g.unit_path for g in self.grants if g.role in roles]

    def may(self, roles: frozenset[str], path: str) -> bool:
        """Does the viewer hold one of `roles` at `path` or above it?"""
        return any(g.role in roles and path.startswith(g.unit_path) for g in self.grants)

    def is_near(self, path: str) -> bool:
        """Is `path` a unit the viewer belongs under or serves under (an ancestor or self)?
        Everyone may see the names of the units above them."""
        tied = [g.unit_path for g in self.grants]
        if self.household_unit_path:
            tied.append(self.household_unit_path)
        return any(own.startswith(path) for own in tied)

    @property
    def is_staff(self) -> bool:
        return bool(self.grants)


def subtree(path_column, path: str) -> ColumnElement[bool]:
    """`path_column` lies in the subtree rooted at `path`, as a range on the path index:
    every descendant of "/1/7/" sorts between "/1/7/" and "/1/70" ('0' follows '/')."""
    return and_(path_column >= path, path_column < path[:-1] + "0")


def within(path_column, roots: list[str]) -> ColumnElement[bool]:
    """`path_column` lies in any of the subtrees `roots` (false when there are none)."""
    return or_(false(), *(subtree(path_column, root) for root in roots))


def _viewer_statement():
    """The user with their household's row and, aggregated in a lateral join, the roles
    they hold at `now` (in appointment order): one round trip, built once."""
    user_id, now = bindparam("user_id"), bindparam("now")
    unit = aliased(OrgUnit, name="grant_units")
    grants = (
        select(
            func.array_agg(aggregate_order_by(Appointment.role, Appointment.id)).label("roles"),
            func.array_agg(aggregate_order_by(Appointment.unit_id, Appointment.id)).label("unit_ids"),
            func.array_agg(aggregate_order_by(unit.path, Appointment.id)).label("unit_paths"),
            func.array_agg(aggregate_order_by(unit.village_id, Appointment.id)).label("village_ids"),
        )
        .join(unit, unit.id == Appointment.unit_id)
        .where(
            Appointment.user_id == User.id, in_force(Appointment, now),
        )
        .lateral("grants")
    )
    return (
        select(
            User.id, User.display_name, User.resident_id, Household,
            OrgUnit.path.label("household_unit_path"),
            grants.c.roles, grants.c.unit_ids, grants.c.unit_paths, grants.c.village_ids,
        )
        .outerjoin(
            HouseholdMembership,
            and_(
                HouseholdMembership.resident_id == User.resident_id,
                HouseholdMembership.valid_to.is_(None),
            ),
        )
        .outerjoin(Household, Household.id == HouseholdMembership.household_id)
        .outerjoin(OrgUnit, OrgUnit.id == Household.unit_id)
        .join(grants, true())
        .where(User.id == user_id, User.is_active)
    )


_VIEWER = _viewer_statement()


async def load_viewer(session: AsyncSession, user_id: int, now: datetime) -> Viewer | None:
    """The viewer for an access token's user, or None if that user is gone or disabled."""
    row = (await session.execute(_VIEWER, {"user_id": user_id, "now": now})).one_or_none()
    if row is None:
        return None
    grants = zip(row.roles, row.unit_ids, row.unit_paths, row.village_ids, strict=True) if row.roles else ()
    if row.Household is not None:
        # kept out of the session: a refused mutation rolls the session back, which would
        # expire the row under the viewer of every later field of the same document
        session.expunge(row.Household)
    return Viewer(
        user_id=row.id,
        display_name=row.display_name,
        resident_id=row.resident_id,
        household=row.Household,
        household_unit_path=row.household_unit_path,
        grants=tuple(Grant(*grant) for grant in grants),
    )
