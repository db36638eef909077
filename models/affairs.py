"""Village affairs disclosure (村务公开): notices with revisions, an audience of org units,
reads and receipts; group accounts (小组账务) with entries and published, hash-chained
statements; residents' questions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column, one_of

NOTICE_CATEGORIES = ("party_affairs", "village_affairs", "finance", "policy", "other")
NOTICE_STATUSES = ("draft", "published", "withdrawn")


class Notice(Base):
    """A notice's lifecycle (draft → published → withdrawn) and audience; its words live in
    revisions."""

    __tablename__ = "notices"
    __table_args__ = (
        CheckConstraint(one_of("category", NOTICE_CATEGORIES), name="category"),
        CheckConstraint(one_of("status", NOTICE_STATUSES), name="status"),
        CheckConstraint("status = 'draft' OR published_at IS NOT NULL", name="published"),
        Index("ix_notices_village_status_published", "village_id", "status", "published_at"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    category: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), server_default="draft")
    pinned: Mapped[bool] = mapped_column(server_default=text("false"))
    published_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()


class NoticeAudience(Base):
    """One org unit of a notice's audience: its residents are the unit's subtree."""

    __tablename__ = "notice_audiences"

    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    unit_path: Mapped[str] = mapped_column(String(400, collation="C"))


class NoticeRevision(Base):
    """The words of a notice at one time. Editing a published notice adds a revision with a
    reason; the old one stays. Append-only."""

    __tablename__ = "notice_revisions"
    __table_args__ = (
        UniqueConstraint("notice_id", "revision"),
        CheckConstraint("min_read_seconds BETWEEN 3 AND 3600", name="min_read"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    revision: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list] = mapped_column(JSONB, server_default="[]")
    min_read_seconds: Mapped[int] = mapped_column(Integer)
    change_reason: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()


class NoticeRead(Base):
    """A resident opened a notice, on the server's clock; finishing it may make a receipt."""

    __tablename__ = "notice_reads"
    __table_args__ = (Index("ix_notice_reads_resident_notice", "resident_id", "notice_id"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    revision_id: Mapped[int] = mapped_column(ForeignKey("notice_revisions.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class NoticeReceipt(Base):
    """An effective read: one per resident and notice. Append-only."""

    __tablename__ = "notice_receipts"
    __table_args__ = (
        UniqueConstraint("notice_id", "resident_id"),
        Index("ix_notice_receipts_notice_household", "notice_id", "household_id"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    revision_id: Mapped[int] = mapped_column(ForeignKey("notice_revisions.id"))
    read_id: Mapped[int] = mapped_column(ForeignKey("notice_reads.id"), unique=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    read_at: Mapped[datetime]
    seconds: Mapped[int] = mapped_column(Integer)


class AffairsPolicy(Base):
    __tablename__ = "affairs_policies"
    __table_args__ = (CheckConstraint("finance_cadence IN ('month', 'quarter')", name="cadence"),)

    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    finance_cadence: Mapped[str] = mapped_column(String(8), server_default="month")


class AccountEntry(Base):
    """An income or expense of a group (or the village), in fen. Entries are the working
    draft of a month; what residents see is the published statement."""

    __tablename__ = "account_entries"
    __table_args__ = (
        CheckConstraint("direction IN ('income', 'expense')", name="direction"),
        CheckConstraint("amount_fen > 0", name="amount"),
        Index("ix_account_entries_unit_date", "unit_id", "entry_date", "id"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    entry_date: Mapped[date] = mapped_column(Date)
    direction: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(50))
    amount_fen: Mapped[int]
    counterparty: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500))
    voucher_no: Mapped[str | None] = mapped_column(String(50))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()


class AccountStatement(Base):
    """A published month of a unit's accounts, frozen: its content, and a SHA-256 digest
    over the content chained to the unit's previous statement. A correction is a new
    version with a reason. Append-only."""

    __tablename__ = "account_statements"
    __table_args__ = (
        UniqueConstraint("unit_id", "period", "version"),
        CheckConstraint("period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'", name="period"),
        CheckConstraint("version = 1 OR correction_reason IS NOT NULL", name="reason"),
        Index("ix_account_statements_unit_id_id", "unit_id", "id"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    period: Mapped[str] = mapped_column(String(7))
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict] = mapped_column(JSONB)
    digest: Mapped[str] = mapped_column(String(64))
    previous_digest: Mapped[str | None] = mapped_column(String(64))
    correction_reason: Mapped[str | None] = mapped_column(String(500))
    published_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime]


class Question(Base):
    """A resident's question on a notice or a statement, and the admin's answer (once)."""

    __tablename__ = "questions"
    __table_args__ = (
        CheckConstraint("(notice_id IS NULL) <> (statement_id IS NULL)", name="subject"),
        CheckConstraint("(answer IS NULL) = (answered_at IS NULL)", name="answered"),
        Index("ix_questions_notice_id", "notice_id"),
        Index("ix_questions_statement_id", "statement_id"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("account_statements.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    text: Mapped[str] = mapped_column(String(1000))
    asked_at: Mapped[datetime]
    answer: Mapped[str | None] = mapped_column(String(2000))
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None]
