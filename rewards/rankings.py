"""Red and black lists: households by points earned in a period, and by points deducted
(what was deserved, shortfalls included). Publishing freezes a snapshot for good."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Household, PointsAward, PointsTransaction, RankingSnapshot
from rewards.errors import RewardsError, RewardsErrorCode

MAX_ROWS = 100


async def compute(
    session: AsyncSession, village_id: int, kind: str, start: datetime, end: datetime,
    limit: int = MAX_ROWS,
) -> list[dict]:
    """[{rank, household_id, number, points}] — points earned (red) or deducted (black).
    Equal points share a rank (1, 2, 2, 4); households tied at the last rank shown are all
    shown, so the cut never depends on which was registered first."""
    if kind == "red":
        points = func.sum(PointsAward.points)
        condition = PointsAward.points > 0
        # a reversed award was not earned
        condition &= ~select(PointsTransaction.id).where(
            PointsTransaction.reverses_id == PointsAward.transaction_id
        ).exists()
    else:
        points = -func.sum(PointsAward.points)
        condition = PointsAward.points < 0
    ranked = (
        select(PointsAward.household_id, Household.number, points.label("points"),
               func.rank().over(order_by=points.desc()).label("rank"))
        .join(Household, Household.id == PointsAward.household_id)
        .where(
            PointsAward.village_id == village_id, condition,
            PointsAward.created_at >= start, PointsAward.created_at < end,
        )
        .group_by(PointsAward.household_id, Household.number)
        .subquery()
    )
    rows = (
        await session.execute(
            select(ranked).where(ranked.c.rank <= limit).order_by(ranked.c.rank, ranked.c.number)
        )
    ).all()
    return [
        {"rank": r.rank, "household_id": r.household_id, "number": r.number, "points": int(r.points)}
        for r in rows
    ]


async def publish(
    session: AsyncSession, village_id: int, kind: str, start: datetime, end: datetime,
    actor_user_id: int, now: datetime,
) -> RankingSnapshot:
    if end > now:
        raise RewardsError(RewardsErrorCode.INVALID_STATE, "周期结束后才能发布榜单")
    exists = await session.scalar(
        select(RankingSnapshot.id).where(
            RankingSnapshot.village_id == village_id, RankingSnapshot.kind == kind,
            RankingSnapshot.period_start == start, RankingSnapshot.period_end == end,
        )
    )
    if exists:
        raise RewardsError(RewardsErrorCode.DUPLICATE, "该周期的榜单已发布")
    snapshot = RankingSnapshot(
        village_id=village_id, kind=kind, period_start=start, period_end=end,
        rows=await compute(session, village_id, kind, start, end), published_by_id=actor_user_id,
        created_at=now,
    )
    session.add(snapshot)
    await session.flush()
    return snapshot
