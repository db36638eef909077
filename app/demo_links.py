"""The demo village's party-member household links (党员联户): every household linked to
one of the village's party members since last year, a few moved to another member, three
months of visits (in person at home, by phone to those away) with problems found, last
month's scores published and last quarter's most beautiful neighbour chief honoured."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from household_links import links, visits
from household_links.coverage import month_of
from identity.viewer import Viewer, load_viewer
from models import Appointment, Household, OrgUnit, User
from party_scoring import honours, standings
from rewards.periods import period_bounds

NOTES_AT_HOME = [
    "上门走访，了解家庭近况，老人身体尚好", "入户宣传防诈骗知识，帮助安装国家反诈中心App",
    "走访了解春耕备耕情况", "上门宣讲村规民约和垃圾分类", "了解孩子上学情况，家中无困难",
    "入户核实改厕进度", "走访独居老人，帮忙打扫庭院",
]
NOTES_AWAY = [
    "电话联系在外务工人员，工作稳定", "视频通话了解在外生活情况，提醒注意安全",
    "电话告知村里道路硬化进展", "电话联系，了解返乡计划",
]
PROBLEMS = [
    ("safety_hazard", "厨房电线老化裸露，存在火灾隐患"),
    ("livelihood", "独居老人行动不便，需要定期照看"),
    ("infrastructure", "门前排水沟堵塞，雨天积水"),
    ("environment", "屋后堆放杂物，影响环境卫生"),
    ("dispute", "与邻居因田埂边界有争议"),
    ("policy", "咨询新农合缴费和报销政策"),
]
MOVE_REASON = "原联户党员外出务工，调整联户"


async def _people(session: AsyncSession, village: OrgUnit, role: str) -> list[User]:
    return list((await session.scalars(
        select(User).join(Appointment, Appointment.user_id == User.id)
        .join(OrgUnit, OrgUnit.id == Appointment.unit_id)
        .where(OrgUnit.village_id == village.id, Appointment.role == role, Appointment.valid_to.is_(None))
        .order_by(User.id)
    )).all())


async def seed_village_links(
    session: AsyncSession, village: OrgUnit, households: list[tuple[Household, list]], admin: User,
    now: datetime, seed: int,
) -> dict[str, int]:
    rng = random.Random(seed)
    members = await _people(session, village, "party_member")
    ordered = [h for h, _ in sorted(households, key=lambda pair: (pair[0].unit_id, pair[0].id))]
    share = -(-len(ordered) // len(members))
    for i, member in enumerate(members):  # each member the households of neighbouring units
        await links.link(session, ordered[i * share:(i + 1) * share], member, linked_by=admin.id,
                         now=now - timedelta(days=150))
    moved = ordered[share - 3:share]  # the first member's last three move to the second
    await links.link(session, moved, members[1], linked_by=admin.id, now=now - timedelta(days=45),
                     reason=MOVE_REASON)

    viewers: dict[int, Viewer] = {}
    paths = dict((await session.execute(
        select(OrgUnit.id, OrgUnit.path).where(OrgUnit.village_id == village.id)
    )).all())
    chiefs = {
        unit_id: user_id for unit_id, user_id in await session.execute(
            select(Appointment.unit_id, Appointment.user_id).join(OrgUnit, OrgUnit.id == Appointment.unit_id)
            .where(OrgUnit.village_id == village.id, Appointment.role == "chief", Appointment.valid_to.is_(None))
        )
    }
    owner = {link.household_id: link.member_user_id
             for link in await links.open_links(session, [h.id for h in ordered])}

    async def viewer(user_id: int) -> Viewer:
        if user_id not in viewers:
            viewers[user_id] = await load_viewer(session, user_id, now)
        return viewers[user_id]

    made = problems = 0
    this_month = month_of(now, now)
    months = [this_month]
    for _ in range(2):  # and the two calendar months before it
        months.insert(0, month_of(months[0].start - timedelta(microseconds=1), now))
    for month in months:
        running = month.start == this_month.start
        for household in ordered:
            if rng.random() > (0.45 if running else 0.88):
                continue  # not contacted (yet) this month
            span = (min(now, month.end) - month.start).total_seconds()
            at = month.start + timedelta(seconds=rng.uniform(0.05, 0.95) * span)
            away = household.living_status == "working_away"
            by_chief = rng.random() < 0.2 and household.unit_id in chiefs
            author = chiefs[household.unit_id] if by_chief else owner[household.id]
            found = [PROBLEMS[rng.randrange(len(PROBLEMS))]] if rng.random() < 0.12 else []
            await visits.log_visit(
                session, await viewer(author), household, paths[household.unit_id],
                mode=("phone" if rng.random() < 0.8 else "video") if away else "in_person",
                occurred_at=at, notes=rng.choice(NOTES_AWAY if away else NOTES_AT_HOME),
                location=visits.Location(place=None if away else household.address),
                problems=[visits.ProblemFound(c, d, raise_request=c == "safety_hazard") for c, d in found],
                now=min(now, at + timedelta(hours=rng.uniform(0.5, 8))),
            )
            made += 1
            problems += len(found)

    last_month = period_bounds("month", this_month.start - timedelta(days=1))
    await standings.publish(session, village.id, "month", *last_month, actor_user_id=admin.id, now=now)
    quarter = period_bounds("quarter", period_bounds("quarter", now)[0] - timedelta(days=1))
    top, _ = await honours.nominees(session, village.id, *quarter, now)
    if top:
        await honours.honour(session, village.id, *quarter, top[0].user_id,
                             citation="热心为邻里排忧解难，走访到位，群众满意", actor_user_id=admin.id, now=now)
    return {"household_links": len(ordered), "visits": made, "visit_problems": problems}
