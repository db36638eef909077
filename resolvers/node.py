"""`node(id:)`: any object by its global id, if the viewer may see it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.types import Info

from affairs import notices
from affairs.visibility import may_see_accounts
from grid import access
from grid.errors import not_found
from identity.viewer import ADMIN_ROLES, GRID_ROLES, Viewer
from models import AccountEntry as AccountEntryRow
from models import AccountStatement as StatementRow
from models import Appointment as AppointmentRow
from models import EarningRule as EarningRuleRow
from models import Employer as EmployerRow
from models import Hamlet as HamletRow
from models import JobApplication as ApplicationRow
from models import JobPosting as JobPostingRow
from models import Notice as NoticeRow
from models import NoticeRead as ReadRow
from models import NoticeReceipt as ReceiptRow
from models import NoticeRevision as RevisionRow
from models import OrgUnit as OrgUnitRow
from models import PointsAccount
from models import PointsClaim as ClaimRow
from models import PointsEntry as EntryRow
from models import PointsTransaction as TransactionRow
from models import Question as QuestionRow
from models import Redemption as RedemptionRow
from models import Resident as ResidentRow
from models import ResidentRequest as ResidentRequestRow
from models import ReturnReport as ReturnRow
from models import RewardItem as RewardItemRow
from models import User as UserRow
from resident_requests import workflow
from resolvers.household_links import visible_visit
from resolvers.jobs import manages
from rewards.rules import current_version
from schema.affairs import (
    AccountEntry,
    AccountStatement,
    Notice,
    NoticeRead,
    NoticeReceipt,
    Question,
)
from schema.grid import Appointment, Hamlet, Household, OrgUnit, Resident, User
from schema.household_links import Visit
from schema.jobs import Employer, JobApplication, JobPosting, ReturnReport
from schema.relay import node_id
from schema.requests import ResidentRequest
from schema.rewards import EarningRule, PointsClaim, PointsEntry, Redemption, RewardItem

STORE_ROLES = ADMIN_ROLES | {"store_clerk"}


async def _visit(session: AsyncSession, viewer: Viewer, id: int):
    return Visit.from_row(await visible_visit(session, viewer, id, "id"))


async def _org_unit(session: AsyncSession, viewer: Viewer, id: int):
    return OrgUnit.from_row(await access.get_unit(session, viewer, id))


async def _household(session: AsyncSession, viewer: Viewer, id: int):
    return Household.from_row(*await access.get_household(session, viewer, id))


async def _resident(session: AsyncSession, viewer: Viewer, id: int):
    row, membership, path = await access.get_resident(session, viewer, id)
    return Resident.from_row(row, path, membership)


async def _hamlet(session: AsyncSession, viewer: Viewer, id: int):
    row = await session.get(HamletRow, id)
    village = row and await session.get(OrgUnitRow, row.village_id)
    if village is None or not access.can_see_unit(viewer, village.path):
        raise not_found()
    return Hamlet.from_row(row)


async def _appointment(session: AsyncSession, viewer: Viewer, id: int):
    row = await session.get(AppointmentRow, id)
    unit = row and await session.get(OrgUnitRow, row.unit_id)
    if unit is None or not (viewer.may(GRID_ROLES, unit.path) or row.user_id == viewer.user_id):
        raise not_found()
    return Appointment.from_row(row, unit.path)


async def _user(session: AsyncSession, viewer: Viewer, id: int):
    if id != viewer.user_id:  # other users are reached through their appointments
        raise not_found()
    return User.from_row(await session.get(UserRow, id), None)


async def _village_member_or_staff(session, viewer: Viewer, village_id: int, roles) -> None:
    """Residents of the village, or staff with one of `roles` over it; else not found."""
    if viewer.village_id == village_id:
        return
    village = await session.get(OrgUnitRow, village_id)
    if village is None or not viewer.may(roles, village.path):
        raise not_found()


async def _reward_item(session: AsyncSession, viewer: Viewer, id: int):
    row = await session.get(RewardItemRow, id)
    if row is None:
        raise not_found()
    await _village_member_or_staff(session, viewer, row.village_id, STORE_ROLES)
    return RewardItem.from_row(row)


async def _earning_rule(session: AsyncSession, viewer: Viewer, id: int):
    row = await session.get(EarningRuleRow, id)
    if row is None:
        raise not_found()
    await _village_member_or_staff(session, viewer, row.village_id, ADMIN_ROLES)
    return EarningRule.from_rows(row.code, await current_version(session, row.id))


async def _household_record(session, viewer: Viewer, row, roles):
    """A record of one household: for that household, or staff with `roles` over it."""
    if row is None:
        raise not_found()
    if row.household_id != viewer.household_id:
        village = await session.get(OrgUnitRow, row.village_id)
        if not viewer.may(roles, village.path):
            raise not_found()
    return row


async def _redemption(session: AsyncSession, viewer: Viewer, id: int):
    row = await _household_record(session, viewer, await session.get(RedemptionRow, id), STORE_ROLES)
    return Redemption.from_row(row)


async def _claim(session: AsyncSession, viewer: Viewer, id: int):
    row = await _household_record(session, viewer, await session.get(ClaimRow, id), ADMIN_ROLES)
    return PointsClaim.from_row(row)


async def _entry(session: AsyncSession, viewer: Viewer, id: int):
    found = (
        await session.execute(
            select(EntryRow, TransactionRow, PointsAccount.household_id)
            .join(TransactionRow, TransactionRow.id == EntryRow.transaction_id)
            .join(PointsAccount, PointsAccount.id == EntryRow.account_id)
            .where(EntryRow.id == id, PointsAccount.kind == "household")
        )
    ).one_or_none()
    if found is None:
        raise not_found()
    entry, transaction, household_id = found
    if household_id != viewer.household_id:
        village = await session.get(OrgUnitRow, entry.village_id)
        if not viewer.may(ADMIN_ROLES, village.path):
            raise not_found()
    return PointsEntry.from_rows(entry, transaction)


async def _notice(session: AsyncSession, viewer: Viewer, id: int):
    """Admins see every notice of their village; other staff the published ones; residents
    those published to their units."""
    row = await session.get(NoticeRow, id)
    if row is None:
        raise not_found()
    now = datetime.now(UTC)
    village = await session.get(OrgUnitRow, row.village_id)
    published = notices.is_published_by(row, now)
    if not (
        viewer.may(ADMIN_ROLES, village.path)
        or (published and viewer.may(GRID_ROLES, village.path))
        or (viewer.household_unit_path is not None and viewer.village_id == row.village_id
            and await session.scalar(select(NoticeRow.id).where(
                NoticeRow.id == id,
                notices.visible_to_resident(viewer.village_id, viewer.household_unit_path, now),
            )))
    ):
        raise not_found()
    return Notice.from_rows(
        row, await notices.current_revision(session, row.id), viewer.may(ADMIN_ROLES, village.path)
    )


async def _statement(session: AsyncSession, viewer: Viewer, id: int):
    row = await session.get(StatementRow, id)
    unit = row and await session.get(OrgUnitRow, row.unit_id)
    if unit is None or not may_see_accounts(viewer, unit):
        raise not_found()
    return AccountStatement.from_row(row)


async def _account_entry(session: AsyncSession, viewer: Viewer, id: int):
    row = await session.get(AccountEntryRow, id)
    unit = row and await session.get(OrgUnitRow, row.unit_id)
    if unit is None or not viewer.may(ADMIN_ROLES, unit.path):
        raise not_found()
    return AccountEntry.from_row(row)


async def _request(session: AsyncSession, viewer: Viewer, id: int):
    row = await session.get(ResidentRequestRow, id)
    if row is None or not workflow.may_see(viewer, row):
        raise not_found()
    return ResidentRequest.from_row(row)


async def _job_posting(session: AsyncSession, viewer: Viewer, id: int):
    row = await session.get(JobPostingRow, id)
    serves = row is not None and viewer.household_unit_path is not None and (
        viewer.household_unit_path.startswith(row.scope_path) and row.status != "draft")
    if row is None or not (serves or viewer.may(ADMIN_ROLES, row.scope_path)):
        raise not_found()
    return JobPosting.from_row(row)


async def _employer(session: AsyncSession, viewer: Viewer, id: int):
    row = await session.get(EmployerRow, id)
    serves = row is not None and (viewer.household_unit_path or "").startswith(row.scope_path)
    if row is None or not (serves or await manages(session, viewer, row)):
        raise not_found()
    return Employer.from_row(row)


async def _job_application(session: AsyncSession, viewer: Viewer, id: int):
    """The applicant's own, or the posting's employer's and admins'."""
    row = await session.get(ApplicationRow, id)
    posting = row and await session.get(JobPostingRow, row.posting_id)
    employer = posting and await session.get(EmployerRow, posting.employer_id)
    if employer is None or not (row.resident_id == viewer.resident_id or await manages(session, viewer, employer)):
        raise not_found()
    return JobApplication.from_row(row)


async def _own_or_administered(session: AsyncSession, viewer: Viewer, model, id: int):
    """A row about a resident (it has `resident_id` and `village_id`): theirs to see, and
    their village's admins'."""
    row = await session.get(model, id)
    village = row and await session.get(OrgUnitRow, row.village_id)
    if village is None or not (row.resident_id == viewer.resident_id or viewer.may(ADMIN_ROLES, village.path)):
        raise not_found()
    return row


async def _return_report(session: AsyncSession, viewer: Viewer, id: int):
    return ReturnReport.from_row(await _own_or_administered(session, viewer, ReturnRow, id))


async def _receipt(session: AsyncSession, viewer: Viewer, id: int):
    row = await _own_or_administered(session, viewer, ReceiptRow, id)
    return NoticeReceipt(id=row.id, seconds=row.seconds, read_at=row.read_at)


async def _read(session: AsyncSession, viewer: Viewer, id: int):
    """A read is the reader's own (it is what they finish)."""
    row = await session.get(ReadRow, id)
    if row is None or row.user_id != viewer.user_id:
        raise not_found()
    revision = await session.get(RevisionRow, row.revision_id)
    return NoticeRead(id=row.id, started_at=row.started_at, minimum_seconds=revision.min_read_seconds)


