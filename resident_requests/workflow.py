"""The closed loop as data: which action moves a request from which states to which, and
who may take it. Every move is one guarded update (so two workers accepting at once cannot
both win) and one update record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Forbidden, clean_text
from identity.viewer import ADMIN_ROLES, GRID_ROLES, Viewer
from models import Household, OrgUnit, RequestDeadline, RequestUpdate, ResidentRequest
from models.requests import REQUEST_CATEGORIES
from resident_requests.errors import RequestError, RequestErrorCode, invalid, not_found

OPEN = frozenset({"received", "accepted", "in_progress", "escalated", "reopened"})
STATUS_LABELS = {
    "received": "已提交", "accepted": "已受理", "in_progress": "处理中", "resolved": "已解决",
    "closed": "已办结", "escalated": "已上报", "reopened": "已重新打开", "duplicate": "重复诉求",
}


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str | None  # None: the status stays (a note)
    by: str  # "staff", "resident" or "system"


TRANSITIONS: dict[str, Transition] = {
    "accept": Transition(frozenset({"received", "escalated", "reopened"}), "accepted", "staff"),
    "start": Transition(frozenset({"accepted"}), "in_progress", "staff"),
    "escalate": Transition(frozenset({"received", "accepted", "in_progress", "reopened"}), "escalated", "staff"),
    "resolve": Transition(frozenset({"accepted", "in_progress"}), "resolved", "staff"),
    "mark_duplicate": Transition(frozenset({"received", "accepted", "escalated", "reopened"}), "duplicate", "staff"),
    "hand_over": Transition(frozenset({"accepted", "in_progress"}), None, "staff"),
    "note": Transition(OPEN | {"resolved"}, None, "staff"),
    "rate_closed": Transition(frozenset({"resolved"}), "closed", "resident"),
    "rate_reopened": Transition(frozenset({"resolved"}), "reopened", "resident"),
    "auto_close": Transition(frozenset({"resolved"}), "closed", "system"),
}
STAFF_ACTIONS = [a for a, t in TRANSITIONS.items() if t.by == "staff"]

# Hours to resolve, by category, at the first level; a village may set its own.
DEFAULT_HOURS = {
    "dispute": 72, "safety_hazard": 24, "livelihood": 72, "infrastructure": 168,
    "environment": 72, "policy": 48, "other": 72,
}
NEXT_LEVEL = {"unit": "village", "village": "town"}


async def deadline_hours(session: AsyncSession, village_id: int, category: str, level: str) -> int:
    hours = await session.scalar(
        select(RequestDeadline.hours).where(
            RequestDeadline.village_id == village_id, RequestDeadline.category == category,
            RequestDeadline.level == level,
        )
    )
    return hours or DEFAULT_HOURS[category] * (2 if level == "town" else 1)


async def set_deadline(session: AsyncSession, village_id: int, category: str, level: str, hours: int) -> None:
    from sqlalchemy.dialects.postgresql import insert

    if category not in REQUEST_CATEGORIES or level not in NEXT_LEVEL.keys() | {"town"}:
        raise invalid("类别或层级不正确", "category")
    if not 1 <= hours <= 8760:
        raise invalid("时限为1到8760小时", "hours")
    await session.execute(
        insert(RequestDeadline).values(village_id=village_id, category=category, level=level, hours=hours)
        .on_conflict_do_update(index_elements=["village_id", "category", "level"], set_={"hours": hours})
    )


def _text(value: str | None, field: str, limit: int, required: bool) -> str | None:
    return clean_text(value, field, limit, required=required, invalid=invalid)


async def submit(
    session: AsyncSession, *, household: Household, unit: OrgUnit, submitted_by: int,
    resident_id: int | None, category: str, description: str, photo_urls: list[str],
    place: str | None, now: datetime,
) -> ResidentRequest:
    """A request for a household, handled first where the household lives."""
    if category not in REQUEST_CATEGORIES:
        raise invalid("类别不正确", "category")
    description = _text(description, "description", 2000, True)
    place = _text(place, "place", 200, False)
    if len(photo_urls) > 9 or any(not u.startswith(("https://", "http://")) or len(u) > 500 for u in photo_urls):
        raise invalid("照片最多9张，须为http(s)链接", "photoUrls")
    hours = await deadline_hours(session, household.village_id, category, "unit")
    request = ResidentRequest(
        village_id=household.village_id, household_id=household.id, origin_unit_id=unit.id,
        origin_path=unit.path, unit_id=unit.id, unit_path=unit.path, level="unit",
        category=category, description=description, photo_urls=photo_urls, place=place,
        submitted_by_id=submitted_by, resident_id=resident_id, received_at=now,
        due_at=now + timedelta(hours=hours), updated_at=now,
    )
    session.add(request)
    await session.flush()
    session.add(RequestUpdate(request_id=request.id, village_id=request.village_id, action="submit",
                              from_status=None, to_status="received", actor_id=submitted_by, created_at=now))
    await session.flush()
    return request


# Who handles requests: admins, chiefs and grid workers (party members and information
# officers see them, and raise them for households, but do not take them on).
HANDLER_ROLES = ADMIN_ROLES | {"chief", "grid_worker"}


def may_handle(viewer: Viewer, request: ResidentRequest) -> bool:
    """Handlers over the level it is at now, and its owner while they still serve where
    it came from (the owner stays responsible; a former chief does not)."""
    return viewer.may(HANDLER_ROLES, request.unit_path) or (
        request.owner_id == viewer.user_id and viewer.may(HANDLER_ROLES, request.origin_path)
    )


def sees_everything(viewer: Viewer, request: ResidentRequest) -> bool:
    """Workers of the request see its internal notes too; the household sees the rest."""
    return viewer.may(GRID_ROLES, request.origin_path) or may_handle(viewer, request)


def may_see(viewer: Viewer, request: ResidentRequest) -> bool:
    """The household, workers of the subtree it came from, and of the level it went to."""
    return (
        viewer.household_id == request.household_id
        or viewer.may(GRID_ROLES, request.origin_path)
        or may_handle(viewer, request)
    )


async def act(
    session: AsyncSession, request: ResidentRequest, action: str, *, actor: Viewer | None,
    now: datetime, note: str | None = None, visible: bool = True, duplicate_of: int | None = None,
    rating: str | None = None, handler: Viewer | None = None,
) -> ResidentRequest:
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise invalid("操作不正确", "action")
    # Decide on the row as it is now, and hold it: owner, level and permission are read
    # from it, so a concurrent move must finish first. A duplicate's original is held too
    # (both in id order), so that two requests cannot be marked duplicates of each other.
    held = {request.id, duplicate_of} if action == "mark_duplicate" and duplicate_of else {request.id}
    rows = {
        row.id: row for row in await session.scalars(
            select(ResidentRequest).where(ResidentRequest.id.in_(held)).order_by(ResidentRequest.id)
            .with_for_update(key_share=True).execution_options(populate_existing=True)
        )
    }
    request = rows[request.id]
    if transition.by == "staff" and not may_handle(actor, request):
        raise Forbidden("只有该诉求所在层级的工作人员或首接责任人可以处理")
    from_status = request.status
    if action == "escalate" and request.level not in NEXT_LEVEL:
        raise RequestError(RequestErrorCode.CANNOT_ESCALATE, "已在镇级处理，不能再上报")
    if from_status not in transition.sources:
        raise _refused(request)
    note = _text(note, "note", 2000, action in {"escalate", "resolve", "mark_duplicate", "note"})
    values: dict = {"updated_at": now}
    if transition.target is not None:
        values["status"] = transition.target
    if action == "accept":
        values["owner_id"] = request.owner_id or actor.user_id  # the first acceptor, to the end
        values["handler_id"] = actor.user_id
    elif action == "escalate":
        level = NEXT_LEVEL[request.level]
        village = await session.get(OrgUnit, request.village_id)
        target = village if level == "village" else await session.get(OrgUnit, village.parent_id)
        hours = await deadline_hours(session, request.village_id, request.category, level)
        # the next level gets its own time, but escalating never makes a late request on time
        due = request.due_at if request.due_at <= now else max(request.due_at, now + timedelta(hours=hours))
        values.update(level=level, unit_id=target.id, unit_path=target.path, due_at=due, handler_id=None,
                      owner_id=request.owner_id or actor.user_id)  # escalating is receiving it
    elif action == "hand_over":  # the owner stays; someone else does the work
        if handler is None or not handler.may(HANDLER_ROLES, request.unit_path):
            raise not_found("handlerId", "该层级的处理人")
        values["handler_id"] = handler.user_id
    elif action == "resolve":
        values["resolved_at"] = now
    elif action == "mark_duplicate":
        original = rows.get(duplicate_of)
        if (original is None or original.village_id != request.village_id or original.id == request.id
                or (actor is not None and not may_see(actor, original))):
            raise not_found("duplicateOfId")
        if original.status == "duplicate":
            raise invalid("所选诉求本身是重复诉求，请选择它的原诉求", "duplicateOfId")
        values["duplicate_of_id"] = original.id
    elif action in ("rate_closed", "auto_close"):
        values.update(closed_at=now, rating=rating)
    elif action == "rate_reopened":  # the verdict stays in the update record; the request is open again
        values.update(rating=None, resolved_at=None)
    moved = await session.execute(
        update(ResidentRequest)
        .where(ResidentRequest.id == request.id, ResidentRequest.status.in_(transition.sources))
        .values(**values)
        .returning(ResidentRequest.status)
    )
    if moved.first() is None:  # cannot happen under the row lock; the guard stays anyway
        await session.refresh(request)
        raise _refused(request)
    await session.refresh(request)
    session.add(RequestUpdate(
        request_id=request.id, village_id=request.village_id, action=action, from_status=from_status,
        to_status=request.status, actor_id=actor.user_id if actor else None, note=note,
        visible_to_resident=visible, created_at=now,
    ))
    await session.flush()
    return request


def _refused(request: ResidentRequest) -> RequestError:
    label = STATUS_LABELS.get(request.status, request.status)
    return RequestError(RequestErrorCode.INVALID_TRANSITION, f"诉求当前为“{label}”，不能执行此操作", field="action")


async def rate(
    session: AsyncSession, request: ResidentRequest, rating: str, viewer: Viewer, now: datetime,
    note: str | None = None,
) -> ResidentRequest:
    """The household's verdict: satisfied or partly closes it; not satisfied reopens it."""
    if rating not in ("satisfied", "partly", "not_satisfied"):
        raise invalid("评价不正确", "rating")
    if viewer.household_id != request.household_id:
        raise not_found()
    action = "rate_reopened" if rating == "not_satisfied" else "rate_closed"
    return await act(session, request, action, actor=viewer, now=now, note=note, rating=rating)


async def close_unrated(session: AsyncSession, now: datetime, days: int) -> int:
    """Resolved requests nobody rated within `days` close themselves. Idempotent; a request
    someone is acting on right now is left for the next run."""
    unrated = (ResidentRequest.status == "resolved", ResidentRequest.resolved_at <= now - timedelta(days=days))
    due = list(await session.scalars(select(ResidentRequest.id).where(*unrated).order_by(ResidentRequest.id)))
    closed = 0
    for request_id in due:
        async with session.begin_nested():
            # still unrated and resolved long enough (not reopened and resolved again since)
            request = await session.scalar(
                select(ResidentRequest).where(ResidentRequest.id == request_id, *unrated)
                .with_for_update(key_share=True, skip_locked=True).execution_options(populate_existing=True)
            )
            if request is None:
                continue
            await act(session, request, "auto_close", actor=None, now=now, note=f"{days}天内未评价，系统自动办结")
            closed += 1
    return closed
