"""GraphQL types, inputs and payloads of party-member scoring (党员评分) and 最美邻长."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from strawberry import Private, relay
from strawberry.types import Info

from app.pagination import Page
from models import ChiefHonour as HonourRow
from party_scoring import evidence, standings
from party_scoring.errors import ScoringErrorCode as DomainScoringErrorCode
from party_scoring.weights import Weights
from schema.grid import Household, LivingStatus, User
from schema.household_links import ContactNeeded, Visit, contact_needed
from schema.relay import connection
from schema.requests import RequestCategory
from schema.rewards import RankingPeriod

ScoringErrorCode = strawberry.enum(DomainScoringErrorCode, name="ScoringErrorCode")


@strawberry.type
class ScoringError:
    code: ScoringErrorCode
    field: str | None
    message: str


@strawberry.enum
class ScoredRole(enum.Enum):
    PARTY_MEMBER = "party_member"
    CHIEF = "chief"


@strawberry.type
class ScoringWeights:
    """score = contactWeight × contactsDone / contactsRequired + problemWeight × problemsFound
    + pointsWeight × pointsEarned"""

    contact_weight: float
    problem_weight: float
    points_weight: float

    @classmethod
    def of(cls, w: Weights) -> ScoringWeights:
        return cls(contact_weight=float(w.contact), problem_weight=float(w.problem), points_weight=float(w.points))


@strawberry.type
class PartyStanding:
    """One person's standing in a period, and the parts it is the sum of."""

    rank: int | None = strawberry.field(description="Null for someone with nothing to count.")
    role: ScoredRole
    chief_level: int | None = strawberry.field(description="For chiefs: the deepest level they headed.")
    contacts_required: int = strawberry.field(description="Household-months they answered for.")
    contacts_done: int = strawberry.field(description="Of which had the contact they needed.")
    problems_found: int
    points_earned: int = strawberry.field(
        description="Points earned in the period by the households they answered for then (not balances)."
    )
    contact_part: float
    problem_part: float
    points_part: float
    score: float
    user_id: Private[int]
    access_path: Private[str]

    @classmethod
    def of(cls, s: standings.Standing, access_path: str) -> PartyStanding:
        return cls(
            rank=s.rank or None, role=ScoredRole(s.role), chief_level=s.chief_level,
            contacts_required=s.contacts_required, contacts_done=s.contacts_done,
            problems_found=s.problems_found, points_earned=s.points_earned,
            contact_part=float(s.contact_part), problem_part=float(s.problem_part),
            points_part=float(s.points_part), score=float(s.score), user_id=s.user_id,
            access_path=access_path,
        )

    @strawberry.field
    async def person(self, info: Info) -> User:
        return await User.load(info, self.user_id, self.access_path)


@strawberry.type
class PartyScores:
    period_start: datetime
    period_end: datetime
    published: bool = strawberry.field(description="A frozen snapshot; otherwise computed now.")
    published_at: datetime | None
    weights: ScoringWeights
    standings: list[PartyStanding]


@strawberry.type
class ContactEvidence:
    """A household-month the person answered for, and the visit that met it (null: missed)."""

    month_start: datetime
    living_status: LivingStatus
    contact_needed: ContactNeeded
    household_id: Private[int]
    visit_id: Private[int | None]

    @strawberry.field
    def met(self) -> bool:
        return self.visit_id is not None

    @strawberry.field
    async def household(self, info: Info) -> Household:
        return await Household.load(info, self.household_id)

    @strawberry.field
    async def visit(self, info: Info) -> Visit | None:
        if self.visit_id is None:
            return None
        return Visit.from_row(await info.context.loaders.visit.load(self.visit_id))


@strawberry.type
class ProblemEvidence:
    occurred_at: datetime
    visit_id: Private[int]
    problem_id: Private[int]

    @strawberry.field
    async def visit(self, info: Info) -> Visit:
        return Visit.from_row(await info.context.loaders.visit.load(self.visit_id))

    async def _problem(self, info: Info):
        problems = await info.context.loaders.visit_problems.load(self.visit_id)
        return next((p for p in problems if p.id == self.problem_id), None)

    @strawberry.field(description="Null if a correction has replaced the problem since (live scores only).")
    async def category(self, info: Info) -> RequestCategory | None:
        problem = await self._problem(info)
        return RequestCategory(problem.category) if problem else None

    @strawberry.field(description="Null if a correction has replaced the problem since (live scores only).")
    async def description(self, info: Info) -> str | None:
        problem = await self._problem(info)
        return problem.description if problem else None


