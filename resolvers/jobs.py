"""Queries and mutations of employment information."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.types import Info

from app.errors import BadInput, Forbidden
from app.pagination import keyset_page
from grid import access
from identity.viewer import ADMIN_ROLES, Viewer, subtree
from jobs import figures as figures_domain
from jobs import matching, people, postings
from jobs.errors import JobsError, JobsErrorCode, not_found
from models import Employer as EmployerRow
from models import Household, OrgUnit, Resident, User
from models import JobApplication as ApplicationRow
from models import JobPosting as PostingRow
from models import LabourProfile as ProfileRow
from models import ReturnReport as ReturnRow
from resolvers.ids import db_id
from resolvers.payload_errors import converter
from resolvers.transaction import in_transaction
from resolvers.villages import village_of
from rewards.periods import CHINA
from schema.jobs import (
    ApplyForJobInput,
    CreateEmployerInput,
    CreateJobPostingInput,
    Employer,
    EmployerPayload,
    EmploymentFigures,
    JobApplication,
    JobApplicationPayload,
    JobPosting,
    JobPostingPayload,
    LabourProfile,
    LabourProfilePayload,
    LabourStatus,
    MoveJobApplicationInput,
    ReportReturnInput,
    ReturnReport,
    ReturnReportPayload,
    SaveLabourProfileInput,
    Seeker,
    SetJobPostingStatusInput,
)
from schema.jobs import JobsError as JobsErrorType
from schema.jobs import JobsErrorCode as JobsErrorCodeEnum
from schema.relay import connection

errors = converter(JobsErrorType, JobsErrorCodeEnum)


def _resident(viewer: Viewer) -> tuple[int, int, int]:
    if viewer.resident_id is None or viewer.household_id is None:
        raise JobsError(JobsErrorCode.NO_HOUSEHOLD, "当前账号未关联村民")
    return viewer.resident_id, viewer.household_id, viewer.village_id


async def manages(session: AsyncSession, viewer: Viewer, employer: EmployerRow) -> bool:
    """Admins where the employer is registered, or the employer's own contact."""
    if viewer.may(ADMIN_ROLES, employer.scope_path):
        return True
    phone = await session.scalar(select(User.phone).where(User.id == viewer.user_id))
    return phone is not None and phone == employer.contact_phone


async def _employer(session, viewer: Viewer, global_id, field: str) -> EmployerRow:
    row = await session.get(EmployerRow, db_id(global_id, "Employer", field))
    if row is None or not await manages(session, viewer, row):
        raise not_found("用工单位", field)
    return row


async def _managed_posting(session, viewer: Viewer, posting_id: int, field: str) -> PostingRow:
    row = await session.get(PostingRow, posting_id)
    employer = row and await session.get(EmployerRow, row.employer_id)
    if employer is None or not await manages(session, viewer, employer):
        raise not_found("岗位", field)
    return row


# ---- employers and postings ----------------------------------------------------------


async def create_employer(info: Info, input: CreateEmployerInput) -> EmployerPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        scope = await access.get_unit(session, viewer, db_id(input.scope_id, "OrgUnit", "scopeId"),
                                      manage=True, field="scopeId")
        return await postings.create_employer(
            session, scope, name=input.name, kind=input.kind.value, contact_name=input.contact_name,
            contact_phone=input.contact_phone, address=input.address, now=ctx.now(),
        )

    row, errs = await in_transaction(info, action)
    return EmployerPayload(employer=row and Employer.from_row(row), errors=errors(errs))


async def create_job_posting(info: Info, input: CreateJobPostingInput) -> JobPostingPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        employer = await _employer(session, viewer, input.employer_id, "employerId")
        terms = postings.PostingTerms(
            title=input.title, category=input.category, description=input.description,
            pay_min=input.pay_min, pay_max=input.pay_max, pay_unit=input.pay_unit.value, place=input.place,
            headcount=input.headcount, skills=input.skills, starts_on=input.starts_on, ends_on=input.ends_on,
        )
        return await postings.create_posting(session, employer, terms, viewer.user_id, ctx.now(), open_now=input.open)

    row, errs = await in_transaction(info, action)
    return JobPostingPayload(posting=row and JobPosting.from_row(row), errors=errors(errs))


