"""The demo village's disclosure: notices of the last months (one revised, one pinned, one
for a single area), effective reads by residents who log in, group accounts published
monthly with one correction, and questions."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from affairs import accounts, notices, questions, reading
from models import Household, HouseholdMembership, OrgUnit, Resident, User
from rewards.periods import CHINA

NOTICES = [
    # category, title, body, audience ("village" or an area index), days ago, pinned
    ("village_affairs", "2026年第三季度村务公开",
     "一、村道硬化工程已完工，总长1.8公里，经村民代表大会验收合格。二、新增太阳能路灯40盏。"
     "三、本季度调解邻里纠纷3起，均已化解。欢迎村民监督，有疑问可在下方留言。", "village", 45, True),
    ("finance", "关于2026年10月村级财务收支情况的公示",
     "本月村集体收入土地流转费12000元、上级人居环境补助5000元；支出道路维修3500.50元、保洁员工资800元。"
     "明细见各组账目公开。", "village", 12, False),
    ("policy", "城乡居民医疗保险缴费通知",
     "2027年度城乡居民医保个人缴费标准为每人每年400元，缴费截止日期为12月31日。"
     "可通过微信搜索“湖南医保”小程序缴纳，行动不便的村民可联系本组组长代缴。", "village", 20, False),
    ("party_affairs", "关于开展“党员联户走访月”活动的通知",
     "全体党员在本月内完成所联系农户的上门走访，在家户当面走访，外出户电话联系，"
     "走访情况记入民情台账。", "village", 30, False),
    ("village_affairs", "东片自来水管网改造停水通知",
     "因管网改造，东片将于下周二8:00至18:00停水，请各户提前储水。给大家带来不便，敬请谅解。",
     0, 5, False),
    ("other", "秋冬季森林防火提醒",
     "秋冬季节天干物燥，严禁在山林、田间焚烧秸秆和野外用火。发现火情请立即拨打12119。", "village", 3, False),
]
CATEGORIES_INCOME = [("土地流转", "承包户"), ("上级补助", "镇财政所"), ("集体资产出租", "租户")]
CATEGORIES_EXPENSE = [("道路维修", "施工队"), ("保洁", "保洁员"), ("水利设施", "施工队"), ("办公费用", "文具店")]


async def seed_village_affairs(
    session: AsyncSession, village: OrgUnit, areas: list[OrgUnit], groups: list[OrgUnit],
    admin: User, now: datetime, seed: int,
) -> dict[str, int]:
    rng = random.Random(seed)
    counts = dict.fromkeys(("notices", "receipts", "statements", "questions"), 0)
    readers = await _readers(session, village.id)

    published = []
    for category, title, body, audience, days_ago, pinned in NOTICES:
        unit = village if audience == "village" else areas[audience]
        at = now - timedelta(days=days_ago)
        notice = await notices.create_notice(
            session, village,
            notices.NoticeDraft(title=title, body=body, category=category, audience_unit_ids=[unit.id], pinned=pinned),
            admin.id, at,
        )
        await notices.publish_notice(session, notice, at)
        published.append(notice)
        counts["notices"] += 1
    await notices.revise_notice(
        session, published[2], title=None, body=NOTICES[2][2] + "已缴费的村民无需重复缴纳。", attachments=None,
        min_read_seconds=None, reason="补充说明已缴费人员无需重复缴纳", author_id=admin.id,
        now=now - timedelta(days=18),
    )
    await notices.create_notice(  # a draft, visible to admins only
        session, village,
        notices.NoticeDraft(title="2027年度村级预算（草案）", body="预算草案待村民代表大会审议。",
                            category="finance", audience_unit_ids=[village.id]),
        admin.id, now,
    )

    for notice in published[:-1]:  # the newest one nobody has read yet
        for reader in rng.sample(readers, k=len(readers) * 2 // 3):
            opened_at = notice.published_at + timedelta(hours=rng.uniform(1, 48))
            if opened_at > now:
                continue
            try:
                read, revision = await reading.open_notice(session, reader, notice.id, opened_at)
            except Exception:  # outside this notice's audience
                continue
            await reading.finish_read(
                session, reader, read.id, opened_at + timedelta(seconds=revision.min_read_seconds + rng.randint(5, 90))
            )
            counts["receipts"] += 1

    today = now.astimezone(CHINA).date()
    months = [_month_back(today, n) for n in (3, 2, 1)]
    for book in [village, *groups]:
        for first in months:
            for _ in range(rng.randint(3, 7)):
                income = rng.random() < 0.4
                category, counterparty = rng.choice(CATEGORIES_INCOME if income else CATEGORIES_EXPENSE)
                await accounts.add_entry(
                    session, book,
                    accounts.EntryInput(
                        entry_date=first + timedelta(days=rng.randint(0, 27)),
                        direction="income" if income else "expense", category=category,
                        amount_fen=rng.randint(50, 2000) * 100 + rng.choice((0, 50)),
                        description=f"{category}（{first.month}月）", counterparty=counterparty,
                        voucher_no=f"记{first.month:02d}-{rng.randint(1, 99):02d}",
                    ),
                    admin.id, now,
                )
            await accounts.publish_statement(
                session, book, f"{first.year:04d}-{first.month:02d}", reason=None,
                publisher_id=admin.id, now=now,
            )
            counts["statements"] += 1
    last = months[-1]
    await accounts.add_entry(
        session, groups[0],
        accounts.EntryInput(last + timedelta(days=27), "expense", "保洁", 15_000, "补录垃圾清运费", "清运公司", "记补-01"),
        admin.id, now,
    )
    corrected = (await accounts.publish_statement(
        session, groups[0], f"{last.year:04d}-{last.month:02d}", reason="补录漏记的垃圾清运费",
        publisher_id=admin.id, now=now,
    )).statement
    counts["statements"] += 1

    asker = readers[0]
    answered = await questions.ask(session, village_id=village.id, resident_id=asker.resident_id,
                                   text="路灯坏了找谁报修？", now=now - timedelta(days=40), notice_id=published[0].id)
    await questions.answer(session, answered, "请联系本组组长，或在“民情诉求”里提交，村里三天内安排维修。",
                           admin.id, now - timedelta(days=39))
    await questions.ask(session, village_id=village.id, resident_id=readers[-1].resident_id,
                        text="为什么这个月保洁费比上个月多？", now=now - timedelta(days=1), statement_id=corrected.id)
    counts["questions"] += 2
    return counts


def _month_back(today: date, months: int) -> date:
    index = today.year * 12 + today.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


async def _readers(session: AsyncSession, village_id: int) -> list[reading.Reader]:
    """Residents of the village who can log in (post holders and the README's resident)."""
    rows = await session.execute(
        select(User.id, Resident.id, HouseholdMembership.household_id, OrgUnit.path)
        .join(Resident, Resident.id == User.resident_id)
        .join(HouseholdMembership, (HouseholdMembership.resident_id == Resident.id)
              & HouseholdMembership.valid_to.is_(None))
        .join(Household, Household.id == HouseholdMembership.household_id)
        .join(OrgUnit, OrgUnit.id == Household.unit_id)
        .where(Household.village_id == village_id)
        .order_by(User.id)
    )
    return [reading.Reader(u, r, h, village_id, path) for u, r, h, path in rows]
