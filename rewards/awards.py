"""Awarding points under rules (and deducting them), admin adjustments and reversals.

`award_for_event` is the one call other modules make. It is idempotent by (rule, account,
source): the same event delivered twice awards once. Caps and the budget hold under
concurrency because every award first locks the household's account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    EarningRuleVersion,
    PointsAccount,
    PointsAward,
    PointsLot,
    PointsPolicy,
    PointsTransaction,
)
from rewards import idempotency, ledger
from rewards.accounts import lock_household_account, policy, system_account
from rewards.errors import RewardsError, RewardsErrorCode, invalid, not_found
from rewards.ledger import Leg
from rewards.periods import end_of_next_year, period_start
from rewards.rules import current_versions_for_event, is_active

MAX_ADJUSTMENT = 1_000_000
ADJUST_POINTS = "adjustPoints"
REVERSE_AWARD = "reverseAward"


@dataclass(frozen=True)
class AwardOutcome:
    """What an award call did: `award` is the award (new or the earlier one for this
    source); `refusal` says why nothing was awarded."""

    rule_version_id: int
    award: PointsAward | None = None
    created: bool = False
    refusal: RewardsErrorCode | None = None

    @property
    def points(self) -> int:
        """Points that reached the household by this call."""
        if not (self.created and self.award):
            return 0
        return self.award.points + self.award.shortfall  # a deduction's shortfall was not taken


def lot_expiry(version: EarningRuleVersion | None, village_policy: PointsPolicy, now: datetime):
    """When points earned now expire: the rule's validity, else the village's policy."""
    if version is not None and version.validity_days:
        return now + timedelta(days=version.validity_days)
    if village_policy.default_validity_days:
        return now + timedelta(days=village_policy.default_validity_days)
    if village_policy.expire_end_of_next_year:
        return end_of_next_year(now)
    return None


async def award_for_event(
    session: AsyncSession, *, village_id: int, event_type: str, household_id: int,
    resident_id: int | None, source: str, actor_user_id: int | None, now: datetime,
) -> list[AwardOutcome]:
    """Apply every current rule of the village triggered by `event_type`. Refusals (cap,
    budget, inactive rule) are returned, not raised, so the caller's own work stands.

    No savepoint is needed around a rule: `award` refuses before it writes anything but
    what is created on first use anyway (the household's account, the village's points
    policy and system accounts), so a refusal leaves nothing half-done."""
    outcomes = []
    for version in await current_versions_for_event(session, village_id, event_type):
        try:
            outcomes.append(
                await award(
                    session, version, household_id=household_id, resident_id=resident_id,
                    source=source, actor_user_id=actor_user_id, now=now,
                )
            )
        except RewardsError as refusal:
            outcomes.append(AwardOutcome(version.id, refusal=refusal.code))
    return outcomes


_EARLIER_AWARD = select(PointsAward).where(
    PointsAward.rule_id == bindparam("rule_id"),
    PointsAward.account_id == bindparam("account_id"),
    PointsAward.source == bindparam("source"),
)


async def award(
    session: AsyncSession, version: EarningRuleVersion, *, household_id: int,
    resident_id: int | None, source: str, actor_user_id: int | None, now: datetime,
    reason: str | None = None,
) -> AwardOutcome:
    """Award (or, for negative points, deduct) under one rule version for one source."""
    account = await lock_household_account(session, version.village_id, household_id)
    earlier = await session.scalar(
        _EARLIER_AWARD, {"rule_id": version.rule_id, "account_id": account.id, "source": source}
    )
    if earlier is not None:
        return AwardOutcome(version.id, earlier, created=False)
    if not is_active(version, now):
        raise RewardsError(RewardsErrorCode.RULE_INACTIVE, "该积分规则当前未启用")
    await _check_caps(session, version, household_id, resident_id, now)

    reason = reason or version.name
    if version.points > 0:
        lot, transaction = await _credit(
            session, account, version.points, reason, now, kind="award", version=version,
            actor_user_id=actor_user_id, resident_id=resident_id, source=source,
        )
        shortfall, lot_id = 0, lot.id
    else:
        transaction, shortfall = await _deduct(
            session, account, -version.points, reason, now, version=version,
            actor_user_id=actor_user_id, resident_id=resident_id, source=source,
        )
        lot_id = None
    row = PointsAward(
        village_id=version.village_id, rule_id=version.rule_id, rule_version_id=version.id,
        account_id=account.id, household_id=household_id, resident_id=resident_id, source=source,
        points=version.points, shortfall=shortfall,
        transaction_id=transaction.id if transaction else None, lot_id=lot_id, created_at=now,
    )
    session.add(row)
    await session.flush()
    return AwardOutcome(version.id, row, created=True)


async def _check_caps(session, version: EarningRuleVersion, household_id, resident_id, now) -> None:
    counted = select(func.count()).select_from(PointsAward).where(PointsAward.rule_id == version.rule_id)
    if version.once_per_household:
        if await session.scalar(counted.where(PointsAward.household_id == household_id)):
            raise RewardsError(RewardsErrorCode.CAP_REACHED, "每户仅限一次，本户已获得")
    if version.cap_period is None:
        return
    if version.cap_scope == "resident" and resident_id is not None:
        counted = counted.where(PointsAward.resident_id == resident_id)
    else:
        counted = counted.where(PointsAward.household_id == household_id)
    start = period_start(version.cap_period, now)
    if start is not None:
        counted = counted.where(PointsAward.created_at >= start)
    if await session.scalar(counted) >= version.cap_count:
        raise RewardsError(RewardsErrorCode.CAP_REACHED, "已达到该规则的次数上限")


async def _credit(
    session: AsyncSession, account: PointsAccount, points: int, reason: str, now: datetime, *,
    kind: str, version: EarningRuleVersion | None, actor_user_id: int | None,
    resident_id: int | None, source: str | None,
) -> tuple[PointsLot, PointsTransaction]:
    village_policy = await policy(session, account.village_id)
    issuance = await ledger.take_from_budget(session, account.village_id, points)
    lot = await ledger.open_lot(
        session, account.village_id, account.id, points, lot_expiry(version, village_policy, now), now
    )
    transaction = await ledger.post(
        session, village_id=account.village_id, kind=kind, reason=reason, now=now,
        legs=[Leg(account.id, points, lot.id), Leg(issuance.id, -points)],
        actor_user_id=actor_user_id, household_id=account.household_id, resident_id=resident_id,
        rule_version_id=version.id if version else None, source=source, earned={account.id: points},
    )
    return lot, transaction


async def _deduct(
    session: AsyncSession, account: PointsAccount, points: int, reason: str, now: datetime, *,
    version: EarningRuleVersion, actor_user_id: int | None, resident_id: int | None, source: str,
) -> tuple[PointsTransaction | None, int]:
    """Take up to `points` (never below zero); returns the transaction and the shortfall."""
    legs = await ledger.draw(session, account.id, points, now, partial=True)
    taken = -sum(leg.points for leg in legs)
    if taken == 0:
        return None, points
    issuance = await system_account(session, account.village_id, "issuance")
    transaction = await ledger.post(
        session, village_id=account.village_id, kind="deduction", reason=reason, now=now,
        legs=[*legs, Leg(issuance.id, taken)], actor_user_id=actor_user_id,
        household_id=account.household_id, resident_id=resident_id, rule_version_id=version.id,
        source=source,
    )
    return transaction, points - taken


async def adjust_points(
    session: AsyncSession, *, village_id: int, household_id: int, points: int, reason: str,
    actor_user_id: int, now: datetime, idempotency_key: str | None = None,
) -> PointsTransaction:
    """An admin's correction: adds points (a lot under the village's expiry policy, within
    the budget) or removes them (never more than the household can spend). With a key, a
    retry returns the first result."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise invalid("调整积分必须填写原因（不超过200字）", "reason")
    if points == 0 or abs(points) > MAX_ADJUSTMENT:
        raise invalid(f"调整分值不能为0，绝对值不超过{MAX_ADJUSTMENT}", "points")
    request = idempotency.keyed(actor_user_id, ADJUST_POINTS, idempotency_key, optional=True,
                                household_id=household_id, points=points, reason=reason)
    account = await lock_household_account(session, village_id, household_id)
    earlier = await request.replay(session)
    if earlier is not None:
        return await session.get(PointsTransaction, earlier.result_id)
    if points > 0:
        _, transaction = await _credit(
            session, account, points, reason, now, kind="adjustment", version=None,
            actor_user_id=actor_user_id, resident_id=None, source=None,
        )
    else:
        legs = await ledger.draw(session, account.id, -points, now)
        issuance = await system_account(session, village_id, "issuance")
        transaction = await ledger.post(
            session, village_id=village_id, kind="adjustment", reason=reason, now=now,
            legs=[*legs, Leg(issuance.id, -points)], actor_user_id=actor_user_id,
            household_id=household_id,
        )
    await request.remember(session, transaction.id)
    return transaction


