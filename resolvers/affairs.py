"""Queries and mutations of village affairs disclosure and group accounts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, bindparam, exists, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from strawberry import relay
from strawberry.types import Info

from affairs import accounts, cadence, notices, questions, reach, reading
from affairs.errors import AffairsError, AffairsErrorCode, invalid, not_found
from affairs.visibility import may_see_accounts
from app.errors import Forbidden
from app.pagination import Keyset, keyset_page
from grid import access
from identity.viewer import ADMIN_ROLES, GRID_ROLES, Viewer
from models import AccountEntry as EntryRow
from models import AccountStatement as StatementRow
from models import Notice as NoticeRow
from models import NoticeReceipt as ReceiptRow
from models import NoticeRevision as RevisionRow
from models import OrgUnit as OrgUnitRow
from models import Question as QuestionRow
from models import Resident
from resolvers.ids import db_id
from resolvers.payload_errors import converter
from resolvers.transaction import in_transaction
from resolvers.villages import village_of
from schema.affairs import (
    AccountEntry,
    AccountStatement,
    BrokenStatement,
    DisclosureKind,
    Notice,
    NoticeCategory,
    NoticeReach,
    NoticeRead,
    NoticeReceipt,
    OverdueDisclosure,
    Question,
    UnitReach,
)
from schema.affairs import AffairsError as AffairsErrorType
from schema.affairs import AffairsErrorCode as AffairsErrorCodeEnum
from schema.affairs_inputs import (
    AccountEntryPayload,
    AddAccountEntryInput,
    AnswerQuestionInput,
    AskQuestionInput,
    CreateNoticeInput,
    DeleteAccountEntryInput,
    DeleteAccountEntryPayload,
    FinishNoticeReadInput,
    FinishNoticeReadPayload,
    NoticePayload,
    OpenNoticeInput,
    OpenNoticePayload,
    PublishNoticeInput,
    PublishStatementInput,
    QuestionPayload,
    ReviseNoticeInput,
    StatementPayload,
    WithdrawNoticeInput,
)
from schema.grid import Household, OrgUnit
from schema.relay import connection

errors = converter(AffairsErrorType, AffairsErrorCodeEnum)


def reader_of(viewer: Viewer) -> reading.Reader:
    if viewer.household_id is None or viewer.resident_id is None:
        raise AffairsError(AffairsErrorCode.NO_HOUSEHOLD, "当前账号未关联农户")
    return reading.Reader(
        viewer.user_id, viewer.resident_id, viewer.household_id, viewer.village_id,
        viewer.household_unit_path,
    )


async def _notice_for_staff(session, viewer: Viewer, global_id, roles=ADMIN_ROLES, field="noticeId") -> NoticeRow:
    row = await session.get(NoticeRow, db_id(global_id, "Notice", field))
    if row is None:
        raise not_found("公开信息", field)
    village = await access.get_unit(session, viewer, row.village_id, field=field)
    serves_here = any(  # over the village, or anywhere inside it (a chief of one group)
        g.role in roles and (village.path.startswith(g.unit_path) or g.village_id == row.village_id)
        for g in viewer.grants
    )
    if not serves_here:
        raise not_found("公开信息", field)
    return row


async def _as_notice(session: AsyncSession, row: NoticeRow) -> Notice:
    """A notice as its admin sees it (drafts and all revisions)."""
    return Notice.from_rows(row, await notices.current_revision(session, row.id), manageable=True)


# ---- notices -------------------------------------------------------------------------


async def notices_query(
    info: Info, village_id: relay.GlobalID | None = None, unread_only: bool | None = None,
    category: NoticeCategory | None = None, search: str | None = None,
    first: int | None = None, after: str | None = None,
) -> relay.Connection[Notice]:
    """Residents: the published notices of their units, pinned and newest first. Staff of a
    village (with `villageId`): all its notices, drafts included for admins."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    manageable = False
    if village_id is None and not unread_only and category is None and not (search or "").strip():
        # a resident's plain list, the home screen's: its statement is built once
        reader = reader_of(viewer)
        async with ctx.db() as session:
            page = await _RESIDENT_NOTICES.page(
                session,
                {**notices.reader_params(reader.village_id, reader.household_unit_path, ctx.now()),
                 "resident_id": reader.resident_id},
                first, after,
            )
        # the page came with each notice's current revision and the reader's read flag
        for row in page.rows:
            ctx.loaders.notice_read.prime((row[0].id, reader.resident_id), row.read)
        return connection([Notice.from_rows(row[0], row[1], manageable) for row in page.rows], page)
    async with ctx.db() as session:
        stmt = select(NoticeRow, NoticeRow.pinned, _published_key(), NoticeRow.id)
        if village_id is None:
            reader = reader_of(viewer)
            stmt = stmt.where(notices.visible_to_resident(reader.village_id, reader.household_unit_path, ctx.now()))
            if unread_only:
                stmt = stmt.where(notices.unread_by(reader.resident_id))
        else:
            village = await village_of(session, viewer, village_id, GRID_ROLES)
            stmt = stmt.where(NoticeRow.village_id == village.id)
            manageable = viewer.may(ADMIN_ROLES, village.path)
            if not manageable:
                stmt = stmt.where(notices.published_by(ctx.now()))
        if category is not None:
            stmt = stmt.where(NoticeRow.category == category.value)
        if (words := notices.search_filter(search)) is not None:
            stmt = stmt.where(words)
        # pinned first, then newest (a draft by when it was written)
        page = await keyset_page(
            session, stmt, [NoticeRow.pinned, _published_key(), NoticeRow.id], first, after,
            descending=True,
        )
    return await _notice_connection(ctx, page, manageable)


