"""Who sees links and visits: a party member their own households and visits; chiefs their
subtree; admins their village or town. Anything else reads as not found."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.sql import ColumnElement

from identity.viewer import ADMIN_ROLES, Viewer, within
from models import HouseholdLink, Visit

# Who oversees the households of a subtree (and may log contacts there, for chiefs).
SUPERVISOR_ROLES = ADMIN_ROLES | {"chief"}


def supervises(viewer: Viewer, unit_path: str) -> bool:
    return viewer.may(SUPERVISOR_ROLES, unit_path)


def serving_villages(viewer: Viewer) -> set[int]:
    """The villages where the viewer serves as a party member now: their links count there."""
    return {g.village_id for g in viewer.grants if g.role == "party_member" and g.village_id}


def my_open_households(viewer: Viewer):
    """Ids of the households linked to the viewer now, where they serve (a subquery)."""
    return select(HouseholdLink.household_id).where(
        HouseholdLink.member_user_id == viewer.user_id, HouseholdLink.valid_to.is_(None),
        HouseholdLink.village_id.in_(serving_villages(viewer)),
    )


def visible_visits(viewer: Viewer, unit_path_column) -> ColumnElement[bool]:
    """Visits the viewer may read, given the path of each visit's household unit."""
    return or_(
        Visit.author_user_id == viewer.user_id,
        Visit.household_id.in_(my_open_households(viewer)),
        within(unit_path_column, viewer.roots(SUPERVISOR_ROLES)),
    )


def may_see_visit(viewer: Viewer, visit: Visit, unit_path: str, linked_member_id: int | None) -> bool:
    return (
        visit.author_user_id == viewer.user_id
        or (linked_member_id == viewer.user_id and visit.village_id in serving_villages(viewer))
        or supervises(viewer, unit_path)
    )
