"""Queries and mutations of party-member scoring and the most beautiful neighbour chiefs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.types import Info

from app.errors import BadInput
from grid import access
from identity.viewer import ADMIN_ROLES, GRID_ROLES, Viewer
from models import Appointment, OrgUnit
from party_scoring import honours, standings, weights
from party_scoring.errors import ScoringError, ScoringErrorCode
from resolvers.ids import db_id
from resolvers.payload_errors import converter
from resolvers.transaction import in_transaction
from resolvers.villages import village_of
from rewards.periods import period_bounds
from schema.party_scoring import (
    ChiefHonour,
    ChiefHonourPayload,
    ChiefNominees,
    HonourNeighbourChiefInput,
    PartyScores,
    PartyScoresPayload,
    PartyStanding,
    PublishScoresInput,
    ScoreBreakdown,
    ScoredRole,
    ScoringWeights,
    ScoringWeightsPayload,
    SetScoringWeightsInput,
)
from schema.party_scoring import ScoringError as ScoringErrorType
from schema.party_scoring import ScoringErrorCode as ScoringErrorCodeEnum
from schema.rewards import RankingPeriod

errors = converter(ScoringErrorType, ScoringErrorCodeEnum)
SCORED_ROLES = frozenset({"party_member", "chief"})


async def _scores(
    session: AsyncSession, village: OrgUnit, start: datetime, end: datetime, now: datetime
) -> PartyScores:
    rows, snapshot = await standings.of_period(session, village.id, start, end, now)
    used = standings.weights_of(snapshot) if snapshot else await weights.of_village(session, village.id)
    return PartyScores(
        period_start=start, period_end=end, published=snapshot is not None,
        published_at=snapshot.published_at if snapshot else None, weights=ScoringWeights.of(used),
        standings=[PartyStanding.of(s, village.path) for s in rows],
    )


async def party_scores(
    info: Info, period: RankingPeriod, at: datetime | None = None, village_id: relay.GlobalID | None = None
) -> PartyScores:
    """Admins: every party member's and chief's standing for the period containing `at`
    (published if it was, live otherwise), best first."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    start, end = period_bounds(period.value, at or ctx.now())
    async with ctx.db() as session:
        village = await village_of(session, viewer, village_id)
        return await _scores(session, village, start, end, ctx.now())


async def _village_for_person(
    session: AsyncSession, viewer: Viewer, village_id: relay.GlobalID | None, user_id: int
) -> OrgUnit:
    """Admins ask about anyone who serves or served in their village; a party member or
    chief about themselves, in a village where they serve. Anything else is not found."""
    own = user_id == viewer.user_id
    missing = ScoringError(ScoringErrorCode.NOT_FOUND, "评分不存在", field="userId")
    if village_id is None:
        held = {g.village_id for g in viewer.grants if g.role in (SCORED_ROLES if own else ADMIN_ROLES) and g.village_id}
        if not held:
            raise missing
        if len(held) > 1:
            raise BadInput("请指定村（villageId）", "villageId")
        village = await session.get(OrgUnit, held.pop())
    else:
        village = await access.get_unit(session, viewer, db_id(village_id, "OrgUnit", "villageId"), field="villageId")
    if village.kind != "village":
        raise missing
    if own:
        if not any(g.role in SCORED_ROLES and g.village_id == village.id for g in viewer.grants):
            raise missing
    elif not (viewer.may(ADMIN_ROLES, village.path) and await _served_in(session, user_id, village.id)):
        raise missing
    return village


async def _served_in(session: AsyncSession, user_id: int, village_id: int) -> bool:
    return bool(await session.scalar(
        select(Appointment.id).join(OrgUnit, OrgUnit.id == Appointment.unit_id)
        .where(Appointment.user_id == user_id, Appointment.role.in_(SCORED_ROLES), OrgUnit.village_id == village_id)
        .limit(1)
    ))


