"""Notices: written by admins to an audience of org units, published now or later,
revised with a visible reason, withdrawn. Residents see the published notices of the units
they live under."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    String,
    and_,
    any_,
    bindparam,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from affairs.errors import AffairsError, AffairsErrorCode, clean_text, invalid, not_found
from models import Notice, NoticeAudience, NoticeReceipt, NoticeRevision, OrgUnit
from models.affairs import NOTICE_CATEGORIES

MAX_BODY = 20_000
MAX_ATTACHMENTS = 20


@dataclass
class Attachment:
    name: str
    url: str
    size: int
    type: str


@dataclass
class NoticeDraft:
    title: str
    body: str
    category: str
    audience_unit_ids: list[int]
    attachments: list[Attachment] = field(default_factory=list)
    min_read_seconds: int | None = None
    pinned: bool = False


def default_min_read_seconds(body: str) -> int:
    """About eight characters a second, between 10 seconds and 5 minutes."""
    return max(10, min(300, math.ceil(len(body) / 8)))


def _check_words(title: str, body: str, attachments: list[Attachment], min_seconds: int | None):
    title = clean_text(title, "title", 200)
    body = clean_text(body, "body", MAX_BODY)
    if len(attachments) > MAX_ATTACHMENTS:
        raise invalid(f"附件最多{MAX_ATTACHMENTS}个", "attachments")
    for a in attachments:
        clean_text(a.name, "attachments", 200)
        if not a.url.startswith(("https://", "http://")) or len(a.url) > 500:
            raise invalid("附件地址须为http(s)链接", "attachments")
        if not 0 <= a.size <= 1_000_000_000 or len(a.type) > 100:
            raise invalid("附件大小或类型不正确", "attachments")
    if min_seconds is not None and not 3 <= min_seconds <= 3600:
        raise invalid("最短阅读时间为3到3600秒", "minimumSeconds")
    return title, body, min_seconds or default_min_read_seconds(body)


async def _audience(session: AsyncSession, village: OrgUnit, unit_ids: list[int]) -> list[OrgUnit]:
    if not unit_ids or len(unit_ids) > 200:
        raise invalid("请选择公开范围（1到200个单位）", "audienceUnitIds")
    units = list(await session.scalars(select(OrgUnit).where(OrgUnit.id.in_(unit_ids))))
    if len(units) != len(set(unit_ids)) or any(
        u.village_id != village.id for u in units
    ):
        raise not_found("公开范围中的单位", "audienceUnitIds")
    return units


async def create_notice(
    session: AsyncSession, village: OrgUnit, draft: NoticeDraft, author_id: int, now: datetime
) -> Notice:
    if draft.category not in NOTICE_CATEGORIES:
        raise invalid("类别不正确", "category")
    title, body, min_seconds = _check_words(draft.title, draft.body, draft.attachments, draft.min_read_seconds)
    units = await _audience(session, village, draft.audience_unit_ids)
    notice = Notice(
        village_id=village.id, category=draft.category, pinned=draft.pinned, created_by_id=author_id,
        created_at=now,
    )
    session.add(notice)
    await session.flush()
    session.add_all(NoticeAudience(notice_id=notice.id, unit_id=u.id, unit_path=u.path) for u in units)
    session.add(
        NoticeRevision(
            notice_id=notice.id, village_id=village.id, revision=1, title=title, body=body,
            attachments=[vars(a) for a in draft.attachments], min_read_seconds=min_seconds,
            created_by_id=author_id, created_at=now,
        )
    )
    await session.flush()
    return notice


async def current_revision(session: AsyncSession, notice_id: int) -> NoticeRevision:
    return await session.scalar(
        select(NoticeRevision).where(NoticeRevision.notice_id == notice_id)
        .order_by(NoticeRevision.revision.desc()).limit(1)
    )


def _kept_minimum(current: NoticeRevision, new_body: str | None) -> int | None:
    """The minimum a revision keeps when none is given: an explicit one stays; one that is
    the length-based default of the current body (None here) follows the new body."""
    if new_body is None or current.min_read_seconds != default_min_read_seconds(current.body):
        return current.min_read_seconds
    return None


async def revise_notice(
    session: AsyncSession, notice: Notice, *, title: str | None, body: str | None,
    attachments: list[Attachment] | None, min_read_seconds: int | None, reason: str | None,
    author_id: int, now: datetime,
) -> NoticeRevision:
    """A new revision; once published, with a reason readers will see."""
    # held, and re-read: a withdrawal or another revision committing meanwhile comes first
    notice = await session.scalar(
        select(Notice).where(Notice.id == notice.id).with_for_update(key_share=True).execution_options(populate_existing=True)
    )
    if notice.status == "withdrawn":
        raise AffairsError(AffairsErrorCode.INVALID_STATE, "已撤回的公开不能修改")
    reason = clean_text(reason, "reason", 500, required=notice.status == "published")
    current = await current_revision(session, notice.id)
    title, body, min_seconds = _check_words(
        title if title is not None else current.title,
        body if body is not None else current.body,
        attachments if attachments is not None else [Attachment(**a) for a in current.attachments],
        min_read_seconds if min_read_seconds is not None else _kept_minimum(current, body),
    )
    revision = NoticeRevision(
        notice_id=notice.id, village_id=notice.village_id, revision=current.revision + 1,
        title=title, body=body,
        attachments=[vars(a) for a in attachments] if attachments is not None else current.attachments,
        min_read_seconds=min_seconds, change_reason=reason, created_by_id=author_id, created_at=now,
    )
    session.add(revision)
    await session.flush()
    return revision


async def publish_notice(
    session: AsyncSession, notice: Notice, now: datetime, at: datetime | None = None
) -> Notice:
    """Publish now, or at `at` (scheduled: residents see it from then on)."""
    if at is not None and at < now:
        raise invalid("定时发布时间不能早于现在", "publishAt")
    done = await session.execute(
        update(Notice).where(Notice.id == notice.id, Notice.status == "draft")
        .values(status="published", published_at=at or now).returning(Notice.id)
    )
    if done.first() is None:
        raise AffairsError(AffairsErrorCode.INVALID_STATE, "只有草稿可以发布")
    await session.refresh(notice)
    return notice


async def withdraw_notice(session: AsyncSession, notice: Notice, now: datetime) -> Notice:
    done = await session.execute(
        update(Notice).where(Notice.id == notice.id, Notice.status == "published")
        .values(status="withdrawn", withdrawn_at=now).returning(Notice.id)
    )
    if done.first() is None:
        raise AffairsError(AffairsErrorCode.INVALID_STATE, "只有已发布的公开可以撤回")
    await session.refresh(notice)
    return notice


def ancestor_paths(unit_path: str) -> list[str]:
    """The paths of a unit and of every unit above it: "/1/7/9/" → "/1/", "/1/7/", "/1/7/9/"."""
    parts = unit_path.strip("/").split("/")
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def in_audience(household_unit_path: str, *, unit_paths=None):
    """The notice's audience includes a household whose unit has this path: an audience
    unit is the household's unit or one above it. Matching the audience's paths against
    that short list (rather than testing each audience path as a prefix) lets PostgreSQL
    probe each notice's audience by its key, instead of scanning every audience row of the
    county."""
    if unit_paths is None:
        matches = NoticeAudience.unit_path.in_(ancestor_paths(household_unit_path))
    else:  # bound per call, as an array
        matches = NoticeAudience.unit_path == any_(unit_paths)
    return exists().where(NoticeAudience.notice_id == Notice.id, matches)


def published_by(now):
    """The notice is published and its time has come (a scheduled one waits until then)."""
    return and_(Notice.status == "published", Notice.published_at <= now)


def is_published_by(notice: Notice, now: datetime) -> bool:
    """`published_by` for a notice in hand."""
    return notice.status == "published" and notice.published_at <= now


def visible_to_resident(village_id: int, household_unit_path: str | None, now: datetime, *, unit_paths=None):
    return and_(
        Notice.village_id == village_id,
        published_by(now),
        in_audience(household_unit_path, unit_paths=unit_paths),
    )


# What a resident sees, built once: bind `village_id`, `unit_paths` (the ancestor paths of
# the household's unit) and `now`; `resident_id` too for what they have not read.
VISIBLE_TO_READER = visible_to_resident(
    bindparam("village_id", type_=BigInteger), None, bindparam("now", type_=DateTime(timezone=True)),
    unit_paths=bindparam("unit_paths", type_=ARRAY(String)),
)
_UNREAD_COUNT = (
    select(func.count()).select_from(Notice)
    .where(VISIBLE_TO_READER, ~exists().where(
        NoticeReceipt.notice_id == Notice.id,
        NoticeReceipt.resident_id == bindparam("resident_id", type_=BigInteger),
    ))
)


def reader_params(village_id: int, household_unit_path: str, now: datetime) -> dict:
    return {"village_id": village_id, "unit_paths": ancestor_paths(household_unit_path), "now": now}


async def unread_count(
    session: AsyncSession, village_id: int, household_unit_path: str, resident_id: int, now: datetime
) -> int:
    """How many of the notices a resident sees they have not read."""
    return await session.scalar(
        _UNREAD_COUNT, {**reader_params(village_id, household_unit_path, now), "resident_id": resident_id}
    )


def search_filter(words: str | None):
    words = (words or "").strip()
    if not words:
        return None
    if len(words) > 100:
        raise invalid("搜索词不超过100字", "search")
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    latest = (
        select(NoticeRevision.id).where(NoticeRevision.notice_id == Notice.id)
        .order_by(NoticeRevision.revision.desc()).limit(1).scalar_subquery()
    )
    return exists().where(
        NoticeRevision.id == latest,
        or_(NoticeRevision.title.like(f"%{escaped}%", escape="\\"),
            NoticeRevision.body.like(f"%{escaped}%", escape="\\")),
    )


def unread_by(resident_id: int):
    return ~exists().where(NoticeReceipt.notice_id == Notice.id, NoticeReceipt.resident_id == resident_id)
