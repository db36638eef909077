"""Reading points and the store, one page at a time."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, literal_column, null, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.pagination import Keyset, Page, keyset_page
from models import (
    EarningRule,
    EarningRuleVersion,
    PointsAccount,
    PointsClaim,
    PointsEntry,
    PointsLot,
    PointsTransaction,
    PointsVillageTotal,
    Redemption,
    RewardItem,
)
from models.rewards import OPEN_LOT
from rewards.accounts import ensure_village


async def expiring_soon(session: AsyncSession, account_id: int, days: int, now: datetime) -> list:
    """Live lots expiring within `days`, soonest first: [(points, expires_at)]."""
    return list(
        (
            await session.execute(
                select(func.sum(PointsLot.remaining), PointsLot.expires_at)
                .where(
                    PointsLot.account_id == account_id, OPEN_LOT,
                    PointsLot.expires_at > now, PointsLot.expires_at <= now + timedelta(days=days),
                )
                .group_by(PointsLot.expires_at)
                .order_by(PointsLot.expires_at)
            )
        ).all()
    )


def entry_rows(account_id: int | None = None):
    """A household's legs with what the API shows of their transaction, as rows with
    `id, points, created_at, reason, kind, resident_id` and the sort key last."""
    stmt = select(
        PointsEntry.id, PointsEntry.points, PointsEntry.created_at,
        PointsTransaction.reason, PointsTransaction.kind, PointsTransaction.resident_id,
        PointsEntry.id.label("key"),
    ).join(PointsTransaction, PointsTransaction.id == PointsEntry.transaction_id)
    if account_id is not None:
        stmt = stmt.where(PointsEntry.account_id == account_id)
    return stmt


_ACCOUNT_ENTRIES = Keyset(
    entry_rows().where(PointsEntry.account_id == bindparam("account_id")), [PointsEntry.id], descending=True
)


async def account_entries(
    session: AsyncSession, account_id: int, first: int | None, after: str | None
) -> Page:
    """Newest first."""
    return await _ACCOUNT_ENTRIES.page(session, {"account_id": account_id}, first, after)


async def ledger(
    session: AsyncSession, village_id: int, first: int | None, after: str | None, *,
    household_id: int | None = None, rule_id: int | None = None,
    since: datetime | None = None, until: datetime | None = None,
) -> Page:
    """Household legs of a village's ledger, newest first, filtered by household, rule, time."""
    stmt = (
        entry_rows()
        .join(PointsAccount, PointsAccount.id == PointsEntry.account_id)
        .where(PointsEntry.village_id == village_id, PointsAccount.kind == "household")
    )
    if household_id is not None:
        stmt = stmt.where(PointsAccount.household_id == household_id)
    if rule_id is not None:
        stmt = stmt.join(
            EarningRuleVersion, EarningRuleVersion.id == PointsTransaction.rule_version_id
        ).where(EarningRuleVersion.rule_id == rule_id)
    if since is not None:
        stmt = stmt.where(PointsEntry.created_at >= since)
    if until is not None:
        stmt = stmt.where(PointsEntry.created_at < until)
    return await keyset_page(session, stmt, [PointsEntry.id], first, after, descending=True)


async def catalog(
    session: AsyncSession, village_id: int, first: int | None, after: str | None, *,
    now: datetime, on_sale_only: bool, category: str | None = None,
) -> Page:
    stmt = select(RewardItem, RewardItem.id).where(RewardItem.village_id == village_id)
    if on_sale_only:
        stmt = stmt.where(
            RewardItem.enabled,
            or_(RewardItem.active_from.is_(None), RewardItem.active_from <= now),
            or_(RewardItem.active_to.is_(None), RewardItem.active_to > now),
        )
    if category:
        stmt = stmt.where(RewardItem.category == category)
    return await keyset_page(session, stmt, [RewardItem.id], first, after)


