"""The demo town 青山镇: three villages with their grid, ~300 households, ~900 residents, staff
and post holders, loaded through the same domain functions (and rules) as real data.

Everything is planned first in plain Python from one seeded random generator, so the data —
and the login table `describe_logins` prints from the same plan — is the same on every run.
Then `seed_demo` writes the plan in one transaction."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache

import structlog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.database import create_engine, create_sessionmaker
from app.demo_affairs import seed_village_affairs
from app.demo_jobs import seed_town_jobs, seed_village_jobs
from app.demo_links import seed_village_links
from app.demo_requests import seed_village_requests
from app.demo_rewards import seed_village_rewards
from app.settings import get_settings
from grid.appointments import appoint, user_for_resident
from grid.households import create_household
from grid.id_numbers import IdNumberVault, check_char
from grid.residents import create_resident
from grid.units import create_hamlet, create_town, create_unit, create_village
from identity.passwords import hash_password
from models import OrgUnit, User

log = structlog.get_logger(__name__)

SEED = 20211201
TOWN_NAME = "青山镇"
TOWN_CODE = "DEMO"
PASSWORD = "demo1234"
REGION = "430681"  # 湖南省汨罗市
ADULT_BORN_BY = 2003  # ages are reckoned as of 2021, so the data does not drift year to year
HOUSEHOLDS_PER_VILLAGE = 100

TOWN_ADMIN = ("周建国", "13900000001")
# name, code, (village admin, store clerk), hamlets (name, party group, council, usual surname)
VILLAGES = (
    ("青山村", "QS", (("李卫东", "13900000011"), ("刘小燕", "13900000012")),
     (("李家屋场", True, True, "李"), ("罗家冲屋场", True, False, "罗"))),
    ("桃花村", "TH", (("王秀兰", "13900000021"), ("杨春梅", "13900000022")),
     (("彭家屋场", True, True, "彭"), ("易家湾屋场", False, True, "易"))),
    ("石门村", "SM", (("陈志强", "13900000031"), ("黄丽华", "13900000032")),
     (("陈家屋场", True, True, "陈"), ("邓家坪屋场", False, False, "邓"))),
)
AREAS = ("东片", "西片")
GROUP_NUMERALS = "一二三四五六七八九十"
# Fixed phones for residents shown in the login table (all in 青山村).
CHIEF_PHONE = "13700000001"  # chief (邻长) of 东片一组第1邻
PARTY_MEMBER_PHONE = "13700000002"
RESIDENT_PHONE = "13700000003"  # an ordinary head of household in 东片一组第1邻
PARTY_MEMBERS_PER_VILLAGE = 6

SURNAMES = {
    "李": 7, "王": 6, "张": 6, "刘": 6, "陈": 6, "杨": 4, "黄": 4, "赵": 2, "吴": 3, "周": 4,
    "徐": 2, "孙": 1, "胡": 3, "朱": 2, "高": 1, "林": 2, "何": 3, "郭": 2, "马": 1, "罗": 4,
    "谢": 3, "彭": 4, "易": 3, "邓": 3, "曾": 3,
}
# Given names by gender and generation (born before 1965, 1965–1989, from 1990).
GIVEN_NAMES = {
    "male": (
        "建国 建华 建军 国强 国平 德明 春生 卫东 解放 志刚 福生 长根 桂生 水生 满堂 新民 友良 光明 金山 庆元".split(),
        "伟 强 磊 军 勇 斌 涛 刚 平 辉 志强 志明 海波 文斌 永林 光辉 少华 建平 小龙 俊".split(),
        "杰 超 鹏 浩 宇 俊杰 子轩 浩然 宇航 梓豪 家乐 晨阳 博文 思远 一鸣 天佑 睿 航 皓轩 明轩".split(),
    ),
    "female": (
        "秀英 桂英 秀兰 玉兰 桂兰 凤英 淑芬 翠花 金花 冬梅 春兰 菊香 月娥 桂芝 玉梅 兰英 秀珍 满妹".split(),
        "丽 敏 静 燕 芳 娟 霞 红 艳 丽华 春梅 小燕 海燕 丽娟 美玲 雪梅 建英 晓红 慧 琴".split(),
        "婷 颖 雪 琳 欣怡 诗涵 梓涵 雨萱 佳怡 思琪 子怡 雨桐 可欣 梦瑶 紫涵 婉婷 佳琪 晨曦 悦 萱".split(),
    ),
}
PHONE_PREFIXES = ("135", "136", "137", "138", "150", "151", "152", "158", "159", "187", "188")


# --- the plan ---------------------------------------------------------------------------


@dataclass
class Person:
    name: str
    gender: str
    relation: str
    birth_year: int
    id_number: str
    phone: str | None = None


@dataclass
class HouseholdPlan:
    number: str
    address: str
    living_status: str
    hamlet: int | None  # index into the village's hamlets
    unit: tuple[int, int, int]  # (area, group, neighbourhood) indexes
    members: list[Person] = field(default_factory=list)


@dataclass
class Post:
    unit: tuple[int, ...]  # () is the village; (a,), (a, g), (a, g, n) are units
    role: str
    person: tuple[int, int]  # (household index, member index)


@dataclass
class VillagePlan:
    name: str
    code: str
    admin: tuple[str, str]
    clerk: tuple[str, str]
    hamlets: tuple[tuple[str, bool, bool, str], ...]
    groups: list[list[str]]  # per area, the group names
    neighbourhoods: list[list[list[str]]]  # per area and group, the neighbourhood names
    households: list[HouseholdPlan] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    resident_logins: list[tuple[int, int]] = field(default_factory=list)  # users without a post


@dataclass
class DemoPlan:
    villages: list[VillagePlan]
    featured_chief: tuple[str, str, str]  # (unit, name, phone)
    featured_party_member: tuple[str, str]
    featured_resident: tuple[str, str, str]  # (household number, name, phone)


class _Planner:
    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.id_numbers: set[str] = set()
        self.phones: set[str] = {
            TOWN_ADMIN[1], CHIEF_PHONE, PARTY_MEMBER_PHONE, RESIDENT_PHONE,
            *(p for v in VILLAGES for _, p in v[2]),
        }
        self._surnames = list(SURNAMES)
        self._weights = list(SURNAMES.values())

    def surname(self, unlike: str | None = None) -> str:
        while True:
            name = self.rng.choices(self._surnames, self._weights)[0]
            if name != unlike:
                return name

    def given_name(self, gender: str, birth_year: int) -> str:
        era = 0 if birth_year < 1965 else 1 if birth_year < 1990 else 2
        return self.rng.choice(GIVEN_NAMES[gender][era])

    def id_number(self, gender: str, birth_year: int) -> str:
        """GB 11643: region, birth date, sequence (odd last digit for men), check character."""
        while True:
            born = date(birth_year, 1, 1) + timedelta(days=self.rng.randrange(365))
            last = self.rng.choice("13579" if gender == "male" else "02468")
            first17 = f"{REGION}{born:%Y%m%d}{self.rng.randrange(100):02d}{last}"
            number = first17 + check_char(first17)
            if number not in self.id_numbers:
                self.id_numbers.add(number)
                return number

    def phone(self, birth_year: int) -> str | None:
        if birth_year > ADULT_BORN_BY or self.rng.random() > (0.9 if birth_year >= 1950 else 0.45):
            return None
        while True:
            number = self.rng.choice(PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def person(self, surname: str, gender: str, relation: str, birth_year: int,
               taken: set[str]) -> Person:
        while True:
            name = surname + self.given_name(gender, birth_year)
            if name not in taken:  # no two members of a household share a name
                taken.add(name)
                break
        return Person(name, gender, relation, birth_year,
                      self.id_number(gender, birth_year), self.phone(birth_year))

    def family(self, surname: str) -> list[Person]:
        """A head, usually a spouse, children, sometimes the head's parent or a grandchild.
        Members take the head's surname, except those who married in (spouse, mother)."""
        rng, taken = self.rng, set()
        head_gender = "male" if rng.random() < 0.9 else "female"
        head_born = rng.randint(1945, 1992)
        members = [self.person(surname, head_gender, "head", head_born, taken)]
        if head_gender == "male" and rng.random() < 0.85:
            members.append(self.person(
                self.surname(unlike=surname), "female", "spouse",
                min(head_born + rng.randint(-1, 4), 1996), taken,
            ))
        mother_born = head_born if head_gender == "female" else members[-1].birth_year
        children = rng.choices((0, 1, 2, 3), (25, 45, 25, 5))[0]
        child_years = sorted(min(mother_born + rng.randint(21, 34), 2020) for _ in range(children))
        for born in child_years:
            gender = "male" if rng.random() < 0.52 else "female"
            members.append(self.person(surname, gender, "child", born, taken))
        if head_born >= 1960 and rng.random() < 0.15:
            if rng.random() < 0.4:
                parent = self.person(surname, "male", "parent",
                                     max(head_born - rng.randint(22, 32), 1926), taken)
            else:
                parent = self.person(self.surname(unlike=surname), "female", "parent",
                                     max(head_born - rng.randint(20, 30), 1928), taken)
            members.append(parent)
        if head_born <= 1968 and rng.random() < 0.25:
            members.append(self.person(
                surname, rng.choice(("male", "female")), "grandchild",
                min(head_born + rng.randint(44, 56), 2020), taken,
            ))
        return members

    def village(self, name: str, code: str, staff, hamlets) -> VillagePlan:
        rng = self.rng
        groups, neighbourhoods, numeral = [], [], 0
        for _ in AREAS:
            area_groups, area_neighbourhoods = [], []
            for _ in range(2):
                group = GROUP_NUMERALS[numeral] + "组"
                numeral += 1
                area_groups.append(group)
                area_neighbourhoods.append(
                    [f"{group}第{n}邻" for n in range(1, rng.choice((2, 3)) + 1)]
                )
            groups.append(area_groups)
            neighbourhoods.append(area_neighbourhoods)
        plan = VillagePlan(name, code, staff[0], staff[1], hamlets, groups, neighbourhoods)

        leaves = [
            (a, g, n)
            for a in range(len(AREAS))
            for g in range(2)
            for n in range(len(neighbourhoods[a][g]))
        ]
        per_leaf, extra = divmod(HOUSEHOLDS_PER_VILLAGE, len(leaves))
        house_numbers = {}
        for i, (a, g, n) in enumerate(leaves):
            for _ in range(per_leaf + (i < extra)):
                house_numbers[a, g] = house_numbers.get((a, g), 0) + rng.choice((1, 1, 1, 2))
                hamlet = a if rng.random() < 0.85 else None
                if hamlet is not None and rng.random() < 0.5:
                    surname = hamlets[hamlet][3]  # a 屋场 is mostly one clan
                else:
                    surname = self.surname()
                household = HouseholdPlan(
                    number=f"{code}-{len(plan.households) + 1:03d}",
                    address=f"{name}{AREAS[a]}{groups[a][g]}{house_numbers[a, g]}号",
                    living_status="working_away" if rng.random() < 0.3 else "at_home",
                    hamlet=hamlet, unit=(a, g, n),
                )
                household.members = self.family(surname)
                plan.households.append(household)
        self.posts(plan)
        return plan

    def posts(self, plan: VillagePlan) -> None:
        """Chiefs for every unit, party members, a grid worker per area: adults with phones
        who live in the unit, preferably in a household living at home."""
        holders: set[tuple[int, int]] = set()

        def candidates(prefix: tuple[int, ...], born_from: int, born_to: int):
            found = [
                (h, m)
                for h, household in enumerate(plan.households)
                if household.unit[: len(prefix)] == prefix
                for m, person in enumerate(household.members)
                if person.phone and born_from <= person.birth_year <= born_to
                and (h, m) not in holders
            ]
            at_home = [c for c in found if plan.households[c[0]].living_status == "at_home"]
            return at_home or found

        def pick(unit: tuple[int, ...], role: str, prefix: tuple[int, ...], born_from: int,
                 born_to: int) -> tuple[int, int]:
            person = self.rng.choice(candidates(prefix, born_from, born_to))
            holders.add(person)
            plan.posts.append(Post(unit, role, person))
            return person

        for a in range(len(AREAS)):
            pick((a,), "chief", (a,), 1958, 1985)
            for g in range(2):
                pick((a, g), "chief", (a, g), 1958, 1988)
                for n in range(len(plan.neighbourhoods[a][g])):
                    pick((a, g, n), "chief", (a, g, n), 1955, 1992)
            pick((a,), "grid_worker", (a,), 1975, 1998)
        for _ in range(PARTY_MEMBERS_PER_VILLAGE):
            pick((), "party_member", (), 1950, 1995)