async def set_job_posting_status(info: Info, input: SetJobPostingStatusInput) -> JobPostingPayload:
    viewer = await info.context.require_viewer()

    async def action(session: AsyncSession):
        row = await _managed_posting(session, viewer, db_id(input.posting_id, "JobPosting", "postingId"), "postingId")
        return await postings.set_status(session, row, input.status.value)

    row, errs = await in_transaction(info, action)
    return JobPostingPayload(posting=row and JobPosting.from_row(row), errors=errors(errs))


async def job_postings(
    info: Info, scope_id: relay.GlobalID | None = None, first: int | None = None, after: str | None = None
) -> relay.Connection[JobPosting]:
    """Residents: the open postings serving their village, best fit first. Admins (with
    `scopeId`): every posting, drafts and closed ones too, of employers registered in that
    village or town (or below it)."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        if scope_id is None:
            resident_id, _, village_id = _resident(viewer)
            profile = await session.get(ProfileRow, resident_id)
            village = await session.get(OrgUnit, village_id)
            page = await matching.postings_for(session, profile, viewer.household_unit_path, village.path, first, after)
        else:
            scope = await access.get_unit(session, viewer, db_id(scope_id, "OrgUnit", "scopeId"), manage=True,
                                          field="scopeId")
            stmt = select(PostingRow, PostingRow.id).where(postings.managed_in(scope.path))
            page = await keyset_page(session, stmt, [PostingRow.id], first, after, descending=True)
    return connection([JobPosting.from_row(r[0]) for r in page.rows], page)


async def seekers(
    info: Info, posting_id: relay.GlobalID, first: int | None = None, after: str | None = None
) -> relay.Connection[Seeker]:
    """For an employer or admin: residents looking for work where the posting serves, best fit first."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        posting = await _managed_posting(session, viewer, db_id(posting_id, "JobPosting", "postingId"), "postingId")
        page = await matching.seekers_for(session, posting, first, after)
        people_by_id = {
            r.id: r for r in await session.scalars(
                select(Resident).where(Resident.id.in_([row[0].resident_id for row in page.rows])))
        }
    return connection(
        [Seeker(name=people_by_id[p.resident_id].name, fit=int(score), profile=LabourProfile.from_row(p),
                raw_phone=people_by_id[p.resident_id].phone, unit_path=path or "")
         for p, path, score, _ in page.rows],
        page,
    )


# ---- residents -----------------------------------------------------------------------


async def save_labour_profile(info: Info, input: SaveLabourProfileInput) -> LabourProfilePayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        if input.resident_id is None:
            resident_id, _, village_id = _resident(viewer)
        else:
            row, _, _ = await access.get_resident(session, viewer, db_id(input.resident_id, "Resident", "residentId"),
                                                  manage=True, field="residentId")
            resident_id, village_id = row.id, row.village_id
        terms = people.ProfileTerms(
            status=input.status.value, away_place=input.away_place, trade=input.trade, skills=input.skills,
            wanted_categories=input.wanted_categories, available_from=input.available_from,
        )
        return await people.save_profile(session, resident_id, village_id, terms, ctx.now())

    row, errs = await in_transaction(info, action)
    return LabourProfilePayload(profile=row and LabourProfile.from_row(row), errors=errors(errs))


async def my_labour_profile(info: Info) -> LabourProfile | None:
    viewer = await info.context.require_viewer()
    if viewer.resident_id is None:
        return None
    async with info.context.db() as session:
        row = await session.get(ProfileRow, viewer.resident_id)
    return row and LabourProfile.from_row(row)


async def apply_for_job(info: Info, input: ApplyForJobInput) -> JobApplicationPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        resident_id, _, village_id = _resident(viewer)
        posting = await session.scalar(
            select(PostingRow).where(
                PostingRow.id == db_id(input.posting_id, "JobPosting", "postingId"),
                postings.serves(viewer.household_unit_path), PostingRow.status != "draft",
            )
        )
        if posting is None:
            raise not_found("岗位", "postingId")
        return await people.apply(session, posting, resident_id, village_id, input.note, ctx.now())

    row, errs = await in_transaction(info, action)
    return JobApplicationPayload(application=row and JobApplication.from_row(row), errors=errors(errs))


async def move_job_application(info: Info, input: MoveJobApplicationInput) -> JobApplicationPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        row = await session.get(ApplicationRow, db_id(input.application_id, "JobApplication", "applicationId"))
        if row is None:
            raise not_found("报名", "applicationId")
        await _managed_posting(session, viewer, row.posting_id, "applicationId")
        return await people.move_application(session, row, input.status.value, viewer.user_id, ctx.now())

    row, errs = await in_transaction(info, action)
    return JobApplicationPayload(application=row and JobApplication.from_row(row), errors=errors(errs))


