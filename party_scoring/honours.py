"""最美邻长: each quarter the village sees its top-scoring neighbour chiefs (chiefs of its
deepest level) as nominees, and records whom it honoured."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import clean_text
from grid.units import leaf_level
from models import ChiefHonour
from party_scoring import standings
from party_scoring.errors import ScoringError, ScoringErrorCode, invalid

NOMINEES = 5


async def nominees(
    session: AsyncSession, village_id: int, start: datetime, end: datetime, now: datetime,
    limit: int = NOMINEES,
) -> tuple[list[standings.Standing], bool]:
    """The quarter's best neighbour chiefs, and whether the standings are published ones."""
    rows, snapshot = await standings.of_period(session, village_id, start, end, now)
    leaf = await leaf_level(session, village_id)
    chiefs = [s for s in rows if s.role == "chief" and s.chief_level == leaf]
    return chiefs[:limit], snapshot is not None


async def honour(
    session: AsyncSession, village_id: int, start: datetime, end: datetime, user_id: int, *,
    citation: str, actor_user_id: int, now: datetime,
) -> ChiefHonour:
    if end > now:
        raise ScoringError(ScoringErrorCode.PERIOD_NOT_OVER, "季度结束后才能评选", field="at")
    citation = clean_text(citation, "citation", 500, required=True, invalid=invalid)
    levels = await standings.chief_levels(session, village_id, start, end)
    if levels.get(user_id) != await leaf_level(session, village_id):
        raise ScoringError(ScoringErrorCode.NOT_A_NEIGHBOUR_CHIEF, "该用户本季度不是本村邻长", field="chiefId")
    exists = await session.scalar(select(ChiefHonour.id).where(
        ChiefHonour.village_id == village_id, ChiefHonour.quarter_start == start, ChiefHonour.user_id == user_id
    ))
    if exists:
        raise ScoringError(ScoringErrorCode.ALREADY_HONOURED, "本季度已评选该邻长", field="chiefId")
    rows, _ = await standings.of_period(session, village_id, start, end, now)
    score = next((s.score for s in rows if s.user_id == user_id and s.role == "chief"), None)
    row = ChiefHonour(
        village_id=village_id, quarter_start=start, user_id=user_id, citation=citation, score=score,
        honoured_by_id=actor_user_id, created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def honours(session: AsyncSession, village_id: int, limit: int = 40) -> list[ChiefHonour]:
    """The latest honours, newest quarter first."""
    return list((await session.scalars(
        select(ChiefHonour).where(ChiefHonour.village_id == village_id)
        .order_by(ChiefHonour.quarter_start.desc(), ChiefHonour.score.desc().nulls_last(), ChiefHonour.id)
        .limit(limit)
    )).all())
