"""Party-member scoring (党员评分): a village's weights, published score snapshots with the
evidence behind every number, and the quarter's most beautiful neighbour chiefs (最美邻长).
Snapshots, their rows and evidence, and honours are append-only."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column, one_of

SCORE_PERIODS = ("month", "quarter", "year")
SCORED_ROLES = ("party_member", "chief")
EVIDENCE_KINDS = ("contact", "problem", "points")


class ScoringWeights(Base):
    """How a village weighs the parts of a standing. Without a row, the defaults apply."""

    __tablename__ = "scoring_weights"
    __table_args__ = (
        CheckConstraint(
            "contact_weight BETWEEN 0 AND 1000 AND problem_weight BETWEEN 0 AND 1000"
            " AND points_weight BETWEEN 0 AND 1000",
            name="weight_range",
        ),
    )

    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    contact_weight: Mapped[Decimal] = mapped_column(Numeric(8, 3))
    problem_weight: Mapped[Decimal] = mapped_column(Numeric(8, 3))
    points_weight: Mapped[Decimal] = mapped_column(Numeric(8, 3))
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime]


class ScoreSnapshot(Base):
    """A period's scores as published, with the weights they were computed with."""

    __tablename__ = "score_snapshots"
    __table_args__ = (
        CheckConstraint(one_of("period", SCORE_PERIODS), name="period"),
        CheckConstraint("period_end > period_start", name="period_order"),
        UniqueConstraint("village_id", "period_start", "period_end"),
        UniqueConstraint("id", "village_id"),  # rows and evidence carry the village too
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    period: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    contact_weight: Mapped[Decimal] = mapped_column(Numeric(8, 3))
    problem_weight: Mapped[Decimal] = mapped_column(Numeric(8, 3))
    points_weight: Mapped[Decimal] = mapped_column(Numeric(8, 3))
    published_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime] = created_at_column()


class ScoreRow(Base):
    """One person's standing in a published snapshot."""

    __tablename__ = "score_rows"
    __table_args__ = (
        CheckConstraint(one_of("role", SCORED_ROLES), name="role"),
        CheckConstraint("contacts_done BETWEEN 0 AND contacts_required", name="contacts"),
        ForeignKeyConstraint(["snapshot_id", "village_id"], ["score_snapshots.id", "score_snapshots.village_id"]),
    )

    snapshot_id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    chief_level: Mapped[int | None] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer)
    contacts_required: Mapped[int] = mapped_column(Integer)
    contacts_done: Mapped[int] = mapped_column(Integer)
    problems_found: Mapped[int] = mapped_column(Integer)
    points_earned: Mapped[int]
    score: Mapped[Decimal] = mapped_column(Numeric(12, 2))


class ScoreEvidence(Base):
    """What a number stands on: a household-month of contact duty (with the visit that met
    it, if any), a problem found on a visit, or an award of points to a household."""

    __tablename__ = "score_evidence"
    __table_args__ = (
        CheckConstraint(one_of("kind", EVIDENCE_KINDS), name="kind"),
        CheckConstraint(one_of("role", SCORED_ROLES), name="role"),
        Index("ix_score_evidence_row", "snapshot_id", "user_id", "role", "kind", "sort_at", "ref_id"),
        ForeignKeyConstraint(["snapshot_id", "village_id"], ["score_snapshots.id", "score_snapshots.village_id"]),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    snapshot_id: Mapped[int]
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    month_start: Mapped[datetime | None]
    living_status: Mapped[str | None] = mapped_column(String(16))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("visit_problems.id"))
    award_id: Mapped[int | None] = mapped_column(ForeignKey("points_awards.id"))
    points: Mapped[int]
    occurred_at: Mapped[datetime | None]
    # the order evidence is listed in: (month, household) for contacts, (time, id) otherwise
    sort_at: Mapped[datetime]
    ref_id: Mapped[int]


class ChiefHonour(Base):
    """A neighbour chief the village honoured as most beautiful (最美邻长) for a quarter."""

    __tablename__ = "chief_honours"
    __table_args__ = (UniqueConstraint("village_id", "quarter_start", "user_id"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    quarter_start: Mapped[datetime]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    citation: Mapped[str] = mapped_column(String(500))
    score: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    honoured_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()
