"""Per-request DataLoaders: one query per kind of record per request, however long the list."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, select, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from strawberry.dataloader import DataLoader

from app.pagination import Page
from grid import queries
from grid.appointments import held_at
from models import (
    Appointment,
    EarningRuleVersion,
    Employer,
    Hamlet,
    Household,
    HouseholdMembership,
    JobPosting,
    NoticeAudience,
    NoticeReceipt,
    NoticeRevision,
    OrgUnit,
    Question,
    RequestUpdate,
    Resident,
    RewardItem,
    User,
    VillageLevel,
    Visit,
    VisitProblem,
    VisitRevision,
)

if TYPE_CHECKING:
    from schema.context import Context


class Loaders:
    """Each loader is created on first use: a request touches a few of them."""

    def __init__(self, context: Context) -> None:
        self._context = context

    @cached_property
    def unit(self) -> DataLoader:
        return DataLoader(self._units)

    @cached_property
    def levels(self) -> DataLoader:
        return DataLoader(self._levels)

    @cached_property
    def household(self) -> DataLoader:
        return DataLoader(self._households)

    @cached_property
    def hamlet(self) -> DataLoader:
        return DataLoader(self._hamlets)

    @cached_property
    def members(self) -> DataLoader:
        return DataLoader(self._members)

    @cached_property
    def memberships(self) -> DataLoader:
        return DataLoader(self._memberships)

    @cached_property
    def user(self) -> DataLoader:
        return DataLoader(self._users)

    @cached_property
    def resident(self) -> DataLoader:
        return DataLoader(self._residents)

    @cached_property
    def chief(self) -> DataLoader:
        return DataLoader(self._chiefs)

    @cached_property
    def child_page(self) -> DataLoader:
        return DataLoader(self._child_pages)

    @cached_property
    def reward_item(self) -> DataLoader:
        return DataLoader(self._reward_items)

    @cached_property
    def rule_version(self) -> DataLoader:
        return DataLoader(self._rule_versions)

    @cached_property
    def notice_revision(self) -> DataLoader:
        return DataLoader(self._notice_revisions_current)

    @cached_property
    def notice_revisions(self) -> DataLoader:
        return DataLoader(self._notice_revisions_all)

    @cached_property
    def notice_audience(self) -> DataLoader:
        return DataLoader(self._notice_audiences)

    @cached_property
    def notice_read(self) -> DataLoader:
        return DataLoader(self._notice_reads)

    @cached_property
    def notice_questions(self) -> DataLoader:
        return DataLoader(self._notice_questions)

    @cached_property
    def statement_questions(self) -> DataLoader:
        return DataLoader(self._statement_questions)

    @cached_property
    def request_updates(self) -> DataLoader:
        return DataLoader(self._request_updates)

    @cached_property
    def employer(self) -> DataLoader:
        return DataLoader(self._employers)

    @cached_property
    def job_posting(self) -> DataLoader:
        return DataLoader(self._job_postings)

    @cached_property
    def visit(self) -> DataLoader:
        return DataLoader(self._visits)

    @cached_property
    def visit_problems(self) -> DataLoader:
        return DataLoader(self._visit_problems)

    @cached_property
    def visit_revisions(self) -> DataLoader:
        return DataLoader(self._visit_revisions)

    async def _rows(self, stmt, params: dict | None = None) -> list[Any]:
        async with self._context.db() as session:
            return list((await session.execute(stmt, params)).all())

    async def _by_id(self, model, ids: Sequence[int]) -> list[Any]:
        rows = await self._rows(_by_id_statement(model), {"ids": list(ids)})
        found = {row[0].id: row[0] for row in rows}
        return [found.get(i) for i in ids]

    async def _units(self, ids: Sequence[int]) -> list[OrgUnit | None]:
        return await self._by_id(OrgUnit, ids)

    async def _hamlets(self, ids: Sequence[int]) -> list[Hamlet | None]:
        return await self._by_id(Hamlet, ids)

    async def _users(self, ids: Sequence[int]) -> list[User | None]:
        return await self._by_id(User, ids)

    async def _residents(self, ids: Sequence[int]) -> list[Resident | None]:
        return await self._by_id(Resident, ids)

    async def _reward_items(self, ids: Sequence[int]) -> list[RewardItem | None]:
        return await self._by_id(RewardItem, ids)

    async def _rule_versions(self, rule_ids: Sequence[int]) -> list[EarningRuleVersion | None]:
        """The current version of each rule."""
        rows = await self._rows(
            select(EarningRuleVersion)
            .where(EarningRuleVersion.rule_id.in_(rule_ids))
            .order_by(EarningRuleVersion.rule_id, EarningRuleVersion.version.desc())
            .ext(distinct_on(EarningRuleVersion.rule_id))
        )
        found = {r[0].rule_id: r[0] for r in rows}
        return [found.get(i) for i in rule_ids]

    async def _notice_revisions_current(self, notice_ids: Sequence[int]) -> list[NoticeRevision]:
        rows = await self._rows(_CURRENT_REVISIONS, {"ids": list(notice_ids)})
        found = {r[0].notice_id: r[0] for r in rows}
        return [found[i] for i in notice_ids]

    async def _notice_revisions_all(self, notice_ids: Sequence[int]) -> list[list[NoticeRevision]]:
        rows = await self._rows(
            select(NoticeRevision).where(NoticeRevision.notice_id.in_(notice_ids))
            .order_by(NoticeRevision.revision)
        )
        return _grouped(notice_ids, (r[0] for r in rows), lambda r: r.notice_id)

    async def _notice_audiences(self, notice_ids: Sequence[int]) -> list[list[int]]:
        rows = await self._rows(
            select(NoticeAudience.notice_id, NoticeAudience.unit_id)
            .where(NoticeAudience.notice_id.in_(notice_ids)).order_by(NoticeAudience.unit_id)
        )
        grouped = _grouped(notice_ids, rows, lambda r: r[0])
        return [[unit_id for _, unit_id in group] for group in grouped]

    async def _notice_reads(self, keys: Sequence[tuple[int, int]]) -> list[bool]:
        """(notice id, resident id) → has the resident read the notice effectively?"""
        rows = await self._rows(_NOTICE_READS, {"keys": list(keys)})
        found = {(n, r) for n, r in rows}
        return [key in found for key in keys]

    async def _questions(self, column, ids: Sequence[int]) -> list[list[tuple]]:
        rows = await self._rows(
            select(Question, Resident.name)
            .join(Resident, Resident.id == Question.resident_id)
            .where(column.in_(ids)).order_by(Question.id)
        )
        return _grouped(ids, rows, lambda row: getattr(row[0], column.key))

    async def _notice_questions(self, notice_ids: Sequence[int]) -> list[list[tuple]]:
        return await self._questions(Question.notice_id, notice_ids)

    async def _statement_questions(self, statement_ids: Sequence[int]) -> list[list[tuple]]:
        return await self._questions(Question.statement_id, statement_ids)

    async def _employers(self, ids: Sequence[int]) -> list[Employer | None]:
        return await self._by_id(Employer, ids)

    async def _job_postings(self, ids: Sequence[int]) -> list[JobPosting | None]:
        return await self._by_id(JobPosting, ids)

    async def _visits(self, ids: Sequence[int]) -> list[Visit | None]:
        return await self._by_id(Visit, ids)

    async def _visit_problems(self, visit_ids: Sequence[int]) -> list[list[VisitProblem]]:
        rows = await self._rows(
            select(VisitProblem).where(VisitProblem.visit_id.in_(visit_ids)).order_by(VisitProblem.id)
        )
        return _grouped(visit_ids, (r[0] for r in rows), lambda p: p.visit_id)

    async def _visit_revisions(self, visit_ids: Sequence[int]) -> list[list[VisitRevision]]:
        rows = await self._rows(
            select(VisitRevision).where(VisitRevision.visit_id.in_(visit_ids)).order_by(VisitRevision.revision)
        )
        return _grouped(visit_ids, (r[0] for r in rows), lambda r: r.visit_id)

    async def _request_updates(self, request_ids: Sequence[int]) -> list[list[RequestUpdate]]:
        rows = await self._rows(
            select(RequestUpdate).where(RequestUpdate.request_id.in_(request_ids)).order_by(RequestUpdate.id)
        )
        return _grouped(request_ids, (r[0] for r in rows), lambda u: u.request_id)

    async def _households(self, ids: Sequence[int]) -> list[tuple[Household, str] | None]:
        rows = await self._rows(_HOUSEHOLDS, {"ids": list(ids)})
        found = {h.id: (h, path) for h, path in rows}
        return [found.get(i) for i in ids]

    async def _levels(self, village_ids: Sequence[int]) -> list[list[VillageLevel]]:
        rows = await self._rows(
            select(VillageLevel)
            .where(VillageLevel.village_id.in_(village_ids))
            .order_by(VillageLevel.level)
        )
        return _grouped(village_ids, (r[0] for r in rows), lambda lv: lv.village_id)

    async def _members(self, household_ids: Sequence[int]) -> list[list[tuple]]:
        """Current members, head first."""
        rows = await self._rows(
            select(HouseholdMembership, Resident)
            .join(Resident, Resident.id == HouseholdMembership.resident_id)
            .where(
                HouseholdMembership.household_id.in_(household_ids),
                HouseholdMembership.valid_to.is_(None),
            )
            .order_by(HouseholdMembership.relation != "head", HouseholdMembership.id)
        )
        return _grouped(household_ids, rows, lambda row: row[0].household_id)

    async def _memberships(self, resident_ids: Sequence[int]) -> list[list[HouseholdMembership]]:
        """A resident's memberships, current first, then by time."""
        rows = await self._rows(
            select(HouseholdMembership)
            .where(HouseholdMembership.resident_id.in_(resident_ids))
            .order_by(HouseholdMembership.valid_from.desc(), HouseholdMembership.id.desc())
        )
        return _grouped(resident_ids, (r[0] for r in rows), lambda m: m.resident_id)

    async def _chiefs(self, unit_ids: Sequence[int]) -> list[Appointment | None]:
        rows = await self._rows(
            select(Appointment).where(
                and_(Appointment.unit_id.in_(unit_ids), Appointment.role == "chief"),
                held_at(self._context.now()),
            )
        )
        found = {r[0].unit_id: r[0] for r in rows}
        return [found.get(i) for i in unit_ids]

    async def _child_pages(self, keys: Sequence[tuple[int, int]]) -> list[Page]:
        """First pages of children, keyed by (unit id, page size)."""
        viewer = self._context.loaded_viewer
        pages: dict[tuple[int, int], Page] = {}
        for size in {size for _, size in keys}:
            ids = [unit_id for unit_id, s in keys if s == size]
            async with self._context.db() as session:
                found = await queries.first_child_pages(session, viewer, ids, size)
            pages.update({(unit_id, size): page for unit_id, page in found.items()})
        return [pages[key] for key in keys]


# The statements of the loaders a hot path uses, built once; the keys are bound per call.
_IDS = bindparam("ids", expanding=True)
_BY_ID: dict[type, Any] = {}


def _by_id_statement(model):
    if model not in _BY_ID:
        _BY_ID[model] = select(model).where(model.id.in_(_IDS))
    return _BY_ID[model]


_HOUSEHOLDS = select(Household, OrgUnit.path).join(OrgUnit, OrgUnit.id == Household.unit_id).where(
    Household.id.in_(_IDS)
)
_CURRENT_REVISIONS = (
    select(NoticeRevision)
    .where(NoticeRevision.notice_id.in_(_IDS))
    .order_by(NoticeRevision.notice_id, NoticeRevision.revision.desc())
    .ext(distinct_on(NoticeRevision.notice_id))
)
_NOTICE_READS = select(NoticeReceipt.notice_id, NoticeReceipt.resident_id).where(
    tuple_(NoticeReceipt.notice_id, NoticeReceipt.resident_id).in_(bindparam("keys", expanding=True))
)


def _grouped(keys: Sequence[int], items, key: Callable[[Any], int]) -> list[list]:
    groups: dict[int, list] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return [groups.get(k, []) for k in keys]