async def _notice_connection(ctx, page, manageable: bool) -> relay.Connection[Notice]:
    revisions = await ctx.loaders.notice_revision.load_many([r[0].id for r in page.rows])
    return connection(
        [Notice.from_rows(r[0], rev, manageable) for r, rev in zip(page.rows, revisions, strict=True)], page
    )


def _published_key():
    return func.coalesce(NoticeRow.published_at, NoticeRow.created_at)


def _resident_notices() -> Keyset:
    """A resident's notices, pinned first, then newest, each with its current revision and
    whether the resident (`resident_id`) has read it: one statement per page, which cuts
    the page first and then looks up revisions and receipts for its rows only."""

    def with_revision_and_read_flag(page_stmt):
        page = page_stmt.subquery("page")
        current = aliased(
            RevisionRow,
            select(RevisionRow).where(RevisionRow.notice_id == page.c.id)
            .order_by(RevisionRow.revision.desc()).limit(1).lateral("current_revision"),
        )
        read = exists().where(
            ReceiptRow.notice_id == page.c.id,
            ReceiptRow.resident_id == bindparam("resident_id", type_=BigInteger),
        )
        return (
            select(NoticeRow, current, read.label("read"), page.c.pinned, page.c.published_key, page.c.id)
            .select_from(page)
            .join(NoticeRow, NoticeRow.id == page.c.id)
            .join(current, true())
            .order_by(page.c.pinned.desc(), page.c.published_key.desc(), page.c.id.desc())
        )

    return Keyset(
        select(NoticeRow.id, NoticeRow.pinned, _published_key().label("published_key"))
        .where(notices.VISIBLE_TO_READER),
        [NoticeRow.pinned, _published_key(), NoticeRow.id], descending=True,
        decorate=with_revision_and_read_flag,
    )


_RESIDENT_NOTICES = _resident_notices()


async def unread_notice_count(info: Info) -> int:
    ctx = info.context
    viewer = await ctx.require_viewer()
    if viewer.household_id is None:
        return 0
    reader = reader_of(viewer)
    async with ctx.db() as session:
        return await notices.unread_count(
            session, reader.village_id, reader.household_unit_path, reader.resident_id, ctx.now()
        )


