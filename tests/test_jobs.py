"""Employment information: postings near home, applications, matching, return reports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from grid import appointments
from grid.households import update_household
from models import Household, JobPosting, LabourProfile, PointsAward
from rewards import check, rules
from rewards.periods import CHINA
from tests.support import build_village, gid
from tests.test_tenancy import mutations_of

EMPLOYER = """mutation($i: CreateEmployerInput!) { createEmployer(input: $i) { employer { id } errors { code field } } }"""
POSTING = """mutation($i: CreateJobPostingInput!) { createJobPosting(input: $i) { posting { id status } errors { code field } } }"""
LIST = "{ jobPostings(first: 20) { edges { node { id title } } } }"
APPLY = """mutation($p: ID!) { applyForJob(input: {postingId: $p}) { application { id status } errors { code } } }"""
MOVE = """mutation($a: ID!, $s: ApplicationStatus!) { moveJobApplication(input: {applicationId: $a, status: $s}) {
  application { status } errors { code } } }"""
RETURN = """mutation($i: ReportReturnInput!) { reportReturn(input: $i) { report { id pointsAwarded } alreadyReported errors { code } } }"""


def _china_today() -> date:
    return datetime.now(CHINA).date()


async def _employer(api, scope, token, name="青山茶叶合作社"):
    made = await api.data(EMPLOYER, {"i": {"scopeId": gid("OrgUnit", scope.id), "name": name, "kind": "COOPERATIVE",
                                           "contactName": "陈经理", "contactPhone": "13912340000"}}, token)
    assert made["createEmployer"]["errors"] == [], made
    return made["createEmployer"]["employer"]["id"]


def _posting(employer, title, category="采茶", skills=(), **extra):
    return {"i": {"employerId": employer, "title": title, "category": category, "description": "按天结算",
                  "payMin": 120, "payMax": 150, "payUnit": "DAY", "place": "茶园", "headcount": 2,
                  "skills": list(skills), "open": True, **extra}}


async def test_postings_are_visible_in_their_village_and_in_their_whole_town(api, session, settings):
    v = await build_village(session, settings, "岗村")
    neighbour = await build_village(session, settings, "邻岗村", town=v.town)
    town_admin = await _town_admin(session, v)
    village_job = await api.data(POSTING, _posting(await _employer(api, v.village, api.token_for(v.admin)), "采茶工"),
                                 api.token_for(v.admin))
    town_job = await api.data(POSTING, _posting(await _employer(api, v.town, api.token_for(town_admin), "镇农业公司"),
                                                "果园工人"), api.token_for(town_admin))
    assert village_job["createJobPosting"]["posting"]["status"] == "OPEN"
    here = await api.data(LIST, token=api.token_for(v.resident_user))
    there = await api.data(LIST, token=api.token_for(neighbour.resident_user))
    assert {e["node"]["title"] for e in here["jobPostings"]["edges"]} == {"采茶工", "果园工人"}
    assert {e["node"]["title"] for e in there["jobPostings"]["edges"]} == {"果园工人"}
    applied = await api.data(APPLY, {"p": village_job["createJobPosting"]["posting"]["id"]},
                             api.token_for(neighbour.resident_user))
    assert applied["applyForJob"]["errors"] == [{"code": "NOT_FOUND"}]
    assert town_job["createJobPosting"]["errors"] == []


async def _town_admin(session, v):
    from models import User

    admin = User(phone="13988887777", display_name="镇管理员")
    session.add(admin)
    await session.flush()
    await appointments.appoint(session, v.town, admin, "town_admin", appointed_by=None, now=datetime.now(UTC))
    return admin


async def test_application_lifecycle_and_refused_moves(api, session, settings):
    v = await build_village(session, settings, "聘村")
    admin, resident = api.token_for(v.admin), api.token_for(v.resident_user)
    posting = (await api.data(POSTING, _posting(await _employer(api, v.village, admin), "采茶工", headcount=1), admin))
    posting_id = posting["createJobPosting"]["posting"]["id"]
    application = (await api.data(APPLY, {"p": posting_id}, resident))["applyForJob"]["application"]
    other = api.token_for(await appointments.user_for_resident(session, v.residents[0]))
    runner_up = (await api.data(APPLY, {"p": posting_id}, other))["applyForJob"]["application"]
    again = await api.data(APPLY, {"p": posting_id}, resident)
    assert again["applyForJob"]["errors"] == [{"code": "ALREADY_APPLIED"}]
    assert (await api.data(MOVE, {"a": application["id"], "s": "CONTACTED"}, admin))["moveJobApplication"]["application"]["status"] == "CONTACTED"
    assert (await api.data(MOVE, {"a": application["id"], "s": "SUBMITTED"}, admin))["moveJobApplication"]["errors"] == [{"code": "INVALID_INPUT"}]
    assert (await api.data(MOVE, {"a": application["id"], "s": "HIRED"}, admin))["moveJobApplication"]["application"]["status"] == "HIRED"
    assert (await api.data(MOVE, {"a": application["id"], "s": "DECLINED"}, admin))["moveJobApplication"]["errors"] == [{"code": "INVALID_TRANSITION"}]
    profile = await session.get(LabourProfile, v.residents[-1].id)
    assert profile.status == "working_locally"
    assert (await session.scalar(select(JobPosting.status).where(JobPosting.id == int(_decode(posting_id))))) == "filled"
    # its one place is taken: a second hire is refused, and nothing moves
    refused = await api.data(MOVE, {"a": runner_up["id"], "s": "HIRED"}, admin)
    assert refused["moveJobApplication"]["errors"] == [{"code": "POSTING_NOT_OPEN"}]
    mine = await api.data("{ jobApplications { edges { node { status posting { title } } } } }", token=resident)
    assert mine["jobApplications"]["edges"][0]["node"] == {"status": "HIRED", "posting": {"title": "采茶工"}}


def _decode(global_id: str) -> str:
    import base64

    return base64.b64decode(global_id).decode().split(":")[1]


async def test_matching_ranks_by_category_then_skills_then_nearness(api, session, settings):
    v = await build_village(session, settings, "配村")
    town_admin = await _town_admin(session, v)
    admin, resident = api.token_for(v.admin), api.token_for(v.resident_user)
    village_employer = await _employer(api, v.village, admin)
    town_employer = await _employer(api, v.town, api.token_for(town_admin), "镇公司")
    for employer, title, category, skills, token in [
        (village_employer, "保洁员", "保洁", [], admin),
        (village_employer, "采茶工", "采茶", ["采茶"], admin),
        (town_employer, "茶叶加工", "采茶", ["采茶", "炒茶"], api.token_for(town_admin)),
        (town_employer, "司机", "运输", ["驾驶"], api.token_for(town_admin)),
    ]:
        await api.data(POSTING, _posting(employer, title, category, skills), token)
    await api.data("""mutation { saveLabourProfile(input: {status: LOOKING, skills: ["采茶", "炒茶"],
                   wantedCategories: ["采茶"]}) { errors { code } } }""", token=resident)
    ranked = await api.data(LIST, token=resident)
    assert [e["node"]["title"] for e in ranked["jobPostings"]["edges"]] == ["茶叶加工", "采茶工", "保洁员", "司机"]
    postings = await api.data("query($s: ID) { jobPostings(scopeId: $s) { edges { node { id title } } } }",
                              {"s": gid("OrgUnit", v.village.id)}, admin)
    # the village's admin manages the village's postings; the town's are the town's
    assert {e["node"]["title"] for e in postings["jobPostings"]["edges"]} == {"保洁员", "采茶工"}
    tea = next(e["node"]["id"] for e in postings["jobPostings"]["edges"] if e["node"]["title"] == "采茶工")
    seekers = await api.data("query($p: ID!) { jobSeekers(postingId: $p) { edges { node { name fit } } } }",
                             {"p": tea}, admin)
    assert [e["node"]["name"] for e in seekers["jobSeekers"]["edges"]] == [v.residents[-1].name]


async def test_a_return_report_awards_once_and_brings_the_household_home(api, session, settings):
    v = await build_village(session, settings, "返村")
    await rules.create_rule(session, v.village.id, "return", rules.RuleTerms(
        name="返乡报备", points=10, trigger="event", event_type="return_report"), v.admin.id, datetime.now(UTC))
    household = v.households[-1]
    await update_household(session, household, living_status="working_away", now=datetime.now(UTC))
    report = {"i": {"fromPlace": "广东东莞", "returnedOn": _china_today().isoformat(),
                    "plan": "LOOK_FOR_WORK"}}
    first = (await api.data(RETURN, report, api.token_for(v.resident_user)))["reportReturn"]
    second = (await api.data(RETURN, report, api.token_for(v.resident_user)))["reportReturn"]
    assert first["report"]["pointsAwarded"] == 10 and first["alreadyReported"] is False
    assert second["alreadyReported"] is True and second["report"]["id"] == first["report"]["id"]
    assert await session.scalar(select(func.count()).select_from(PointsAward)
                                .where(PointsAward.household_id == household.id)) == 1
    assert (await session.get(Household, household.id, populate_existing=True)).living_status == "at_home"
    assert (await session.get(LabourProfile, v.residents[-1].id)).status == "looking"
    assert await check.violations(session) == {}


async def test_only_a_return_from_away_earns_points_and_only_a_recent_one_is_taken(api, session, settings):
    from jobs.people import report_return

    v = await build_village(session, settings, "归村")
    await rules.create_rule(session, v.village.id, "return", rules.RuleTerms(
        name="返乡报备", points=10, trigger="event", event_type="return_report"), v.admin.id, datetime.now(UTC))
    token = api.token_for(v.resident_user)  # their household is recorded at home, and they have no profile

    def report(days_ago: int) -> dict:
        return {"i": {"fromPlace": "长沙", "returnedOn": (date.today() - timedelta(days=days_ago)).isoformat(),
                      "plan": "STAY"}}

    home = (await api.data(RETURN, report(1), token))["reportReturn"]
    assert home["errors"] == [] and home["report"]["pointsAwarded"] == 0  # recorded; nothing to earn
    old = (await api.data(RETURN, report(31), token))["reportReturn"]
    assert old["errors"] == [{"code": "INVALID_INPUT"}] and old["report"] is None
    assert await session.scalar(select(func.count()).select_from(PointsAward)
                                .where(PointsAward.village_id == v.village.id)) == 0
    # who came home in a period: by the day they came, not the day they reported it
    window = {"s": f"{date.today() - timedelta(days=2)}T00:00:00+08:00", "e": f"{date.today()}T00:00:00+08:00"}
    by_day = """query($s: DateTime, $e: DateTime) { returnReports(since: $s, until: $e) {
        edges { node { returnedOn } } } }"""
    listed = await api.data(by_day, window, api.token_for(v.admin))
    assert [e["node"]["returnedOn"] for e in listed["returnReports"]["edges"]] == [
        (date.today() - timedelta(days=1)).isoformat()]
    # a period ending in the morning of that day still holds the day's returns
    morning = {**window, "e": f"{date.today() - timedelta(days=1)}T09:00:00+08:00"}
    assert len((await api.data(by_day, morning, api.token_for(v.admin)))["returnReports"]["edges"]) == 1
    # early morning in China is still the UTC day before: "today" is China's
    household = await session.get(Household, v.households[-1].id)
    china_day = date.today() + timedelta(days=30)  # a clock ahead of the rows made today
    await update_household(session, household, living_status="working_away",
                           now=datetime.combine(china_day - timedelta(days=5), datetime.min.time(), UTC))
    morning = datetime.combine(china_day, datetime.min.time(), UTC) - timedelta(minutes=30)  # 07:30 in China
    made, new = await report_return(
        session, resident_id=v.residents[-1].id, household=household, user_id=v.resident_user.id,
        from_place="长沙", returned_on=china_day, plan="stay", now=morning,
    )
    assert new and made.points_awarded == 10
    assert await check.violations(session) == {}


async def test_figures_on_a_known_fixture(api, session, settings):
    from jobs.people import ProfileTerms, save_profile

    v = await build_village(session, settings, "计村")
    now = datetime.now(UTC)
    for resident, status in zip(v.residents, ["working_locally", "working_locally", "working_away", "looking",
                                              "retired", "student", "working_away", "looking"], strict=True):
        await save_profile(session, resident.id, v.village.id, ProfileTerms(status=status), now)
    admin = api.token_for(v.admin)
    await api.data(POSTING, _posting(await _employer(api, v.village, admin), "采茶工"), admin)
    shown = await api.data(
        """query($u: ID!, $s: DateTime!, $e: DateTime!) { employmentFigures(unitId: $u, since: $s, until: $e) {
             laborForce: labourForce workingLocally workingAway looking employmentRate openPostings openPositions hires } }""",
        {"u": gid("OrgUnit", v.village.id), "s": (now - timedelta(days=30)).isoformat(), "e": (now + timedelta(days=1)).isoformat()},
        admin,
    )
    assert shown["employmentFigures"] == {"laborForce": 6, "workingLocally": 2, "workingAway": 2, "looking": 2,
                                          "employmentRate": 0.6667, "openPostings": 1, "openPositions": 2, "hires": 0}


async def test_bad_input_and_another_village_are_refused_and_write_nothing(api, session, settings):
    v = await build_village(session, settings, "拒岗村")
    other = await build_village(session, settings, "外岗村")
    admin = api.token_for(v.admin)
    employer = await _employer(api, v.village, admin)
    before = await session.scalar(select(func.count()).select_from(JobPosting))
    reversed_pay = await api.data(POSTING, _posting(employer, "x", payMin=200, payMax=100), admin)
    assert reversed_pay["createJobPosting"]["errors"] == [{"code": "INVALID_INPUT", "field": "payMax"}]
    no_one = await api.data(POSTING, _posting(employer, "x", headcount=0), admin)
    assert no_one["createJobPosting"]["errors"] == [{"code": "INVALID_INPUT", "field": "headcount"}]
    assert await session.scalar(select(func.count()).select_from(JobPosting)) == before
    posting = (await api.data(POSTING, _posting(employer, "采茶工"), admin))["createJobPosting"]["posting"]["id"]
    application = (await api.data(APPLY, {"p": posting}, api.token_for(v.resident_user)))["applyForJob"]["application"]["id"]
    foreign = api.token_for(other.admin)
    calls = {
        "createEmployer": (EMPLOYER, {"i": {"scopeId": gid("OrgUnit", v.village.id), "name": "x", "kind": "FARM",
                                            "contactName": "x", "contactPhone": "13900001111"}}),
        "createJobPosting": (POSTING, _posting(employer, "x")),
        "setJobPostingStatus": ("""mutation($i: SetJobPostingStatusInput!) { setJobPostingStatus(input: $i) { errors { code } } }""",
                                {"i": {"postingId": posting, "status": "CLOSED"}}),
        "moveJobApplication": (MOVE, {"a": application, "s": "HIRED"}),
        "saveLabourProfile": ("""mutation($i: SaveLabourProfileInput!) { saveLabourProfile(input: $i) { errors { code } } }""",
                              {"i": {"status": "LOOKING", "residentId": gid("Resident", v.residents[0].id)}}),
        "applyForJob": (APPLY, {"p": posting}),
        "reportReturn": (RETURN, {"i": {"fromPlace": "x", "returnedOn": "2026-01-01", "plan": "STAY"}}),
    }
    assert mutations_of("resolvers.jobs") == set(calls)
    for name, (query, variables) in calls.items():
        token = api.token_for(other.resident_user) if name in {"applyForJob"} else foreign
        if name == "reportReturn":
            continue  # a resident reports their own return: there is nothing of another village to name
        data = await api.data(query, variables, token)
        assert data[name]["errors"][0]["code"] == "NOT_FOUND", (name, data)
    assert await api.error_code("query($s: ID) { jobPostings(scopeId: $s) { edges { cursor } } }",
                                {"s": gid("OrgUnit", v.village.id)}, foreign) == "NOT_FOUND"


async def test_figures_drill_down_to_the_people(api, session, settings):
    from jobs.people import ProfileTerms, save_profile

    v = await build_village(session, settings, "钻村")
    now = datetime.now(UTC)
    for resident, status in zip(v.residents[:3], ["looking", "working_away", "looking"], strict=True):
        await save_profile(session, resident.id, v.village.id, ProfileTerms(status=status), now)
    shown = await api.data(
        "query($u: ID!) { labourProfiles(unitId: $u, status: LOOKING) { edges { node { name profile { status } } } } }",
        {"u": gid("OrgUnit", v.village.id)}, api.token_for(v.admin))
    assert sorted(e["node"]["name"] for e in shown["labourProfiles"]["edges"]) == sorted(
        [v.residents[0].name, v.residents[2].name])
    assert await api.error_code(
        "query($u: ID!) { labourProfiles(unitId: $u) { edges { cursor } } }", {"u": gid("OrgUnit", v.village.id)},
        api.token_for(v.chief)) == "FORBIDDEN"


async def test_a_profile_away_earns_once_per_time_away(api, session, settings):
    from jobs.people import ProfileTerms, save_profile

    v = await build_village(session, settings, "往返村")
    await rules.create_rule(session, v.village.id, "return", rules.RuleTerms(
        name="返乡报备", points=10, trigger="event", event_type="return_report"), v.admin.id, datetime.now(UTC))
    resident, token = v.residents[-1], api.token_for(v.resident_user)  # their household is recorded at home
    await save_profile(session, resident.id, v.village.id, ProfileTerms(status="working_away"),
                       datetime.now(UTC) - timedelta(days=10))

    async def report(days_ago: int) -> int:
        done = await api.data(RETURN, {"i": {"fromPlace": "长沙", "plan": "TEMPORARY",
                                             "returnedOn": (_china_today() - timedelta(days=days_ago)).isoformat()}}, token)
        return done["reportReturn"]["report"]["pointsAwarded"]

    assert await report(5) == 10
    assert await report(4) == 0  # the same time away, reported again under another date
    await save_profile(session, resident.id, v.village.id, ProfileTerms(status="working_away", skills=["驾驶"]),
                       datetime.now(UTC))
    assert await report(3) == 0  # editing the profile is not leaving again
    await save_profile(session, resident.id, v.village.id, ProfileTerms(status="working_locally"), datetime.now(UTC))
    await save_profile(session, resident.id, v.village.id, ProfileTerms(status="working_away"), datetime.now(UTC))
    assert await report(0) == 10  # gone again (the status changed back to away since), and back today


async def test_a_profile_set_away_after_the_return_day_earns_nothing(api, session, settings):
    from jobs.people import ProfileTerms, save_profile

    v = await build_village(session, settings, "补报村")
    await rules.create_rule(session, v.village.id, "return", rules.RuleTerms(
        name="返乡报备", points=10, trigger="event", event_type="return_report"), v.admin.id, datetime.now(UTC))
    await save_profile(session, v.residents[-1].id, v.village.id, ProfileTerms(status="working_away"), datetime.now(UTC))
    done = await api.data(RETURN, {"i": {"fromPlace": "长沙", "plan": "STAY", "returnedOn": (
        _china_today() - timedelta(days=1)).isoformat()}}, api.token_for(v.resident_user))
    assert done["reportReturn"]["errors"] == [] and done["reportReturn"]["report"]["pointsAwarded"] == 0


async def test_members_of_a_household_away_coming_home_together_each_earn(api, session, settings):
    v = await build_village(session, settings, "同归村")
    await rules.create_rule(session, v.village.id, "return", rules.RuleTerms(
        name="返乡报备", points=10, trigger="event", event_type="return_report"), v.admin.id, datetime.now(UTC))
    await update_household(session, v.households[-1], living_status="working_away", now=datetime.now(UTC))
    spouse = await appointments.user_for_resident(session, v.residents[-2])
    tap = {"i": {"fromPlace": "广州", "plan": "STAY", "returnedOn": _china_today().isoformat()}}
    for user in (v.resident_user, spouse):  # the first report brings the household home; the second still counts
        done = await api.data(RETURN, tap, api.token_for(user))
        assert done["reportReturn"]["report"]["pointsAwarded"] == 10
    again = {"i": {**tap["i"], "returnedOn": (_china_today() - timedelta(days=1)).isoformat()}}
    assert (await api.data(RETURN, again, api.token_for(spouse)))["reportReturn"]["report"]["pointsAwarded"] == 0


async def test_a_new_time_away_counts_even_beside_an_old_away_profile(api, session, settings):
    from jobs.people import ProfileTerms, save_profile

    v = await build_village(session, settings, "又离村")
    await rules.create_rule(session, v.village.id, "return", rules.RuleTerms(
        name="返乡报备", points=10, trigger="event", event_type="return_report"), v.admin.id, datetime.now(UTC))
    await save_profile(session, v.residents[-1].id, v.village.id, ProfileTerms(status="working_away"),
                       datetime.now(UTC) - timedelta(days=20))
    token = api.token_for(v.resident_user)

    async def report(day: date) -> int:
        done = await api.data(RETURN, {"i": {"fromPlace": "长沙", "plan": "STAY", "returnedOn": day.isoformat()}}, token)
        return done["reportReturn"]["report"]["pointsAwarded"]

    assert await report(_china_today() - timedelta(days=10)) == 10  # the profile's time away
    # later the whole household goes away and comes back: a new time away, though the profile never changed
    await update_household(session, v.households[-1], living_status="working_away", now=datetime.now(UTC))
    assert await report(_china_today()) == 10


async def test_a_resident_who_moves_takes_their_labour_profile_to_the_new_village(api, session, settings):
    from grid import residents
    from models import HouseholdMembership

    v = await build_village(session, settings, "迁出村")
    there = await build_village(session, settings, "迁入村", town=v.town)
    admin, resident = api.token_for(v.admin), api.token_for(v.resident_user)
    await api.data("""mutation { saveLabourProfile(input: {status: LOOKING, skills: ["采茶"]}) { errors { code } } }""",
                   token=resident)
    posting = await api.data(POSTING, _posting(await _employer(api, v.village, admin), "采茶工"), admin)
    application = (await api.data(APPLY, {"p": posting["createJobPosting"]["posting"]["id"]}, resident))[
        "applyForJob"]["application"]
    mover = v.residents[-1]
    membership = await session.scalar(select(HouseholdMembership).where(
        HouseholdMembership.resident_id == mover.id, HouseholdMembership.valid_to.is_(None)))
    await residents.move_resident(session, mover, membership, there.households[0], "other", "投亲",
                                  datetime.now(UTC))
    listed = """query($u: ID!) { labourProfiles(unitId: $u) { edges { node { name } } } }"""
    assert (await api.data(listed, {"u": gid("OrgUnit", v.village.id)}, admin))["labourProfiles"]["edges"] == []
    assert len((await api.data(listed, {"u": gid("OrgUnit", there.village.id)}, api.token_for(there.admin)))[
        "labourProfiles"]["edges"]) == 1
    # hired on what they applied for before moving: the profile stays with where they live
    assert (await api.data(MOVE, {"a": application["id"], "s": "HIRED"}, admin))["moveJobApplication"]["errors"] == []
    profile = await session.get(LabourProfile, mover.id, populate_existing=True)
    assert (profile.village_id, profile.status) == (there.village.id, "working_locally")


async def test_applications_employers_and_return_reports_are_nodes_for_whom_they_concern(api, session, settings):
    v = await build_village(session, settings, "节聘村")
    other = await build_village(session, settings, "外聘村")
    admin, resident, stranger = api.token_for(v.admin), api.token_for(v.resident_user), api.token_for(other.admin)
    employer = await _employer(api, v.village, admin)
    posting = await api.data(POSTING, _posting(employer, "采茶工"), admin)
    application = (await api.data(APPLY, {"p": posting["createJobPosting"]["posting"]["id"]}, resident))[
        "applyForJob"]["application"]["id"]
    report = (await api.data(RETURN, {"i": {"fromPlace": "长沙", "plan": "STAY",
                                            "returnedOn": _china_today().isoformat()}}, resident))["reportReturn"]
    node = "query($id: ID!) { node(id: $id) { id } }"
    for global_id in (employer, application, report["report"]["id"]):
        for token in (resident, admin):  # the resident's own (or their village's employer), and the admin's
            assert (await api.data(node, {"id": global_id}, token))["node"]["id"] == global_id
        assert await api.error_code(node, {"id": global_id}, stranger) == "NOT_FOUND"
