"""The demo town's employment information: employers near home, postings, labour profiles,
applications and return-home reports."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from jobs import people, postings
from models import Household, OrgUnit, Resident, User

EMPLOYERS = [
    # name, kind, contact, category, postings: (title, pay min, pay max, unit, headcount, skills)
    ("青山茶叶专业合作社", "cooperative", "陈建华", "采茶",
     [("采茶工", 120, 160, "day", 20, ["采茶"]), ("茶叶炒制师傅", 5000, 7000, "month", 2, ["炒茶"])]),
    ("绿源蔬菜种植基地", "farm", "易国强", "种植",
     [("蔬菜大棚管理员", 3500, 4500, "month", 3, ["种植", "农机操作"]), ("分拣包装工", 100, 130, "day", 10, [])]),
]
TOWN_EMPLOYER = ("青山镇竹制品加工厂", "business", "罗志刚", "加工",
                 [("竹编工人", 3, 5, "piece", 15, ["竹编"]), ("货车司机", 5000, 6500, "month", 2, ["驾驶"])])
SKILLS = ["采茶", "炒茶", "种植", "农机操作", "竹编", "驾驶", "电工", "厨师"]
CATEGORIES = ["采茶", "种植", "加工", "建筑", "运输"]
PLACES = ["广东东莞", "浙江义乌", "长沙", "深圳", "福建晋江"]


async def seed_town_jobs(session: AsyncSession, town: OrgUnit, town_admin: User, now: datetime) -> list:
    name, kind, contact, category, jobs = TOWN_EMPLOYER
    employer = await postings.create_employer(
        session, town, name=name, kind=kind, contact_name=contact, contact_phone="13600000001",
        address="青山镇工业园", now=now - timedelta(days=60),
    )
    return [await _posting(session, employer, category, job, town_admin.id, now) for job in jobs]


async def _posting(session, employer, category, job, author_id, now):
    title, low, high, unit, headcount, skills = job
    return await postings.create_posting(
        session, employer,
        postings.PostingTerms(title=title, category=category, description=f"{employer.name}招聘{title}，就近上班。",
                              pay_min=low, pay_max=high, pay_unit=unit, place=employer.address or employer.name,
                              headcount=headcount, skills=skills),
        author_id, now - timedelta(days=30), open_now=True,
    )


async def seed_village_jobs(
    session: AsyncSession, village: OrgUnit, households: list[tuple[Household, list[Resident]]],
    admin: User, town_postings: list, now: datetime, seed: int, village_index: int,
) -> dict[str, int]:
    rng = random.Random(seed)
    counts = dict.fromkeys(("employers", "postings", "profiles", "applications", "returns"), 0)
    village_postings = []
    name, kind, contact, category, jobs = EMPLOYERS[village_index % len(EMPLOYERS)]
    employer = await postings.create_employer(
        session, village, name=f"{village.name}{name}" if village_index >= len(EMPLOYERS) else name, kind=kind,
        contact_name=contact, contact_phone=f"136000001{village_index:02d}", address=f"{village.name}村部旁",
        now=now - timedelta(days=90),
    )
    counts["employers"] += 1
    for job in jobs:
        village_postings.append(await _posting(session, employer, category, job, admin.id, now))
        counts["postings"] += 1

    for household, members in households:
        for resident in members:
            age = now.year - (resident.birth_year or now.year)
            if not 18 <= age <= 70:
                continue
            away = household.living_status == "working_away" and resident is members[0]
            status = "working_away" if away else rng.choices(
                ["working_locally", "looking", "unable", "retired"], [6, 2, 1, 1 if age > 55 else 0])[0]
            await people.save_profile(
                session, resident.id, village.id,
                people.ProfileTerms(
                    status=status, away_place=rng.choice(PLACES) if away else None,
                    trade=rng.choice(CATEGORIES) if status != "looking" else None,
                    skills=rng.sample(SKILLS, k=rng.randint(0, 2)),
                    wanted_categories=rng.sample(CATEGORIES, k=1) if status == "looking" else [],
                ),
                now - timedelta(days=rng.randint(10, 100)),
            )
            counts["profiles"] += 1
            if status == "looking" and rng.random() < 0.5:
                posting = rng.choice(village_postings + town_postings)
                try:
                    application = await people.apply(session, posting, resident.id, village.id, None,
                                                      now - timedelta(days=rng.randint(3, 20)))
                except Exception:  # applied already, or the posting filled up
                    continue
                counts["applications"] += 1
                if rng.random() < 0.4:
                    await people.move_application(session, application, rng.choice(["contacted", "hired"]),
                                                  admin.id, now - timedelta(days=rng.randint(1, 3)))

    for household, members in rng.sample(households, k=min(6, len(households))):
        if household.living_status != "working_away":
            continue
        await people.report_return(
            session, resident_id=members[0].id, household=household, user_id=admin.id,
            from_place=rng.choice(PLACES), returned_on=(now - timedelta(days=rng.randint(2, 25))).date(),
            plan=rng.choice(["stay", "look_for_work", "start_business", "temporary"]), now=now,
        )
        counts["returns"] += 1
    return counts
