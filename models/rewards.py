"""The points ledger and the points store.

Points are money: accounts with cached balances, transactions whose entries sum to zero
(checked by PostgreSQL at commit), append-only entries, lots that remember when points
expire, earning rules with versions, awards unique per (rule, account, source), claims,
catalog items with a logged stock, redemptions, ranking snapshots."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column, one_of

ACCOUNT_KINDS = ("household", "issuance", "redeemed", "expired")
TRANSACTION_KINDS = ("award", "deduction", "adjustment", "reversal", "redemption", "refund", "expiry")
PERIODS = ("day", "week", "month", "year", "lifetime")
REDEMPTION_STATUSES = ("reserved", "picked_up", "cancelled", "expired")
CLAIM_STATUSES = ("pending", "approved", "rejected")


class PointsPolicy(Base):
    """A village's points settings. The budget itself lives on the issuance account as its
    floor, where every award's guarded update checks it."""

    __tablename__ = "points_policies"
    __table_args__ = (
        CheckConstraint("default_validity_days IS NULL OR default_validity_days > 0", name="validity"),
        CheckConstraint("pickup_days BETWEEN 1 AND 90", name="pickup_days"),
    )

    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    # Points expire: never (both null), after N days, or at the end of the year after earning.
    default_validity_days: Mapped[int | None] = mapped_column(Integer)
    expire_end_of_next_year: Mapped[bool] = mapped_column(server_default=text("false"))
    pickup_days: Mapped[int] = mapped_column(Integer, server_default=text("7"))
    rankings_public: Mapped[bool] = mapped_column(server_default=text("true"))
    updated_at: Mapped[datetime] = created_at_column()


class PointsAccount(Base):
    """A household's points, or one of a village's system accounts. Household balances
    never go below zero; the issuance account's floor is minus the village's budget."""

    __tablename__ = "points_accounts"
    __table_args__ = (
        CheckConstraint(one_of("kind", ACCOUNT_KINDS), name="kind"),
        CheckConstraint("(kind = 'household') = (household_id IS NOT NULL)", name="household_shape"),
        CheckConstraint("min_balance IS NULL OR balance >= min_balance", name="floor"),
        CheckConstraint("kind <> 'household' OR min_balance = 0", name="household_floor"),
        Index("uq_points_accounts_system", "village_id", "kind", unique=True,
              postgresql_where=text("kind <> 'household'")),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), unique=True)
    balance: Mapped[int] = mapped_column(server_default=text("0"))
    min_balance: Mapped[int | None]
    lifetime_earned: Mapped[int] = mapped_column(server_default=text("0"))
    created_at: Mapped[datetime] = created_at_column()


# A village's system account, spelled as the partial unique index on them (see OPEN_LOT):
# `kind = $1` alone does not let a generic plan use it.
SYSTEM_ACCOUNT = PointsAccount.kind != literal_column("'household'")