async def create_notice(info: Info, input: CreateNoticeInput) -> NoticePayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        village = await village_of(session, viewer, input.village_id)
        draft = notices.NoticeDraft(
            title=input.title, body=input.body, category=input.category.value,
            audience_unit_ids=[db_id(u, "OrgUnit", "audienceUnitIds") for u in input.audience_unit_ids],
            attachments=[notices.Attachment(a.name, a.url, a.size, a.type) for a in input.attachments],
            min_read_seconds=input.minimum_seconds, pinned=input.pinned,
        )
        row = await notices.create_notice(session, village, draft, viewer.user_id, ctx.now())
        if input.publish or input.publish_at is not None:
            await notices.publish_notice(session, row, ctx.now(), input.publish_at)
        return await _as_notice(session, row)

    notice, errs = await in_transaction(info, action)
    return NoticePayload(notice=notice, errors=errors(errs))


async def revise_notice(info: Info, input: ReviseNoticeInput) -> NoticePayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        row = await _notice_for_staff(session, viewer, input.notice_id)
        await notices.revise_notice(
            session, row, title=input.title, body=input.body,
            attachments=None if input.attachments is None else [
                notices.Attachment(a.name, a.url, a.size, a.type) for a in input.attachments],
            min_read_seconds=input.minimum_seconds, reason=input.reason, author_id=viewer.user_id,
            now=ctx.now(),
        )
        return await _as_notice(session, row)

    notice, errs = await in_transaction(info, action)
    return NoticePayload(notice=notice, errors=errors(errs))


async def publish_notice(info: Info, input: PublishNoticeInput) -> NoticePayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        row = await _notice_for_staff(session, viewer, input.notice_id)
        await notices.publish_notice(session, row, ctx.now(), input.publish_at)
        return await _as_notice(session, row)

    notice, errs = await in_transaction(info, action)
    return NoticePayload(notice=notice, errors=errors(errs))


async def withdraw_notice(info: Info, input: WithdrawNoticeInput) -> NoticePayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        row = await _notice_for_staff(session, viewer, input.notice_id)
        await notices.withdraw_notice(session, row, ctx.now())
        return await _as_notice(session, row)

    notice, errs = await in_transaction(info, action)
    return NoticePayload(notice=notice, errors=errors(errs))


async def open_notice(info: Info, input: OpenNoticeInput) -> OpenNoticePayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        read, revision = await reading.open_notice(
            session, reader_of(viewer), db_id(input.notice_id, "Notice", "noticeId"), ctx.now()
        )
        return NoticeRead(id=read.id, started_at=read.started_at, minimum_seconds=revision.min_read_seconds)

    read, errs = await in_transaction(info, action)
    return OpenNoticePayload(read=read, errors=errors(errs))


async def finish_notice_read(info: Info, input: FinishNoticeReadInput) -> FinishNoticeReadPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        return await reading.finish_read(
            session, reader_of(viewer), db_id(input.read_id, "NoticeRead", "readId"), ctx.now()
        )

    result, errs = await in_transaction(info, action)
    if result is None:
        return FinishNoticeReadPayload(receipt=None, points_awarded=0, errors=errors(errs))
    receipt, points = result
    return FinishNoticeReadPayload(
        receipt=NoticeReceipt(id=receipt.id, seconds=receipt.seconds, read_at=receipt.read_at),
        points_awarded=points, errors=[],
    )


async def notice_reach(info: Info, notice_id: relay.GlobalID, unit_id: relay.GlobalID | None = None) -> NoticeReach:
    """For admins and chiefs: households reached (an effective reader) over households in
    the audience, for a unit and each unit below it."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        notice, unit = await _notice_and_unit(session, viewer, notice_id, unit_id, ctx.now())
        total, units = await reach.reach_by_unit(session, notice, unit)
    return NoticeReach(total=_unit_reach(total), units=[_unit_reach(u) for u in units])


async def _notice_and_unit(session, viewer: Viewer, notice_id, unit_id, now: datetime):
    notice = await _notice_for_staff(session, viewer, notice_id, GRID_ROLES)
    if not notices.is_published_by(notice, now) and not viewer.may(ADMIN_ROLES, (await session.get(OrgUnitRow, notice.village_id)).path):
        raise not_found("公开信息", "noticeId")  # drafts and withdrawn notices are the admins'
    unit = await access.get_unit(
        session, viewer, db_id(unit_id, "OrgUnit", "unitId") if unit_id else notice.village_id,
        field="unitId",
    )
    if unit.village_id != notice.village_id or not viewer.may(GRID_ROLES, unit.path):
        raise not_found("单位", "unitId")
    return notice, unit


def _unit_reach(r: reach.UnitReach) -> UnitReach:
    return UnitReach(unit=OrgUnit.from_row(r.unit), audience_households=r.audience_households,
                     reached_households=r.reached_households, rate=round(r.rate, 4))


async def unreached_households(
    info: Info, notice_id: relay.GlobalID, unit_id: relay.GlobalID | None = None,
    first: int | None = None, after: str | None = None,
) -> relay.Connection[Household]:
    """The households of the audience nobody in which has read the notice yet."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        notice, unit = await _notice_and_unit(session, viewer, notice_id, unit_id, ctx.now())
        page = await reach.not_reached(session, notice, unit, first, after)
    return connection([Household.from_row(h, path) for h, path, _ in page.rows], page)