@strawberry.type
class PointsEvidence:
    """An award of points to a household the person answered for at that moment."""

    points: int
    awarded_at: datetime
    reason: str
    entry_id: relay.GlobalID | None = strawberry.field(description="The household's ledger entry (PointsEntry).")
    household_id: Private[int]

    @strawberry.field
    async def household(self, info: Info) -> Household:
        return await Household.load(info, self.household_id)


@strawberry.type
class ScoreBreakdown:
    """A standing and everything it counts: page through each kind of evidence."""

    standing: PartyStanding
    published: bool
    source: Private[tuple]  # ("snapshot", id) or ("live", village id, start, end, now)

    def _evidence(self):
        if self.source[0] == "snapshot":
            return standings.snapshot_evidence(self.source[1])
        return evidence.live(*self.source[1:])

    async def _page(self, info: Info, kind: str, first: int | None, after: str | None) -> Page:
        async with info.context.db() as session:
            return await standings.evidence_page(
                session, self._evidence(), self.standing.user_id, self.standing.role.value, kind, first, after
            )

    @strawberry.field(description="Household-months, in month order.")
    async def contacts(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[ContactEvidence]:
        page = await self._page(info, "contact", first, after)
        return connection([
            ContactEvidence(month_start=r.month_start, living_status=LivingStatus(r.living_status),
                            contact_needed=contact_needed(r.living_status), household_id=r.household_id,
                            visit_id=r.visit_id)
            for r in page.rows
        ], page)

    @strawberry.field(description="Problems found on the person's visits, in time order.")
    async def problems(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[ProblemEvidence]:
        page = await self._page(info, "problem", first, after)
        return connection([
            ProblemEvidence(occurred_at=r.occurred_at, visit_id=r.visit_id, problem_id=r.problem_id)
            for r in page.rows
        ], page)

    @strawberry.field(description="Awards to the households answered for, in time order.")
    async def points(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[PointsEvidence]:
        page = await self._page(info, "points", first, after)
        async with info.context.db() as session:
            details = await standings.award_details(session, [r.award_id for r in page.rows])
        return connection([
            PointsEvidence(
                points=r.points, awarded_at=r.occurred_at, reason=details[r.award_id][0],
                entry_id=relay.GlobalID("PointsEntry", str(details[r.award_id][1])) if details[r.award_id][1] else None,
                household_id=r.household_id,
            )
            for r in page.rows
        ], page)


@strawberry.type
class ChiefHonour:
    """最美邻长: a neighbour chief the village honoured for a quarter."""

    quarter_start: datetime
    citation: str
    score: float | None
    created_at: datetime
    user_id: Private[int]

    @classmethod
    def from_row(cls, row: HonourRow) -> ChiefHonour:
        return cls(quarter_start=row.quarter_start, citation=row.citation,
                   score=float(row.score) if row.score is not None else None,
                   created_at=row.created_at, user_id=row.user_id)

    @strawberry.field
    async def chief(self, info: Info) -> User:
        return await User.load(info, self.user_id, None)


@strawberry.type
class ChiefNominees:
    quarter_start: datetime
    quarter_end: datetime
    published: bool = strawberry.field(description="From the quarter's published scores; else live.")
    nominees: list[PartyStanding]
    honoured: list[ChiefHonour]


# --- inputs and payloads ---


@strawberry.input
class PublishScoresInput:
    village_id: relay.GlobalID | None = None
    period: RankingPeriod
    at: datetime = strawberry.field(description="Any moment inside the period.")


@strawberry.type
class PartyScoresPayload:
    scores: PartyScores | None
    errors: list[ScoringError]


@strawberry.input
class SetScoringWeightsInput:
    village_id: relay.GlobalID | None = None
    contact_weight: float
    problem_weight: float
    points_weight: float


@strawberry.type
class ScoringWeightsPayload:
    weights: ScoringWeights | None
    errors: list[ScoringError]


@strawberry.input
class HonourNeighbourChiefInput:
    village_id: relay.GlobalID | None = None
    at: datetime = strawberry.field(description="Any moment inside the quarter.")
    chief_id: relay.GlobalID = strawberry.field(description="The neighbour chief (a User).")
    citation: str


@strawberry.type
class ChiefHonourPayload:
    honour: ChiefHonour | None
    errors: list[ScoringError]
