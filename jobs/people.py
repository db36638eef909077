"""Labour profiles, applications and return-home reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from grid.households import update_household
from jobs.errors import JobsError, JobsErrorCode, invalid, tags, text
from models import (
    Household,
    HouseholdLivingStatus,
    JobApplication,
    JobPosting,
    LabourProfile,
    Resident,
    ReturnReport,
)
from models.jobs import LABOUR_STATUSES, RETURN_PLANS
from rewards.awards import award_for_event
from rewards.periods import CHINA

RETURN_EVENT = "return_report"
RETURN_REPORT_DAYS = 30  # how far back a return may be reported

# application status → the statuses it may come from
APPLICATION_MOVES = {
    "contacted": {"submitted"},
    "hired": {"submitted", "contacted"},
    "declined": {"submitted", "contacted"},
}


@dataclass
class ProfileTerms:
    status: str
    away_place: str | None = None
    trade: str | None = None
    skills: list[str] = field(default_factory=list)
    wanted_categories: list[str] = field(default_factory=list)
    available_from: date | None = None


async def save_profile(
    session: AsyncSession, resident_id: int, village_id: int, terms: ProfileTerms, now: datetime
) -> LabourProfile:
    if terms.status not in LABOUR_STATUSES:
        raise invalid("就业状态不正确", "status")
    values = dict(
        village_id=village_id, status=terms.status, away_place=text(terms.away_place, "awayPlace", 100, False),
        trade=text(terms.trade, "trade", 50, False), skills=tags(terms.skills, "skills"),
        wanted_categories=tags(terms.wanted_categories, "wantedCategories"),
        available_from=terms.available_from, updated_at=now,
    )
    stmt = insert(LabourProfile).values(resident_id=resident_id, status_since=now, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=["resident_id"], set_={
        **values,
        "status_since": case((LabourProfile.status == stmt.excluded.status, LabourProfile.status_since), else_=now),
    }))
    return await session.get(LabourProfile, resident_id, populate_existing=True)


async def apply(
    session: AsyncSession, posting: JobPosting, resident_id: int, village_id: int, note: str | None,
    now: datetime,
) -> JobApplication:
    if posting.status != "open":
        raise JobsError(JobsErrorCode.POSTING_NOT_OPEN, "该岗位已停止招聘", field="postingId")
    created = await session.execute(
        insert(JobApplication)
        .values(posting_id=posting.id, resident_id=resident_id, village_id=village_id,
                note=text(note, "note", 500, False), created_at=now, updated_at=now)
        .on_conflict_do_nothing()
        .returning(JobApplication.id)
    )
    application_id = created.scalar_one_or_none()
    if application_id is None:
        raise JobsError(JobsErrorCode.ALREADY_APPLIED, "已经报名过该岗位", field="postingId")
    return await session.get(JobApplication, application_id)


async def move_application(
    session: AsyncSession, application: JobApplication, status: str, actor_id: int, now: datetime,
) -> JobApplication:
    """Contacted, hired or declined. Hiring makes the resident work locally and fills the
    posting when its headcount is reached."""
    sources = APPLICATION_MOVES.get(status)
    if sources is None:
        raise invalid("状态不正确", "status")
    posting = await session.scalar(  # as stored now: hires queue here
        select(JobPosting).where(JobPosting.id == application.posting_id).with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if status == "hired":
        if posting.status != "open":
            raise JobsError(JobsErrorCode.POSTING_NOT_OPEN, "该岗位已停止招聘", field="status")
        hired = await session.scalar(
            select(func.count()).where(JobApplication.posting_id == posting.id, JobApplication.status == "hired")
        )
        if hired >= posting.headcount:  # filled without being marked so (an older posting)
            raise JobsError(JobsErrorCode.POSTING_NOT_OPEN, "该岗位已招满", field="status")
    moved = await session.execute(
        update(JobApplication)
        .where(JobApplication.id == application.id, JobApplication.status.in_(sources))
        .values(status=status, updated_at=now, decided_by_id=actor_id)
        .returning(JobApplication.id)
    )
    if moved.first() is None:
        raise JobsError(JobsErrorCode.INVALID_TRANSITION, "报名当前状态不能这样变更", field="status")
    if status == "hired":
        profile = await session.get(LabourProfile, application.resident_id)
        lives_in = await session.scalar(select(Resident.village_id).where(Resident.id == application.resident_id))
        await save_profile(  # where they live now, not where they applied from
            session, application.resident_id, lives_in,
            ProfileTerms(status="working_locally", trade=posting.category,
                         skills=profile.skills if profile else [],
                         wanted_categories=profile.wanted_categories if profile else []),
            now,
        )
        if hired + 1 >= posting.headcount:
            posting.status = "filled"
    await session.refresh(application)
    return application


async def _away_since(
    session: AsyncSession, household_id: int, resident_id: int, returned_on: date, now: datetime
):
    """Since when the resident was recorded away around their return: their household
    working away at some moment from the day they came home until now (the latest such
    living-status period: a member who reported first has already ended it), or their own
    profile saying so (since its status last changed). None if neither."""
    day_began = datetime.combine(returned_on, time.min, CHINA)
    day_ended = datetime.combine(returned_on + timedelta(days=1), time.min, CHINA)
    household_period = await session.scalar(
        select(func.max(HouseholdLivingStatus.valid_from)).where(
            HouseholdLivingStatus.household_id == household_id, HouseholdLivingStatus.living_status == "working_away",
            HouseholdLivingStatus.valid_from < day_ended,
            or_(HouseholdLivingStatus.valid_to.is_(None), HouseholdLivingStatus.valid_to > day_began),
        )
    )
    profile_since = await session.scalar(  # away by the day they came home, not only since
        select(LabourProfile.status_since).where(
            LabourProfile.resident_id == resident_id, LabourProfile.status == "working_away",
            LabourProfile.status_since < day_ended)
    )
    known = [t for t in (household_period, profile_since) if t is not None]
    return max(known) if known else None  # the latest: a time away that began after the last report counts


async def report_return(
    session: AsyncSession, *, resident_id: int, household: Household, user_id: int,
    from_place: str, returned_on: date, plan: str, now: datetime,
) -> tuple[ReturnReport, bool]:
    """The report (and whether it is new): the household is at home, the profile says where
    the resident stands, and the village's return rule awards points once per return, and
    only to a resident recorded as away (their household, or their own profile since their
    last report): coming home is what earns them, not the report."""
    if plan not in RETURN_PLANS:
        raise invalid("返乡打算不正确", "plan")
    today = now.astimezone(CHINA).date()
    if not today - timedelta(days=RETURN_REPORT_DAYS) <= returned_on <= today:
        raise invalid(f"返乡日期须在最近{RETURN_REPORT_DAYS}天内", "returnedOn")
    from_place = text(from_place, "fromPlace", 100)
    # the household held, as stored now: members reporting at once see each other's report
    household = await session.scalar(  # NO KEY: rows the points engine inserts refer to it
        select(Household).where(Household.id == household.id).with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    away_since = await _away_since(session, household.id, resident_id, returned_on, now)
    last_report = await session.scalar(
        select(func.max(ReturnReport.created_at)).where(ReturnReport.resident_id == resident_id)
    )
    # one reward per time away: none if this resident already reported since it began
    rewarded = away_since is not None and (last_report is None or last_report < away_since)
    # The report first: of two taps at once, one inserts and the other finds it.
    created = await session.execute(
        insert(ReturnReport)
        .values(village_id=household.village_id, resident_id=resident_id, household_id=household.id,
                from_place=from_place, returned_on=returned_on, plan=plan, points_awarded=0, created_at=now)
        .on_conflict_do_nothing(index_elements=["resident_id", "returned_on"])
        .returning(ReturnReport.id)
    )
    report_id = created.scalar_one_or_none()
    if report_id is None:
        existing = await session.scalar(
            select(ReturnReport).where(ReturnReport.resident_id == resident_id, ReturnReport.returned_on == returned_on)
        )
        return existing, False
    report = await session.get(ReturnReport, report_id)
    if rewarded:
        outcomes = await award_for_event(
            session, village_id=household.village_id, event_type=RETURN_EVENT, household_id=household.id,
            resident_id=resident_id, source=f"return:{resident_id}:{returned_on.isoformat()}",
            actor_user_id=user_id, now=now,
        )
        report.points_awarded = sum(o.points for o in outcomes)
        await session.flush()
    await update_household(session, household, living_status="at_home", now=now)
    status = {"look_for_work": "looking", "start_business": "working_locally"}.get(plan)
    if status is not None:  # staying or a short visit leaves the profile as it is
        profile = await session.get(LabourProfile, resident_id)
        await save_profile(
            session, resident_id, household.village_id,
            ProfileTerms(status=status, skills=profile.skills if profile else [],
                         wanted_categories=profile.wanted_categories if profile else [],
                         available_from=returned_on),
            now,
        )
    return report, True
