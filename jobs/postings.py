"""Employers and their postings, for a village or a whole town."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from identity.phones import normalize_phone
from jobs.errors import JobsError, JobsErrorCode, invalid, tags, text
from models import Employer, JobPosting, OrgUnit
from models.jobs import EMPLOYER_KINDS, PAY_UNITS

# status changes an employer or admin may make (hiring fills a posting by itself)
POSTING_MOVES = {
    "open": {"draft", "closed"},
    "closed": {"draft", "open", "filled"},
    "draft": set(),
    "filled": {"open"},
}


async def create_employer(
    session: AsyncSession, scope: OrgUnit, *, name: str, kind: str, contact_name: str,
    contact_phone: str, address: str | None, now: datetime,
) -> Employer:
    if scope.kind not in ("village", "town"):
        raise invalid("用工单位登记在村或镇", "scopeId")
    if kind not in EMPLOYER_KINDS:
        raise invalid("单位类型不正确", "kind")
    phone = normalize_phone(contact_phone)
    if phone is None:
        raise invalid("请输入正确的11位手机号", "contactPhone")
    employer = Employer(
        scope_unit_id=scope.id, scope_path=scope.path, name=text(name, "name", 100), kind=kind,
        contact_name=text(contact_name, "contactName", 50), contact_phone=phone,
        address=text(address, "address", 200, required=False), created_at=now,
    )
    session.add(employer)
    await session.flush()
    return employer


@dataclass
class PostingTerms:
    title: str
    category: str
    description: str
    pay_min: int
    pay_max: int
    pay_unit: str
    place: str
    headcount: int
    skills: list[str] = field(default_factory=list)
    starts_on: date | None = None
    ends_on: date | None = None


def _check(terms: PostingTerms) -> None:
    terms.title = text(terms.title, "title", 100)
    terms.category = text(terms.category, "category", 50)
    terms.description = text(terms.description, "description", 5000)
    terms.place = text(terms.place, "place", 200)
    terms.skills = tags(terms.skills, "skills")
    if terms.pay_unit not in PAY_UNITS:
        raise invalid("计薪方式不正确", "payUnit")
    if not 1 <= terms.pay_min <= 1_000_000:
        raise invalid("最低薪酬须为1到1000000元", "payMin")
    if terms.pay_max < terms.pay_min or terms.pay_max > 1_000_000:
        raise invalid("最高薪酬不能低于最低薪酬", "payMax")
    if not 1 <= terms.headcount <= 10_000:
        raise invalid("招聘人数为1到10000", "headcount")
    if terms.starts_on and terms.ends_on and terms.ends_on < terms.starts_on:
        raise invalid("结束日期不能早于开始日期", "endsOn")


async def create_posting(
    session: AsyncSession, employer: Employer, terms: PostingTerms, author_id: int, now: datetime,
    *, open_now: bool = False,
) -> JobPosting:
    _check(terms)
    posting = JobPosting(
        employer_id=employer.id, scope_unit_id=employer.scope_unit_id, scope_path=employer.scope_path,
        status="open" if open_now else "draft", created_by_id=author_id, created_at=now, **vars(terms),
    )
    session.add(posting)
    await session.flush()
    return posting


async def set_status(session: AsyncSession, posting: JobPosting, status: str) -> JobPosting:
    allowed = POSTING_MOVES.get(status)
    if allowed is None:
        raise invalid("状态不正确", "status")
    moved = await session.execute(
        update(JobPosting).where(JobPosting.id == posting.id, JobPosting.status.in_(allowed))
        .values(status=status).returning(JobPosting.id)
    )
    if moved.first() is None:
        raise JobsError(JobsErrorCode.INVALID_TRANSITION, "岗位当前状态不能这样变更", field="status")
    await session.refresh(posting)
    return posting


def serves(household_unit_path: str):
    """Postings whose village or town includes a household with this unit path."""
    return func.starts_with(household_unit_path, JobPosting.scope_path)


def open_for(household_unit_path: str):
    return (JobPosting.status == "open") & serves(household_unit_path)


def managed_in(root_path: str):
    """Postings of employers registered in `root_path`'s subtree: what its admins manage."""
    return func.starts_with(JobPosting.scope_path, root_path)


def in_scope(root_path: str):
    """Postings of employers registered in `root_path`'s subtree or above it."""
    return or_(func.starts_with(JobPosting.scope_path, root_path), func.starts_with(root_path, JobPosting.scope_path))


