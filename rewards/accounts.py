"""Points accounts and a village's points policy, created on first use.

Lock order, everywhere: the household account, then catalog items by id, then the
redemption, then the village's system accounts (touched last, briefly)."""

from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import PointsAccount, PointsPolicy
from rewards.errors import RewardsError, RewardsErrorCode

SYSTEM_KINDS = ("issuance", "redeemed", "expired")


async def ensure_village(session: AsyncSession, village_id: int) -> None:
    """The village's policy and system accounts (issuance, redeemed, expired)."""
    await session.execute(
        insert(PointsPolicy).values(village_id=village_id).on_conflict_do_nothing()
    )
    await session.execute(
        insert(PointsAccount)
        .values([{"village_id": village_id, "kind": kind} for kind in SYSTEM_KINDS])
        .on_conflict_do_nothing(index_elements=["village_id", "kind"], index_where=text("kind <> 'household'"))
    )


async def lock_household_account(
    session: AsyncSession, village_id: int, household_id: int
) -> PointsAccount:
    """The household's account, created if needed, locked for this transaction."""
    await session.execute(
        insert(PointsAccount)
        .values(village_id=village_id, kind="household", household_id=household_id, min_balance=0)
        .on_conflict_do_nothing(index_elements=["household_id"])
    )
    return await session.scalar(
        select(PointsAccount)
        .where(PointsAccount.household_id == household_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def household_account(session: AsyncSession, household_id: int) -> PointsAccount | None:
    return await session.scalar(select(PointsAccount).where(PointsAccount.household_id == household_id))


async def system_account(session: AsyncSession, village_id: int, kind: str) -> PointsAccount:
    query = select(PointsAccount).where(PointsAccount.village_id == village_id, PointsAccount.kind == kind)
    account = await session.scalar(query)
    if account is None:  # the village's first movement of points
        await ensure_village(session, village_id)
        account = await session.scalar(query)
    return account


async def policy(session: AsyncSession, village_id: int) -> PointsPolicy:
    found = await session.get(PointsPolicy, village_id)
    if found is None:
        await ensure_village(session, village_id)
        found = await session.get(PointsPolicy, village_id)
    return found


async def set_budget(session: AsyncSession, village_id: int, budget: int | None) -> None:
    """The most points the village may have issued (net of deductions); None: no limit."""
    if budget is not None and budget < 0:
        raise RewardsError(RewardsErrorCode.INVALID_INPUT, "积分预算不能为负数", field="budget")
    await ensure_village(session, village_id)
    floor = None if budget is None else -budget
    changed = await session.execute(
        update(PointsAccount)
        .where(
            PointsAccount.village_id == village_id,
            PointsAccount.kind == "issuance",
            (PointsAccount.balance >= floor) if floor is not None else text("true"),
        )
        .values(min_balance=floor)
        .returning(PointsAccount.id)
    )
    if changed.first() is None:
        raise RewardsError(
            RewardsErrorCode.BUDGET_EXHAUSTED, "已发放的积分超过该预算", field="budget"
        )