@cache
def _plan() -> DemoPlan:
    planner = _Planner()
    villages = [planner.village(name, code, staff, hamlets)
                for name, code, staff, hamlets in VILLAGES]
    first = villages[0]

    def person(ref: tuple[int, int]) -> Person:
        return first.households[ref[0]].members[ref[1]]

    chief = next(p for p in first.posts if p.role == "chief" and p.unit == (0, 0, 0))
    person(chief.person).phone = CHIEF_PHONE
    party_member = next(p for p in first.posts if p.role == "party_member")
    person(party_member.person).phone = PARTY_MEMBER_PHONE
    holders = {p.person for p in first.posts}
    resident_ref = next(
        (h, 0)
        for h, household in enumerate(first.households)
        if household.unit == (0, 0, 0) and household.living_status == "at_home"
        and (h, 0) not in holders and person((h, 0)).birth_year <= 1985
    )
    person(resident_ref).phone = RESIDENT_PHONE
    first.resident_logins.append(resident_ref)  # so `village token --phone` works at once
    return DemoPlan(
        villages,
        featured_chief=(f"{first.name}{AREAS[0]}{first.neighbourhoods[0][0][0]}",
                        person(chief.person).name, CHIEF_PHONE),
        featured_party_member=(person(party_member.person).name, PARTY_MEMBER_PHONE),
        featured_resident=(first.households[resident_ref[0]].number, person(resident_ref).name,
                           RESIDENT_PHONE),
    )


