"""Global ids in mutation and query arguments."""

from __future__ import annotations

import enum

from strawberry import relay

from app.errors import DomainError
from schema.relay import node_id


class IdErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"


def db_id(global_id: relay.GlobalID | None, type_name: str, field: str) -> int:
    """The row id in a global id; a malformed or wrong-typed id reads as not found (as a
    record the viewer may not see does), in whichever domain's payload it surfaces."""
    found = node_id(global_id, type_name) if global_id is not None else None
    if found is None:
        raise DomainError(IdErrorCode.NOT_FOUND, "记录不存在", field=field)
    return found
