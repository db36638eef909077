"""Employment figures for a village or a town, computed from the records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from identity.viewer import subtree
from jobs.postings import in_scope
from models import JobApplication, JobPosting, LabourProfile, OrgUnit

NOT_IN_LABOUR_FORCE = ("unable", "student", "retired")


async def figures(session: AsyncSession, root: OrgUnit, since: datetime, until: datetime) -> dict:
    """For a town (every village in it) or a village."""
    villages = select(OrgUnit.id).where(OrgUnit.kind == "village", subtree(OrgUnit.path, root.path))
    status_counts = dict(
        (await session.execute(
            select(LabourProfile.status, func.count()).where(LabourProfile.village_id.in_(villages))
            .group_by(LabourProfile.status)
        )).all()
    )
    labour_force = sum(n for status, n in status_counts.items() if status not in NOT_IN_LABOUR_FORCE)
    employed = status_counts.get("working_locally", 0) + status_counts.get("working_away", 0)
    hired_per_posting = (
        select(func.count()).where(JobApplication.posting_id == JobPosting.id, JobApplication.status == "hired")
        .scalar_subquery()
    )
    open_postings, open_positions = (await session.execute(
        select(func.count(), func.coalesce(func.sum(func.greatest(JobPosting.headcount - hired_per_posting, 0)), 0))
        .where(JobPosting.status == "open", in_scope(root.path))
    )).one()
    hires = await session.scalar(
        select(func.count()).select_from(JobApplication).where(
            JobApplication.village_id.in_(villages), JobApplication.status == "hired",
            JobApplication.updated_at >= since, JobApplication.updated_at < until,
        )
    )
    return {
        "labour_force": labour_force,
        "working_locally": status_counts.get("working_locally", 0),
        "working_away": status_counts.get("working_away", 0),
        "looking": status_counts.get("looking", 0),
        "employment_rate": round(employed / labour_force, 4) if labour_force else 0.0,
        "open_postings": open_postings,
        "open_positions": int(open_positions),
        "hires": hires,
    }

