"""Standings of a period: computed live from the evidence, or read from a published
snapshot. Publishing stores the evidence first and computes the standings from what was
stored, so a snapshot's numbers are always the sums of its own breakdown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Subquery

from app.pagination import Page, keyset_page
from household_links import visits
from models import (
    Appointment,
    OrgUnit,
    PointsAward,
    PointsEntry,
    PointsTransaction,
    ScoreEvidence,
    ScoreRow,
    ScoreSnapshot,
)
from party_scoring import evidence
from party_scoring.errors import ScoringError, ScoringErrorCode
from party_scoring.weights import Weights, of_village

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Standing:
    user_id: int
    role: str
    chief_level: int | None
    contacts_required: int
    contacts_done: int
    problems_found: int
    points_earned: int
    contact_part: Decimal
    problem_part: Decimal
    points_part: Decimal
    score: Decimal
    rank: int = 0


def standing(weights: Weights, user_id: int, role: str, chief_level: int | None, required: int,
             done: int, problems: int, points: int) -> Standing:
    """The score from its parts; each part rounded to cents, the score their sum."""
    rate = Decimal(done) / Decimal(required) if required else Decimal(0)
    contact = (weights.contact * rate).quantize(CENT, ROUND_HALF_UP)
    problem = (weights.problem * problems).quantize(CENT, ROUND_HALF_UP)
    earned = (weights.points * points).quantize(CENT, ROUND_HALF_UP)
    return Standing(user_id, role, chief_level, required, done, problems, points, contact, problem,
                    earned, contact + problem + earned)


def ranked(standings: list[Standing]) -> list[Standing]:
    """Party members first, then chiefs, each ranked among themselves (a chief answers for
    a whole unit, a member for a dozen households: their scores do not compare), best
    first; equal scores share a rank (1, 2, 2, 4)."""
    ordered = sorted(standings, key=lambda s: (s.role != "party_member", -s.score, s.user_id))
    result: list[Standing] = []
    for s in ordered:
        peers = [r for r in result if r.role == s.role]
        rank = peers[-1].rank if peers and peers[-1].score == s.score else len(peers) + 1
        result.append(Standing(**{**s.__dict__, "rank": rank}))
    return result


async def chief_levels(session: AsyncSession, village_id: int, start: datetime, end: datetime) -> dict[int, int]:
    """The deepest level each chief headed during [start, end): the leaf level is a neighbour chief."""
    rows = await session.execute(
        select(Appointment.user_id, func.max(OrgUnit.level))
        .join(OrgUnit, OrgUnit.id == Appointment.unit_id)
        .where(
            Appointment.role == "chief", OrgUnit.village_id == village_id,
            Appointment.valid_from < end,
            (Appointment.valid_to.is_(None)) | (Appointment.valid_to > start),
        )
        .group_by(Appointment.user_id)
    )
    return {user_id: level for user_id, level in rows}


async def _aggregate(
    session: AsyncSession, e: Subquery, weights: Weights, levels: dict[int, int]
) -> list[Standing]:
    contact, problem, points = e.c.kind == "contact", e.c.kind == "problem", e.c.kind == "points"
    rows = await session.execute(
        select(
            e.c.user_id, e.c.role,
            func.count().filter(contact), func.count(e.c.visit_id).filter(contact),
            func.count().filter(problem), func.coalesce(func.sum(e.c.points).filter(points), 0),
        ).group_by(e.c.user_id, e.c.role)
    )
    return ranked([
        standing(weights, user_id, role, levels.get(user_id) if role == "chief" else None,
                 required, done, problems, int(earned))
        for user_id, role, required, done, problems, earned in rows
    ])


async def live(session: AsyncSession, village_id: int, start: datetime, end: datetime, now: datetime) -> list[Standing]:
    weights = await of_village(session, village_id)
    levels = await chief_levels(session, village_id, start, end)
    return await _aggregate(session, evidence.live(village_id, start, end, now), weights, levels)


async def snapshot_of(session: AsyncSession, village_id: int, start: datetime, end: datetime) -> ScoreSnapshot | None:
    return await session.scalar(select(ScoreSnapshot).where(
        ScoreSnapshot.village_id == village_id, ScoreSnapshot.period_start == start,
        ScoreSnapshot.period_end == end,
    ))


async def of_period(
    session: AsyncSession, village_id: int, start: datetime, end: datetime, now: datetime
) -> tuple[list[Standing], ScoreSnapshot | None]:
    """The period's standings: the published ones if it was published (with its snapshot),
    else computed now."""
    snapshot = await snapshot_of(session, village_id, start, end)
    if snapshot is not None:
        return await published(session, snapshot), snapshot
    return await live(session, village_id, start, end, now), None


def weights_of(snapshot: ScoreSnapshot) -> Weights:
    return Weights(snapshot.contact_weight, snapshot.problem_weight, snapshot.points_weight)


async def published(session: AsyncSession, snapshot: ScoreSnapshot) -> list[Standing]:
    weights = weights_of(snapshot)
    rows = (await session.scalars(
        select(ScoreRow).where(ScoreRow.snapshot_id == snapshot.id).order_by(ScoreRow.role != "party_member", ScoreRow.rank, ScoreRow.user_id)
    )).all()
    return [
        Standing(**{**standing(weights, r.user_id, r.role, r.chief_level, r.contacts_required,
                               r.contacts_done, r.problems_found, r.points_earned).__dict__, "rank": r.rank})
        for r in rows
    ]


def snapshot_evidence(snapshot_id: int) -> Subquery:
    columns = [getattr(ScoreEvidence, name) for name in evidence.COLUMNS]
    return select(*columns).where(ScoreEvidence.snapshot_id == snapshot_id).subquery("e")


async def publish(
    session: AsyncSession, village_id: int, period: str, start: datetime, end: datetime, *,
    actor_user_id: int, now: datetime,
) -> ScoreSnapshot:
    """Freeze a finished period: its evidence, then the standings computed from it."""
    if end > now:
        raise ScoringError(ScoringErrorCode.PERIOD_NOT_OVER, "周期结束后才能发布评分", field="at")
    await visits.hold_village_visits(session, village_id, exclusive=True)  # corrections under way finish first
    if await snapshot_of(session, village_id, start, end) is not None:
        raise ScoringError(ScoringErrorCode.ALREADY_PUBLISHED, "该周期的评分已发布", field="at")
    weights = await of_village(session, village_id)
    snapshot = ScoreSnapshot(
        village_id=village_id, period=period, period_start=start, period_end=end,
        contact_weight=weights.contact, problem_weight=weights.problem, points_weight=weights.points,
        published_by_id=actor_user_id, published_at=now,
    )
    session.add(snapshot)
    await session.flush()
    e = evidence.live(village_id, start, end, now)
    names = list(evidence.COLUMNS)
    await session.execute(
        insert(ScoreEvidence).from_select(
            ["snapshot_id", "village_id", *names],
            select(literal(snapshot.id), literal(village_id), *(e.c[n] for n in names))
            .order_by(e.c.kind, e.c.sort_at, e.c.ref_id),
        )
    )
    levels = await chief_levels(session, village_id, start, end)
    standings = await _aggregate(session, snapshot_evidence(snapshot.id), weights, levels)
    session.add_all(
        ScoreRow(snapshot_id=snapshot.id, village_id=village_id, user_id=s.user_id, role=s.role, chief_level=s.chief_level,
                 rank=s.rank, contacts_required=s.contacts_required, contacts_done=s.contacts_done,
                 problems_found=s.problems_found, points_earned=s.points_earned, score=s.score)
        for s in standings
    )
    await session.flush()
    return snapshot


async def evidence_page(
    session: AsyncSession, e: Subquery, user_id: int, role: str, kind: str, first: int | None, after: str | None
) -> Page:
    """One person's evidence of one kind, in time order."""
    stmt = select(e, e.c.sort_at.label("key_at"), e.c.ref_id.label("key_id")).where(
        e.c.user_id == user_id, e.c.role == role, e.c.kind == kind
    )
    return await keyset_page(session, stmt, [e.c.sort_at, e.c.ref_id], first, after)


async def award_details(session: AsyncSession, award_ids: list[int]) -> dict[int, tuple[str, int | None]]:
    """For awards in a breakdown: the ledger reason and the household's ledger entry."""
    rows = await session.execute(
        select(PointsAward.id, PointsTransaction.reason, func.min(PointsEntry.id))
        .join(PointsTransaction, PointsTransaction.id == PointsAward.transaction_id)
        .outerjoin(PointsEntry, (PointsEntry.transaction_id == PointsAward.transaction_id)
                   & (PointsEntry.account_id == PointsAward.account_id))
        .where(PointsAward.id.in_(award_ids))
        .group_by(PointsAward.id, PointsTransaction.reason)
    )
    return {award_id: (reason, entry_id) for award_id, reason, entry_id in rows}
