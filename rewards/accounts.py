"""Points accounts and a village's points policy, created on first use.

Lock order, everywhere: the household account, then catalog items by id, then the
redemption, then the village's system accounts (touched last, briefly).

Rows the ledger refers to (households, org units, users) are held elsewhere only FOR NO KEY
UPDATE: a posting's foreign-key checks take them FOR KEY SHARE while it holds the household
account, and FOR UPDATE would make the two wait for each other."""

from __future__ import annotations

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import PointsAccount, PointsPolicy
from models.rewards import SYSTEM_ACCOUNT
from rewards.errors import RewardsError, RewardsErrorCode

# With no budget a village still issues at most this, net: every balance and total the
# API shows then fits its 32-bit Int.
MAX_ISSUED = 2**31 - 1

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


_LOCK_HOUSEHOLD_ACCOUNT = (
    select(PointsAccount)
    .where(PointsAccount.household_id == bindparam("household_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


async def lock_household_account(
    session: AsyncSession, village_id: int, household_id: int
) -> PointsAccount:
    """The household's account, created if needed, locked for this transaction."""
    params = {"household_id": household_id}
    account = await session.scalar(_LOCK_HOUSEHOLD_ACCOUNT, params)
    if account is not None:
        return account
    # The household's first points: create the account (a concurrent first move may
    # create it too, and one of the two inserts does nothing), then lock it.
    await session.execute(
        insert(PointsAccount)
        .values(village_id=village_id, kind="household", household_id=household_id, min_balance=0)
        .on_conflict_do_nothing(index_elements=["household_id"])
    )
    return await session.scalar(_LOCK_HOUSEHOLD_ACCOUNT, params)


async def household_account(session: AsyncSession, household_id: int) -> PointsAccount | None:
    return await session.scalar(select(PointsAccount).where(PointsAccount.household_id == household_id))


_SYSTEM_ACCOUNT = select(PointsAccount).where(
    PointsAccount.village_id == bindparam("village_id"), PointsAccount.kind == bindparam("kind"), SYSTEM_ACCOUNT
)


async def system_account(session: AsyncSession, village_id: int, kind: str) -> PointsAccount:
    params = {"village_id": village_id, "kind": kind}
    account = await session.scalar(_SYSTEM_ACCOUNT, params)
    if account is None:  # the village's first movement of points
        await ensure_village(session, village_id)
        account = await session.scalar(_SYSTEM_ACCOUNT, params)
    return account


async def policy(session: AsyncSession, village_id: int) -> PointsPolicy:
    found = await session.get(PointsPolicy, village_id)
    if found is None:
        await ensure_village(session, village_id)
        found = await session.get(PointsPolicy, village_id)
    return found


async def set_budget(session: AsyncSession, village_id: int, budget: int | None) -> None:
    """The most points the village may have issued (net of deductions); None: no limit."""
    if budget is not None and not 0 <= budget <= MAX_ISSUED:
        raise RewardsError(RewardsErrorCode.INVALID_INPUT, f"积分预算为0到{MAX_ISSUED}", field="budget")
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
