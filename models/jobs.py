"""Employment information (就业信息): employers and their postings for a village or a town,
residents' labour profiles, applications, and return-home reports (返乡报备)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, one_of

EMPLOYER_KINDS = ("business", "cooperative", "farm", "public_post")
PAY_UNITS = ("month", "day", "piece")
POSTING_STATUSES = ("draft", "open", "filled", "closed")
LABOUR_STATUSES = ("working_locally", "working_away", "looking", "unable", "student", "retired")
APPLICATION_STATUSES = ("submitted", "contacted", "hired", "declined")
RETURN_PLANS = ("stay", "look_for_work", "start_business", "temporary")


class Employer(Base):
    """A business, cooperative, farm or public post, registered for a village or a town."""

    __tablename__ = "employers"
    __table_args__ = (CheckConstraint(one_of("kind", EMPLOYER_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    scope_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    scope_path: Mapped[str] = mapped_column(String(400, collation="C"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    contact_name: Mapped[str] = mapped_column(String(50))
    contact_phone: Mapped[str] = mapped_column(String(11))
    contact_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    address: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class JobPosting(Base):
    """A job near home; open postings are visible to residents of the villages it serves."""

    __tablename__ = "job_postings"
    __table_args__ = (
        CheckConstraint(one_of("pay_unit", PAY_UNITS), name="pay_unit"),
        CheckConstraint(one_of("status", POSTING_STATUSES), name="status"),
        CheckConstraint("pay_min > 0 AND pay_max >= pay_min", name="pay_range"),
        CheckConstraint("headcount > 0", name="headcount"),
        CheckConstraint("ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on", name="dates"),
        Index("ix_job_postings_status_scope", "status", "scope_path"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), index=True)
    scope_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    scope_path: Mapped[str] = mapped_column(String(400, collation="C"))
    title: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(Text)
    skills: Mapped[list[str]] = mapped_column(ARRAY(String(50)), server_default="{}")
    pay_min: Mapped[int] = mapped_column(Integer)
    pay_max: Mapped[int] = mapped_column(Integer)
    pay_unit: Mapped[str] = mapped_column(String(8))
    place: Mapped[str] = mapped_column(String(200))
    headcount: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), server_default="draft")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class LabourProfile(Base):
    """A working-age resident's situation: where they work, what they can do, what they want."""

    __tablename__ = "labour_profiles"
    __table_args__ = (
        CheckConstraint(one_of("status", LABOUR_STATUSES), name="status"),
        Index("ix_labour_profiles_village_status", "village_id", "status"),
    )

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    status: Mapped[str] = mapped_column(String(16))
    away_place: Mapped[str | None] = mapped_column(String(100))
    trade: Mapped[str | None] = mapped_column(String(50))
    skills: Mapped[list[str]] = mapped_column(ARRAY(String(50)), server_default="{}")
    wanted_categories: Mapped[list[str]] = mapped_column(ARRAY(String(50)), server_default="{}")
    available_from: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime]
    status_since: Mapped[datetime]  # when `status` last changed


class JobApplication(Base):
    __tablename__ = "job_applications"
    __table_args__ = (
        CheckConstraint(one_of("status", APPLICATION_STATUSES), name="status"),
        UniqueConstraint("posting_id", "resident_id"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    posting_id: Mapped[int] = mapped_column(ForeignKey("job_postings.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    status: Mapped[str] = mapped_column(String(10), server_default="submitted")
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ReturnReport(Base):
    """A resident reports coming home; one report per return (resident and day)."""

    __tablename__ = "return_reports"
    __table_args__ = (
        CheckConstraint(one_of("plan", RETURN_PLANS), name="plan"),
        UniqueConstraint("resident_id", "returned_on"),
        Index("ix_return_reports_village_returned", "village_id", "returned_on"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    from_place: Mapped[str] = mapped_column(String(100))
    returned_on: Mapped[date] = mapped_column(Date)
    plan: Mapped[str] = mapped_column(String(16))
    points_awarded: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
