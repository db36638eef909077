"""Party-member household links: history, visits and their correction window, monthly
coverage, visibility per role, and the cost of the "my households" list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from grid import households
from household_links import coverage, links, visits
from household_links.errors import LinkError, LinkErrorCode
from models import ResidentRequest, VisitProblem
from tests.links_support import days, log_visit, month_ahead, party_member, viewer_of
from tests.support import build_village, gid

LINK = """mutation($i: LinkHouseholdsInput!) { linkHouseholds(input: $i) {
  links { validFrom member { displayName } household { number } } errors { code field message } } }"""
LOG = """mutation($i: LogVisitInput!) { logVisit(input: $i) {
  visit { id mode revision authorRole problems { category description requestId } }
  errors { code field message } } }"""
CORRECT = """mutation($i: CorrectVisitInput!) { correctVisit(input: $i) {
  visit { id mode revision notes problems { description requestId }
          revisions { revision mode notes reason recordedByName problems { description } } }
  errors { code field message } } }"""
MINE = """query { linkedHouseholds(first: 50) { edges { node {
  household { number } livingStatus contactNeeded dueThisMonth linkedSince
  lastContact { occurredAt mode authorName } members { name relation phone } } } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"


async def test_link_history_survives_reassignment(session, settings):
    v = await build_village(session, settings, "联村")
    a, b = await party_member(session, v, 2), await party_member(session, v, 4)
    m0 = month_ahead()
    h = v.households[0]
    await links.link(session, [h], a, linked_by=v.admin.id, now=m0 + days(1))
    await links.link(session, [h], a, linked_by=v.admin.id, now=m0 + days(2))  # already theirs: no new row
    await links.link(session, [h], b, linked_by=v.admin.id, now=m0 + days(10), reason="甲外出务工")
    history = await links.history(session, h.id)
    assert [(r.member_user_id, r.valid_from, r.valid_to) for r in history] == [
        (b.id, m0 + days(10), None), (a.id, m0 + days(1), m0 + days(10)),
    ]
    assert history[1].end_reason == "甲外出务工" and history[1].ended_by_id == v.admin.id
    assert [r.member_user_id for r in await links.history(session, h.id, at=m0 + days(5))] == [a.id]
    assert [r.member_user_id for r in await links.history(session, h.id, at=m0 + days(15))] == [b.id]
    assert await links.history(session, h.id, at=m0) == []
    # the database keeps it history: a link cannot be rewritten or removed
    for statement in ("UPDATE household_links SET member_user_id = :b WHERE household_id = :h",
                      "DELETE FROM household_links WHERE household_id = :h"):
        with pytest.raises(DBAPIError, match="cannot change|cannot be deleted"):
            async with session.begin_nested():
                await session.execute(text(statement), {"b": b.id, "h": h.id})
    # only a party member of the village can be linked
    with pytest.raises(LinkError) as refused:
        await links.party_member(session, v.village, v.resident_user.id, m0)
    assert refused.value.code is LinkErrorCode.NOT_A_PARTY_MEMBER


async def test_linking_a_unit_through_the_api_and_asking_who_was_responsible(api, session, settings):
    v = await build_village(session, settings, "批村")
    a, b = await party_member(session, v, 2), await party_member(session, v, 4)
    admin = api.token_for(v.admin)
    whole = await api.data(LINK, {"i": {"memberId": gid("User", a.id), "unitId": gid("OrgUnit", v.group.id)}}, admin)
    assert whole["linkHouseholds"]["errors"] == []
    assert len(whole["linkHouseholds"]["links"]) == 4
    moved = await api.data(LINK, {"i": {"memberId": gid("User", b.id),
                                        "householdIds": [gid("Household", v.households[0].id)]}}, admin)
    assert [link["member"]["displayName"] for link in moved["linkHouseholds"]["links"]] == [b.display_name]
    history = await api.data(
        "query($h: ID!) { householdLinks(householdId: $h) { member { displayName } validTo endReason } }",
        {"h": gid("Household", v.households[0].id)}, admin)
    assert [(x["member"]["displayName"], x["validTo"] is None) for x in history["householdLinks"]] == [
        (b.display_name, True), (a.display_name, False)]
    assert history["householdLinks"][1]["endReason"] == f"改由{b.display_name}联系"
    refused = await api.data(LINK, {"i": {"memberId": gid("User", v.resident_user.id),
                                          "householdIds": [gid("Household", v.households[1].id)]}}, admin)
    assert refused["linkHouseholds"]["errors"][0]["code"] == "NOT_A_PARTY_MEMBER"
    # a party member cannot link households (only admins manage links)
    assert (await api.post(LINK, {"i": {"memberId": gid("User", a.id), "unitId": gid("OrgUnit", v.group.id)}},
                           api.token_for(a)))["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_coverage_across_month_boundaries_link_changes_and_living_status(session, settings):
    v = await build_village(session, settings, "覆村")
    a, b = await party_member(session, v, 2), await party_member(session, v, 4)
    h0, h1, h2, h3 = v.households  # h0, h1 in the first neighbourhood; h3 is never linked
    m0 = month_ahead()
    m1 = coverage.month_of(m0 + days(40), m0 + days(40)).start
    await links.link(session, [h0, h1, h2], a, linked_by=v.admin.id, now=m0 + days(1))
    await log_visit(session, a, h0, "in_person", m0 + days(3))
    await log_visit(session, a, h1, "phone", m0 + days(4))            # at home: a call is not enough
    await log_visit(session, a, h2, "phone", m0 + days(5))            # enough once h2 works away
    await households.update_household(session, h2, living_status="working_away", now=m0 + days(20))
    await log_visit(session, a, h1, "in_person", m1)                  # the first instant of the next month
    await links.link(session, [h1], b, linked_by=v.admin.id, now=m1 + days(3))

    month0 = coverage.month_of(m0 + days(2), m1 + days(10))
    assert month0.at == m1 - timedelta(microseconds=1)
    [(member, tally)] = await coverage.member_tallies(session, month0, member_user_id=a.id)
    assert (member.id, tally.required, tally.covered) == (a.id, 3, 2)  # h1 missed
    village = await coverage.unit_tally(session, v.village, month0)
    assert (village.required, village.covered, village.unlinked, village.due) == (4, 2, 1, 2)
    hoods = await coverage.child_tallies(session, v.group, month0)
    assert [(u.id, t.required, t.covered) for u, t in hoods] == [
        (v.neighbourhoods[0].id, 2, 1), (v.neighbourhoods[1].id, 2, 1)]
    due = (await session.execute(coverage.due_households(month0, unit_path=v.village.path))).all()
    assert sorted(r[0].id for r in due) == [h1.id, h3.id]

    # the running month: h1 is b's now, and a's visit on the 1st already covers it
    month1 = coverage.month_of(m1 + days(10), m1 + days(10))
    assert month1.at == m1 + days(10)
    per_member = {m.id: (t.required, t.covered) for m, t in
                  await coverage.member_tallies(session, month1, unit=v.village)}
    assert per_member == {a.id: (2, 0), b.id: (1, 1)}
    # h2 works away now, so any contact will do; h0 lives at home and needs a visit in person
    due_a = (await session.execute(coverage.due_households(month1, member_user_id=a.id))).all()
    assert {r[0].id: r[3] for r in due_a} == {h0.id: "at_home", h2.id: "working_away"}


async def test_only_the_linked_member_or_a_chief_over_it_logs_a_visit(session, settings):
    v = await build_village(session, settings, "访村")
    a, c = await party_member(session, v, 2), await party_member(session, v, 4)
    now = datetime.now(UTC)
    await links.link(session, [v.households[0]], a, linked_by=v.admin.id, now=now)
    assert (await log_visit(session, a, v.households[0], "in_person", now)).author_role == "party_member"
    # the chief heads the first neighbourhood: h1 is theirs to visit, h2 is not
    assert (await log_visit(session, v.chief, v.households[1], "video", now)).author_role == "chief"
    for author, household in ((c, v.households[0]), (v.chief, v.households[2]), (a, v.households[1])):
        with pytest.raises(LinkError) as refused:
            await log_visit(session, author, household, "in_person", now)
        assert refused.value.code is LinkErrorCode.NOT_RESPONSIBLE
    for bad, field in (({"occurred_at": now + timedelta(hours=2)}, "occurredAt"),
                       ({"occurred_at": now - timedelta(days=70)}, "occurredAt"),
                       ({"mode": "letter"}, "mode")):
        args = {"mode": "in_person", "occurred_at": now, **bad}
        with pytest.raises(LinkError) as refused:
            viewer = await viewer_of(session, a, now)
            await visits.log_visit(session, viewer, v.households[0], v.neighbourhoods[0].path,
                                   notes=None, location=visits.Location(), problems=[], now=now, **args)
        assert refused.value.field == field


async def test_problems_can_be_raised_as_requests_and_visits_are_corrected_within_24_hours(api, session, settings):
    v = await build_village(session, settings, "改村")
    a = await party_member(session, v, 2)
    now = datetime.now(UTC)
    await links.link(session, v.households[:2], a, linked_by=v.admin.id, now=now - days(3))
    token = api.token_for(a)
    logged = await api.data(LOG, {"i": {
        "householdId": gid("Household", v.households[0].id), "mode": "PHONE",
        "occurredAt": (now - timedelta(hours=2)).isoformat(), "notes": "电话联系，家中老人身体不适",
        "location": {"place": "村部"}, "idempotencyKey": "visit-1",
        "problems": [{"category": "LIVELIHOOD", "description": "老人独居缺人照料", "raiseRequest": True},
                     {"category": "INFRASTRUCTURE", "description": "门前路灯不亮"}]}}, token)
    visit = logged["logVisit"]["visit"]
    assert logged["logVisit"]["errors"] == [] and visit["revision"] == 1
    raised = visit["problems"][0]["requestId"]
    assert raised is not None and visit["problems"][1]["requestId"] is None
    request = await session.scalar(select(ResidentRequest).where(ResidentRequest.household_id == v.households[0].id))
    assert request.description == "老人独居缺人照料" and request.status == "received"
    # a retry with the same key is the same visit; the key on another visit is refused
    again = await api.data(LOG, {"i": {
        "householdId": gid("Household", v.households[0].id), "mode": "PHONE", "notes": "电话联系，家中老人身体不适",
        "occurredAt": (now - timedelta(hours=2)).isoformat(), "idempotencyKey": "visit-1"}}, token)
    assert again["logVisit"]["visit"]["id"] == visit["id"]
    reused = await api.data(LOG, {"i": {
        "householdId": gid("Household", v.households[1].id), "mode": "PHONE",
        "occurredAt": (now - timedelta(hours=2)).isoformat(), "idempotencyKey": "visit-1"}}, token)
    assert reused["logVisit"]["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    # a blank key is not "no key": it would match every visit logged without one
    keyless = {"householdId": gid("Household", v.households[1].id), "mode": "PHONE",
               "occurredAt": (now - timedelta(hours=1)).isoformat()}
    assert (await api.data(LOG, {"i": keyless}, token))["logVisit"]["errors"] == []
    blank = await api.data(LOG, {"i": {**keyless, "idempotencyKey": "  "}}, token)
    assert [(e["code"], e["field"]) for e in blank["logVisit"]["errors"]] == [("INVALID_INPUT", "idempotencyKey")]

    corrected = await api.data(CORRECT, {"i": {
        "visitId": visit["id"], "reason": "实为上门走访", "mode": "IN_PERSON", "notes": "上门看望老人",
        "problems": [{"category": "ENVIRONMENT", "description": "屋后排水沟堵塞"}]}}, token)
    fixed = corrected["correctVisit"]["visit"]
    assert corrected["correctVisit"]["errors"] == []
    assert (fixed["mode"], fixed["revision"], fixed["notes"]) == ("IN_PERSON", 2, "上门看望老人")
    # the raised problem stays (it is being handled); the other is replaced
    assert [(p["description"], p["requestId"]) for p in fixed["problems"]] == [
        ("老人独居缺人照料", raised), ("屋后排水沟堵塞", None)]
    assert [(r["revision"], r["mode"], r["reason"]) for r in fixed["revisions"]] == [
        (1, "PHONE", None), (2, "IN_PERSON", "实为上门走访")]
    assert [p["description"] for p in fixed["revisions"][0]["problems"]] == ["老人独居缺人照料", "门前路灯不亮"]

    # someone else may not correct it; nobody may after 24 hours, not even with SQL; and a
    # visit whose version is recorded gets no new problems except with a new version
    assert (await api.data(CORRECT, {"i": {"visitId": visit["id"], "reason": "x", "notes": "y"}},
                           api.token_for(v.admin)))["correctVisit"]["errors"][0]["code"] == "NOT_THE_AUTHOR"
    old = await log_visit(session, a, v.households[1], "in_person", now - timedelta(hours=26),
                       logged=now - timedelta(hours=25))
    late = await api.data(CORRECT, {"i": {"visitId": gid("Visit", old.id), "reason": "补充", "notes": "补充"}}, token)
    assert late["correctVisit"]["errors"][0]["code"] == "CORRECTION_WINDOW_CLOSED"
    for statement in ("UPDATE visits SET notes = 'x', revision = revision + 1 WHERE id = :id",
                      "DELETE FROM visits WHERE id = :id",
                      "INSERT INTO visit_problems (visit_id, village_id, category, description)"
                      " SELECT id, village_id, 'other', '补记' FROM visits WHERE id = :id"):
        with pytest.raises(DBAPIError, match="correction window|cannot be deleted"):
            async with session.begin_nested():
                await session.execute(text(statement), {"id": old.id})
    with pytest.raises(DBAPIError, match="raised as a request stays"):
        async with session.begin_nested():
            await session.execute(text("DELETE FROM visit_problems WHERE request_id IS NOT NULL"))
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text("UPDATE visit_revisions SET notes = 'x'"))
    assert await session.scalar(select(VisitProblem.id).where(VisitProblem.description == "门前路灯不亮")) is None


async def test_my_households_shows_what_is_needed_at_the_door(api, session, settings):
    v = await build_village(session, settings, "门村")
    a = await party_member(session, v, 6)
    now = datetime.now(UTC)
    await links.link(session, v.households[:2], a, linked_by=v.admin.id, now=now - days(1))
    await households.update_household(session, v.households[1], living_status="working_away", now=now)
    await log_visit(session, v.chief, v.households[0], "in_person", now - timedelta(hours=3))
    mine = await api.data(MINE, token=api.token_for(a))
    rows = {e["node"]["household"]["number"]: e["node"] for e in mine["linkedHouseholds"]["edges"]}
    first, second = rows[v.households[0].number], rows[v.households[1].number]
    assert (first["dueThisMonth"], first["contactNeeded"], first["lastContact"]["authorName"]) == (
        False, "IN_PERSON", v.chief.display_name)
    assert (second["dueThisMonth"], second["contactNeeded"], second["lastContact"]) == (True, "ANY", None)
    assert second["livingStatus"] == "WORKING_AWAY"
    # the member phones households away: their members' phones are shown in full
    assert [m["phone"] for m in second["members"]] == [r.phone for r in v.residents[2:4]]
    assert second["members"][0]["relation"] == "HEAD"


async def test_my_households_costs_the_same_sql_whatever_its_length(api, session, settings, sql_count):
    v = await build_village(session, settings, "量村", households_per_neighbourhood=6)
    few, many = await party_member(session, v, 0), await party_member(session, v, 2)
    now = datetime.now(UTC)
    await links.link(session, v.households[:2], few, linked_by=v.admin.id, now=now - days(1))
    await links.link(session, v.households[2:], many, linked_by=v.admin.id, now=now - days(1))
    for h in v.households[:6]:  # the first neighbourhood's, visited by its chief
        await log_visit(session, v.chief, h, "phone", now - timedelta(hours=2))
    counts = []
    for member, expected in ((few, 2), (many, 10)):
        before = sql_count()
        mine = await api.data(MINE, token=api.token_for(member))
        counts.append(sql_count() - before)
        assert len(mine["linkedHouseholds"]["edges"]) == expected
    # viewer 2, the page, members, last visits, their authors; and the test session's savepoint pair
    assert counts[0] == counts[1] <= 8, counts


async def test_visibility_per_role_and_another_village(api, session, settings):
    v = await build_village(session, settings, "见村")
    other = await build_village(session, settings, "邻镇村")
    a, c = await party_member(session, v, 2), await party_member(session, v, 6)
    now = datetime.now(UTC)
    await links.link(session, v.households[:3], a, linked_by=v.admin.id, now=now - days(1))
    by_chief = await log_visit(session, v.chief, v.households[1], "in_person", now - timedelta(hours=5))
    by_member = await log_visit(session, a, v.households[2], "phone", now - timedelta(hours=4))
    ids = {by_chief.id: gid("Visit", by_chief.id), by_member.id: gid("Visit", by_member.id)}
    listing = "query { visits(first: 20) { edges { node { id } } } }"

    async def seen(user) -> set[str]:
        found = await api.data(listing, token=api.token_for(user))
        return {e["node"]["id"] for e in found["visits"]["edges"]}

    assert await seen(a) == set(ids.values())           # theirs, and visits on their households
    assert await seen(v.chief) == {ids[by_chief.id]}     # their neighbourhood only
    assert await seen(v.admin) == set(ids.values())
    assert await seen(c) == set() and await seen(other.admin) == set()
    for user in (c, other.admin):
        assert await api.error_code(NODE, {"id": ids[by_chief.id]}, api.token_for(user)) == "NOT_FOUND"
    assert await api.error_code(NODE, {"id": ids[by_member.id]}, api.token_for(v.chief)) == "NOT_FOUND"

    coverage_query = "query($u: ID!) { contactCoverage(unitId: $u) { coverage { required } } }"
    assert (await api.data(coverage_query, {"u": gid("OrgUnit", v.village.id)}, api.token_for(v.admin))
            )["contactCoverage"]["coverage"]["required"] == 4
    assert (await api.data(coverage_query, {"u": gid("OrgUnit", v.neighbourhoods[0].id)}, api.token_for(v.chief))
            )["contactCoverage"]["coverage"]["required"] == 2
    assert await api.error_code(coverage_query, {"u": gid("OrgUnit", v.village.id)},
                                api.token_for(other.admin)) == "NOT_FOUND"
    assert await api.error_code(coverage_query, {"u": gid("OrgUnit", v.village.id)}, api.token_for(a)) == "FORBIDDEN"
    # a member's own list and coverage; another member's only for the village's admins
    member_query = "query($m: ID) { memberCoverage(memberId: $m) { member { displayName } coverage { required covered } } }"
    assert (await api.data(member_query, {}, api.token_for(a)))["memberCoverage"]["coverage"] == {
        "required": 3, "covered": 1}
    assert (await api.data(member_query, {"m": gid("User", a.id)}, api.token_for(v.admin))
            )["memberCoverage"]["member"]["displayName"] == a.display_name
    for user in (c, v.chief, other.admin):
        assert await api.error_code(member_query, {"m": gid("User", a.id)}, api.token_for(user)) == "NOT_FOUND"
        assert await api.error_code(
            "query($m: ID) { linkedHouseholds(memberId: $m) { edges { node { dueThisMonth } } } }",
            {"m": gid("User", a.id)}, api.token_for(user)) == "NOT_FOUND"
    history = "query($h: ID!) { householdLinks(householdId: $h) { validFrom } }"
    assert await api.error_code(history, {"h": gid("Household", v.households[0].id)},
                                api.token_for(other.admin)) == "NOT_FOUND"
    due = await api.data("query($u: ID) { contactsDue(unitId: $u) { edges { node { household { number } member { displayName } } } } }",
                         {"u": gid("OrgUnit", v.village.id)}, api.token_for(v.admin))
    assert {e["node"]["household"]["number"]: (e["node"]["member"] or {}).get("displayName")
            for e in due["contactsDue"]["edges"]} == {
        v.households[0].number: a.display_name, v.households[2].number: a.display_name,
        v.households[3].number: None}


async def test_every_link_and_scoring_mutation_on_another_village_is_not_found(api, session, settings):
    from tests.test_tenancy import mutations_of

    v = await build_village(session, settings, "链甲村")
    other = await build_village(session, settings, "链乙村")
    a = await party_member(session, v, 2)
    now = datetime.now(UTC)
    await links.link(session, [v.households[0]], a, linked_by=v.admin.id, now=now - days(1))
    visit = await log_visit(session, a, v.households[0], "in_person", now - timedelta(hours=2))
    village, household = gid("OrgUnit", v.village.id), gid("Household", v.households[0].id)

    def m(name: str, input_type: str) -> str:
        return f"mutation($i: {input_type}!) {{ {name}(input: $i) {{ errors {{ code field }} }} }}"

    calls = {
        "linkHouseholds": (m("linkHouseholds", "LinkHouseholdsInput"),
                           {"memberId": gid("User", a.id), "householdIds": [household]}),
        "unlinkHouseholds": (m("unlinkHouseholds", "UnlinkHouseholdsInput"),
                             {"householdIds": [household], "reason": "x"}),
        "logVisit": (m("logVisit", "LogVisitInput"),
                     {"householdId": household, "mode": "PHONE", "occurredAt": now.isoformat()}),
        "correctVisit": (m("correctVisit", "CorrectVisitInput"),
                         {"visitId": gid("Visit", visit.id), "reason": "x", "notes": "y"}),
        "setScoringWeights": (m("setScoringWeights", "SetScoringWeightsInput"),
                              {"villageId": village, "contactWeight": 1, "problemWeight": 1, "pointsWeight": 1}),
        "publishScores": (m("publishScores", "PublishScoresInput"),
                          {"villageId": village, "period": "MONTH", "at": (now - days(40)).isoformat()}),
        "honourNeighbourChief": (m("honourNeighbourChief", "HonourNeighbourChiefInput"),
                                 {"villageId": village, "at": (now - days(100)).isoformat(),
                                  "chiefId": gid("User", v.chief.id), "citation": "x"}),
    }
    assert mutations_of("resolvers.household_links") | mutations_of("resolvers.party_scoring") == set(calls)
    tables = ["household_links", "visits", "visit_problems", "visit_revisions", "scoring_weights",
              "score_snapshots", "chief_honours"]

    async def counts():
        return [await session.scalar(text(f"SELECT count(*) FROM {t}")) for t in tables]

    before = await counts()
    for name, (query, variables) in calls.items():
        data = await api.data(query, {"i": variables}, api.token_for(other.admin))
        assert data[name]["errors"][0]["code"] == "NOT_FOUND", name
    assert await counts() == before


async def test_ending_a_party_members_post_ends_their_links(api, session, settings):
    from grid import appointments
    from models import Appointment

    v = await build_village(session, settings, "卸村")
    a, b = await party_member(session, v, 2), await party_member(session, v, 4)
    # b also serves in a neighbourhood: ending one of two posts in the village keeps the links
    await appointments.appoint(session, v.neighbourhoods[0], b, "party_member", appointed_by=v.admin.id,
                               now=datetime.now(UTC) - days(30))
    now = datetime.now(UTC)
    await links.link(session, v.households[:2], a, linked_by=v.admin.id, now=now - days(2))
    await links.link(session, v.households[2:3], b, linked_by=v.admin.id, now=now - days(2))
    admin = api.token_for(v.admin)
    end = """mutation($i: EndAppointmentInput!) { endAppointment(input: $i) { appointment { active } errors { code } } }"""
    history = "query($h: ID!) { householdLinks(householdId: $h) { member { displayName } validTo endReason } }"

    post = await session.scalar(select(Appointment).where(Appointment.user_id == a.id))
    ended = await api.data(end, {"i": {"id": gid("Appointment", post.id)}}, admin)
    assert ended["endAppointment"]["errors"] == []
    for household in v.households[:2]:
        (link,) = (await api.data(history, {"h": gid("Household", household.id)}, admin))["householdLinks"]
        assert link["validTo"] is not None and link["endReason"] == "党员任职结束"
    assert await links.open_links(session, [h.id for h in v.households[:2]]) == []

    village_post = await session.scalar(
        select(Appointment).where(Appointment.user_id == b.id, Appointment.unit_id == v.village.id))
    await api.data(end, {"i": {"id": gid("Appointment", village_post.id)}}, admin)
    (kept,) = (await api.data(history, {"h": gid("Household", v.households[2].id)}, admin))["householdLinks"]
    assert kept["validTo"] is None and kept["member"]["displayName"] == b.display_name


async def test_a_link_counts_only_where_and_while_its_member_serves(api, session, settings):
    from grid import appointments
    from models import Appointment, User

    v = await build_village(session, settings, "任村")
    a = await party_member(session, v, 2)
    now = datetime.now(UTC)
    await links.link(session, v.households[:2], a, linked_by=v.admin.id, now=now - days(2))
    # a member posted to the second neighbourhood, linked to a household of the first
    b = await appointments.user_for_resident(session, v.residents[4])
    await appointments.appoint(session, v.neighbourhoods[1], b, "party_member", appointed_by=v.admin.id,
                               now=now - days(3))
    await links.link(session, [v.households[0]], b, linked_by=v.admin.id, now=now - days(1))
    logged = await api.data(LOG, {"i": {"householdId": gid("Household", v.households[0].id), "mode": "IN_PERSON",
                                        "occurredAt": (now - timedelta(hours=1)).isoformat()}}, api.token_for(b))
    assert logged["logVisit"]["errors"] == [] and logged["logVisit"]["visit"]["authorRole"] == "PARTY_MEMBER"
    theirs = "query($h: ID) { visits(householdId: $h) { edges { node { id } } } }"
    assert len((await api.data(theirs, {"h": gid("Household", v.households[0].id)}, api.token_for(b)))["visits"]["edges"]) == 1

    # a's post ends: the open link no longer lets them see the household's people or visits
    await log_visit(session, v.chief, v.households[1], "in_person", now - timedelta(hours=2))
    assert len((await api.data(MINE, token=api.token_for(a)))["linkedHouseholds"]["edges"]) == 1
    post = await session.scalar(select(Appointment).where(Appointment.user_id == a.id))
    await appointments.end_appointment(session, post, ended_by=v.admin.id, now=now)
    assert (await api.data(MINE, token=api.token_for(a)))["linkedHouseholds"]["edges"] == []
    assert (await api.data("query { visits { edges { node { id } } } }", token=api.token_for(a)))["visits"]["edges"] == []
    refused = await api.data(LOG, {"i": {"householdId": gid("Household", v.households[0].id), "mode": "PHONE",
                                         "occurredAt": now.isoformat()}}, api.token_for(a))
    assert refused["logVisit"]["errors"][0]["code"] == "NOT_FOUND"
    # nor does it count for coverage or scores: h1 reads as unlinked, a is not scored
    later = now + timedelta(seconds=1)
    village = await coverage.unit_tally(session, v.village, coverage.month_of(later, later))
    assert village.unlinked == 3  # h1 (a's), h2, h3; h0 is b's
    from party_scoring import standings
    from rewards.periods import period_bounds

    scored = await standings.live(session, v.village.id, *period_bounds("month", later), later)
    assert {s.user_id for s in scored if s.role == "party_member"} == {b.id}

    # a town admin oversees the whole town
    town_admin = User(display_name="镇管理员", phone="15899990001")
    session.add(town_admin)
    await session.flush()
    await appointments.appoint(session, v.town, town_admin, "town_admin", appointed_by=None, now=now - days(5))
    seen = await api.data("query { visits { edges { node { id } } } }", token=api.token_for(town_admin))
    assert len(seen["visits"]["edges"]) == 2
    town = await api.data("query($u: ID!) { contactCoverage(unitId: $u) { coverage { required covered } children { unit { name } } } }",
                          {"u": gid("OrgUnit", v.town.id)}, api.token_for(town_admin))
    assert town["contactCoverage"]["coverage"] == {"required": 4, "covered": 2}
    assert [c["unit"]["name"] for c in town["contactCoverage"]["children"]] == ["任村"]

    # the database keeps a household's links one after another
    with pytest.raises(DBAPIError, match="overlap"):
        async with session.begin_nested():
            await session.execute(text(
                "INSERT INTO household_links (village_id, household_id, member_user_id, valid_from, valid_to, linked_by_id)"
                " VALUES (:v, :h, :m, :f, :t, :m)"),
                {"v": v.village.id, "h": v.households[0].id, "m": a.id, "f": now - days(30), "t": now - days(20)})


async def test_a_household_missed_before_it_moved_is_shown_as_it_lives_now(api, session, settings, monkeypatch):
    # missed in the first neighbourhood last month, it lives in the second now: the first's
    # chief still sees it listed, but its members (and their phones) are the second's now
    from schema.context import Context

    v = await build_village(session, settings, "迁邻村")
    a = await party_member(session, v, 2)
    moved = v.households[1]  # in the first neighbourhood, the chief's (who lives in households[0])
    m0 = month_ahead()
    m1 = coverage.month_of(m0 + days(40), m0 + days(40)).start
    await links.link(session, [moved], a, linked_by=v.admin.id, now=m0 + days(1))
    await households.update_household(session, moved, unit=v.neighbourhoods[1], now=m1 + days(3))
    monkeypatch.setattr(Context, "now", staticmethod(lambda: m1 + days(10)))
    due = """query($u: ID!, $at: DateTime!) { contactsDue(unitId: $u, at: $at) { edges { node {
               household { number %s } member { displayName } } } } }"""
    variables = {"u": gid("OrgUnit", v.neighbourhoods[0].id), "at": (m0 + days(2)).isoformat()}
    listed = await api.data(due % "", variables, api.token_for(v.chief))
    assert {"household": {"number": moved.number}, "member": {"displayName": a.display_name}} in [
        e["node"] for e in listed["contactsDue"]["edges"]]
    members = await api.data(due % "members { resident { phone } }", variables, api.token_for(v.chief))
    by_number = {e["node"]["household"]["number"]: e["node"]["household"]["members"]
                 for e in members["contactsDue"]["edges"]}
    assert by_number.pop(moved.number) is None  # not theirs to see now; the rest of the list stands
    assert by_number and all(listed for listed in by_number.values())


async def test_a_link_made_on_a_clock_read_before_an_unlink_committed_starts_after_it(session, settings):
    # the admin's request read its clock, then waited for the households while another
    # admin's unlink (with a later clock) committed: the new link may not start before that end
    v = await build_village(session, settings, "续联村")
    a, b = await party_member(session, v, 2), await party_member(session, v, 4)
    t0 = datetime.now(UTC)
    await links.link(session, [v.households[0]], a, linked_by=v.admin.id, now=t0)
    await links.unlink(session, [v.households[0]], ended_by=v.admin.id, reason="调整", now=t0 + timedelta(minutes=2))
    [made] = await links.link(session, [v.households[0]], b, linked_by=v.admin.id, now=t0 + timedelta(minutes=1))
    assert made.valid_from == t0 + timedelta(minutes=2)