# ---- group accounts ------------------------------------------------------------------


async def _book_unit(session, viewer: Viewer, global_id, *, manage: bool):
    unit = await access.get_unit(session, viewer, db_id(global_id, "OrgUnit", "unitId"), field="unitId")
    if unit.village_id is None:
        raise invalid("账目属于村或村下的组", "unitId")
    if manage:
        access.require_manage(viewer, unit.path)
    return unit


async def account_entries(
    info: Info, unit_id: relay.GlobalID, period: str, first: int | None = None, after: str | None = None
) -> relay.Connection[AccountEntry]:
    """Admins: the working entries of a month (before or between publications)."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        unit = await _book_unit(session, viewer, unit_id, manage=True)
        year, month = map(int, accounts.check_period(period).split("-"))
        stmt = select(EntryRow, EntryRow.id).where(
            EntryRow.unit_id == unit.id, EntryRow.entry_date >= date(year, month, 1),
            EntryRow.entry_date < date(year + (month == 12), month % 12 + 1, 1),
        )
        page = await keyset_page(session, stmt, [EntryRow.id], first, after)
    return connection([AccountEntry.from_row(r[0]) for r in page.rows], page)


async def add_account_entry(info: Info, input: AddAccountEntryInput) -> AccountEntryPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        unit = await _book_unit(session, viewer, input.unit_id, manage=True)
        return await accounts.add_entry(
            session, unit,
            accounts.EntryInput(
                entry_date=input.date, direction=input.direction.value, category=input.category,
                amount_fen=input.amount_fen, description=input.description,
                counterparty=input.counterparty, voucher_no=input.voucher_no,
            ),
            viewer.user_id, ctx.now(),
        )

    row, errs = await in_transaction(info, action)
    return AccountEntryPayload(entry=row and AccountEntry.from_row(row), errors=errors(errs))


async def delete_account_entry(info: Info, input: DeleteAccountEntryInput) -> DeleteAccountEntryPayload:
    viewer = await info.context.require_viewer()

    async def action(session: AsyncSession):
        row = await session.get(EntryRow, db_id(input.entry_id, "AccountEntry", "entryId"))
        unit = row and await access.get_unit(session, viewer, row.unit_id, field="entryId")
        if unit is None or not viewer.may(ADMIN_ROLES, unit.path):  # entries are the admins' to see
            raise not_found("账目", "entryId")
        await accounts.delete_entry(session, row)
        return True

    deleted, errs = await in_transaction(info, action)
    return DeleteAccountEntryPayload(deleted=bool(deleted), errors=errors(errs))


async def publish_statement(info: Info, input: PublishStatementInput) -> StatementPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        unit = await _book_unit(session, viewer, input.unit_id, manage=True)
        return await accounts.publish_statement(
            session, unit, input.period, reason=input.correction_reason, publisher_id=viewer.user_id,
            now=ctx.now(),
        )

    published, errs = await in_transaction(info, action)
    return StatementPayload(
        statement=published and AccountStatement.from_row(published.statement),
        carried_forward=[AccountStatement.from_row(row) for row in published.carried_forward] if published else [],
        errors=errors(errs),
    )


async def statements(
    info: Info, unit_id: relay.GlobalID, period: str | None = None, first: int | None = None,
    after: str | None = None,
) -> relay.Connection[AccountStatement]:
    """Published statements of a unit, every version, newest first: workers over the unit,
    and the residents who live in it (their group's book, their village's)."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        unit = await access.get_unit(session, viewer, db_id(unit_id, "OrgUnit", "unitId"), field="unitId")
        if not may_see_accounts(viewer, unit):
            raise not_found("单位", "unitId")
        stmt = select(StatementRow, StatementRow.id).where(StatementRow.unit_id == unit.id)
        if period is not None:
            stmt = stmt.where(StatementRow.period == accounts.check_period(period))
        page = await keyset_page(session, stmt, [StatementRow.id], first, after, descending=True)
    return connection([AccountStatement.from_row(r[0]) for r in page.rows], page)


