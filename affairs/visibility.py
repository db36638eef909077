"""Who sees a unit's accounts: workers over the unit, and residents of the unit itself
(the group they live in, or their village), nobody else's group."""

from __future__ import annotations

from grid.access import can_see_unit
from identity.viewer import GRID_ROLES, Viewer
from models import OrgUnit


def may_see_accounts(viewer: Viewer, unit: OrgUnit) -> bool:
    if viewer.may(GRID_ROLES, unit.path):
        return True
    return (
        viewer.village_id == unit.village_id
        and viewer.household_unit_path is not None
        and viewer.household_unit_path.startswith(unit.path)
        and can_see_unit(viewer, unit.path)
    )
