"""Queries and mutations of residents' requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.types import Info

from app.errors import BadInput, Forbidden
from app.pagination import keyset_page
from grid import access
from identity.viewer import ADMIN_ROLES, GRID_ROLES, load_viewer, within
from models import Household, OrgUnit
from models import ResidentRequest as RequestRow
from resident_requests import figures as figures_domain
from resident_requests import workflow
from resident_requests.errors import RequestError, RequestErrorCode, not_found
from resolvers.ids import db_id
from resolvers.payload_errors import converter
from resolvers.transaction import in_transaction
from resolvers.villages import village_of
from schema.relay import connection
from schema.requests import (
    ActOnRequestInput,
    RateRequestInput,
    RequestCategory,
    RequestDeadlinePayload,
    RequestFigure,
    RequestFigures,
    RequestPayload,
    RequestStatus,
    ResidentRequest,
    SetRequestDeadlineInput,
    SubmitRequestInput,
)
from schema.requests import RequestError as RequestErrorType
from schema.requests import RequestErrorCode as RequestErrorCodeEnum

errors = converter(RequestErrorType, RequestErrorCodeEnum)


async def _visible_request(session: AsyncSession, viewer, global_id) -> RequestRow:
    row = await session.get(RequestRow, db_id(global_id, "ResidentRequest", "requestId"))
    if row is None or not workflow.may_see(viewer, row):
        raise not_found()
    return row


async def submit_request(info: Info, input: SubmitRequestInput) -> RequestPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        if input.household_id is None:
            if viewer.household_id is None:
                raise RequestError(RequestErrorCode.NO_HOUSEHOLD, "当前账号未关联农户")
            household_id, resident_id = viewer.household_id, viewer.resident_id
        else:  # a worker for a household of their subtree
            found, _ = await access.get_household(
                session, viewer, db_id(input.household_id, "Household", "householdId"), field="householdId"
            )
            household_id, resident_id = found.id, None
        household = await session.get(Household, household_id)
        unit = await session.get(OrgUnit, household.unit_id)
        return await workflow.submit(
            session, household=household, unit=unit, submitted_by=viewer.user_id,
            resident_id=resident_id, category=input.category.value, description=input.description,
            photo_urls=input.photo_urls, place=input.place, now=ctx.now(),
        )

    row, errs = await in_transaction(info, action)
    return RequestPayload(request=row and ResidentRequest.from_row(row), errors=errors(errs))


async def act_on_request(info: Info, input: ActOnRequestInput) -> RequestPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        row = await _visible_request(session, viewer, input.request_id)
        duplicate_of = (
            db_id(input.duplicate_of_id, "ResidentRequest", "duplicateOfId") if input.duplicate_of_id else None
        )
        handler = None
        if input.handler_id is not None:
            handler = await load_viewer(session, db_id(input.handler_id, "User", "handlerId"), ctx.now())
        return await workflow.act(
            session, row, input.action.value, actor=viewer, now=ctx.now(), note=input.note,
            visible=input.visible_to_resident, duplicate_of=duplicate_of, handler=handler,
        )

    row, errs = await in_transaction(info, action)
    return RequestPayload(request=row and ResidentRequest.from_row(row), errors=errors(errs))


async def rate_request(info: Info, input: RateRequestInput) -> RequestPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        row = await _visible_request(session, viewer, input.request_id)
        return await workflow.rate(session, row, input.rating.value, viewer, ctx.now(), input.note)

    row, errs = await in_transaction(info, action)
    return RequestPayload(request=row and ResidentRequest.from_row(row), errors=errors(errs))


async def my_requests(
    info: Info, status: RequestStatus | None = None, first: int | None = None, after: str | None = None
) -> relay.Connection[ResidentRequest]:
    """The viewer's household's requests, newest first."""
    viewer = await info.context.require_viewer()
    async with info.context.db() as session:
        stmt = select(RequestRow, RequestRow.id).where(RequestRow.household_id == (viewer.household_id or 0))
        if status is not None:
            stmt = stmt.where(RequestRow.status == status.value)
        page = await keyset_page(session, stmt, [RequestRow.id], first, after, descending=True)
    return connection([ResidentRequest.from_row(r[0]) for r in page.rows], page)


async def requests_query(
    info: Info, unit_id: relay.GlobalID, status: RequestStatus | None = None,
    category: RequestCategory | None = None, overdue_only: bool = False,
    since: datetime | None = None, until: datetime | None = None, figure: RequestFigure | None = None,
    owned_by_me: bool = False, first: int | None = None, after: str | None = None,
) -> relay.Connection[ResidentRequest]:
    """Workers: the requests from a unit's subtree or escalated to it, newest first.
    With `since`/`until`/`figure`, the requests behind a number of `requestFigures`."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        unit = await access.get_unit(session, viewer, db_id(unit_id, "OrgUnit", "unitId"), field="unitId")
        if not viewer.may(GRID_ROLES, unit.path):
            raise Forbidden()
        roots = viewer.roots(GRID_ROLES)
        stmt = select(RequestRow, RequestRow.id).where(
            or_(within(RequestRow.origin_path, roots), within(RequestRow.unit_path, roots)),
            or_(within(RequestRow.origin_path, [unit.path]), RequestRow.unit_id == unit.id),
        )
        if status is not None:
            stmt = stmt.where(RequestRow.status == status.value)
        if category is not None:
            stmt = stmt.where(RequestRow.category == category.value)
        if owned_by_me:  # the owner's own list, e.g. with overdueOnly
            stmt = stmt.where(RequestRow.owner_id == viewer.user_id)
        if overdue_only:
            stmt = stmt.where(RequestRow.status.in_(workflow.OPEN), RequestRow.due_at < ctx.now())
        if since is not None:
            stmt = stmt.where(RequestRow.received_at >= since)
        if until is not None:
            stmt = stmt.where(RequestRow.received_at < until)
        if figure is not None and figures_domain.FIGURES[figure.value] is not None:
            stmt = stmt.where(figures_domain.FIGURES[figure.value])
        page = await keyset_page(session, stmt, [RequestRow.id], first, after, descending=True)
    return connection([ResidentRequest.from_row(r[0]) for r in page.rows], page)


