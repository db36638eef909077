"""Effective reading: open on the server's clock, finish after the minimum time. One
receipt per resident and notice, and the points engine's notice-reading rule awards the
household once per notice (within that rule's caps).

Only the resident's latest opened read can finish, only while it is recent, and only if
the notice was not revised since it was opened and the reader still lives in the same
household: opening every notice at once and finishing them all later reads nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from affairs.errors import AffairsError, AffairsErrorCode, not_found
from affairs.notices import current_revision, visible_to_resident
from models import Notice, NoticeRead, NoticeReceipt, NoticeRevision
from rewards.awards import award_for_event

EVENT = "notice_read"
READ_WINDOW = timedelta(minutes=30)  # the longest a read stays open (or 10 × its minimum)

# What a finish is checked against, in one statement: the notice's current revision now
# and whether the resident opened anything after this read.
_CURRENT = (
    select(NoticeRevision.id, NoticeRevision.min_read_seconds)
    .where(NoticeRevision.notice_id == bindparam("notice_id"))
    .order_by(NoticeRevision.revision.desc()).limit(1).subquery("current")
)
_READ_STATE = select(
    _CURRENT.c.id, _CURRENT.c.min_read_seconds,
    exists().where(NoticeRead.resident_id == bindparam("resident_id"), NoticeRead.id > bindparam("read_id"))
    .label("opened_since"),
)


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


def _reopen(message: str) -> AffairsError:
    return AffairsError(AffairsErrorCode.REOPEN_REQUIRED, message, field="readId")


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
        select(NoticeRead).where(NoticeRead.id == read_id).with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if read is None or read.user_id != reader.user_id:
        raise not_found("阅读记录", "readId")
    await visible_notice(session, reader, read.notice_id, now)  # withdrawn since? not any more
    if read.finished_at is not None:
        raise AffairsError(AffairsErrorCode.ALREADY_READ, "已经读过了", field="readId")
    current_id, minimum, opened_since = (await session.execute(
        _READ_STATE, {"notice_id": read.notice_id, "resident_id": read.resident_id, "read_id": read.id}
    )).one()
    seconds = int((now - read.started_at).total_seconds())
    if current_id != read.revision_id:
        raise _reopen("内容已更新，请重新打开阅读")
    if opened_since or read.household_id != reader.household_id:
        raise _reopen("已打开其他内容，请重新打开本条")
    if now - read.started_at > max(READ_WINDOW, timedelta(seconds=10 * minimum)):
        raise _reopen("阅读已超时，请重新打开")
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
