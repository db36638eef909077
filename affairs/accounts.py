"""Group accounts (小组账务): entries in fen for a unit (a group, or the village) and month;
publishing freezes the month into a statement whose digest chains to the unit's previous
statement, so a change made behind the application's back is found by `verify`. Publishing
a month that later published months open from carries its closing balance forward: each
of them gets a new version with the new opening balance and its own frozen entries."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from affairs.errors import AffairsError, AffairsErrorCode, clean_text, invalid, not_found
from models import AccountEntry, AccountStatement, OrgUnit
from rewards.periods import CHINA

MAX_AMOUNT_FEN = 100_000_000  # one million yuan in one entry
MAX_TOTAL_FEN = 2**31 - 1  # what a statement's totals may reach (GraphQL Int)
_PERIOD = re.compile(r"20[0-9]{2}-(0[1-9]|1[0-2])")


def check_period(period: str) -> str:
    if not _PERIOD.fullmatch(period or ""):
        raise invalid("期间格式为 YYYY-MM（2000年至2099年）", "period")
    return period


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@dataclass
class EntryInput:
    entry_date: date
    direction: str
    category: str
    amount_fen: int
    description: str
    counterparty: str | None = None
    voucher_no: str | None = None


def _check_entry(entry: EntryInput) -> None:
    if entry.direction not in ("income", "expense"):
        raise invalid("收支方向不正确", "direction")
    if not 1 <= entry.amount_fen <= MAX_AMOUNT_FEN:
        raise invalid("金额（分）须为正整数", "amountFen")
    if not date(2000, 1, 1) <= entry.entry_date < date(2100, 1, 1):  # the months check_period takes
        raise invalid("日期不正确", "date")
    entry.category = clean_text(entry.category, "category", 50)
    entry.description = clean_text(entry.description, "description", 500)
    entry.counterparty = clean_text(entry.counterparty, "counterparty", 100, required=False)
    entry.voucher_no = clean_text(entry.voucher_no, "voucherNo", 50, required=False)


async def add_entry(
    session: AsyncSession, unit: OrgUnit, entry: EntryInput, author_id: int, now: datetime
) -> AccountEntry:
    if unit.village_id is None:
        raise invalid("账目属于村或村下的组", "unitId")
    _check_entry(entry)
    row = AccountEntry(village_id=unit.village_id, unit_id=unit.id, created_by_id=author_id,
                       created_at=now, **vars(entry))
    session.add(row)
    await session.flush()
    return row


async def delete_entry(session: AsyncSession, entry: AccountEntry) -> None:
    """Entries are a draft; the published statement keeps its own frozen copy."""
    await session.delete(entry)
    await session.flush()


def canonical(content: dict) -> str:
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def digest_of(content: dict, previous_digest: str | None) -> str:
    return hashlib.sha256(f"{previous_digest or ''}\n{canonical(content)}".encode()).hexdigest()


async def _month_entries(session: AsyncSession, unit_id: int, period: str) -> list[AccountEntry]:
    year, month = map(int, period.split("-"))
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return list(
        await session.scalars(
            select(AccountEntry)
            .where(AccountEntry.unit_id == unit_id, AccountEntry.entry_date >= start,
                   AccountEntry.entry_date < end)
            .order_by(AccountEntry.entry_date, AccountEntry.id)
        )
    )


async def opening_balance(session: AsyncSession, unit_id: int, period: str) -> int:
    """The closing balance of the latest version of the unit's last statement before `period`."""
    previous = await session.scalar(
        select(AccountStatement)
        .where(AccountStatement.unit_id == unit_id, AccountStatement.period < period)
        .order_by(AccountStatement.period.desc(), AccountStatement.version.desc())
        .limit(1)
    )
    return previous.content["closing_balance_fen"] if previous else 0