async def score_breakdown(
    info: Info, period: RankingPeriod, role: ScoredRole, at: datetime | None = None,
    user_id: relay.GlobalID | None = None, village_id: relay.GlobalID | None = None,
) -> ScoreBreakdown:
    """One standing and the visits and ledger entries behind it (the viewer's own by
    default; admins may ask for anyone of their village)."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    person = db_id(user_id, "User", "userId") if user_id is not None else viewer.user_id
    start, end = period_bounds(period.value, at or ctx.now())
    now = ctx.now()
    async with ctx.db() as session:
        village = await _village_for_person(session, viewer, village_id, person)
        rows, snapshot = await standings.of_period(session, village.id, start, end, now)
        source = ("snapshot", snapshot.id) if snapshot else ("live", village.id, start, end, now)
    found = next((s for s in rows if s.user_id == person and s.role == role.value), None)
    if found is None:  # nothing to count: a standing of zeros
        found = standings.standing(weights.DEFAULT, person, role.value, None, 0, 0, 0, 0)
    return ScoreBreakdown(standing=PartyStanding.of(found, village.path), published=snapshot is not None,
                          source=source)


async def publish_scores(info: Info, input: PublishScoresInput) -> PartyScoresPayload:
    """Freeze a finished period's scores, with their evidence, for good."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    start, end = period_bounds(input.period.value, input.at)

    async def action(session: AsyncSession):
        village = await village_of(session, viewer, input.village_id)
        await standings.publish(session, village.id, input.period.value, start, end,
                                actor_user_id=viewer.user_id, now=ctx.now())
        return await _scores(session, village, start, end, ctx.now())

    scores, errs = await in_transaction(info, action)
    return PartyScoresPayload(scores=scores, errors=errors(errs))


async def set_scoring_weights(info: Info, input: SetScoringWeightsInput) -> ScoringWeightsPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        village = await village_of(session, viewer, input.village_id)
        given = weights.Weights(*(Decimal(str(v)) for v in
                                  (input.contact_weight, input.problem_weight, input.points_weight)))
        return await weights.set_weights(session, village.id, given, actor_user_id=viewer.user_id, now=ctx.now())

    saved, errs = await in_transaction(info, action)
    return ScoringWeightsPayload(weights=saved and ScoringWeights.of(saved), errors=errors(errs))


async def neighbour_chief_nominees(
    info: Info, at: datetime | None = None, village_id: relay.GlobalID | None = None
) -> ChiefNominees:
    """最美邻长: the quarter's top-scoring neighbour chiefs, and whom the village honoured."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    start, end = period_bounds("quarter", at or ctx.now())
    async with ctx.db() as session:
        village = await village_of(session, viewer, village_id)
        top, published = await honours.nominees(session, village.id, start, end, ctx.now())
        honoured = [h for h in await honours.honours(session, village.id) if h.quarter_start == start]
    return ChiefNominees(
        quarter_start=start, quarter_end=end, published=published,
        nominees=[PartyStanding.of(s, village.path) for s in top],
        honoured=[ChiefHonour.from_row(h) for h in honoured],
    )


async def chief_honours(info: Info, village_id: relay.GlobalID | None = None) -> list[ChiefHonour]:
    """The village's most beautiful neighbour chiefs, newest quarter first: public to its
    residents and staff."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        wanted = db_id(village_id, "OrgUnit", "villageId") if village_id is not None else viewer.village_id
        if wanted is not None and wanted == viewer.village_id:  # where they live: public to residents
            village = await session.get(OrgUnit, wanted)
        else:
            village = await village_of(session, viewer, village_id, roles=GRID_ROLES)
        rows = await honours.honours(session, village.id)
    return [ChiefHonour.from_row(r) for r in rows]


async def honour_neighbour_chief(info: Info, input: HonourNeighbourChiefInput) -> ChiefHonourPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()
    start, end = period_bounds("quarter", input.at)

    async def action(session: AsyncSession):
        village = await village_of(session, viewer, input.village_id)
        return await honours.honour(
            session, village.id, start, end, db_id(input.chief_id, "User", "chiefId"),
            citation=input.citation, actor_user_id=viewer.user_id, now=ctx.now(),
        )

    row, errs = await in_transaction(info, action)
    return ChiefHonourPayload(honour=row and ChiefHonour.from_row(row), errors=errors(errs))
