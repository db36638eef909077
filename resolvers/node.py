"""`node(id:)`: any object by its global id, if the viewer may see it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.types import Info

from grid import access
from grid.errors import not_found
from identity.viewer import GRID_ROLES, Viewer
from models import Appointment as AppointmentRow
from models import Hamlet as HamletRow
from models import OrgUnit as OrgUnitRow
from models import User as UserRow
from schema.grid import Appointment, Hamlet, Household, OrgUnit, Resident, User


async def _org_unit(session: AsyncSession, viewer: Viewer, id: int):
    return OrgUnit.from_row(await access.get_unit(session, viewer, id))


async def _household(session: AsyncSession, viewer: Viewer, id: int):
    return Household.from_row(*await access.get_household(session, viewer, id))


async def _resident(session: AsyncSession, viewer: Viewer, id: int):
    row, membership, path = await access.get_resident(session, viewer, id)
    return Resident.from_row(row, path, membership)


async def _hamlet(session: AsyncSession, viewer: Viewer, id: int):
    row = await session.get(HamletRow, id)
    village = row and await session.get(OrgUnitRow, row.village_id)
    if village is None or not access.can_see_unit(viewer, village.path):
        raise not_found()
    return Hamlet.from_row(row)


async def _appointment(session: AsyncSession, viewer: Viewer, id: int):
    row = await session.get(AppointmentRow, id)
    unit = row and await session.get(OrgUnitRow, row.unit_id)
    if unit is None or not (viewer.may(GRID_ROLES, unit.path) or row.user_id == viewer.user_id):
        raise not_found()
    return Appointment.from_row(row, unit.path)


async def _user(session: AsyncSession, viewer: Viewer, id: int):
    if id != viewer.user_id:  # other users are reached through their appointments
        raise not_found()
    return User.from_row(await session.get(UserRow, id), None)


LOADERS = {
    "OrgUnit": _org_unit,
    "Household": _household,
    "Resident": _resident,
    "Hamlet": _hamlet,
    "Appointment": _appointment,
    "User": _user,
}


async def node(info: Info, id: relay.GlobalID) -> relay.Node:
    viewer = await info.context.require_viewer()
    load = LOADERS.get(id.type_name)
    if load is None or not id.node_id.isdigit():
        raise not_found()
    async with info.context.db() as session:
        return await load(session, viewer, int(id.node_id))