# --- loading ----------------------------------------------------------------------------


async def seed_demo(database_url: str) -> bool:
    """Load the demo town unless it is there (a town coded DEMO); True when loaded."""
    settings = get_settings()
    engine = create_engine(database_url, settings)
    try:
        async with create_sessionmaker(engine)() as session:
            async with session.begin():
                # Two processes seeding at once: the second waits, then finds the town.
                await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('demo-seed'))"))
                exists = await session.scalar(
                    select(OrgUnit.id).where(OrgUnit.kind == "town", OrgUnit.code == TOWN_CODE)
                )
                if exists is not None:
                    return False
                counts = await _load(session, _plan(), IdNumberVault(settings.data_key_bytes))
        log.info("demo.seeded", town=TOWN_NAME, **counts)
        return True
    finally:
        await engine.dispose()


async def _load(session: AsyncSession, plan: DemoPlan, vault: IdNumberVault) -> dict[str, int]:
    now = datetime.now(UTC)
    # the register and the posts date from last year, so the months shown have their duties
    since = now - timedelta(days=400)
    counts = dict.fromkeys(("villages", "households", "residents", "users", "appointments"), 0)

    async def staff(name: str, phone: str) -> User:
        user = User(phone=phone, display_name=name, password_hash=hash_password(PASSWORD))
        session.add(user)
        await session.flush()
        counts["users"] += 1
        return user

    async def post(unit: OrgUnit, user: User, role: str, appointed_by: int | None) -> None:
        await appoint(session, unit, user, role, appointed_by=appointed_by, now=since)
        counts["appointments"] += 1

    town = await create_town(session, TOWN_NAME, TOWN_CODE)
    town_admin = await staff(*TOWN_ADMIN)
    await post(town, town_admin, "town_admin", None)

    town_jobs = await seed_town_jobs(session, town, town_admin, now)
    for index, vp in enumerate(plan.villages):
        village = await create_village(session, town, vp.name, vp.code)
        counts["villages"] += 1
        admin = await staff(*vp.admin)
        await post(village, admin, "village_admin", town_admin.id)
        clerk = await staff(*vp.clerk)
        await post(village, clerk, "store_clerk", town_admin.id)

        units: dict[tuple[int, ...], OrgUnit] = {(): village}
        for a, area in enumerate(AREAS):
            units[a,] = await create_unit(session, village, area)
            for g, group in enumerate(vp.groups[a]):
                units[a, g] = await create_unit(session, units[a,], group)
                for n, neighbourhood in enumerate(vp.neighbourhoods[a][g]):
                    units[a, g, n] = await create_unit(session, units[a, g], neighbourhood)
        hamlets = [
            await create_hamlet(session, village, name, has_party_group=party, has_council=council)
            for name, party, council, _ in vp.hamlets
        ]

        residents = {}
        created: list[tuple] = []
        for h, hp in enumerate(vp.households):
            household = await create_household(
                session, units[hp.unit], hp.number, hp.address, hp.living_status,
                hamlets[hp.hamlet].id if hp.hamlet is not None else None, registered_at=since,
            )
            counts["households"] += 1
            created.append((household, []))
            for m, person in enumerate(hp.members):
                residents[h, m] = await create_resident(
                    session, vault, household, name=person.name, gender=person.gender,
                    relation=person.relation, phone=person.phone, id_number=person.id_number,
                    birth_year=person.birth_year,
                )
                created[-1][1].append(residents[h, m])
                counts["residents"] += 1

        resident_users: set[int] = set()
        for p in vp.posts:
            user = await user_for_resident(session, residents[p.person])
            resident_users.add(user.id)
            await post(units[p.unit], user, p.role, admin.id)
        featured = None
        for ref in vp.resident_logins:
            user = await user_for_resident(session, residents[ref])
            resident_users.add(user.id)
            featured = (user, created[ref[0]][0])
        counts["users"] += len(resident_users)
        points = await seed_village_rewards(
            session, village, admin, clerk, created, featured, now, seed=SEED + index
        )
        points.update(await seed_village_jobs(
            session, village, created, admin, town_jobs, now, seed=SEED + index, village_index=index,
        ))
        points.update(await seed_village_requests(session, village, created, admin, now, seed=SEED + index))
        points.update(await seed_village_links(session, village, created, admin, now, seed=SEED + index))
        points.update(await seed_village_affairs(
            session, village, [units[a,] for a in range(len(AREAS))],
            [u for key, u in units.items() if len(key) == 2], admin, now, seed=SEED + index,
        ))
        for key, value in points.items():
            counts[key] = counts.get(key, 0) + value
    return counts


