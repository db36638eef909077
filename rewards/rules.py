"""Earning rules and their versions. A change is a new version; awards keep theirs."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import EarningRule, EarningRuleVersion
from models.rewards import PERIODS
from rewards.errors import RewardsError, RewardsErrorCode, invalid, not_found

# Events other modules report; a rule with trigger "event" names one of them.
EVENT_TYPES = {
    "notice_read": "有效阅读村务公开",
    "return_report": "返乡报备",
    "anti_fraud_verified": "国家反诈中心APP实名认证",
}
MAX_RULE_POINTS = 100_000


@dataclass
class RuleTerms:
    name: str
    points: int
    trigger: str  # "event" or "claim"
    event_type: str | None = None
    description: str | None = None
    cap_period: str | None = None
    cap_count: int | None = None
    cap_scope: str = "household"
    once_per_household: bool = False
    active_from: datetime | None = None
    active_to: datetime | None = None
    enabled: bool = True
    validity_days: int | None = None


def _check(terms: RuleTerms) -> None:
    name = (terms.name or "").strip()
    if not name or len(name) > 100:
        raise invalid("规则名称不能为空且不超过100字", "name")
    terms.name = name
    if terms.points == 0 or abs(terms.points) > MAX_RULE_POINTS:
        raise invalid(f"分值不能为0，绝对值不超过{MAX_RULE_POINTS}", "points")
    if terms.trigger not in ("event", "claim"):
        raise invalid("触发方式不正确", "trigger")
    if terms.trigger == "event":
        if terms.event_type not in EVENT_TYPES:
            raise invalid("事件类型不正确", "eventType")
    else:
        terms.event_type = None
    if (terms.cap_period is None) != (terms.cap_count is None):
        raise invalid("上限周期与次数须同时填写", "capCount")
    if terms.cap_period is not None and terms.cap_period not in PERIODS:
        raise invalid("上限周期不正确", "capPeriod")
    if terms.cap_count is not None and not 1 <= terms.cap_count <= 10_000:
        raise invalid("上限次数为1到10000", "capCount")
    if terms.cap_scope not in ("resident", "household"):
        raise invalid("上限计数范围不正确", "capScope")
    if terms.active_from and terms.active_to and terms.active_to <= terms.active_from:
        raise invalid("结束时间须晚于开始时间", "activeTo")
    if terms.validity_days is not None and not 1 <= terms.validity_days <= 3650:
        raise invalid("有效天数为1到3650", "validityDays")
    if terms.description is not None and len(terms.description) > 2000:
        raise invalid("说明不超过2000字", "description")


async def create_rule(
    session: AsyncSession, village_id: int, code: str, terms: RuleTerms, actor_user_id: int,
    now: datetime,
) -> EarningRuleVersion:
    code = (code or "").strip()
    if not code or len(code) > 50:
        raise invalid("规则编码不能为空且不超过50个字符", "code")
    _check(terms)
    exists = await session.scalar(
        select(EarningRule.id).where(EarningRule.village_id == village_id, EarningRule.code == code)
    )
    if exists:
        raise RewardsError(RewardsErrorCode.DUPLICATE, "本村已有该编码的规则", field="code")
    rule = EarningRule(village_id=village_id, code=code, created_at=now)
    session.add(rule)
    await session.flush()
    return await _add_version(session, rule, 1, terms, actor_user_id, now)


async def revise_rule(
    session: AsyncSession, rule: EarningRule, changes: dict, actor_user_id: int, now: datetime
) -> EarningRuleVersion:
    """A new version: the current terms with `changes` applied."""
    current = await current_version(session, rule.id)
    terms = RuleTerms(**{f.name: getattr(current, f.name) for f in fields(RuleTerms)})
    for key, value in changes.items():
        setattr(terms, key, value)
    _check(terms)
    return await _add_version(session, rule, current.version + 1, terms, actor_user_id, now)


async def _add_version(session, rule, number, terms: RuleTerms, actor_user_id, now):
    version = EarningRuleVersion(
        rule_id=rule.id, village_id=rule.village_id, version=number, created_by_id=actor_user_id,
        created_at=now, **{f.name: getattr(terms, f.name) for f in fields(RuleTerms)},
    )
    session.add(version)
    await session.flush()
    return version


async def current_version(session: AsyncSession, rule_id: int) -> EarningRuleVersion:
    return await session.scalar(
        select(EarningRuleVersion)
        .where(EarningRuleVersion.rule_id == rule_id)
        .order_by(EarningRuleVersion.version.desc())
        .limit(1)
    )


async def get_rule(session: AsyncSession, village_id: int, rule_id: int) -> EarningRule:
    rule = await session.get(EarningRule, rule_id)
    if rule is None or rule.village_id != village_id:
        raise not_found("积分规则", "ruleId")
    return rule


async def current_versions_for_event(
    session: AsyncSession, village_id: int, event_type: str
) -> list[EarningRuleVersion]:
    """The current version of each rule of the village triggered by `event_type`."""
    latest = (
        select(func.max(EarningRuleVersion.version))
        .where(EarningRuleVersion.rule_id == EarningRule.id)
        .correlate(EarningRule)
        .scalar_subquery()
    )
    return list(
        await session.scalars(
            select(EarningRuleVersion)
            .join(EarningRule, EarningRule.id == EarningRuleVersion.rule_id)
            .where(
                EarningRule.village_id == village_id,
                EarningRuleVersion.version == latest,
                EarningRuleVersion.trigger == "event",
                EarningRuleVersion.event_type == event_type,
            )
            .order_by(EarningRule.id)
        )
    )


def is_active(version: EarningRuleVersion, now: datetime) -> bool:
    return (
        version.enabled
        and (version.active_from is None or version.active_from <= now)
        and (version.active_to is None or now < version.active_to)
    )