class PointsTransaction(Base):
    """One movement of points: who did it, why, and what caused it."""

    __tablename__ = "points_transactions"
    __table_args__ = (
        CheckConstraint(one_of("kind", TRANSACTION_KINDS), name="kind"),
        CheckConstraint("length(reason) > 0", name="reason"),
        CheckConstraint(
            "actor_user_id IS NOT NULL OR kind IN ('expiry', 'refund', 'award', 'deduction')",
            name="actor",
        ),
        Index("ix_points_transactions_village_id_created_at", "village_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    rule_version_id: Mapped[int | None] = mapped_column(ForeignKey("earning_rule_versions.id"))
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id"), index=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("points_transactions.id"), unique=True)
    source: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at_column()


class PointsEntry(Base):
    """One leg of a transaction. Append-only; a transaction's legs sum to zero."""

    __tablename__ = "points_entries"
    __table_args__ = (
        CheckConstraint("points <> 0", name="nonzero"),
        Index("ix_points_entries_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("points_transactions.id"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("points_lots.id"), index=True)
    points: Mapped[int]
    created_at: Mapped[datetime] = created_at_column()


class PointsVillageTotal(Base):
    """What a village's household legs add up to per kind of transaction (award, redemption,
    …): a running total kept by a trigger on `points_entries` in the transaction that posts
    the legs, so the village overview reads a handful of rows instead of its whole history.
    `village rewards check` recomputes it from the ledger."""

    __tablename__ = "points_village_totals"

    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    points: Mapped[int] = mapped_column(server_default=text("0"))


class PointsLot(Base):
    """Points credited together, expiring together. `remaining` is a cache of the lot's
    credit plus the entries drawn from it; spending takes the soonest-expiring first."""

    __tablename__ = "points_lots"
    __table_args__ = (
        CheckConstraint("points > 0 AND remaining BETWEEN 0 AND points", name="remaining"),
        Index("ix_points_lots_open", "account_id", "expires_at",
              postgresql_where=text("remaining > 0")),
        # the village overview and the sweeper look for live lots by village and expiry
        Index("ix_points_lots_village_open", "village_id", "expires_at",
              postgresql_where=text("remaining > 0")),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id"))
    points: Mapped[int]
    remaining: Mapped[int]
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()


# A lot with points left, with the 0 written into the SQL as in the partial indexes above.
# PostgreSQL uses a partial index only where it can prove the index's predicate from the
# statement itself; a bound 0 proves nothing in a generic (cached) plan, which would then
# read every lot of the county instead of the account's few.
OPEN_LOT = PointsLot.remaining > literal_column("0")


class EarningRule(Base):
    """A way to earn (or lose) points in a village; its terms live in versions."""

    __tablename__ = "earning_rules"
    __table_args__ = (UniqueConstraint("village_id", "code"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    code: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = created_at_column()


class EarningRuleVersion(Base):
    """The terms of a rule from some moment on. Changing a rule adds a version; awards keep
    the version they were made under. Append-only."""

    __tablename__ = "earning_rule_versions"
    __table_args__ = (
        UniqueConstraint("rule_id", "version"),
        CheckConstraint("points <> 0", name="points"),
        CheckConstraint("trigger IN ('event', 'claim')", name="trigger"),
        CheckConstraint("(trigger = 'event') = (event_type IS NOT NULL)", name="event_type"),
        CheckConstraint(one_of("cap_period", PERIODS), name="cap_period"),
        CheckConstraint("cap_scope IN ('resident', 'household')", name="cap_scope"),
        CheckConstraint("(cap_period IS NULL) = (cap_count IS NULL)", name="cap_shape"),
        CheckConstraint("cap_count IS NULL OR cap_count > 0", name="cap_count"),
        CheckConstraint("validity_days IS NULL OR validity_days > 0", name="validity"),
        CheckConstraint("active_to IS NULL OR active_from IS NULL OR active_to > active_from", name="window"),
        Index("ix_earning_rule_versions_event", "event_type"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("earning_rules.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    points: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(String(8))
    event_type: Mapped[str | None] = mapped_column(String(50))
    cap_period: Mapped[str | None] = mapped_column(String(8))
    cap_count: Mapped[int | None] = mapped_column(Integer)
    cap_scope: Mapped[str] = mapped_column(String(10), server_default="household")
    once_per_household: Mapped[bool] = mapped_column(server_default=text("false"))
    active_from: Mapped[datetime | None]
    active_to: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(server_default=text("true"))
    validity_days: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()


class PointsAward(Base):
    """Points granted (or deducted) under a rule for one source event; unique per
    (rule, account, source) so a repeated event awards once. A deduction records what was
    deserved (`points`) and what could not be taken (`shortfall`)."""

    __tablename__ = "points_awards"
    __table_args__ = (
        UniqueConstraint("rule_id", "account_id", "source"),
        CheckConstraint("shortfall >= 0", name="shortfall"),
        Index("ix_points_awards_rule_household_created", "rule_id", "household_id", "created_at"),
        Index("ix_points_awards_rule_resident_created", "rule_id", "resident_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("earning_rules.id"))
    rule_version_id: Mapped[int] = mapped_column(ForeignKey("earning_rule_versions.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    source: Mapped[str] = mapped_column(String(200))
    points: Mapped[int]
    shortfall: Mapped[int] = mapped_column(server_default=text("0"))
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("points_transactions.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("points_lots.id"))
    created_at: Mapped[datetime] = created_at_column()


class PointsClaim(Base):
    """A request for points under a claim rule (e.g. toilet renovation), with evidence,
    reviewed once by an admin."""

    __tablename__ = "points_claims"
    __table_args__ = (
        CheckConstraint(one_of("status", CLAIM_STATUSES), name="status"),
        CheckConstraint("status = 'pending' OR reviewed_at IS NOT NULL", name="reviewed"),
        Index("ix_points_claims_village_id_status", "village_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("earning_rules.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(String(1000))
    photo_urls: Mapped[list[str]] = mapped_column(ARRAY(String(500)), server_default="{}")
    status: Mapped[str] = mapped_column(String(10), server_default="pending")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    review_reason: Mapped[str | None] = mapped_column(String(500))
    award_id: Mapped[int | None] = mapped_column(ForeignKey("points_awards.id"))
    created_at: Mapped[datetime] = created_at_column()


class RewardItem(Base):
    """A catalog item of the village points store. `stock_available` can be redeemed;
    `stock_reserved` is promised to redemptions waiting for pickup."""

    __tablename__ = "reward_items"
    __table_args__ = (
        CheckConstraint("points_price > 0", name="price"),
        CheckConstraint("stock_available >= 0 AND stock_reserved >= 0", name="stock"),
        CheckConstraint(one_of("limit_period", PERIODS), name="limit_period"),
        CheckConstraint("(limit_period IS NULL) = (limit_quantity IS NULL)", name="limit_shape"),
        CheckConstraint("limit_quantity IS NULL OR limit_quantity > 0", name="limit_quantity"),
        CheckConstraint("active_to IS NULL OR active_from IS NULL OR active_to > active_from", name="window"),
        Index("ix_reward_items_village_id_id", "village_id", "id"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(String(500))
    category: Mapped[str | None] = mapped_column(String(50))
    points_price: Mapped[int] = mapped_column(Integer)
    stock_available: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    stock_reserved: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    limit_quantity: Mapped[int | None] = mapped_column(Integer)
    limit_period: Mapped[str | None] = mapped_column(String(8))
    active_from: Mapped[datetime | None]
    active_to: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[datetime] = created_at_column()


class StockMovement(Base):
    """Every change of an item's stock, with its reason. Append-only; the item's counters
    equal the sums of these."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint("kind IN ('receive', 'adjust', 'reserve', 'release', 'pickup')", name="kind"),
        CheckConstraint("delta_available <> 0 OR delta_reserved <> 0", name="nonzero"),
        Index("ix_stock_movements_item_id_id", "item_id", "id"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("reward_items.id"))
    kind: Mapped[str] = mapped_column(String(10))
    delta_available: Mapped[int] = mapped_column(Integer)
    delta_reserved: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    reason: Mapped[str] = mapped_column(String(200))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id"))
    created_at: Mapped[datetime] = created_at_column()


class Redemption(Base):
    """Points spent on an item: reserved until picked up with the code, cancelled, or
    expired after the deadline. Only the move out of `reserved` is ever made, once."""

    __tablename__ = "redemptions"
    __table_args__ = (
        CheckConstraint(one_of("status", REDEMPTION_STATUSES), name="status"),
        CheckConstraint("quantity > 0 AND points > 0", name="amounts"),
        CheckConstraint("(status = 'reserved') = (closed_at IS NULL)", name="closed"),
        UniqueConstraint("village_id", "pickup_code"),
        Index("ix_redemptions_household_id_id", "household_id", "id"),
        Index("ix_redemptions_reserved_deadline", "pickup_deadline",
              postgresql_where=text("status = 'reserved'")),
        Index("ix_redemptions_village_status", "village_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("reward_items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    points: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), server_default="reserved")
    pickup_code: Mapped[str] = mapped_column(String(12))
    pickup_deadline: Mapped[datetime]
    created_at: Mapped[datetime] = created_at_column()
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class IdempotencyRecord(Base):
    """The first answer to a (user, operation, key): a retry gets it again, the same key
    with another input is refused."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "operation", "key"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    operation: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    result_id: Mapped[int | None]
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at_column()


class RankingSnapshot(Base):
    """A published ranking (red list: earned; black list: deducted) for a period. It and
    its rows never change after publication."""

    __tablename__ = "ranking_snapshots"
    __table_args__ = (
        CheckConstraint("kind IN ('red', 'black')", name="kind"),
        CheckConstraint("period_end > period_start", name="period"),
        UniqueConstraint("village_id", "kind", "period_start", "period_end"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    kind: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    rows: Mapped[list] = mapped_column(JSONB)
    published_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()