async def request_figures(
    info: Info, unit_id: relay.GlobalID, since: datetime, until: datetime
) -> list[RequestFigures]:
    """Per category, then the total (category null), for requests received in [since, until)
    from the unit's subtree; list them with `requests(figure: …)`."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    if until <= since or (until - since).days > 3660:
        raise BadInput("统计期间不正确", "until")
    async with ctx.db() as session:
        unit = await access.get_unit(session, viewer, db_id(unit_id, "OrgUnit", "unitId"), field="unitId")
        if not viewer.may(GRID_ROLES | ADMIN_ROLES, unit.path):
            raise Forbidden()
        per_category, total = await figures_domain.figures(session, unit.village_id, unit.path, since, until)
    return [
        *(RequestFigures(category=RequestCategory(c), **counts) for c, counts in per_category),
        RequestFigures(category=None, **total),
    ]


async def set_request_deadline(info: Info, input: SetRequestDeadlineInput) -> RequestDeadlinePayload:
    """A village's own time limit for a category at a level (defaults otherwise)."""
    viewer = await info.context.require_viewer()

    async def action(session: AsyncSession):
        village = await village_of(session, viewer, input.village_id)
        if input.level.value == "town":  # the town's own time, set by the town
            town = await session.get(OrgUnit, village.parent_id)
            if not viewer.may(ADMIN_ROLES, town.path):
                raise Forbidden("镇级时限由镇管理员设定")
        await workflow.set_deadline(session, village.id, input.category.value, input.level.value, input.hours)
        return input.hours

    hours, errs = await in_transaction(info, action)
    return RequestDeadlinePayload(hours=hours, errors=errors(errs))
