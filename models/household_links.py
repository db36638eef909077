"""Party-member household links (党员联户) and the contacts logged on them (走访).

A link is history: it starts and ends, never changes otherwise. A visit may be corrected by
its author for 24 hours; every version of it is kept in `visit_revisions`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column, one_of
from models.requests import REQUEST_CATEGORIES

VISIT_MODES = ("in_person", "phone", "video", "other")
# The standing a visit was logged under: as the household's linked member, or as a chief.
VISIT_ROLES = ("party_member", "chief")
CORRECTION_WINDOW_HOURS = 24


class HouseholdLink(Base):
    """A party member's responsibility for a household over a period. At most one open link
    per household; moving a household to another member ends this row and starts another."""

    __tablename__ = "household_links"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_period"),
        ForeignKeyConstraint(["household_id", "village_id"], ["households.id", "households.village_id"]),
        Index("uq_household_links_open_household", "household_id",
              unique=True, postgresql_where=text("valid_to IS NULL")),
        Index("ix_household_links_household_valid_from", "household_id", "valid_from"),
        Index("ix_household_links_member_open", "member_user_id", "household_id",
              postgresql_where=text("valid_to IS NULL")),
        Index("ix_household_links_village_member", "village_id", "member_user_id"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    household_id: Mapped[int]
    member_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    linked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    end_reason: Mapped[str | None] = mapped_column(String(200))


class Visit(Base):
    """A contact with a household: in person, by phone, video or otherwise. The columns
    are the current version; the database refuses changes after the correction window."""

    __tablename__ = "visits"
    __table_args__ = (
        CheckConstraint(one_of("mode", VISIT_MODES), name="mode"),
        CheckConstraint(one_of("author_role", VISIT_ROLES), name="author_role"),
        CheckConstraint("occurred_at <= created_at + interval '10 minutes'", name="not_in_future"),
        CheckConstraint("length(notes) <= 2000", name="notes_length"),
        CheckConstraint(
            "(latitude IS NULL) = (longitude IS NULL)"
            " AND (latitude IS NULL OR (latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180))",
            name="location",
        ),
        ForeignKeyConstraint(["household_id", "village_id"], ["households.id", "households.village_id"]),
        UniqueConstraint("author_user_id", "idempotency_key"),
        UniqueConstraint("id", "village_id"),  # its problems and revisions stay in its village
        Index("ix_visits_household_occurred", "household_id", "occurred_at"),
        Index("ix_visits_village_occurred", "village_id", "occurred_at"),
        Index("ix_visits_author_occurred", "author_user_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    household_id: Mapped[int]
    author_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_role: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime]
    notes: Mapped[str] = mapped_column(String(2000), server_default="")
    place: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    revision: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class VisitProblem(Base):
    """A problem found on a visit, for the village's problem list (问题清单); it may have
    been raised as a tracked request."""

    __tablename__ = "visit_problems"
    __table_args__ = (
        CheckConstraint(one_of("category", REQUEST_CATEGORIES), name="category"),
        CheckConstraint("length(description) > 0", name="description"),
        ForeignKeyConstraint(["visit_id", "village_id"], ["visits.id", "visits.village_id"]),
        Index("ix_visit_problems_visit_id", "visit_id"),
        Index("ix_visit_problems_village_id", "village_id", "id"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    visit_id: Mapped[int]
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    category: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(500))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("resident_requests.id"))


class VisitRevision(Base):
    """Every version of a visit as it was saved, the first one included. Append-only."""

    __tablename__ = "visit_revisions"
    __table_args__ = (
        UniqueConstraint("visit_id", "revision"),
        ForeignKeyConstraint(["visit_id", "village_id"], ["visits.id", "visits.village_id"]),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    visit_id: Mapped[int]
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    revision: Mapped[int] = mapped_column(SmallInteger)
    mode: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime]
    notes: Mapped[str] = mapped_column(String(2000))
    place: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    problems: Mapped[list] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(String(200))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = created_at_column()
