"""Effective reading: open on the server's clock, finish after the minimum time. One
receipt per resident and notice, and the points engine's notice-reading rule awards the
household once per notice (within that rule's caps)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from affairs.errors import AffairsError, AffairsErrorCode, not_found
from affairs.notices import current_revision, visible_to_resident
from models import Notice, NoticeRead, NoticeReceipt, NoticeRevision
from rewards.awards import award_for_event

EVENT = "notice_read"


@dataclass(frozen=True)
class Reader:
    user_id: int
    resident_id: int
    household_id: int
    village_id: int
    household_unit_path: str


async def visible_notice(session: AsyncSession, reader: Reader, notice_id: int, now: datetime) -> Notice:
    notice = await session.scalar(
        select(Notice).where(
            Notice.id == notice_id,
            visible_to_resident(reader.village_id, reader.household_unit_path, now),
        )
    )
    if notice is None:
        raise not_found("公开信息", "noticeId")
    return notice


async def open_notice(
    session: AsyncSession, reader: Reader, notice_id: int, now: datetime
) -> tuple[NoticeRead, NoticeRevision]:
    notice = await visible_notice(session, reader, notice_id, now)
    revision = await current_revision(session, notice.id)
    read = NoticeRead(
        notice_id=notice.id, revision_id=revision.id, village_id=notice.village_id,
        resident_id=reader.resident_id, household_id=reader.household_id, user_id=reader.user_id,
        started_at=now,
    )
    session.add(read)
    await session.flush()
    return read, revision


async def finish_read(
    session: AsyncSession, reader: Reader, read_id: int, now: datetime
) -> tuple[NoticeReceipt, int]:
    """The receipt and the points awarded by this call (0 when a cap or the budget says so)."""
    read = await session.scalar(
        select(NoticeRead).where(NoticeRead.id == read_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if read is None or read.user_id != reader.user_id:
        raise not_found("阅读记录", "readId")
    await visible_notice(session, reader, read.notice_id, now)  # withdrawn since? not any more
    if read.finished_at is not None:
        raise AffairsError(AffairsErrorCode.ALREADY_READ, "已经读过了", field="readId")
    minimum = await session.scalar(
        select(NoticeRevision.min_read_seconds).where(NoticeRevision.id == read.revision_id)
    )
    seconds = int((now - read.started_at).total_seconds())
    if seconds < minimum:
        raise AffairsError(
            AffairsErrorCode.TOO_EARLY, f"请至少阅读{minimum}秒（还差{minimum - seconds}秒）",
            field="readId",
        )
    read.finished_at = now
    created = await session.execute(
        insert(NoticeReceipt)
        .values(
            notice_id=read.notice_id, revision_id=read.revision_id, read_id=read.id,
            village_id=read.village_id, resident_id=read.resident_id,
            household_id=read.household_id, read_at=now, seconds=seconds,
        )
        .on_conflict_do_nothing(index_elements=["notice_id", "resident_id"])
        .returning(NoticeReceipt)
    )
    receipt = created.scalar_one_or_none()
    if receipt is None:  # another read of the same notice finished first
        raise AffairsError(AffairsErrorCode.ALREADY_READ, "已经读过了", field="readId")
    outcomes = await award_for_event(
        session, village_id=read.village_id, event_type=EVENT, household_id=read.household_id,
        resident_id=read.resident_id, source=f"notice:{read.notice_id}",
        actor_user_id=reader.user_id, now=now,
    )
    return receipt, sum(outcome.points for outcome in outcomes)