async def reverse_award(
    session: AsyncSession, *, village_id: int, award_id: int, reason: str, actor_user_id: int,
    now: datetime, idempotency_key: str | None = None,
) -> PointsTransaction:
    """Undo a positive award: its points leave the lot they came in. If some were spent
    (or expired), say so with a code rather than drive anything negative. With a key, a
    retry returns the first reversal instead of "already reversed"."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise invalid("撤销必须填写原因（不超过200字）", "reason")
    row = await session.get(PointsAward, award_id)
    if row is None or row.village_id != village_id:
        raise not_found("积分记录", "awardId")
    if row.points < 0 or row.transaction_id is None:
        raise RewardsError(RewardsErrorCode.INVALID_STATE, "扣分记录请用积分调整更正")
    request = idempotency.keyed(actor_user_id, REVERSE_AWARD, idempotency_key, optional=True,
                                award_id=award_id, reason=reason)
    account = await lock_household_account(session, village_id, row.household_id)
    earlier = await request.replay(session)
    if earlier is not None:
        return await session.get(PointsTransaction, earlier.result_id)
    reversed_already = await session.scalar(
        select(PointsTransaction.id).where(PointsTransaction.reverses_id == row.transaction_id)
    )
    if reversed_already:
        raise RewardsError(RewardsErrorCode.INVALID_STATE, "该积分已撤销")
    lot = await session.scalar(  # as stored now: a lot loaded earlier in the session may be stale
        select(PointsLot).where(PointsLot.id == row.lot_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    expired = lot.expires_at is not None and lot.expires_at <= now
    if lot.remaining < row.points or expired:
        raise RewardsError(
            RewardsErrorCode.POINTS_ALREADY_SPENT,
            f"该笔积分已使用或过期（剩余{0 if expired else lot.remaining}/{row.points}），不能撤销",
        )
    lot.remaining -= row.points
    await session.flush()
    issuance = await system_account(session, village_id, "issuance")
    transaction = await ledger.post(
        session, village_id=village_id, kind="reversal", reason=reason, now=now,
        legs=[Leg(account.id, -row.points, lot.id), Leg(issuance.id, row.points)],
        actor_user_id=actor_user_id, household_id=row.household_id, resident_id=row.resident_id,
        rule_version_id=row.rule_version_id, reverses_id=row.transaction_id,
        earned={account.id: -row.points},
    )
    await request.remember(session, transaction.id)
    return transaction
