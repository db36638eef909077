"""Claims: a resident or grid worker asks for points under a claim rule (e.g. toilet
renovation) with evidence; an admin approves (the award is made) or rejects, with a
reason, once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models import EarningRule, PointsClaim
from rewards import idempotency
from rewards.awards import award
from rewards.errors import RewardsError, RewardsErrorCode, invalid, not_found
from rewards.rules import current_version, is_active

MAX_PHOTOS = 9
REVIEW_CLAIM = "reviewClaim"
SUBMIT_CLAIM = "submitClaim"


async def submit_claim(
    session: AsyncSession, *, rule: EarningRule, household_id: int, resident_id: int | None,
    submitted_by: int, note: str, photo_urls: list[str], now: datetime, idempotency_key: str | None = None,
) -> PointsClaim:
    """A pending claim. With a key, a retry returns the first claim instead of a second one
    (approving both would pay twice)."""
    version = await current_version(session, rule.id)
    if version.trigger != "claim":
        raise invalid("该规则由系统自动计分，不能申报", "ruleId")
    if not is_active(version, now):
        raise RewardsError(RewardsErrorCode.RULE_INACTIVE, "该积分规则当前未启用", field="ruleId")
    note = (note or "").strip()
    if not note or len(note) > 1000:
        raise invalid("请填写说明（不超过1000字）", "note")
    if len(photo_urls) > MAX_PHOTOS or any(
        not url.startswith(("https://", "http://")) or len(url) > 500 for url in photo_urls
    ):
        raise invalid(f"照片最多{MAX_PHOTOS}张，须为http(s)链接", "photoUrls")
    request = idempotency.keyed(submitted_by, SUBMIT_CLAIM, idempotency_key, optional=True,
                                rule_id=rule.id, household_id=household_id, note=note, photo_urls=photo_urls)
    earlier = await request.replay(session)
    if earlier is not None:
        return await session.get(PointsClaim, earlier.result_id)
    claim = PointsClaim(
        village_id=rule.village_id, rule_id=rule.id, household_id=household_id,
        resident_id=resident_id, submitted_by_id=submitted_by, note=note, photo_urls=photo_urls,
        created_at=now,
    )
    session.add(claim)
    await session.flush()
    await request.remember(session, claim.id)
    return claim


async def review_claim(
    session: AsyncSession, *, village_id: int, claim_id: int, approve: bool, reason: str | None,
    reviewer_id: int, now: datetime, idempotency_key: str | None = None,
) -> PointsClaim:
    """Approve (award) or reject a pending claim, once. With a key, a retry returns the
    claim as the first review left it instead of "already reviewed"."""
    claim = await session.get(PointsClaim, claim_id)
    if claim is None or claim.village_id != village_id:
        raise not_found("申报", "claimId")
    reason = (reason or "").strip() or None
    if not approve and reason is None:
        raise invalid("驳回须填写原因", "reason")
    if reason is not None and len(reason) > 500:
        raise invalid("原因不超过500字", "reason")
    request = idempotency.keyed(reviewer_id, REVIEW_CLAIM, idempotency_key, optional=True,
                                claim_id=claim_id, approve=approve, reason=reason)
    if await request.replay(session) is not None:
        await session.refresh(claim)  # as the first review committed it
        return claim
    decided = await session.execute(
        update(PointsClaim)
        .where(PointsClaim.id == claim.id, PointsClaim.status == "pending")
        .values(status="approved" if approve else "rejected", reviewed_by_id=reviewer_id,
                reviewed_at=now, review_reason=reason)
        .returning(PointsClaim.id)
    )
    if decided.first() is None:
        raise RewardsError(RewardsErrorCode.INVALID_STATE, "该申报已审核")
    if approve:
        version = await current_version(session, claim.rule_id)
        outcome = await award(
            session, version, household_id=claim.household_id, resident_id=claim.resident_id,
            source=f"claim:{claim.id}", actor_user_id=reviewer_id, now=now,
            reason=f"{version.name}（申报审核通过）",
        )
        await session.execute(
            update(PointsClaim).where(PointsClaim.id == claim.id).values(award_id=outcome.award.id)
        )
    await request.remember(session, claim.id)
    await session.refresh(claim)
    return claim
