"""Expiring what is due: lots past their expiry, redemptions past their pickup deadline.

Each lot and each redemption is handled in its own short transaction with the same locks
as the service's, so the sweeper can run while the service runs, and running it twice
does nothing the second time. One whose lock is busy (a resident redeeming from that
household just then) is left for the next run; the rest go on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.errors import RETRYABLE_SQLSTATES, DomainError
from models import PointsAccount, PointsLot, Redemption
from models.rewards import OPEN_LOT
from rewards import ledger
from rewards.accounts import lock_household_account, system_account
from rewards.ledger import Leg
from rewards.redemptions import cancel


@dataclass
class SweepReport:
    lots_expired: int = 0
    points_expired: int = 0
    redemptions_expired: int = 0
    left_busy: int = 0  # locked by a request just then: for the next run


def _busy(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


async def expire_lot(session: AsyncSession, lot_id: int, now: datetime) -> int:
    """Move what is left of an expired lot to the village's expired account; returns points."""
    lot = await session.get(PointsLot, lot_id)
    account = await ledger_account(session, lot)
    lot = await session.scalar(
        select(PointsLot).where(PointsLot.id == lot_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if lot.remaining == 0 or lot.expires_at is None or lot.expires_at > now:
        return 0
    points = lot.remaining
    lot.remaining = 0
    await session.flush()
    expired = await system_account(session, lot.village_id, "expired")
    await ledger.post(
        session, village_id=lot.village_id, kind="expiry", reason="积分到期", now=now,
        legs=[Leg(account.id, -points, lot.id), Leg(expired.id, points)],
        household_id=account.household_id, source=f"lot:{lot.id}",
    )
    return points


async def ledger_account(session: AsyncSession, lot: PointsLot) -> PointsAccount:
    """The lot's household account, locked (the lock every move of that household takes)."""
    household_id = await session.scalar(
        select(PointsAccount.household_id).where(PointsAccount.id == lot.account_id)
    )
    return await lock_household_account(session, lot.village_id, household_id)


async def sweep(sessions: async_sessionmaker[AsyncSession], now: datetime, batch: int = 500) -> SweepReport:
    report = SweepReport()
    # Redemptions first: their refunds go back into lots, which may themselves be due.
    async with sessions() as session:
        overdue = list(
            await session.scalars(
                select(Redemption.id)
                .where(Redemption.status == "reserved", Redemption.pickup_deadline <= now)
                .order_by(Redemption.id)
            )
        )
    for redemption_id in overdue:
        try:
            async with sessions() as session, session.begin():
                redemption = await session.get(Redemption, redemption_id)
                await cancel(session, redemption, user_id=None, now=now, expired=True)
            report.redemptions_expired += 1
        except DomainError:  # picked up or cancelled meanwhile: nothing to do
            pass
        except DBAPIError as exc:
            if not _busy(exc):
                raise
            report.left_busy += 1
    last_id = 0
    while True:
        async with sessions() as session:
            due = list(
                await session.scalars(
                    select(PointsLot.id)
                    .where(OPEN_LOT, PointsLot.expires_at <= now, PointsLot.id > last_id)
                    .order_by(PointsLot.id)
                    .limit(batch)
                )
            )
        if due:
            last_id = due[-1]
        for lot_id in due:
            try:
                async with sessions() as session, session.begin():
                    points = await expire_lot(session, lot_id, now)
            except DBAPIError as exc:
                if not _busy(exc):
                    raise
                report.left_busy += 1
                continue
            if points:
                report.lots_expired += 1
                report.points_expired += points
        if len(due) < batch:
            break
    return report