async def redemptions(
    session: AsyncSession, first: int | None, after: str | None, *, village_id: int | None = None,
    household_id: int | None = None, status: str | None = None,
) -> Page:
    stmt = select(Redemption, Redemption.id)
    if village_id is not None:
        stmt = stmt.where(Redemption.village_id == village_id)
    if household_id is not None:
        stmt = stmt.where(Redemption.household_id == household_id)
    if status is not None:
        stmt = stmt.where(Redemption.status == status)
    return await keyset_page(session, stmt, [Redemption.id], first, after, descending=True)


async def claims(
    session: AsyncSession, first: int | None, after: str | None, *, village_id: int | None = None,
    household_id: int | None = None, status: str | None = None,
) -> Page:
    stmt = select(PointsClaim, PointsClaim.id)
    if village_id is not None:
        stmt = stmt.where(PointsClaim.village_id == village_id)
    if household_id is not None:
        stmt = stmt.where(PointsClaim.household_id == household_id)
    if status is not None:
        stmt = stmt.where(PointsClaim.status == status)
    return await keyset_page(session, stmt, [PointsClaim.id], first, after, descending=True)


async def rules(session: AsyncSession, village_id: int, first: int | None, after: str | None) -> Page:
    stmt = select(EarningRule, EarningRule.id).where(EarningRule.village_id == village_id)
    return await keyset_page(session, stmt, [EarningRule.id], first, after)


def _overview_statement():
    """Everything the overview needs in one round trip, as (part, kind, points, floor) rows:
    the village's system accounts, its running totals per kind of transaction, and what has
    expired but not been swept yet. Each part reads a few rows or one index range, whatever
    the size of the village's history or the number of its households."""
    village_id, now = bindparam("village_id"), bindparam("now")
    return union_all(
        select(literal_column("'account'"), PointsAccount.kind, PointsAccount.balance, PointsAccount.min_balance)
        .where(PointsAccount.village_id == village_id, PointsAccount.kind != "household"),
        select(literal_column("'moved'"), PointsVillageTotal.kind, PointsVillageTotal.points, null())
        .where(PointsVillageTotal.village_id == village_id),
        # live lots past their expiry: one range of ix_points_lots_village_open
        select(literal_column("'unswept'"), null(), func.coalesce(func.sum(PointsLot.remaining), 0), null())
        .where(PointsLot.village_id == village_id, OPEN_LOT, PointsLot.expires_at <= now),
    )


_OVERVIEW = _overview_statement()


async def overview(session: AsyncSession, village_id: int, now: datetime) -> dict[str, int | None]:
    """Issued, deducted, redeemed, expired, outstanding, budget and what is left of it."""
    rows = (await session.execute(_OVERVIEW, {"village_id": village_id, "now": now})).all()
    if not any(part == "account" for part, *_ in rows):  # the village's points start here
        await ensure_village(session, village_id)
        rows = (await session.execute(_OVERVIEW, {"village_id": village_id, "now": now})).all()
    system: dict[str, tuple[int, int | None]] = {}
    moved: dict[str, int] = {}
    expired_unswept = 0
    for part, kind, points, floor in rows:
        if part == "account":
            system[kind] = (points, floor)
        elif part == "moved":
            moved[kind] = points
        else:
            expired_unswept = points
    # What the households hold is the sum of everything that moved through their legs: a
    # household's legs are posted in its own village (`rewards check` holds both to it).
    outstanding = sum(moved.values())
    issuance_balance, floor = system["issuance"]
    budget = None if floor is None else -floor
    return {
        "issued": int(moved.get("award", 0) + moved.get("reversal", 0)),
        "adjusted": int(moved.get("adjustment", 0)),
        "deducted": int(-moved.get("deduction", 0)),
        "redeemed": int(system["redeemed"][0]),
        "expired": int(system["expired"][0] + expired_unswept),
        "outstanding": int(outstanding - expired_unswept),
        "budget": budget,
        "budget_left": None if budget is None else int(budget + issuance_balance),
    }
