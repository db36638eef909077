"""The village a request acts on: shared by every domain's resolvers."""

from __future__ import annotations

import enum

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from app.errors import DomainError, Forbidden
from grid import access
from identity.viewer import ADMIN_ROLES, Viewer
from models import OrgUnit
from resolvers.ids import db_id


class VillageErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"


async def village_of(
    session: AsyncSession, viewer: Viewer, global_id: relay.GlobalID | None, roles=ADMIN_ROLES,
    field: str = "villageId",
) -> OrgUnit:
    """The village the viewer acts on with one of `roles`: the one given, or the only one
    where they hold such a role. Another village reads as not found; a village they only
    see (without the role) is forbidden."""
    if global_id is None:
        held = {g.village_id for g in viewer.grants if g.role in roles and g.village_id}
        if len(held) != 1:
            raise DomainError(VillageErrorCode.INVALID_INPUT, "请指定村（villageId）", field=field)
        village_id = held.pop()
    else:
        village_id = db_id(global_id, "OrgUnit", field)
    unit = await access.get_unit(session, viewer, village_id, field=field)
    if unit.kind != "village":
        raise DomainError(VillageErrorCode.NOT_FOUND, "村不存在", field=field)
    if not viewer.may(roles, unit.path):
        raise Forbidden()
    return unit
