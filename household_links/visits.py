"""Contacts with households (走访): logged by the household's linked member or a chief over
it, correctable by their author for 24 hours (the database refuses later changes), with
every version kept. Problems found may be raised as tracked requests at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Integer, cast, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import clean_text
from household_links.errors import LinkError, LinkErrorCode, invalid
from household_links.links import is_linked_member
from identity.viewer import Viewer
from models import Household, OrgUnit, ScoreEvidence, Visit, VisitProblem, VisitRevision
from models.household_links import CORRECTION_WINDOW_HOURS, VISIT_MODES
from models.requests import REQUEST_CATEGORIES
from resident_requests import workflow

CORRECTION_WINDOW = timedelta(hours=CORRECTION_WINDOW_HOURS)
# A visit may be logged late (after a day in the fields), but not months later.
LATEST_LOGGING = timedelta(days=62)
_SCORING_LOCK_NAMESPACE = 7303  # advisory-lock namespace: a village's scores against its visit corrections
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class ProblemFound:
    category: str
    description: str
    raise_request: bool = False


@dataclass(frozen=True)
class Location:
    place: str | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None


def _text(value, field, limit, required=False):
    return clean_text(value, field, limit, required=required, invalid=invalid)


def _check_when(occurred_at: datetime, now: datetime) -> None:
    if occurred_at > now + timedelta(minutes=5):
        raise invalid("走访时间不能晚于现在", "occurredAt")
    if occurred_at < now - LATEST_LOGGING:
        raise invalid("只能补录两个月内的走访", "occurredAt")


def _check_location(location: Location) -> Location:
    place = _text(location.place, "place", 200)
    lat, lng = location.latitude, location.longitude
    if (lat is None) != (lng is None):
        raise invalid("经纬度须同时填写", "latitude")
    if lat is not None and not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise invalid("经纬度超出范围", "latitude")
    return Location(place, lat, lng)


def _check_problems(problems: list[ProblemFound]) -> list[ProblemFound]:
    if len(problems) > MAX_PROBLEMS:
        raise invalid(f"一次最多记录{MAX_PROBLEMS}个问题", "problems")
    checked = []
    for i, p in enumerate(problems):
        if p.category not in REQUEST_CATEGORIES:
            raise invalid("问题类别不正确", f"problems.{i}.category")
        checked.append(ProblemFound(p.category, _text(p.description, f"problems.{i}.description", 500, True),
                                    p.raise_request))
    return checked


async def author_role(session: AsyncSession, viewer: Viewer, household: Household, unit_path: str) -> str:
    """The standing the viewer logs under: the household's linked member, or a chief over it."""
    if await is_linked_member(session, household.id, viewer):
        return "party_member"
    if viewer.may(frozenset({"chief"}), unit_path):
        return "chief"
    raise LinkError(LinkErrorCode.NOT_RESPONSIBLE, "只有联户党员或该户所在单元的长可以记录走访", field="householdId")


async def _add_problems(
    session: AsyncSession, visit: Visit, household: Household, problems: list[ProblemFound], now: datetime
) -> None:
    unit = None
    for p in problems:
        request_id = None
        if p.raise_request:
            unit = unit or await session.get(OrgUnit, household.unit_id)
            request = await workflow.submit(
                session, household=household, unit=unit, submitted_by=visit.author_user_id,
                resident_id=None, category=p.category, description=p.description, photo_urls=[],
                place=visit.place, now=now,
            )
            request_id = request.id
        session.add(VisitProblem(visit_id=visit.id, village_id=visit.village_id, category=p.category,
                                 description=p.description, request_id=request_id))
    await session.flush()


async def problems_of(session: AsyncSession, visit_id: int) -> list[VisitProblem]:
    return list((await session.scalars(
        select(VisitProblem).where(VisitProblem.visit_id == visit_id).order_by(VisitProblem.id)
    )).all())


async def _record_revision(session: AsyncSession, visit: Visit, recorded_by: int, reason: str | None, now) -> None:
    problems = await problems_of(session, visit.id)
    session.add(VisitRevision(
        visit_id=visit.id, village_id=visit.village_id, revision=visit.revision, mode=visit.mode,
        occurred_at=visit.occurred_at, notes=visit.notes, place=visit.place, latitude=visit.latitude,
        longitude=visit.longitude, reason=reason, recorded_by_id=recorded_by, recorded_at=now,
        problems=[{"category": p.category, "description": p.description, "requestId": p.request_id}
                  for p in problems],
    ))
    await session.flush()