async def draft_statement(session: AsyncSession, unit: OrgUnit, period: str) -> dict:
    """What publishing `period` now would freeze."""
    check_period(period)
    entries = await _month_entries(session, unit.id, period)
    opening = await opening_balance(session, unit.id, period)
    income = sum(e.amount_fen for e in entries if e.direction == "income")
    expense = sum(e.amount_fen for e in entries if e.direction == "expense")
    by_category: dict[tuple[str, str], int] = {}
    for e in entries:
        by_category[e.direction, e.category] = by_category.get((e.direction, e.category), 0) + e.amount_fen
    return {
        "unit_id": unit.id,
        "unit_name": unit.name,
        "period": period,
        "opening_balance_fen": opening,
        "income_fen": income,
        "expense_fen": expense,
        "closing_balance_fen": opening + income - expense,
        "by_category": [
            {"direction": d, "category": c, "amount_fen": a} for (d, c), a in sorted(by_category.items())
        ],
        "entries": [
            {"date": e.entry_date.isoformat(), "direction": e.direction, "category": e.category,
             "amount_fen": e.amount_fen, "counterparty": e.counterparty, "description": e.description,
             "voucher_no": e.voucher_no}
            for e in entries
        ],
    }


@dataclass(frozen=True)
class Publication:
    statement: AccountStatement
    carried_forward: list[AccountStatement]  # later months republished with a new opening balance


async def publish_statement(
    session: AsyncSession, unit: OrgUnit, period: str, *, reason: str | None, publisher_id: int,
    now: datetime,
) -> Publication:
    """Freeze a month. The first publication needs no reason; a correction does. Later
    published months whose opening balance no longer follows get a new version each."""
    check_period(period)
    if period > period_of(now.astimezone(CHINA).date()):
        raise invalid("不能公开尚未开始的月份", "period")
    # One publisher of a unit's book at a time: the chain must not fork.
    await session.execute(select(OrgUnit.id).where(OrgUnit.id == unit.id).with_for_update(key_share=True))
    latest = await session.scalar(
        select(func.max(AccountStatement.version)).where(
            AccountStatement.unit_id == unit.id, AccountStatement.period == period
        )
    )
    reason = clean_text(reason, "correctionReason", 500, required=False)
    if latest is not None and reason is None:
        raise invalid("该月已公开，再次公开属于更正，须填写更正原因", "correctionReason")
    unpublished = await _earlier_unpublished_month(session, unit.id, period)
    if unpublished is not None:
        raise AffairsError(
            AffairsErrorCode.INVALID_STATE, f"{unpublished}有账目尚未公开，请先公开该月", field="period"
        )
    content = await draft_statement(session, unit, period)
    if not content["entries"] and latest is None and content["opening_balance_fen"] == 0:
        raise AffairsError(AffairsErrorCode.NOTHING_TO_PUBLISH, "该月没有账目", field="period")
    content["version"] = (latest or 0) + 1
    content["correction_reason"] = reason
    previous_digest = await session.scalar(
        select(AccountStatement.digest).where(AccountStatement.unit_id == unit.id)
        .order_by(AccountStatement.id.desc()).limit(1)
    )
    statement = link = await _append(session, unit, content, previous_digest, publisher_id, now)
    carried, closing = [], content["closing_balance_fen"]
    for later in await _latest_versions_after(session, unit.id, period):
        if later.content["opening_balance_fen"] != closing:
            moved = dict(later.content)
            moved["opening_balance_fen"] = closing
            moved["closing_balance_fen"] = closing + moved["income_fen"] - moved["expense_fen"]
            moved["version"] = later.version + 1
            moved["correction_reason"] = f"结转{period}第{content['version']}版的期末余额"
            later = link = await _append(session, unit, moved, link.digest, publisher_id, now)
            carried.append(later)
        closing = later.content["closing_balance_fen"]
    return Publication(statement, carried)


