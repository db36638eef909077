"""Helpers shared by the household-link and scoring tests: party members, a future clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from grid import appointments
from household_links import visits
from identity.viewer import load_viewer
from models import User
from rewards.periods import CHINA


def month_ahead(months: int = 14) -> datetime:
    """The first instant (China time) of a month well after today. Domain tests run on a
    clock there: every household, account and appointment made today already exists, and
    the database's own clock (correction windows) sees those visits as fresh."""
    today = datetime.now(UTC).astimezone(CHINA)
    index = today.month - 1 + months
    return datetime(today.year + index // 12, index % 12 + 1, 1, tzinfo=CHINA)


def days(n: float) -> timedelta:
    return timedelta(days=n)


async def party_member(session, v, resident_index: int) -> User:
    """A resident of the village, a party member at the village since two months ago (a link
    counts only while its member serves)."""
    user = await appointments.user_for_resident(session, v.residents[resident_index])
    await appointments.appoint(session, v.village, user, "party_member", appointed_by=v.admin.id,
                               now=datetime.now(UTC) - timedelta(days=60))
    return user


async def viewer_of(session, user: User, now: datetime):
    return await load_viewer(session, user.id, now)


async def log_visit(session, author: User, household, mode: str, at: datetime, problems=(), logged=None):
    """A visit by `author` (with their roles as held today) at `at`, logged an hour later
    unless `logged` says when; `problems` as (category, description) pairs."""
    path = (await session.execute(text("SELECT path FROM org_units WHERE id = :u"), {"u": household.unit_id})).scalar()
    viewer = await viewer_of(session, author, datetime.now(UTC))
    return await visits.log_visit(
        session, viewer, household, path, mode=mode, occurred_at=at, notes="了解近况", location=visits.Location(),
        problems=[visits.ProblemFound(c, d) for c, d in problems], now=logged or at + timedelta(hours=1),
    )
