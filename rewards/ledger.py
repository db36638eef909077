"""The ledger's moves. Every function here runs inside the caller's transaction and with
the household account already locked (see `accounts.lock_household_account`).

A move is a transaction with legs that sum to zero (PostgreSQL refuses to commit one that
does not). Points enter a household as a lot with an optional expiry; they leave it drawn
from lots, soonest-expiring first, never from an expired lot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from models import PointsAccount, PointsEntry, PointsLot, PointsTransaction
from models.rewards import OPEN_LOT, SYSTEM_ACCOUNT
from rewards.accounts import MAX_ISSUED, system_account
from rewards.errors import RewardsError, RewardsErrorCode


@dataclass(frozen=True)
class Leg:
    account_id: int
    points: int
    lot_id: int | None = None


def _moves(*names: str):
    """`unnest(:name, …) AS moves(name, …)`: rows of ids and amounts bound as arrays, so
    that a statement moving any number of rows is built and compiled once."""
    arrays = (bindparam(name, type_=ARRAY(BigInteger)) for name in names)
    return func.unnest(*arrays).table_valued(*names).render_derived(name="moves")


_ACCOUNT_MOVES = _moves("account_ids", "deltas", "earned_deltas")
_MOVE_ACCOUNTS = (
    update(PointsAccount)
    .where(PointsAccount.id == _ACCOUNT_MOVES.c.account_ids)
    .values(balance=PointsAccount.balance + _ACCOUNT_MOVES.c.deltas,
            lifetime_earned=PointsAccount.lifetime_earned + _ACCOUNT_MOVES.c.earned_deltas)
    .execution_options(synchronize_session=False)
)
_LOT_MOVES = _moves("lot_ids", "deltas")
_MOVE_LOTS = (
    update(PointsLot)
    .where(PointsLot.id == _LOT_MOVES.c.lot_ids)
    .values(remaining=PointsLot.remaining + _LOT_MOVES.c.deltas)
    .execution_options(synchronize_session=False)
)


_LEGS = (
    func.unnest(*(bindparam(name, type_=ARRAY(BigInteger)) for name in ("leg_accounts", "leg_lots", "leg_points")))
    .table_valued("account_id", "lot_id", "points", with_ordinality="n")
    .render_derived(name="legs")
)
_INSERT_LEGS = insert(PointsEntry.__table__).from_select(  # Core: bound as one row, not a bulk insert
    ["transaction_id", "village_id", "account_id", "lot_id", "points", "created_at"],
    select(
        bindparam("leg_transaction", type_=BigInteger), bindparam("leg_village", type_=BigInteger),
        _LEGS.c.account_id, _LEGS.c.lot_id, _LEGS.c.points,
        bindparam("leg_time", type_=DateTime(timezone=True)),
    ).order_by(_LEGS.c.n),
)


async def post(
    session: AsyncSession, *, village_id: int, kind: str, reason: str, legs: list[Leg], now: datetime,
    actor_user_id: int | None = None, household_id: int | None = None, resident_id: int | None = None,
    rule_version_id: int | None = None, redemption_id: int | None = None,
    reverses_id: int | None = None, source: str | None = None, earned: dict[int, int] | None = None,
) -> PointsTransaction:
    """Record a transaction and its legs, and move the cached balances by the legs (and
    `lifetime_earned` of the accounts in `earned` by their points)."""
    transaction = PointsTransaction(
        village_id=village_id, kind=kind, reason=reason, actor_user_id=actor_user_id,
        household_id=household_id, resident_id=resident_id, rule_version_id=rule_version_id,
        redemption_id=redemption_id, reverses_id=reverses_id, source=source, created_at=now,
    )
    session.add(transaction)
    await session.flush()
    totals: dict[int, int] = {}
    for leg in legs:
        totals[leg.account_id] = totals.get(leg.account_id, 0) + leg.points
    earned = earned or {}
    # The household account is locked already; system accounts are locked here, last, and
    # before the legs go in: their insert moves the village's running totals
    # (points_village_totals, by trigger), whose row is only ever taken by a transaction
    # that already holds the system account of that kind of move.
    ids = sorted(totals)
    await session.execute(
        _MOVE_ACCOUNTS,
        {"account_ids": ids, "deltas": [totals[i] for i in ids], "earned_deltas": [earned.get(i, 0) for i in ids]},
    )
    for account_id, points in totals.items():  # what the session already holds moves too
        _moved(session, account_id, points, earned.get(account_id, 0))
    await session.execute(
        _INSERT_LEGS,
        {
            "leg_transaction": transaction.id, "leg_village": village_id, "leg_time": now,
            "leg_accounts": [leg.account_id for leg in legs], "leg_lots": [leg.lot_id for leg in legs],
            "leg_points": [leg.points for leg in legs],
        },
    )
    return transaction


def _moved(session: AsyncSession, account_id: int, points: int, earned: int) -> None:
    """Keep an account loaded in the session in step with an UPDATE that moved it."""
    account = session.identity_map.get(identity_key(PointsAccount, account_id))
    if account is None:
        return
    loaded = account.__dict__
    if "balance" in loaded:
        set_committed_value(account, "balance", loaded["balance"] + points)
    if earned and "lifetime_earned" in loaded:
        set_committed_value(account, "lifetime_earned", loaded["lifetime_earned"] + earned)


_LOCK_BUDGET = (
    select(PointsAccount)
    .where(
        PointsAccount.village_id == bindparam("village_id"),
        PointsAccount.kind == "issuance", SYSTEM_ACCOUNT,
        PointsAccount.balance - bindparam("points") >= func.coalesce(PointsAccount.min_balance, -MAX_ISSUED),
    )
    .with_for_update()
    .execution_options(populate_existing=True)
)


async def take_from_budget(session: AsyncSession, village_id: int, points: int) -> PointsAccount:
    """Reserve `points` of the village's budget: a guarded lock on the issuance account,
    so concurrent awards can never issue more than the budget together."""
    params = {"village_id": village_id, "points": points}
    issuance = await session.scalar(_LOCK_BUDGET, params)
    if issuance is None:  # no budget left, or the village's first movement of points
        await system_account(session, village_id, "issuance")
        issuance = await session.scalar(_LOCK_BUDGET, params)
    if issuance is None:
        raise RewardsError(RewardsErrorCode.BUDGET_EXHAUSTED, "本村积分预算（或发放上限）已用完")
    return issuance


async def open_lot(
    session: AsyncSession, village_id: int, account_id: int, points: int, expires_at: datetime | None,
    now: datetime,
) -> PointsLot:
    lot = PointsLot(
        village_id=village_id, account_id=account_id, points=points, remaining=points,
        expires_at=expires_at, created_at=now,
    )
    session.add(lot)
    await session.flush()
    return lot


_LIVE_LOTS = (
    select(PointsLot.id, PointsLot.remaining)
    .where(
        PointsLot.account_id == bindparam("account_id"),
        OPEN_LOT,
        or_(PointsLot.expires_at.is_(None), PointsLot.expires_at > bindparam("now")),
    )
    .order_by(PointsLot.expires_at.asc().nulls_last(), PointsLot.id)
    .with_for_update()
)


async def draw(
    session: AsyncSession, account_id: int, points: int, now: datetime, *, partial: bool = False
) -> list[Leg]:
    """Take `points` from the account's live lots, soonest-expiring first, as debit legs.
    Short of points: INSUFFICIENT_POINTS, or with `partial` whatever there is."""
    lots = (await session.execute(_LIVE_LOTS, {"account_id": account_id, "now": now})).all()
    legs: list[Leg] = []
    wanted = points
    for lot_id, remaining in lots:
        if wanted == 0:
            break
        taken = min(remaining, wanted)
        legs.append(Leg(account_id, -taken, lot_id))
        wanted -= taken
    if wanted and not partial:
        raise RewardsError(RewardsErrorCode.INSUFFICIENT_POINTS, "积分不足")
    await _move_lots(session, legs)
    return legs


async def return_to_lots(session: AsyncSession, legs: list[Leg]) -> list[Leg]:
    """The opposite of `draw`: credit legs back into the lots the points came from."""
    back = [Leg(leg.account_id, -leg.points, leg.lot_id) for leg in legs]
    await _move_lots(session, back)
    return back


async def _move_lots(session: AsyncSession, legs: list[Leg]) -> None:
    """Move each leg's lot `remaining` by the leg's points, in one statement."""
    moves: dict[int, int] = {}
    for leg in legs:
        moves[leg.lot_id] = moves.get(leg.lot_id, 0) + leg.points
    if not moves:
        return
    ids = sorted(moves)
    await session.execute(_MOVE_LOTS, {"lot_ids": ids, "deltas": [moves[i] for i in ids]})
    for lot_id, points in moves.items():  # what the session already holds moves too
        lot = session.identity_map.get(identity_key(PointsLot, lot_id))
        if lot is not None and "remaining" in lot.__dict__:
            set_committed_value(lot, "remaining", lot.__dict__["remaining"] + points)


async def legs_of(session: AsyncSession, transaction_id: int, account_id: int) -> list[Leg]:
    rows = await session.execute(
        select(PointsEntry.account_id, PointsEntry.points, PointsEntry.lot_id)
        .where(PointsEntry.transaction_id == transaction_id, PointsEntry.account_id == account_id)
        .order_by(PointsEntry.id)
    )
    return [Leg(a, p, lot) for a, p, lot in rows]


async def spendable(session: AsyncSession, account_id: int, now: datetime) -> int:
    """What the household can spend now: its lots that have not expired (swept or not)."""
    return await session.scalar(
        select(func.coalesce(func.sum(PointsLot.remaining), 0)).where(
            PointsLot.account_id == account_id,
            OPEN_LOT,
            or_(PointsLot.expires_at.is_(None), PointsLot.expires_at > now),
        )
    )


def _household_summary_statement():
    live = (
        select(func.coalesce(func.sum(PointsLot.remaining), 0))
        .where(
            PointsLot.account_id == PointsAccount.id,
            OPEN_LOT,
            or_(PointsLot.expires_at.is_(None), PointsLot.expires_at > bindparam("now")),
        )
        .scalar_subquery()
    )
    return select(
        PointsAccount.id.label("account_id"), PointsAccount.lifetime_earned, live.label("spendable")
    ).where(PointsAccount.household_id == bindparam("household_id"))


_HOUSEHOLD_SUMMARY = _household_summary_statement()


async def household_summary(session: AsyncSession, household_id: int, now: datetime):
    """(account_id, lifetime_earned, spendable) of a household in one statement; None
    before its first points."""
    return (
        await session.execute(_HOUSEHOLD_SUMMARY, {"household_id": household_id, "now": now})
    ).one_or_none()
