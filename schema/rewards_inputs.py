"""Inputs and payloads of the points engine's mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from schema.rewards import (
    CapScope,
    EarningRule,
    HouseholdRef,
    Period,
    PointsClaim,
    PointsPolicy,
    Ranking,
    RankingKind,
    RankingPeriod,
    Redemption,
    RewardItem,
    RewardsError,
    RuleTrigger,
)

KEY = "A client-made key, the same on every retry of this request (e.g. a UUID)."


@strawberry.input
class RedeemRewardInput:
    item_id: relay.GlobalID
    quantity: int = 1
    idempotency_key: str = strawberry.field(description=KEY)


@strawberry.input
class CancelRedemptionInput:
    redemption_id: relay.GlobalID


@strawberry.input
class ConfirmPickupInput:
    code: str = strawberry.field(description="The pickup code the resident shows.")
    village_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Needed only by staff of more than one village."
    )


@strawberry.type
class RedemptionPayload:
    redemption: Redemption | None
    errors: list[RewardsError]


@strawberry.input
class CreateRewardItemInput:
    village_id: relay.GlobalID | None = strawberry.field(
        default=None, description="May be omitted by an admin of exactly one village."
    )
    name: str
    points_price: int
    stock: int = 0
    description: str | None = None
    image_url: str | None = None
    category: str | None = None
    limit_quantity: int | None = None
    limit_period: Period | None = None
    active_from: datetime | None = None
    active_to: datetime | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description=KEY + " Without one, a retry puts a second item on the shelf."
    )


@strawberry.input
class UpdateRewardItemInput:
    item_id: relay.GlobalID
    name: str | None = None
    points_price: int | None = None
    description: str | None = None
    image_url: str | None = None
    category: str | None = None
    limit_quantity: int | None = None
    limit_period: Period | None = None
    active_from: datetime | None = None
    active_to: datetime | None = None
    enabled: bool | None = None


@strawberry.input
class AdjustStockInput:
    item_id: relay.GlobalID
    delta: int = strawberry.field(description="+ goods received, − written off.")
    reason: str
    idempotency_key: str = strawberry.field(description=KEY)


@strawberry.type
class RewardItemPayload:
    item: RewardItem | None
    errors: list[RewardsError]


@strawberry.input
class AdjustPointsInput:
    household_id: relay.GlobalID
    points: int = strawberry.field(description="+ to add, − to remove (never below zero).")
    reason: str
    idempotency_key: str = strawberry.field(description=KEY)


@strawberry.input
class ReverseAwardInput:
    entry_id: relay.GlobalID = strawberry.field(description="The ledger entry of the award.")
    reason: str
    idempotency_key: str | None = strawberry.field(
        default=None, description=KEY + " Without one, a retry is refused as already reversed."
    )


@strawberry.type
class HouseholdPointsPayload:
    household: HouseholdRef | None
    errors: list[RewardsError]


@strawberry.input
class CreateEarningRuleInput:
    village_id: relay.GlobalID | None = None
    code: str
    name: str
    points: int
    trigger: RuleTrigger
    event_type: str | None = strawberry.field(
        default=None, description="For EVENT rules: notice_read, return_report, anti_fraud_verified."
    )
    description: str | None = None
    cap_period: Period | None = None
    cap_count: int | None = None
    cap_scope: CapScope = CapScope.HOUSEHOLD
    once_per_household: bool = False
    active_from: datetime | None = None
    active_to: datetime | None = None
    validity_days: int | None = None


@strawberry.input
class ReviseEarningRuleInput:
    """Only what is given changes; the rule gets a new version."""

    rule_id: relay.GlobalID
    name: str | None = None
    points: int | None = None
    description: str | None = None
    cap_period: Period | None = None
    cap_count: int | None = None
    cap_scope: CapScope | None = None
    once_per_household: bool | None = None
    active_from: datetime | None = None
    active_to: datetime | None = None
    enabled: bool | None = None
    validity_days: int | None = None
    remove_cap: bool = False


@strawberry.type
class EarningRulePayload:
    rule: EarningRule | None
    errors: list[RewardsError]


@strawberry.input
class SubmitClaimInput:
    rule_id: relay.GlobalID
    note: str
    photo_urls: list[str] = strawberry.field(default_factory=list)
    household_id: relay.GlobalID | None = strawberry.field(
        default=None, description="A grid worker claiming for a household; residents omit it."
    )
    idempotency_key: str | None = strawberry.field(
        default=None, description="Sent again on a retry of the same tap: the first claim is returned, not a second."
    )


@strawberry.input
class ReviewClaimInput:
    claim_id: relay.GlobalID
    approve: bool
    reason: str | None = strawberry.field(default=None, description="Required to reject.")
    idempotency_key: str | None = strawberry.field(
        default=None, description=KEY + " Without one, a retry is refused as already reviewed."
    )


@strawberry.type
class PointsClaimPayload:
    claim: PointsClaim | None
    errors: list[RewardsError]


@strawberry.input
class SetPointsPolicyInput:
    village_id: relay.GlobalID | None = None
    budget: int | None = strawberry.field(
        default=strawberry.UNSET, description="Most points the village may issue; null: no limit."
    )
    default_validity_days: int | None = strawberry.UNSET
    expire_end_of_next_year: bool | None = None
    pickup_days: int | None = None
    rankings_public: bool | None = None


@strawberry.type
class PointsPolicyPayload:
    policy: PointsPolicy | None
    errors: list[RewardsError]


@strawberry.input
class PublishRankingInput:
    village_id: relay.GlobalID | None = None
    kind: RankingKind
    period: RankingPeriod
    at: datetime = strawberry.field(description="Any moment in the (finished) period.")


@strawberry.type
class RankingPayload:
    ranking: Ranking | None
    errors: list[RewardsError]