async def log_visit(
    session: AsyncSession, viewer: Viewer, household: Household, unit_path: str, *, mode: str,
    occurred_at: datetime, notes: str | None, location: Location, problems: list[ProblemFound],
    now: datetime, idempotency_key: str | None = None,
) -> Visit:
    if idempotency_key is not None:
        idempotency_key = _text(idempotency_key, "idempotencyKey", 64, required=True)  # blank: refused, as IS NULL would match every keyless visit
        earlier = await session.scalar(select(Visit).where(
            Visit.author_user_id == viewer.user_id, Visit.idempotency_key == idempotency_key
        ))
        if earlier is not None:  # a retry: the first answer, if it asked for the same thing
            asked = (household.id, mode, occurred_at, _text(notes, "notes", 2000) or "")
            if (earlier.household_id, earlier.mode, earlier.occurred_at, earlier.notes) != asked:
                raise LinkError(LinkErrorCode.IDEMPOTENCY_KEY_REUSED, "该请求编号已用于另一条走访",
                                field="idempotencyKey")
            return earlier
    if mode not in VISIT_MODES:
        raise invalid("走访方式不正确", "mode")
    _check_when(occurred_at, now)
    location = _check_location(location)
    problems = _check_problems(problems)
    role = await author_role(session, viewer, household, unit_path)
    visit = Visit(
        village_id=household.village_id, household_id=household.id, author_user_id=viewer.user_id,
        author_role=role, mode=mode, occurred_at=occurred_at, notes=_text(notes, "notes", 2000) or "",
        place=location.place, latitude=location.latitude, longitude=location.longitude, revision=1,
        idempotency_key=idempotency_key, created_at=now, updated_at=now,
    )
    session.add(visit)
    await session.flush()
    await _add_problems(session, visit, household, problems, now)
    await _record_revision(session, visit, viewer.user_id, None, now)
    return visit


async def hold_village_visits(session: AsyncSession, village_id: int, *, exclusive: bool) -> None:
    """Publishing a village's scores (exclusive) and correcting one of its visits (shared)
    wait for each other, until commit: a snapshot never cites a visit changed under it,
    and a correction sees the evidence a publication committed."""
    lock = func.pg_advisory_xact_lock if exclusive else func.pg_advisory_xact_lock_shared
    await session.execute(select(lock(_SCORING_LOCK_NAMESPACE, cast(village_id, Integer))))


async def correct_visit(
    session: AsyncSession, viewer: Viewer, visit_id: int, *, reason: str, now: datetime,
    mode: str | None = None, occurred_at: datetime | None = None, notes: str | None = None,
    location: Location | None = None, problems: list[ProblemFound] | None = None,
) -> Visit:
    """A new revision by the author within 24 hours of logging. Problems, if given, replace
    those not yet raised as requests (a raised one is already being handled)."""
    # the village's publication lock before the visit's row: a publication holding the
    # first waits for the second (its evidence references the visit)
    village_id = await session.scalar(select(Visit.village_id).where(Visit.id == visit_id))
    await hold_village_visits(session, village_id, exclusive=False)
    visit = await session.scalar(
        select(Visit).where(Visit.id == visit_id).with_for_update(key_share=True).execution_options(populate_existing=True)
    )
    if visit.author_user_id != viewer.user_id:
        raise LinkError(LinkErrorCode.NOT_THE_AUTHOR, "只有记录人可以更正走访", field="visitId")
    if now > visit.created_at + CORRECTION_WINDOW:
        raise LinkError(LinkErrorCode.CORRECTION_WINDOW_CLOSED, "走访记录超过24小时，不能再更正", field="visitId")
    if await session.scalar(select(ScoreEvidence.id).where(ScoreEvidence.visit_id == visit.id).limit(1)):
        raise LinkError(LinkErrorCode.ALREADY_SCORED, "该走访已计入已发布的评分，不能再更正", field="visitId")
    reason = _text(reason, "reason", 200, required=True)
    if mode is not None:
        if mode not in VISIT_MODES:
            raise invalid("走访方式不正确", "mode")
        visit.mode = mode
    if occurred_at is not None:
        _check_when(occurred_at, visit.created_at)
        visit.occurred_at = occurred_at
    if notes is not None:
        visit.notes = _text(notes, "notes", 2000) or ""
    if location is not None:
        location = _check_location(location)
        visit.place, visit.latitude, visit.longitude = location.place, location.latitude, location.longitude
    visit.revision += 1
    visit.updated_at = now
    await session.flush()
    if problems is not None:
        problems = _check_problems(problems)
        await session.execute(
            delete(VisitProblem).where(VisitProblem.visit_id == visit.id, VisitProblem.request_id.is_(None))
        )
        household = await session.get(Household, visit.household_id)
        await _add_problems(session, visit, household, problems, now)
    await _record_revision(session, visit, viewer.user_id, reason, now)
    return visit


async def revisions(session: AsyncSession, visit_id: int) -> list[VisitRevision]:
    return list((await session.scalars(
        select(VisitRevision).where(VisitRevision.visit_id == visit_id).order_by(VisitRevision.revision)
    )).all())
