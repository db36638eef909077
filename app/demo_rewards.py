"""The demo village's points: rules, a catalog, a few months of awards, claims and
redemptions, loaded through the points engine like real activity."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from models import Household, OrgUnit, Resident, User
from rewards import awards, catalog, claims, redemptions, rules
from rewards.accounts import policy, set_budget
from rewards.errors import RewardsError
from rewards.periods import period_bounds
from rewards.rankings import publish

RULES = [
    # code, name, points, trigger, event, cap period, cap count, cap scope, once per household
    ("notice_read", "有效阅读村务公开", 1, "event", "notice_read", "day", 5, "resident", False),
    ("return_report", "返乡报备", 10, "event", "return_report", "year", 2, "resident", False),
    ("anti_fraud", "国家反诈中心APP实名认证", 20, "event", "anti_fraud_verified", None, None, "household", True),
    ("toilet", "完成改厕", 50, "claim", None, None, None, "household", True),
    ("volunteer", "参加志愿服务", 5, "claim", None, "month", 4, "resident", False),
    ("courtyard", "美丽庭院评比入选", 30, "claim", None, "year", 1, "household", False),
    ("violation", "违反村规民约", -20, "claim", None, None, None, "household", False),
]
ITEMS = [
    # name, category, price, stock, description
    ("肥皂", "日用品", 10, 200, "洗衣皂一块"),
    ("毛巾", "日用品", 15, 120, "纯棉毛巾一条"),
    ("酱油", "粮油调味", 20, 100, "生抽500毫升"),
    ("洗衣粉", "日用品", 30, 80, "洗衣粉1千克"),
    ("食用油", "粮油调味", 80, 40, "菜籽油5升"),
    ("大米", "粮油调味", 120, 30, "本地大米10千克"),
    ("电饭煲", "小家电", 400, 3, "3升电饭煲，每户每年限兑1个"),
]


async def seed_village_rewards(
    session: AsyncSession, village: OrgUnit, admin: User, clerk: User,
    households: list[tuple[Household, list[Resident]]], featured: tuple[User, Household] | None,
    now: datetime, seed: int,
) -> dict[str, int]:
    rng = random.Random(seed)
    counts = dict.fromkeys(("rules", "items", "awards", "claims", "redemptions"), 0)
    (await policy(session, village.id)).expire_end_of_next_year = True
    await set_budget(session, village.id, 200_000)

    versions = {}
    for code, name, points, trigger, event, period, cap, scope, once in RULES:
        versions[code] = await rules.create_rule(
            session, village.id, code,
            rules.RuleTerms(name=name, points=points, trigger=trigger, event_type=event,
                            cap_period=period, cap_count=cap, cap_scope=scope, once_per_household=once),
            admin.id, now - timedelta(days=120),
        )
        counts["rules"] += 1
    items = []
    for name, category, price, stock, description in ITEMS:
        terms = catalog.ItemTerms(name=name, points_price=price, category=category, description=description)
        if name == "电饭煲":
            terms.limit_quantity, terms.limit_period = 1, "year"
        items.append(await catalog.create_item(session, village.id, terms, stock, admin.id, now - timedelta(days=100)))
        counts["items"] += 1

    async def award(code: str, household: Household, resident: Resident | None, source: str, days_ago: float):
        try:
            await awards.award(
                session, versions[code], household_id=household.id,
                resident_id=resident.id if resident else None, source=source, actor_user_id=None,
                now=now - timedelta(days=days_ago),
            )
            counts["awards"] += 1
        except RewardsError:  # a cap: the demo's events are as messy as real ones
            pass

    async def claim(code: str, household: Household, resident: Resident, note: str, days_ago: float,
                    decision: bool | None, reason: str | None = None):
        rule = await rules.get_rule(session, village.id, versions[code].rule_id)
        made = await claims.submit_claim(
            session, rule=rule, household_id=household.id, resident_id=resident.id,
            submitted_by=admin.id, note=note, photo_urls=[f"https://img.example.cn/demo/{code}-{household.id}.jpg"],
            now=now - timedelta(days=days_ago),
        )
        counts["claims"] += 1
        if decision is not None:
            try:
                await claims.review_claim(
                    session, village_id=village.id, claim_id=made.id, approve=decision, reason=reason,
                    reviewer_id=admin.id, now=now - timedelta(days=days_ago - 1),
                )
            except RewardsError:
                pass

    for index, (household, members) in enumerate(households):
        head = members[0]
        if rng.random() < 0.6:
            await award("anti_fraud", household, head, f"anti-fraud:{head.id}", rng.uniform(30, 110))
        for day in rng.sample(range(1, 90), rng.randint(1, 5)):
            await award("notice_read", household, head, f"notice:{day}:{head.id}", day + 0.3)
        if household.living_status == "working_away" and rng.random() < 0.5:
            await award("return_report", household, head, f"return:{household.id}:spring", rng.uniform(60, 100))
        if rng.random() < 0.3:
            await claim("toilet", household, head, "已完成旱厕改造，化粪池验收合格", rng.uniform(20, 80), True)
        if rng.random() < 0.25:
            await claim("volunteer", household, members[-1], "参加河道清洁志愿活动", rng.uniform(5, 40), True)
        if index % 37 == 5:
            await claim("violation", household, head, "在河边焚烧秸秆，经劝阻后整改", rng.uniform(10, 50), True)
        if index % 23 == 3:
            await claim("courtyard", household, head, "庭院整洁，种植花木", rng.uniform(1, 5), None)

    for household, members in rng.sample(households, k=min(25, len(households))):
        item = rng.choice(items[:5])
        try:
            redemption = await redemptions.redeem(
                session, user_id=clerk.id, village_id=village.id, household_id=household.id,
                resident_id=members[0].id, item_id=item.id, quantity=1,
                idempotency_key=f"demo-{household.id}", now=now - timedelta(days=rng.uniform(8, 40)),
            )
        except RewardsError:  # not enough points: like in life
            continue
        counts["redemptions"] += 1
        closed_at = redemption.created_at + timedelta(days=rng.uniform(0.1, 5))
        if rng.random() < 0.85:
            await redemptions.confirm_pickup(session, redemption, clerk_user_id=clerk.id, now=closed_at)
        else:
            await redemptions.cancel(session, redemption, user_id=clerk.id, now=closed_at)

    if featured is not None:  # the README's resident: points to spend and a code to show
        user, household = featured
        await awards.adjust_points(
            session, village_id=village.id, household_id=household.id, points=100,
            reason="演示：积分超市开业赠送", actor_user_id=admin.id, now=now - timedelta(days=2),
        )
        await redemptions.redeem(
            session, user_id=user.id, village_id=village.id, household_id=household.id,
            resident_id=user.resident_id, item_id=items[2].id, quantity=1,
            idempotency_key="demo-featured", now=now - timedelta(days=1),
        )
        counts["redemptions"] += 1

    start, end = period_bounds("month", now.replace(day=1) - timedelta(days=1))
    for kind in ("red", "black"):
        await publish(session, village.id, kind, start, end, admin.id, now)
    return counts
