"""GraphQL types, inputs and payloads of party-member household links (党员联户) and visits."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private, relay
from strawberry.types import Info

from household_links.coverage import Tally
from household_links.errors import LinkErrorCode as DomainLinkErrorCode
from household_links.visits import CORRECTION_WINDOW
from models import HouseholdLink as LinkRow
from models import Visit as VisitRow
from models import VisitRevision as RevisionRow
from schema.grid import Household, LivingStatus, OrgUnit, Relation, User
from schema.requests import RequestCategory

if TYPE_CHECKING:
    from schema.requests import ResidentRequest

RequestRef = Annotated["ResidentRequest", strawberry.lazy("schema.requests")]
LinkErrorCode = strawberry.enum(DomainLinkErrorCode, name="LinkErrorCode")


@strawberry.type
class LinkError:
    code: LinkErrorCode
    field: str | None
    message: str


@strawberry.enum
class VisitMode(enum.Enum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    VIDEO = "video"
    OTHER = "other"


@strawberry.enum(description="The standing a visit was logged under.")
class VisitAuthorRole(enum.Enum):
    PARTY_MEMBER = "party_member"
    CHIEF = "chief"


@strawberry.enum(description="What this month's contact must be: in person for a household at home.")
class ContactNeeded(enum.Enum):
    IN_PERSON = "in_person"
    ANY = "any"


def contact_needed(living_status: str) -> ContactNeeded:
    return ContactNeeded.IN_PERSON if living_status == "at_home" else ContactNeeded.ANY


@strawberry.type
class HouseholdLink:
    """A party member's responsibility for a household, from `validFrom` to `validTo`."""

    valid_from: datetime
    valid_to: datetime | None
    end_reason: str | None
    row: Private[LinkRow]

    @classmethod
    def from_row(cls, row: LinkRow) -> HouseholdLink:
        return cls(valid_from=row.valid_from, valid_to=row.valid_to, end_reason=row.end_reason, row=row)

    @strawberry.field
    async def member(self, info: Info) -> User:
        return await User.load(info, self.row.member_user_id, None)

    @strawberry.field
    async def household(self, info: Info) -> Household:
        return await Household.load(info, self.row.household_id)


@strawberry.type
class VisitProblem:
    category: RequestCategory
    description: str
    request_id: relay.GlobalID | None = strawberry.field(
        description="The tracked request it was raised as (民情诉求), if any."
    )


def _problem(category: str, description: str, request_id: int | None) -> VisitProblem:
    return VisitProblem(
        category=RequestCategory(category), description=description,
        request_id=relay.GlobalID("ResidentRequest", str(request_id)) if request_id else None,
    )


@strawberry.type
class VisitRevision:
    """A visit as it was saved: the first version, then each correction with its reason."""

    revision: int
    mode: VisitMode
    occurred_at: datetime
    notes: str
    place: str | None
    reason: str | None
    recorded_at: datetime
    problems: list[VisitProblem]
    recorded_by_id: Private[int]

    @classmethod
    def from_row(cls, row: RevisionRow) -> VisitRevision:
        return cls(
            revision=row.revision, mode=VisitMode(row.mode), occurred_at=row.occurred_at,
            notes=row.notes, place=row.place, reason=row.reason, recorded_at=row.recorded_at,
            problems=[_problem(p["category"], p["description"], p["requestId"]) for p in row.problems],
            recorded_by_id=row.recorded_by_id,
        )

    @strawberry.field
    async def recorded_by_name(self, info: Info) -> str:
        return (await info.context.loaders.user.load(self.recorded_by_id)).display_name


@strawberry.type
class Visit(relay.Node):
    """A logged contact with a household (走访)."""

    id: relay.NodeID[int]
    mode: VisitMode
    author_role: VisitAuthorRole
    occurred_at: datetime
    notes: str
    place: str | None
    latitude: float | None
    longitude: float | None
    revision: int = strawberry.field(description="1, then one more per correction.")
    created_at: datetime
    row: Private[VisitRow]

    @classmethod
    def from_row(cls, row: VisitRow) -> Visit:
        return cls(
            id=row.id, mode=VisitMode(row.mode), author_role=VisitAuthorRole(row.author_role),
            occurred_at=row.occurred_at, notes=row.notes, place=row.place,
            latitude=float(row.latitude) if row.latitude is not None else None,
            longitude=float(row.longitude) if row.longitude is not None else None,
            revision=row.revision, created_at=row.created_at, row=row,
        )

    @strawberry.field(description="Until when the author may correct it; fixed afterwards.")
    def correctable_until(self) -> datetime:
        return self.row.created_at + CORRECTION_WINDOW

    @strawberry.field
    async def author_name(self, info: Info) -> str:
        return (await info.context.loaders.user.load(self.row.author_user_id)).display_name

    @strawberry.field
    async def household(self, info: Info) -> Household:
        return await Household.load(info, self.row.household_id)

    @strawberry.field(description="Problems found, for the village's problem list (问题清单).")
    async def problems(self, info: Info) -> list[VisitProblem]:
        rows = await info.context.loaders.visit_problems.load(self.id)
        return [_problem(p.category, p.description, p.request_id) for p in rows]

    @strawberry.field(description="Every saved version, oldest first.")
    async def revisions(self, info: Info) -> list[VisitRevision]:
        return [VisitRevision.from_row(r) for r in await info.context.loaders.visit_revisions.load(self.id)]


