"""GraphQL types of points and the points store."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private, relay
from strawberry.types import Info

from app.pagination import Page, page_size
from models import EarningRuleVersion as RuleVersionRow
from models import PointsClaim as ClaimRow
from models import PointsEntry as EntryRow
from models import PointsTransaction as TransactionRow
from models import Redemption as RedemptionRow
from models import RewardItem as ItemRow
from rewards import ledger, queries
from rewards.errors import RewardsErrorCode as DomainRewardsErrorCode
from schema.relay import connection

if TYPE_CHECKING:
    from schema.grid import Household

HouseholdRef = Annotated["Household", strawberry.lazy("schema.grid")]
RewardsErrorCode = strawberry.enum(DomainRewardsErrorCode, name="RewardsErrorCode")


@strawberry.type
class RewardsError:
    code: RewardsErrorCode
    field: str | None
    message: str


@strawberry.enum
class Period(enum.Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    LIFETIME = "lifetime"


@strawberry.enum(description="How a rule awards: on an event from another module, or on a reviewed claim.")
class RuleTrigger(enum.Enum):
    EVENT = "event"
    CLAIM = "claim"


@strawberry.enum
class CapScope(enum.Enum):
    RESIDENT = "resident"
    HOUSEHOLD = "household"


@strawberry.enum
class PointsTransactionKind(enum.Enum):
    AWARD = "award"
    DEDUCTION = "deduction"
    ADJUSTMENT = "adjustment"
    REVERSAL = "reversal"
    REDEMPTION = "redemption"
    REFUND = "refund"
    EXPIRY = "expiry"


@strawberry.enum
class RedemptionStatus(enum.Enum):
    RESERVED = "reserved"
    PICKED_UP = "picked_up"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@strawberry.enum
class ClaimStatus(enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@strawberry.enum(description="红榜: points earned; 黑榜: points deducted (as deserved).")
class RankingKind(enum.Enum):
    RED = "red"
    BLACK = "black"


@strawberry.enum
class RankingPeriod(enum.Enum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@strawberry.type
class ExpiringPoints:
    points: int
    expires_at: datetime


@strawberry.type
class PointsEntry(relay.Node):
    """One movement of a household's points (one leg of a ledger transaction)."""

    id: relay.NodeID[int]
    points: int = strawberry.field(description="Positive: in; negative: out.")
    reason: str
    kind: PointsTransactionKind
    created_at: datetime
    resident_id: Private[int | None]

    @classmethod
    def from_rows(cls, entry: EntryRow, transaction: TransactionRow) -> PointsEntry:
        return cls(
            id=entry.id, points=entry.points, reason=transaction.reason,
            kind=PointsTransactionKind(transaction.kind), created_at=entry.created_at,
            resident_id=transaction.resident_id,
        )

    @classmethod
    def from_row(cls, row) -> PointsEntry:
        """A row of `rewards.queries.entry_rows`."""
        return cls.from_rows(row, row)

    @strawberry.field(description="The member of the household who earned or spent them.")
    async def member_name(self, info: Info) -> str | None:
        if self.resident_id is None:
            return None
        resident = await info.context.loaders.resident.load(self.resident_id)
        return resident.name if resident else None


