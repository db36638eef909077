"""GraphQL types, inputs and payloads of residents' requests (民情诉求)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private, relay
from strawberry.types import Info

from models import RequestUpdate as UpdateRow
from models import ResidentRequest as RequestRow
from resident_requests.errors import RequestErrorCode as DomainRequestErrorCode
from resident_requests.workflow import sees_everything

if TYPE_CHECKING:
    from schema.grid import Household, OrgUnit

OrgUnitRef = Annotated["OrgUnit", strawberry.lazy("schema.grid")]
HouseholdRef = Annotated["Household", strawberry.lazy("schema.grid")]
RequestErrorCode = strawberry.enum(DomainRequestErrorCode, name="RequestErrorCode")


@strawberry.type
class RequestError:
    code: RequestErrorCode
    field: str | None
    message: str


@strawberry.enum
class RequestCategory(enum.Enum):
    DISPUTE = "dispute"
    SAFETY_HAZARD = "safety_hazard"
    LIVELIHOOD = "livelihood"
    INFRASTRUCTURE = "infrastructure"
    ENVIRONMENT = "environment"
    POLICY = "policy"
    OTHER = "other"


@strawberry.enum
class RequestStatus(enum.Enum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    ESCALATED = "escalated"
    REOPENED = "reopened"
    DUPLICATE = "duplicate"


@strawberry.enum(description="What a worker does to a request; which ones apply depends on its status.")
class RequestAction(enum.Enum):
    ACCEPT = "accept"
    START = "start"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    MARK_DUPLICATE = "mark_duplicate"
    HAND_OVER = "hand_over"
    NOTE = "note"


@strawberry.enum
class RequestRating(enum.Enum):
    SATISFIED = "satisfied"
    PARTLY = "partly"
    NOT_SATISFIED = "not_satisfied"


@strawberry.enum(description="Where a request is handled now.")
class RequestLevel(enum.Enum):
    UNIT = "unit"
    VILLAGE = "village"
    TOWN = "town"


@strawberry.enum(description="A figure of `requestFigures`, to list the requests behind it.")
class RequestFigure(enum.Enum):
    RECEIVED = "received"
    RESOLVED = "resolved"
    RESOLVED_ON_TIME = "resolved_on_time"
    RATED = "rated"
    SATISFIED = "satisfied"
    OPEN = "open"
    DUPLICATE = "duplicate"


@strawberry.type
class RequestUpdate:
    action: str
    from_status: RequestStatus | None
    to_status: RequestStatus
    note: str | None
    visible_to_resident: bool
    created_at: datetime
    actor_id: Private[int | None]

    @strawberry.field(description="Who took the step; null for the system (auto-close).")
    async def actor_name(self, info: Info) -> str | None:
        if self.actor_id is None:
            return None
        return (await info.context.loaders.user.load(self.actor_id)).display_name


@strawberry.type
class ResidentRequest(relay.Node):
    """A resident's problem or need, tracked to closure."""

    id: relay.NodeID[int]
    category: RequestCategory
    description: str
    photo_urls: list[str]
    place: str | None
    status: RequestStatus
    level: RequestLevel
    received_at: datetime
    due_at: datetime = strawberry.field(description="When it should be resolved (the resident sees it).")
    resolved_at: datetime | None
    closed_at: datetime | None
    rating: RequestRating | None
    row: Private[RequestRow]

    @classmethod
    def from_row(cls, row: RequestRow) -> ResidentRequest:
        return cls(
            id=row.id, category=RequestCategory(row.category), description=row.description,
            photo_urls=list(row.photo_urls), place=row.place, status=RequestStatus(row.status),
            level=RequestLevel(row.level), received_at=row.received_at, due_at=row.due_at,
            resolved_at=row.resolved_at, closed_at=row.closed_at,
            rating=RequestRating(row.rating) if row.rating else None, row=row,
        )

    @strawberry.field
    def overdue(self, info: Info) -> bool:
        return self.row.status in {"received", "accepted", "in_progress", "escalated", "reopened"} and (
            self.row.due_at < info.context.now())

    @strawberry.field(description="The unit handling it now.")
    async def unit(self, info: Info) -> OrgUnitRef:
        from schema.grid import OrgUnit

        return OrgUnit.from_row(await info.context.loaders.unit.load(self.row.unit_id))

    @strawberry.field
    async def household(self, info: Info) -> HouseholdRef:
        from schema.grid import Household

        return await Household.load(info, self.row.household_id)

    @strawberry.field(description="Who accepted it first, and stays responsible until it is closed.")
    async def owner_name(self, info: Info) -> str | None:
        if self.row.owner_id is None:
            return None
        return (await info.context.loaders.user.load(self.row.owner_id)).display_name

    @strawberry.field(description="Who is handling it now.")
    async def handler_name(self, info: Info) -> str | None:
        if self.row.handler_id is None:
            return None
        return (await info.context.loaders.user.load(self.row.handler_id)).display_name

    @strawberry.field(description="Every step; a resident sees those marked visible to them.")
    async def updates(self, info: Info) -> list[RequestUpdate]:
        rows: list[UpdateRow] = await info.context.loaders.request_updates.load(self.id)
        staff = sees_everything(info.context.loaded_viewer, self.row)
        return [
            RequestUpdate(
                action=u.action, from_status=RequestStatus(u.from_status) if u.from_status else None,
                to_status=RequestStatus(u.to_status), note=u.note,
                visible_to_resident=u.visible_to_resident, created_at=u.created_at, actor_id=u.actor_id,
            )
            for u in rows
            if staff or u.visible_to_resident
        ]


@strawberry.type
class RequestFigures:
    category: RequestCategory | None = strawberry.field(description="Null for the total.")
    received: int
    resolved: int
    resolved_on_time: int
    rated: int
    satisfied: int
    open: int
    duplicate: int = strawberry.field(description="Marked duplicates of another request: received, "
                                      "but neither open nor resolved, and left out of the resolution rate.")

    @strawberry.field(description="resolved ÷ (received − duplicate).")
    def resolution_rate(self) -> float:
        distinct = self.received - self.duplicate
        return round(self.resolved / distinct, 4) if distinct else 0.0

    @strawberry.field
    def satisfaction_rate(self) -> float:
        return round(self.satisfied / self.rated, 4) if self.rated else 0.0


@strawberry.input
class SubmitRequestInput:
    category: RequestCategory
    description: str
    photo_urls: list[str] = strawberry.field(default_factory=list)
    place: str | None = None
    household_id: relay.GlobalID | None = strawberry.field(
        default=None, description="A worker submitting for a household; residents omit it."
    )


@strawberry.input
class ActOnRequestInput:
    request_id: relay.GlobalID
    action: RequestAction
    note: str | None = strawberry.field(default=None, description="Required to escalate, resolve or mark duplicate.")
    visible_to_resident: bool = True
    duplicate_of_id: relay.GlobalID | None = None
    handler_id: relay.GlobalID | None = strawberry.field(
        default=None, description="HAND_OVER: the worker (a User) who handles it now; the owner stays."
    )


@strawberry.input
class RateRequestInput:
    request_id: relay.GlobalID
    rating: RequestRating
    note: str | None = None


@strawberry.input
class SetRequestDeadlineInput:
    village_id: relay.GlobalID | None = None
    category: RequestCategory
    level: RequestLevel
    hours: int


@strawberry.type
class RequestDeadlinePayload:
    hours: int | None
    errors: list[RequestError]


@strawberry.type
class RequestPayload:
    request: ResidentRequest | None
    errors: list[RequestError]