async def verify_statements(info: Info, village_id: relay.GlobalID | None = None) -> list[BrokenStatement]:
    """Recompute the digest chains of a village's statements; empty means intact."""
    viewer = await info.context.require_viewer()
    async with info.context.db() as session:
        village = await village_of(session, viewer, village_id)
        broken = await accounts.verify(session, village.id)
    return [
        BrokenStatement(statement_id=relay.GlobalID("AccountStatement", str(b.statement_id)),
                        period=b.period, version=b.version, problem=b.problem)
        for b in broken
    ]


async def disclosure_cadence(info: Info, unit_id: relay.GlobalID) -> list[OverdueDisclosure]:
    """For a town or a village: who is overdue with village affairs or finance disclosure."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        unit = await access.get_unit(session, viewer, db_id(unit_id, "OrgUnit", "unitId"), field="unitId")
        if not viewer.may(ADMIN_ROLES, unit.path):
            raise Forbidden()
        found = await cadence.overdue(session, unit, ctx.now())
    return [
        OverdueDisclosure(unit=OrgUnit.from_row(o.unit), kind=DisclosureKind(o.kind), last=o.last, due=o.due)
        for o in found
    ]


# ---- questions -----------------------------------------------------------------------


async def ask_question(info: Info, input: AskQuestionInput) -> QuestionPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        reader = reader_of(viewer)
        if (input.notice_id is None) == (input.statement_id is None):
            raise invalid("请针对一条公开信息或一份账目提问", "noticeId")
        if input.notice_id is not None:
            notice = await reading.visible_notice(
                session, reader, db_id(input.notice_id, "Notice", "noticeId"), ctx.now()
            )
            target = {"notice_id": notice.id, "village_id": notice.village_id}
        else:
            statement = await session.get(StatementRow, db_id(input.statement_id, "AccountStatement", "statementId"))
            unit = statement and await session.get(OrgUnitRow, statement.unit_id)
            if unit is None or not may_see_accounts(viewer, unit):
                raise not_found("账目公开", "statementId")
            target = {"statement_id": statement.id, "village_id": statement.village_id}
        # the question belongs where its notice or book is (a worker may ask on another village's)
        row = await questions.ask(session, resident_id=reader.resident_id, text=input.text, now=ctx.now(), **target)
        asker = await session.get(Resident, row.resident_id)  # named as every list of questions names them
        return Question.from_rows(row, asker.name)

    question, errs = await in_transaction(info, action)
    return QuestionPayload(question=question, errors=errors(errs))


async def answer_question(info: Info, input: AnswerQuestionInput) -> QuestionPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        row = await session.get(QuestionRow, db_id(input.question_id, "Question", "questionId"))
        if row is None:
            raise not_found("问题", "questionId")
        village = await access.get_unit(session, viewer, row.village_id, field="questionId")
        if not viewer.may(ADMIN_ROLES, village.path):
            raise not_found("问题", "questionId")
        answered = await questions.answer(session, row, input.answer, viewer.user_id, ctx.now())
        asker = await session.get(Resident, answered.resident_id)
        return Question.from_rows(answered, asker.name)

    question, errs = await in_transaction(info, action)
    return QuestionPayload(question=question, errors=errors(errs))