@strawberry.type
class HouseholdPoints:
    """A household's points. Points accrue to the household; each entry names the member."""

    account_id: Private[int | None]
    lifetime: Private[int]
    spendable: Private[int]

    @classmethod
    async def of_household(cls, info: Info, household_id: int) -> HouseholdPoints:
        async with info.context.db() as session:
            found = await ledger.household_summary(session, household_id, info.context.now())
        if found is None:  # no points yet
            return cls(account_id=None, lifetime=0, spendable=0)
        return cls(account_id=found.account_id, lifetime=found.lifetime_earned, spendable=found.spendable)

    @strawberry.field(description="Points that can be spent now (expired points never count).")
    def balance(self) -> int:
        return self.spendable

    @strawberry.field(description="Every point ever earned, whatever was spent since.")
    def lifetime_earned(self) -> int:
        return self.lifetime

    @strawberry.field
    async def expiring_soon(self, info: Info, days: int = 30) -> list[ExpiringPoints]:
        if self.account_id is None:
            return []
        days = max(1, min(days, 3660))
        async with info.context.db() as session:
            rows = await queries.expiring_soon(session, self.account_id, days, info.context.now())
        return [ExpiringPoints(points=int(p), expires_at=at) for p, at in rows]

    @strawberry.field(description="Newest first.")
    async def entries(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[PointsEntry]:
        if self.account_id is None:
            page_size(first)
            return connection([], Page([], [], False))
        async with info.context.db() as session:
            page = await queries.account_entries(session, self.account_id, first, after)
        return connection([PointsEntry.from_row(row) for row in page.rows], page)


@strawberry.type
class RewardItem(relay.Node):
    """An item of the village points store (积分超市)."""

    id: relay.NodeID[int]
    name: str
    description: str | None
    image_url: str | None
    category: str | None
    points_price: int
    stock_available: int
    stock_reserved: int = strawberry.field(description="Promised to redemptions not yet picked up.")
    limit_quantity: int | None = strawberry.field(description="Per household per `limitPeriod`.")
    limit_period: Period | None
    active_from: datetime | None
    active_to: datetime | None
    enabled: bool

    @classmethod
    def from_row(cls, row: ItemRow) -> RewardItem:
        return cls(
            id=row.id, name=row.name, description=row.description, image_url=row.image_url,
            category=row.category, points_price=row.points_price, stock_available=row.stock_available,
            stock_reserved=row.stock_reserved, limit_quantity=row.limit_quantity,
            limit_period=Period(row.limit_period) if row.limit_period else None,
            active_from=row.active_from, active_to=row.active_to, enabled=row.enabled,
        )


@strawberry.type
class Redemption(relay.Node):
    """Points spent on an item: show `pickupCode` at the store before `pickupDeadline`."""

    id: relay.NodeID[int]
    status: RedemptionStatus
    raw_pickup_code: Private[str]
    points: int
    quantity: int
    pickup_deadline: datetime
    created_at: datetime
    closed_at: datetime | None
    item_id: Private[int]
    household_id: Private[int]

    @classmethod
    def from_row(cls, row: RedemptionRow) -> Redemption:
        return cls(
            id=row.id, status=RedemptionStatus(row.status), raw_pickup_code=row.pickup_code,
            points=row.points, quantity=row.quantity, pickup_deadline=row.pickup_deadline,
            created_at=row.created_at, closed_at=row.closed_at, item_id=row.item_id,
            household_id=row.household_id,
        )

    @strawberry.field(
        description="For the household only (null for staff): the resident says it at the counter, "
        "which is what shows the goods are theirs."
    )
    def pickup_code(self, info: Info) -> str | None:
        return self.raw_pickup_code if info.context.loaded_viewer.household_id == self.household_id else None

    @strawberry.field
    async def item(self, info: Info) -> RewardItem:
        return RewardItem.from_row(await info.context.loaders.reward_item.load(self.item_id))

    @strawberry.field
    async def household(self, info: Info) -> HouseholdRef:
        from schema.grid import Household

        row, path = await info.context.loaders.household.load(self.household_id)
        return Household.from_row(row, path)


@strawberry.type
class EarningRule(relay.Node):
    """A way to earn (or lose) points; the fields are its current version's terms."""

    id: relay.NodeID[int]
    code: str
    version: int
    name: str
    description: str | None
    points: int = strawberry.field(description="Negative for a deduction (e.g. breaking the village rules).")
    trigger: RuleTrigger
    event_type: str | None
    cap_period: Period | None
    cap_count: int | None
    cap_scope: CapScope
    once_per_household: bool
    active_from: datetime | None
    active_to: datetime | None
    enabled: bool
    validity_days: int | None = strawberry.field(description="Points expire this many days after earning.")
    version_id: Private[int]

    @classmethod
    def from_rows(cls, code: str, v: RuleVersionRow) -> EarningRule:
        return cls(
            id=v.rule_id, code=code, version=v.version, name=v.name, description=v.description,
            points=v.points, trigger=RuleTrigger(v.trigger), event_type=v.event_type,
            cap_period=Period(v.cap_period) if v.cap_period else None, cap_count=v.cap_count,
            cap_scope=CapScope(v.cap_scope), once_per_household=v.once_per_household,
            active_from=v.active_from, active_to=v.active_to, enabled=v.enabled,
            validity_days=v.validity_days, version_id=v.id,
        )


@strawberry.type
class PointsClaim(relay.Node):
    id: relay.NodeID[int]
    status: ClaimStatus
    note: str
    photo_urls: list[str]
    review_reason: str | None
    reviewed_at: datetime | None
    created_at: datetime
    rule_id: Private[int]
    household_id: Private[int]

    @classmethod
    def from_row(cls, row: ClaimRow) -> PointsClaim:
        return cls(
            id=row.id, status=ClaimStatus(row.status), note=row.note, photo_urls=list(row.photo_urls),
            review_reason=row.review_reason, reviewed_at=row.reviewed_at, created_at=row.created_at,
            rule_id=row.rule_id, household_id=row.household_id,
        )

    @strawberry.field
    async def household(self, info: Info) -> HouseholdRef:
        from schema.grid import Household

        row, path = await info.context.loaders.household.load(self.household_id)
        return Household.from_row(row, path)

    @strawberry.field
    async def rule_name(self, info: Info) -> str:
        version = await info.context.loaders.rule_version.load(self.rule_id)
        return version.name


@strawberry.type
class PointsOverview:
    issued: int = strawberry.field(description="Awarded under rules (net of reversals).")
    adjusted: int = strawberry.field(description="Net of admins' adjustments.")
    deducted: int
    redeemed: int = strawberry.field(description="Spent in the store (net of refunds).")
    expired: int
    outstanding: int = strawberry.field(description="Held by households and still spendable.")
    budget: int | None
    budget_left: int | None


@strawberry.type
class PointsPolicy:
    budget: int | None
    default_validity_days: int | None
    expire_end_of_next_year: bool
    pickup_days: int
    rankings_public: bool


@strawberry.type
class RankingRow:
    rank: int
    household_number: str
    points: int
    household_id: Private[int]


@strawberry.type
class Ranking:
    kind: RankingKind
    period_start: datetime
    period_end: datetime
    published: bool = strawberry.field(description="A published ranking never changes.")
    rows: list[RankingRow]