def describe_logins() -> str:
    """How to log in as each kind of demo user (no database needed: the plan is fixed)."""
    plan = _plan()
    unit, chief, chief_phone = plan.featured_chief
    party_member, party_phone = plan.featured_party_member
    number, resident, resident_phone = plan.featured_resident
    first = plan.villages[0].name
    lines = [
        f"Demo logins — {TOWN_NAME} (town code {TOWN_CODE}), villages "
        + "、".join(v.name for v in plan.villages),
        "",
        f"Staff: mutation loginWithPassword(phone, password \"{PASSWORD}\")",
        f"  镇管理员 town admin       {TOWN_NAME}  {TOWN_ADMIN[0]}  {TOWN_ADMIN[1]}",
    ]
    for v in plan.villages:
        lines.append(f"  村管理员 village admin    {v.name}  {v.admin[0]}  {v.admin[1]}")
    for v in plan.villages:
        lines.append(f"  积分超市店员 store clerk  {v.name}  {v.clerk[0]}  {v.clerk[1]}")
    lines += [
        "",
        "Residents: mutation requestLoginCode(phone), then loginWithCode(phone, code);",
        "  the code is printed in the server log (event sms.login_code, SMS_SENDER=log)",
        f"  邻长 neighbour chief      {unit}  {chief}  {chief_phone}",
        f"  党员 party member         {first}  {party_member}  {party_phone}",
        f"  居民 resident (户主)      {first} {number}  {resident}  {resident_phone}",
        "",
        "Village affairs: notices (one revised, one pinned, one for 东片 only), effective reads,",
        "  group accounts published monthly (one correction) and questions on them.",
        "Jobs: a cooperative or farm per village and a factory for the whole town, with open",
        "  postings, labour profiles, applications and return-home reports.",
        "Party-member links: every household linked to a party member (a few moved), three",
        "  months of visits with problems found, last month's scores published, last quarter's",
        "  最美邻长 honoured. The party member above sees their households (linkedHouseholds).",
        "Requests: residents' problems in every state of the loop (received, in progress,",
        "  escalated to the village, resolved, rated, reopened) for chiefs and admins to follow.",
        "Points: every village has earning rules, a store catalog, a few months of awards,",
        f"  claims and redemptions. {resident} has a reserved redemption: see its pickup code with",
        "  `myRedemptions`, then confirm it as the store clerk with `confirmPickup(code)`.",
        "",
        "Anyone above: `village token --phone PHONE` prints an access token.",
    ]
    return "\n".join(lines)