async def _append(
    session: AsyncSession, unit: OrgUnit, content: dict, previous_digest: str | None,
    publisher_id: int, now: datetime,
) -> AccountStatement:
    """The next link of the unit's chain (flushed on its own: the chain follows ids)."""
    if max(abs(content[k]) for k in ("opening_balance_fen", "income_fen", "expense_fen",
                                      "closing_balance_fen")) > MAX_TOTAL_FEN:
        raise invalid(f"{content['period']}合计金额超出范围，请按组拆分账目", "period")
    row = AccountStatement(
        village_id=unit.village_id, unit_id=unit.id, period=content["period"], version=content["version"],
        content=content, digest=digest_of(content, previous_digest), previous_digest=previous_digest,
        correction_reason=content["correction_reason"], published_by_id=publisher_id, published_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def _latest_versions_after(session: AsyncSession, unit_id: int, period: str) -> list[AccountStatement]:
    """The latest version of each published month after `period`, oldest month first."""
    return list(
        await session.scalars(
            select(AccountStatement)
            .where(AccountStatement.unit_id == unit_id, AccountStatement.period > period)
            .ext(distinct_on(AccountStatement.period))
            .order_by(AccountStatement.period, AccountStatement.version.desc())
        )
    )


async def _earlier_unpublished_month(session: AsyncSession, unit_id: int, period: str) -> str | None:
    """An earlier month with entries but no statement: its money would vanish from the
    balances carried forward."""
    year, month = map(int, period.split("-"))
    months = (
        select(func.to_char(AccountEntry.entry_date, "YYYY-MM").label("period"))
        .where(AccountEntry.unit_id == unit_id, AccountEntry.entry_date < date(year, month, 1))
        .distinct()
        .subquery()
    )
    return await session.scalar(
        select(months.c.period)
        .where(~select(AccountStatement.id).where(
            AccountStatement.unit_id == unit_id, AccountStatement.period == months.c.period
        ).exists())
        .order_by(months.c.period)
        .limit(1)
    )


@dataclass(frozen=True)
class BrokenStatement:
    statement_id: int
    unit_id: int
    period: str
    version: int
    problem: str


async def verify(session: AsyncSession, village_id: int | None = None) -> list[BrokenStatement]:
    """Recompute every book (of one village, or all) and name each version that does not
    hold: its digest against its content and its predecessor's digest, its columns against
    its content, and — for the latest version of each month — its opening balance against
    the latest closing balance of the month before. Publishing carries corrections forward;
    a book corrected before it did is repaired by publishing the corrected month again."""
    stmt = (
        select(AccountStatement)
        .order_by(AccountStatement.unit_id, AccountStatement.id)
        .execution_options(populate_existing=True)  # what is stored now, not what we loaded
    )
    if village_id is not None:
        stmt = stmt.where(AccountStatement.village_id == village_id)
    broken: list[BrokenStatement] = []
    previous: dict[int, str] = {}
    latest: dict[tuple[int, str], AccountStatement] = {}
    for s in await session.scalars(stmt):
        c = s.content
        problem = None
        if s.previous_digest != previous.get(s.unit_id):
            problem = "链接的上一版本摘要不符"
        elif digest_of(c, s.previous_digest) != s.digest:
            problem = "内容与摘要不符"
        elif (c.get("unit_id"), c.get("period"), c.get("version"), c.get("correction_reason")) != (
            s.unit_id, s.period, s.version, s.correction_reason
        ):
            problem = "期间、版本或更正原因与已公开内容不符"
        if problem:
            broken.append(BrokenStatement(s.id, s.unit_id, s.period, s.version, problem))
        previous[s.unit_id] = s.digest
        if s.version >= getattr(latest.get((s.unit_id, s.period)), "version", 0):
            latest[s.unit_id, s.period] = s
    carried: dict[int, int] = {}
    for (unit_id, period), s in sorted(latest.items()):
        expected = carried.get(unit_id)
        if expected is not None and s.content.get("opening_balance_fen") != expected:
            broken.append(BrokenStatement(
                s.id, unit_id, period, s.version, "期初余额与上月最新的期末余额不符（上月更正后未结转，请重新公开上月）"
            ))
        carried[unit_id] = s.content.get("closing_balance_fen")
    return broken


async def get_statement(session: AsyncSession, statement_id: int) -> AccountStatement:
    found = await session.get(AccountStatement, statement_id)
    if found is None:
        raise not_found("账目公开", "statementId")
    return found