async def job_applications(
    info: Info, posting_id: relay.GlobalID | None = None, first: int | None = None, after: str | None = None
) -> relay.Connection[JobApplication]:
    """A resident's own applications; with `postingId`, an employer's or admin's list."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        stmt = select(ApplicationRow, ApplicationRow.id)
        if posting_id is None:
            stmt = stmt.where(ApplicationRow.resident_id == (viewer.resident_id or 0))
        else:
            posting = await _managed_posting(session, viewer, db_id(posting_id, "JobPosting", "postingId"), "postingId")
            stmt = stmt.where(ApplicationRow.posting_id == posting.id)
        page = await keyset_page(session, stmt, [ApplicationRow.id], first, after, descending=True)
    return connection([JobApplication.from_row(r[0]) for r in page.rows], page)


async def report_return(info: Info, input: ReportReturnInput) -> ReturnReportPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        resident_id, household_id, _ = _resident(viewer)
        household = await session.get(Household, household_id)
        return await people.report_return(
            session, resident_id=resident_id, household=household, user_id=viewer.user_id,
            from_place=input.from_place, returned_on=input.returned_on, plan=input.plan.value, now=ctx.now(),
        )

    result, errs = await in_transaction(info, action)
    if result is None:
        return ReturnReportPayload(report=None, already_reported=False, errors=errors(errs))
    row, new = result
    return ReturnReportPayload(report=ReturnReport.from_row(row), already_reported=not new, errors=[])


async def return_reports(
    info: Info, village_id: relay.GlobalID | None = None, since: datetime | None = None,
    until: datetime | None = None, first: int | None = None, after: str | None = None,
) -> relay.Connection[ReturnReport]:
    """Admins: who came home, by the day they came (China time) within the period; newest
    report first."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        village = await village_of(session, viewer, village_id)
        stmt = select(ReturnRow, ReturnRow.id).where(ReturnRow.village_id == village.id)
        # the days (in China) that overlap [since, until)
        if since is not None:
            stmt = stmt.where(ReturnRow.returned_on >= since.astimezone(CHINA).date())
        if until is not None:
            local = until.astimezone(CHINA)
            stmt = stmt.where(ReturnRow.returned_on < local.date() + timedelta(days=local.time() != time.min))
        page = await keyset_page(session, stmt, [ReturnRow.id], first, after, descending=True)
    return connection([ReturnReport.from_row(r[0]) for r in page.rows], page)


async def employment_figures(info: Info, unit_id: relay.GlobalID, since: datetime, until: datetime) -> EmploymentFigures:
    """For a village or a town: labour force, where people work, open postings, hires."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    if until <= since:
        raise BadInput("统计期间不正确", "until")
    async with ctx.db() as session:
        unit = await access.get_unit(session, viewer, db_id(unit_id, "OrgUnit", "unitId"), field="unitId")
        if unit.kind not in ("village", "town") or not viewer.may(ADMIN_ROLES, unit.path):
            raise Forbidden("就业统计面向村、镇管理员")
        return EmploymentFigures(**await figures_domain.figures(session, unit, since, until))


async def labour_profiles(
    info: Info, unit_id: relay.GlobalID, status: LabourStatus | None = None, first: int | None = None,
    after: str | None = None,
) -> relay.Connection[Seeker]:
    """Admins: the people behind `employmentFigures`, by status, for a village or a town."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        unit = await access.get_unit(session, viewer, db_id(unit_id, "OrgUnit", "unitId"), field="unitId")
        if unit.kind not in ("village", "town") or not viewer.may(ADMIN_ROLES, unit.path):
            raise Forbidden("就业统计面向村、镇管理员")
        villages = select(OrgUnit.id).where(OrgUnit.kind == "village", subtree(OrgUnit.path, unit.path))
        stmt = (
            select(ProfileRow, Resident, ProfileRow.resident_id)
            .join(Resident, Resident.id == ProfileRow.resident_id)
            .where(ProfileRow.village_id.in_(villages))
        )
        if status is not None:
            stmt = stmt.where(ProfileRow.status == status.value)
        page = await keyset_page(session, stmt, [ProfileRow.resident_id], first, after)
    return connection(
        [Seeker(name=r.name, fit=0, profile=LabourProfile.from_row(p), raw_phone=r.phone, unit_path=unit.path)
         for p, r, _ in page.rows],
        page,
    )
