"""Matching by fit: the wanted category first, then shared skills, then nearness (a posting
of the resident's own village before one of the town). One score computed in SQL, so pages
are keyset-paginated like every list."""

from __future__ import annotations

from sqlalchemy import Integer, String, and_, cast, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.pagination import Page, keyset_page
from jobs.postings import open_for
from models import Household, HouseholdMembership, JobPosting, LabourProfile, OrgUnit


def _shared(a, b):
    """How many entries of text array `a` are in `b` (correlated to the outer row)."""
    item = func.unnest(a).table_valued("item").render_derived()
    return select(func.count()).select_from(item).where(item.c.item == func.any(b)).scalar_subquery()


def _fit(wanted, skills, category, posting_skills):
    return cast(category == func.any(wanted), Integer) * 100 + _shared(skills, posting_skills) * 10


async def postings_for(
    session: AsyncSession, profile: LabourProfile | None, household_unit_path: str, village_path: str,
    first: int | None, after: str | None,
) -> Page:
    """Open postings the resident may see, best fit first: rows (JobPosting, score, id)."""
    wanted = literal(profile.wanted_categories if profile else [], ARRAY(String))
    skills = literal(profile.skills if profile else [], ARRAY(String))
    score = (
        _fit(wanted, skills, JobPosting.category, JobPosting.skills)
        + cast(JobPosting.scope_path == village_path, Integer) * 5
    ).label("score")
    stmt = select(JobPosting, score, JobPosting.id).where(open_for(household_unit_path))
    return await keyset_page(session, stmt, [score, JobPosting.id], first, after, descending=True)


async def seekers_for(session: AsyncSession, posting: JobPosting, first: int | None, after: str | None) -> Page:
    """Residents looking for work where the posting serves, best fit first:
    rows (LabourProfile, their household's unit path, score, resident id)."""
    unit_path = (
        select(OrgUnit.path)
        .join(Household, Household.unit_id == OrgUnit.id)
        .join(HouseholdMembership, and_(HouseholdMembership.household_id == Household.id,
                                        HouseholdMembership.valid_to.is_(None)))
        .where(HouseholdMembership.resident_id == LabourProfile.resident_id)
        .scalar_subquery()
    )
    score = _fit(LabourProfile.wanted_categories, LabourProfile.skills, literal(posting.category),
                 literal(posting.skills, ARRAY(String))).label("score")
    stmt = select(LabourProfile, unit_path.label("unit_path"), score, LabourProfile.resident_id).where(
        LabourProfile.status == "looking", func.starts_with(unit_path, posting.scope_path)
    )
    return await keyset_page(session, stmt, [score, LabourProfile.resident_id], first, after, descending=True)
