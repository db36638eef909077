"""Residents' requests (民情诉求), tracked through a closed loop: the request, every update
to it (who, when, what, whether the resident sees it), and a village's deadlines."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, CheckConstraint, ForeignKey, Identity, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, one_of

REQUEST_CATEGORIES = (
    "dispute", "safety_hazard", "livelihood", "infrastructure", "environment", "policy", "other",
)
REQUEST_STATUSES = (
    "received", "accepted", "in_progress", "resolved", "closed", "escalated", "reopened", "duplicate",
)
RATINGS = ("satisfied", "partly", "not_satisfied")
LEVELS = ("unit", "village", "town")


class ResidentRequest(Base):
    __tablename__ = "resident_requests"
    __table_args__ = (
        CheckConstraint(one_of("category", REQUEST_CATEGORIES), name="category"),
        CheckConstraint(one_of("status", REQUEST_STATUSES), name="status"),
        CheckConstraint(f"rating IS NULL OR {one_of('rating', RATINGS)}", name="rating"),
        CheckConstraint(one_of("level", LEVELS), name="level"),
        CheckConstraint("status <> 'duplicate' OR duplicate_of_id IS NOT NULL", name="duplicate"),
        Index("ix_resident_requests_village_status", "village_id", "status", "id"),
        Index("ix_resident_requests_household", "household_id", "id"),
        Index("ix_resident_requests_origin", "origin_path", "received_at"),  # subtree ranges
        Index("ix_resident_requests_unit", "unit_id", "id"),
        Index("ix_resident_requests_open_due", "due_at",
              postgresql_where=text("status NOT IN ('resolved', 'closed', 'duplicate')")),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    origin_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    origin_path: Mapped[str] = mapped_column(String(400, collation="C"))
    # where it is handled now: the origin unit, then up through escalation
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    unit_path: Mapped[str] = mapped_column(String(400, collation="C"))
    level: Mapped[str] = mapped_column(String(8), server_default="unit")
    category: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(2000))
    photo_urls: Mapped[list[str]] = mapped_column(ARRAY(String(500)), server_default="{}")
    place: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), server_default="received")
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("resident_requests.id"))
    received_at: Mapped[datetime]
    due_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    rating: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime]


class RequestUpdate(Base):
    """One step of a request: an action, who took it, the note, whether the resident sees
    it. Append-only."""

    __tablename__ = "request_updates"
    __table_args__ = (Index("ix_request_updates_request_id", "request_id", "id"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("resident_requests.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(String(2000))
    visible_to_resident: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[datetime]


class RequestDeadline(Base):
    """A village's deadline for a category at a level, in hours (defaults in code)."""

    __tablename__ = "request_deadlines"
    __table_args__ = (
        CheckConstraint(one_of("category", REQUEST_CATEGORIES), name="category"),
        CheckConstraint(one_of("level", LEVELS), name="level"),
        CheckConstraint("hours BETWEEN 1 AND 8760", name="hours"),
    )

    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    hours: Mapped[int] = mapped_column(Integer)
