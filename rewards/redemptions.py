"""Redeeming points for goods, picking them up, cancelling, expiring.

A redemption reserves stock and spends points in one transaction. Leaving `reserved` is a
guarded update (`... WHERE status = 'reserved'`), so whatever races with it — a cancel,
a pickup, the sweeper — exactly one wins and the refund and release happen once."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from models import PointsTransaction, Redemption, RewardItem, StockMovement
from rewards import idempotency, ledger
from rewards.accounts import lock_household_account, policy, system_account
from rewards.catalog import is_on_sale, lock_item
from rewards.errors import RewardsError, RewardsErrorCode, invalid, not_found
from rewards.ledger import Leg
from rewards.periods import period_start

# No 0/O, 1/I/L: read aloud at the counter without mistakes. 31^8 ≈ 8.5e11 codes.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
MAX_QUANTITY = 100
OPERATION = "redeemReward"


def new_pickup_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(code: str) -> str:
    return (code or "").strip().upper().replace(" ", "").replace("-", "")


async def redeem(
    session: AsyncSession, *, user_id: int, village_id: int, household_id: int,
    resident_id: int | None, item_id: int, quantity: int, idempotency_key: str, now: datetime,
) -> Redemption:
    request = idempotency.keyed(user_id, OPERATION, idempotency_key, item_id=item_id, quantity=quantity)
    if not 1 <= quantity <= MAX_QUANTITY:
        raise invalid(f"数量为1到{MAX_QUANTITY}", "quantity")
    account = await lock_household_account(session, village_id, household_id)
    earlier = await request.replay(session)
    if earlier is not None:
        return await session.get(Redemption, earlier.result_id)

    item = await lock_item(session, village_id, item_id)
    if not is_on_sale(item, now):
        raise RewardsError(RewardsErrorCode.ITEM_INACTIVE, "该商品未上架", field="itemId")
    await _check_limit(session, item, household_id, quantity, now)
    if item.stock_available < quantity:
        raise RewardsError(RewardsErrorCode.OUT_OF_STOCK, "库存不足", field="quantity")
    cost = item.points_price * quantity
    legs = await ledger.draw(session, account.id, cost, now)

    stock = (await session.execute(_RESERVE_STOCK, {"item_id": item.id, "quantity": quantity})).first()
    if stock is None:  # cannot happen under the item lock; the guard stays anyway
        raise RewardsError(RewardsErrorCode.OUT_OF_STOCK, "库存不足", field="quantity")
    set_committed_value(item, "stock_available", stock.stock_available)  # the locked item, as stored now
    set_committed_value(item, "stock_reserved", stock.stock_reserved)
    village_policy = await policy(session, village_id)
    redemption = await _insert_with_code(
        session, village_id=village_id, household_id=household_id, account_id=account.id,
        resident_id=resident_id, user_id=user_id, item_id=item.id, quantity=quantity, points=cost,
        pickup_deadline=now + timedelta(days=village_policy.pickup_days), created_at=now,
    )
    session.add(
        StockMovement(
            village_id=village_id, item_id=item.id, kind="reserve", delta_available=-quantity,
            delta_reserved=quantity, reason="兑换预留", actor_user_id=user_id,
            redemption_id=redemption.id, created_at=now,
        )
    )
    redeemed = await system_account(session, village_id, "redeemed")
    await ledger.post(
        session, village_id=village_id, kind="redemption", reason=f"兑换 {item.name} ×{quantity}",
        legs=[*legs, Leg(redeemed.id, cost)], now=now, actor_user_id=user_id,
        household_id=household_id, resident_id=resident_id, redemption_id=redemption.id,
    )
    await request.remember(session, redemption.id)
    return redemption


async def _check_limit(session, item: RewardItem, household_id: int, quantity: int, now) -> None:
    if item.limit_quantity is None:
        return
    taken = select(func.coalesce(func.sum(Redemption.quantity), 0)).where(
        Redemption.item_id == item.id,
        Redemption.household_id == household_id,
        Redemption.status.in_(("reserved", "picked_up")),
    )
    start = period_start(item.limit_period, now)
    if start is not None:
        taken = taken.where(Redemption.created_at >= start)
    if await session.scalar(taken) + quantity > item.limit_quantity:
        raise RewardsError(RewardsErrorCode.LIMIT_REACHED, f"每户限兑{item.limit_quantity}件", field="quantity")


# The hot statements of a redemption, built once: a request only binds its values.
_RESERVE_STOCK = (
    update(RewardItem)
    .where(RewardItem.id == bindparam("item_id"), RewardItem.stock_available >= bindparam("quantity"))
    .values(stock_available=RewardItem.stock_available - bindparam("quantity"),
            stock_reserved=RewardItem.stock_reserved + bindparam("quantity"))
    .returning(RewardItem.stock_available, RewardItem.stock_reserved)
    .execution_options(synchronize_session=False)
)
_INSERTED = ("village_id", "household_id", "account_id", "resident_id", "user_id", "item_id", "quantity",
             "points", "pickup_code", "pickup_deadline", "created_at")
_INSERT_REDEMPTION = (
    insert(Redemption)
    .values({name: bindparam(name, type_=Redemption.__table__.c[name].type) for name in _INSERTED})
    .on_conflict_do_nothing(index_elements=["village_id", "pickup_code"])
    .returning(Redemption)
)


async def _insert_with_code(session: AsyncSession, **values) -> Redemption:
    for _ in range(5):
        redemption = await session.scalar(_INSERT_REDEMPTION, {**values, "pickup_code": new_pickup_code()})
        if redemption is not None:
            return redemption
        # the code is taken in this village: draw another
    raise RuntimeError("could not draw a free pickup code")


async def find_by_code(session: AsyncSession, village_id: int, code: str) -> Redemption:
    code = normalize_code(code)
    redemption = await session.scalar(
        select(Redemption).where(Redemption.village_id == village_id, Redemption.pickup_code == code)
    )
    if redemption is None:
        raise not_found("兑换码", "code")
    return redemption


async def confirm_pickup(
    session: AsyncSession, redemption: Redemption, *, clerk_user_id: int, now: datetime
) -> Redemption:
    await lock_item(session, redemption.village_id, redemption.item_id)
    if redemption.status == "reserved" and redemption.pickup_deadline <= now:
        # past the deadline it is expired, whether or not the sweeper has run yet
        raise RewardsError(RewardsErrorCode.INVALID_STATE, "该兑换已过领取期限")
    if not await _close(session, redemption, "picked_up", clerk_user_id, now):
        raise _not_reserved(redemption)
    await _move_stock(session, redemption, "pickup", delta_available=0,
                      delta_reserved=-redemption.quantity, actor=clerk_user_id, now=now)
    return redemption


async def cancel(
    session: AsyncSession, redemption: Redemption, *, user_id: int | None, now: datetime,
    expired: bool = False,
) -> Redemption:
    """Cancel (or, for the sweeper, expire) a reserved redemption: points back into the
    lots they came from, goods back on the shelf. Exactly once."""
    account = await lock_household_account(session, redemption.village_id, redemption.household_id)
    await lock_item(session, redemption.village_id, redemption.item_id)
    status = "expired" if expired else "cancelled"
    if not await _close(session, redemption, status, user_id, now):
        raise _not_reserved(redemption)
    spent = await session.scalar(
        select(PointsTransaction.id).where(
            PointsTransaction.redemption_id == redemption.id, PointsTransaction.kind == "redemption"
        )
    )
    back = await ledger.return_to_lots(session, await ledger.legs_of(session, spent, account.id))
    redeemed = await system_account(session, redemption.village_id, "redeemed")
    await ledger.post(
        session, village_id=redemption.village_id, kind="refund",
        reason="兑换过期未领取，积分退回" if expired else "取消兑换，积分退回",
        legs=[*back, Leg(redeemed.id, -redemption.points)], now=now, actor_user_id=user_id,
        household_id=redemption.household_id, resident_id=redemption.resident_id,
        redemption_id=redemption.id, reverses_id=spent,
    )
    await _move_stock(session, redemption, "release", delta_available=redemption.quantity,
                      delta_reserved=-redemption.quantity, actor=user_id, now=now)
    return redemption


async def _close(session, redemption: Redemption, status: str, user_id, now) -> bool:
    closed = await session.execute(
        update(Redemption)
        .where(Redemption.id == redemption.id, Redemption.status == "reserved")
        .values(status=status, closed_at=now, closed_by_id=user_id)
        .returning(Redemption.id)
    )
    if closed.first() is None:
        await session.refresh(redemption)
        return False
    await session.refresh(redemption)
    return True


def _not_reserved(redemption: Redemption) -> RewardsError:
    labels = {"picked_up": "已领取", "cancelled": "已取消", "expired": "已过期"}
    return RewardsError(
        RewardsErrorCode.INVALID_STATE, f"该兑换{labels.get(redemption.status, redemption.status)}"
    )


async def _move_stock(session, redemption: Redemption, kind, *, delta_available, delta_reserved, actor, now):
    await session.execute(
        update(RewardItem)
        .where(RewardItem.id == redemption.item_id)
        .values(stock_available=RewardItem.stock_available + delta_available,
                stock_reserved=RewardItem.stock_reserved + delta_reserved)
    )
    session.add(
        StockMovement(
            village_id=redemption.village_id, item_id=redemption.item_id, kind=kind,
            delta_available=delta_available, delta_reserved=delta_reserved,
            reason={"pickup": "已领取", "release": "取消或过期，退回库存"}[kind],
            actor_user_id=actor, redemption_id=redemption.id, created_at=now,
        )
    )
    await session.flush()