async def _question(session: AsyncSession, viewer: Viewer, id: int):
    """Seen by whoever sees the notice or the book it was asked about."""
    row = await session.get(QuestionRow, id)
    if row is None:
        raise not_found()
    if row.notice_id is not None:
        await _notice(session, viewer, row.notice_id)
    else:
        await _statement(session, viewer, row.statement_id)
    return Question.from_rows(row, (await session.get(ResidentRow, row.resident_id)).name)


LOADERS = {
    "Employer": _employer,
    "JobApplication": _job_application,
    "ReturnReport": _return_report,
    "NoticeRead": _read,
    "NoticeReceipt": _receipt,
    "Question": _question,
    "JobPosting": _job_posting,
    "Visit": _visit,
    "ResidentRequest": _request,
    "Notice": _notice,
    "AccountStatement": _statement,
    "AccountEntry": _account_entry,
    "RewardItem": _reward_item,
    "EarningRule": _earning_rule,
    "Redemption": _redemption,
    "PointsClaim": _claim,
    "PointsEntry": _entry,
    "OrgUnit": _org_unit,
    "Household": _household,
    "Resident": _resident,
    "Hamlet": _hamlet,
    "Appointment": _appointment,
    "User": _user,
}


async def node(info: Info, id: relay.GlobalID) -> relay.Node:
    viewer = await info.context.require_viewer()
    load = LOADERS.get(id.type_name)
    row_id = node_id(id, id.type_name)
    if load is None or row_id is None:
        raise not_found()
    async with info.context.db() as session:
        return await load(session, viewer, row_id)