@strawberry.type
class DoorstepMember:
    """A member of a linked household, as the responsible party member needs them: the
    phone is shown in full, since households working away are contacted by phone."""

    name: str
    relation: Relation
    birth_year: int | None
    phone: str | None


@strawberry.type
class LinkedHousehold:
    """A household a party member answers for, with what they need at the door."""

    household: Household
    living_status: LivingStatus
    contact_needed: ContactNeeded
    due_this_month: bool = strawberry.field(description="This month's contact is still due.")
    linked_since: datetime
    last_visit_id: Private[int | None]

    @strawberry.field(description="The latest contact, by anyone.")
    async def last_contact(self, info: Info) -> Visit | None:
        if self.last_visit_id is None:
            return None
        return Visit.from_row(await info.context.loaders.visit.load(self.last_visit_id))

    @strawberry.field(description="Current members, head first.")
    async def members(self, info: Info) -> list[DoorstepMember]:
        rows = await info.context.loaders.members.load(self.household.id)
        return [
            DoorstepMember(name=r.name, relation=Relation(m.relation), birth_year=r.birth_year, phone=r.phone)
            for m, r in rows
        ]


@strawberry.type
class ContactCoverage:
    required: int = strawberry.field(description="Households that needed a contact this month.")
    covered: int = strawberry.field(description="Of which had the contact they needed.")
    due: int = strawberry.field(description="Still due (or, for a past month, missed).")
    unlinked: int = strawberry.field(description="Households with no linked party member.")
    rate: float | None = strawberry.field(description="covered / required; null without households.")

    @classmethod
    def of(cls, tally: Tally) -> ContactCoverage:
        return cls(required=tally.required, covered=tally.covered, due=tally.due,
                   unlinked=tally.unlinked, rate=tally.rate)


@strawberry.type
class MemberCoverage:
    member: User
    coverage: ContactCoverage


@strawberry.type
class UnitCoverage:
    """A unit's coverage for a month, with each child unit's and each member's."""

    unit: OrgUnit
    month_start: datetime
    coverage: ContactCoverage
    children: list[UnitCoverage]
    members: list[MemberCoverage]


@strawberry.type
class DueHousehold:
    household: Household
    living_status: LivingStatus
    contact_needed: ContactNeeded
    member_id: Private[int | None]
    access_path: Private[str]

    @strawberry.field(description="Who answers for it; null if no party member is linked.")
    async def member(self, info: Info) -> User | None:
        return await User.load(info, self.member_id, self.access_path) if self.member_id else None


@strawberry.type
class PartyMember:
    """A party member serving in a village, with how many households they answer for now."""

    member: User
    linked_households: int


# --- inputs and payloads ---


@strawberry.input
class LinkHouseholdsInput:
    member_id: relay.GlobalID = strawberry.field(description="The party member (a User).")
    household_ids: list[relay.GlobalID] | None = None
    unit_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Instead of householdIds: every household of this unit's subtree."
    )
    reason: str | None = strawberry.field(default=None, description="Recorded on links this ends.")


@strawberry.type
class LinkHouseholdsPayload:
    links: list[HouseholdLink]
    errors: list[LinkError]


@strawberry.input
class UnlinkHouseholdsInput:
    household_ids: list[relay.GlobalID]
    reason: str


@strawberry.type
class UnlinkHouseholdsPayload:
    ended: int | None
    errors: list[LinkError]


@strawberry.input
class VisitProblemInput:
    category: RequestCategory
    description: str
    raise_request: bool = strawberry.field(
        default=False, description="Also open a tracked request (民情诉求) for it now."
    )


@strawberry.input
class VisitLocationInput:
    place: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@strawberry.input
class LogVisitInput:
    household_id: relay.GlobalID
    mode: VisitMode
    occurred_at: datetime
    notes: str | None = None
    location: VisitLocationInput | None = None
    problems: list[VisitProblemInput] = strawberry.field(default_factory=list)
    idempotency_key: str | None = strawberry.field(
        default=None, description="The same on every retry of this visit: a retry returns the first."
    )


@strawberry.input
class CorrectVisitInput:
    visit_id: relay.GlobalID
    reason: str
    mode: VisitMode | None = None
    occurred_at: datetime | None = None
    notes: str | None = None
    location: VisitLocationInput | None = None
    problems: list[VisitProblemInput] | None = strawberry.field(
        default=None, description="Replaces the problems not yet raised as requests."
    )


@strawberry.type
class VisitPayload:
    visit: Visit | None
    errors: list[LinkError]

