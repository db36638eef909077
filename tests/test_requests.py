"""Residents' requests: the closed loop, its races, deadlines, ratings, figures, visibility."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.database import create_sessionmaker
from app.errors import Forbidden
from grid import appointments
from models import ResidentRequest
from resident_requests import figures, workflow
from resident_requests.errors import RequestError, RequestErrorCode
from tests.support import build_village, gid, start_until_blocked

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in China, a Monday
SUBMIT = """mutation($i: SubmitRequestInput!) { submitRequest(input: $i) {
  request { id status dueAt level } errors { code field message } } }"""
ACT = """mutation($i: ActOnRequestInput!) { actOnRequest(input: $i) {
  request { id status level ownerName } errors { code field message } } }"""


async def _submit(session, v, household=0, category="infrastructure", at=T0):
    h = v.households[household]
    unit = v.neighbourhoods[0] if household < 2 else v.neighbourhoods[1]
    return await workflow.submit(
        session, household=h, unit=unit, submitted_by=v.admin.id, resident_id=None,
        category=category, description="路灯坏了", photo_urls=[], place="村口", now=at,
    )


async def _viewer(session, user):
    from identity.viewer import load_viewer

    return await load_viewer(session, user.id, datetime.now(UTC))  # their roles as held today


async def test_every_allowed_transition_and_a_sample_of_refused_ones(session, settings):
    v = await build_village(session, settings, "态村")
    staff = await _viewer(session, v.admin)
    allowed = {  # from each status, the actions that work
        "received": {"accept", "escalate", "mark_duplicate", "note"},
        "accepted": {"start", "escalate", "resolve", "mark_duplicate", "hand_over", "note"},
        "in_progress": {"escalate", "resolve", "hand_over", "note"},
        "escalated": {"accept", "mark_duplicate", "note"},
        "reopened": {"accept", "escalate", "mark_duplicate", "note"},
        "resolved": {"note"},
        "closed": set(),
        "duplicate": set(),
    }
    paths = {  # how to reach each status from received
        "received": [], "accepted": ["accept"], "in_progress": ["accept", "start"],
        "escalated": ["escalate"], "resolved": ["accept", "resolve"],
        "duplicate": ["mark_duplicate"],
    }
    original = await _submit(session, v)
    for status, steps in paths.items():
        for action in workflow.STAFF_ACTIONS:
            request = await _submit(session, v)
            for step in steps:
                await workflow.act(session, request, step, actor=staff, now=T0, note="处理",
                                   duplicate_of=original.id)
            assert request.status == status
            if action in allowed[status]:
                await workflow.act(session, request, action, actor=staff, now=T0, note="处理",
                                   duplicate_of=original.id, handler=staff)
            else:
                with pytest.raises(RequestError) as refused:
                    async with session.begin_nested():
                        await workflow.act(session, request, action, actor=staff, now=T0, note="x",
                                           duplicate_of=original.id)
                assert refused.value.code is RequestErrorCode.INVALID_TRANSITION, (status, action)
    assert set(workflow.TRANSITIONS) >= {"accept", "start", "escalate", "resolve", "mark_duplicate",
                                         "rate_closed", "rate_reopened", "auto_close"}


async def test_two_workers_accepting_at_once_one_wins(live_api, committed, settings):
    v = await build_village(committed, settings, "抢村")
    request = await _submit(committed, v)
    other = await appointments.user_for_resident(committed, v.residents[1])
    await appointments.appoint(committed, v.neighbourhoods[0], other, "grid_worker", appointed_by=None, now=T0)
    await committed.commit()
    results = await asyncio.gather(*(
        live_api.data(ACT, {"i": {"requestId": gid("ResidentRequest", request.id), "action": "ACCEPT"}},
                      live_api.token_for(user))
        for user in (v.chief, other, v.chief, other)
    ))
    winners = [r for r in results if not r["actOnRequest"]["errors"]]
    assert len(winners) == 1
    assert {r["actOnRequest"]["errors"][0]["code"] for r in results if r not in winners} == {"INVALID_TRANSITION"}


async def test_a_worker_whose_level_the_request_left_meanwhile_is_refused(committed, settings):
    v = await build_village(committed, settings, "越村")
    request = await _submit(committed, v)
    await committed.commit()
    sessions = create_sessionmaker(committed.bind)
    async with sessions() as escalating:
        # the village admin takes a new request straight to the village ...
        await workflow.act(escalating, request, "escalate", actor=await _viewer(escalating, v.admin), now=T0,
                           note="直接报村")

        async def accept(session) -> None:  # ... while the neighbourhood's chief accepts it
            await workflow.act(session, request, "accept", actor=await _viewer(session, v.chief), now=T0)

        accepting = await start_until_blocked(committed.bind, accept)
        await escalating.commit()
    with pytest.raises(Forbidden):  # decided on the row as it is once the escalation committed
        await accepting
    async with sessions() as fresh:
        row = await fresh.get(ResidentRequest, request.id)
        assert (row.status, row.level, row.owner_id) == ("escalated", "village", v.admin.id)


async def test_escalation_keeps_the_owner_and_reaches_the_village_then_the_town(api, session, settings):
    v = await build_village(session, settings, "报村")
    chief, admin = api.token_for(v.chief), api.token_for(v.admin)
    resident_user = await appointments.user_for_resident(session, v.residents[1])  # the chief's spouse
    submitted = await api.data(SUBMIT, {"i": {"category": "DISPUTE", "description": "宅基地边界纠纷"}},
                               api.token_for(resident_user))
    request_id = submitted["submitRequest"]["request"]["id"]
    accepted = await api.data(ACT, {"i": {"requestId": request_id, "action": "ACCEPT"}}, chief)
    assert accepted["actOnRequest"]["request"]["ownerName"] == v.chief.display_name
    up = await api.data(ACT, {"i": {"requestId": request_id, "action": "ESCALATE", "note": "组内调解未果"}}, chief)
    assert up["actOnRequest"]["request"]["level"] == "VILLAGE"
    # the village admin takes it; the chief stays the owner and still sees it
    taken = await api.data(ACT, {"i": {"requestId": request_id, "action": "ACCEPT"}}, admin)
    assert taken["actOnRequest"]["request"]["ownerName"] == v.chief.display_name
    town = await api.data(ACT, {"i": {"requestId": request_id, "action": "ESCALATE", "note": "需镇司法所介入"}}, admin)
    assert town["actOnRequest"]["request"]["level"] == "TOWN"
    # at the town the village admin no longer handles it; the owner still does
    assert (await api.post(ACT, {"i": {"requestId": request_id, "action": "NOTE", "note": "x"}}, admin)
            )["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    higher = await api.data(ACT, {"i": {"requestId": request_id, "action": "ESCALATE", "note": "?"}}, chief)
    assert higher["actOnRequest"]["errors"][0]["code"] == "CANNOT_ESCALATE"
    # a worker in the other neighbourhood never sees it; the household does, without hidden notes
    await api.data(ACT, {"i": {"requestId": request_id, "action": "NOTE", "note": "内部：当事人情绪激动",
                               "visibleToResident": False}}, chief)
    outsider = await appointments.user_for_resident(session, v.residents[2])
    await appointments.appoint(session, v.neighbourhoods[1], outsider, "chief", appointed_by=None, now=T0)
    assert await api.error_code("query($id: ID!) { node(id: $id) { id } }", {"id": request_id},
                                api.token_for(outsider)) == "NOT_FOUND"
    mine = await api.data("{ myRequests { edges { node { updates { action note } } } } }",
                          token=api.token_for(resident_user))
    notes = [u["note"] for u in mine["myRequests"]["edges"][0]["node"]["updates"]]
    assert "内部：当事人情绪激动" not in notes and "需镇司法所介入" in notes


async def test_deadlines_and_overdue_on_a_fixed_clock(session, settings):
    v = await build_village(session, settings, "时村")
    hazard = await _submit(session, v, category="safety_hazard")
    assert hazard.due_at == T0 + timedelta(hours=24)
    await workflow.set_deadline(session, v.village.id, "infrastructure", "unit", 10)
    road = await _submit(session, v)
    assert road.due_at == T0 + timedelta(hours=10)
    staff = await _viewer(session, v.admin)
    await workflow.act(session, road, "escalate", actor=staff, now=T0 + timedelta(hours=1), note="需村里出资")
    assert road.due_at == T0 + timedelta(hours=1 + 168)  # the village's default for infrastructure
    overdue = list(await session.scalars(
        select(ResidentRequest.id).where(
            ResidentRequest.village_id == v.village.id,
            ResidentRequest.status.in_(workflow.OPEN),
            ResidentRequest.due_at < T0 + timedelta(hours=30),
        )))
    assert overdue == [hazard.id]


async def test_not_satisfied_reopens_and_unrated_ones_close_themselves(session, settings):
    v = await build_village(session, settings, "评村")
    staff = await _viewer(session, v.admin)
    household_viewer = await _viewer(session, await appointments.user_for_resident(session, v.residents[0]))
    first, second = await _submit(session, v), await _submit(session, v)
    for r in (first, second):
        await workflow.act(session, r, "accept", actor=staff, now=T0)
        await workflow.act(session, r, "resolve", actor=staff, now=T0 + timedelta(hours=2), note="已修好")
    await workflow.rate(session, first, "not_satisfied", household_viewer, T0 + timedelta(hours=3), "还是不亮")
    assert first.status == "reopened" and first.resolved_at is None
    await workflow.act(session, first, "accept", actor=staff, now=T0 + timedelta(hours=4))
    await workflow.act(session, first, "resolve", actor=staff, now=T0 + timedelta(hours=5), note="换了灯泡")
    await workflow.rate(session, first, "satisfied", household_viewer, T0 + timedelta(hours=6))
    assert first.status == "closed" and first.rating == "satisfied"
    assert await workflow.close_unrated(session, T0 + timedelta(days=3), days=7) == 0
    assert await workflow.close_unrated(session, T0 + timedelta(days=8), days=7) == 1
    assert second.status == "closed" and second.rating is None
    assert await workflow.close_unrated(session, T0 + timedelta(days=9), days=7) == 0


async def test_figures_on_a_known_fixture_drill_down_to_requests(api, session, settings):
    v = await build_village(session, settings, "数村")
    staff = await _viewer(session, v.admin)
    resident = await _viewer(session, await appointments.user_for_resident(session, v.residents[0]))
    made = [await _submit(session, v, category=c) for c in ("infrastructure", "infrastructure", "dispute", "dispute")]
    await workflow.act(session, made[0], "accept", actor=staff, now=T0)
    await workflow.act(session, made[0], "resolve", actor=staff, now=T0 + timedelta(hours=5), note="ok")  # on time
    await workflow.rate(session, made[0], "satisfied", resident, T0 + timedelta(hours=6))
    await workflow.act(session, made[2], "accept", actor=staff, now=T0)
    await workflow.act(session, made[2], "resolve", actor=staff, now=T0 + timedelta(hours=100), note="late")  # 72h
    await workflow.rate(session, made[2], "partly", resident, T0 + timedelta(hours=101))
    await workflow.act(session, made[3], "mark_duplicate", actor=staff, now=T0 + timedelta(hours=2),
                       note="同一路段", duplicate_of=made[2].id)
    with pytest.raises(RequestError) as chained:  # a duplicate is never an original: no cycles
        await workflow.act(session, made[1], "mark_duplicate", actor=staff, now=T0 + timedelta(hours=2),
                           note="x", duplicate_of=made[3].id)
    assert chained.value.field == "duplicateOfId"
    per_category, total = await figures.figures(session, v.village.id, v.village.path, T0 - timedelta(days=1),
                                                T0 + timedelta(days=1))
    assert dict(per_category) == {
        "dispute": {"received": 2, "resolved": 1, "resolved_on_time": 0, "rated": 1, "satisfied": 0, "open": 0,
                    "duplicate": 1},
        "infrastructure": {"received": 2, "resolved": 1, "resolved_on_time": 1, "rated": 1, "satisfied": 1, "open": 1,
                           "duplicate": 0},
    }
    assert total["received"] == 4 and total["resolved"] == 2
    window = {"u": gid("OrgUnit", v.village.id), "s": (T0 - timedelta(days=1)).isoformat(),
              "e": (T0 + timedelta(days=1)).isoformat()}
    shown = await api.data(
        """query($u: ID!, $s: DateTime!, $e: DateTime!) { requestFigures(unitId: $u, since: $s, until: $e) {
             category received resolved resolvedOnTime duplicate resolutionRate satisfactionRate } }""", window,
        api.token_for(v.admin),
    )
    assert shown["requestFigures"][-1] == {"category": None, "received": 4, "resolved": 2, "resolvedOnTime": 1,
                                           "duplicate": 1, "resolutionRate": 0.6667, "satisfactionRate": 0.5}
    drilled = await api.data(
        """query($u: ID!, $s: DateTime!, $e: DateTime!) { requests(unitId: $u, since: $s, until: $e,
             figure: RESOLVED_ON_TIME) { edges { node { id } } } }""", window, api.token_for(v.admin),
    )
    assert [e["node"]["id"] for e in drilled["requests"]["edges"]] == [gid("ResidentRequest", made[0].id)]


async def test_visibility_per_role_and_another_village(api, session, settings):
    v = await build_village(session, settings, "见村")
    other = await build_village(session, settings, "他村")
    request = await _submit(session, v)
    request_id = gid("ResidentRequest", request.id)
    query = "query($id: ID!) { node(id: $id) { ... on ResidentRequest { status } } }"
    assert (await api.data(query, {"id": request_id}, api.token_for(v.admin)))["node"]["status"] == "RECEIVED"
    assert (await api.data(query, {"id": request_id}, api.token_for(v.chief)))["node"]["status"] == "RECEIVED"
    household_user = await appointments.user_for_resident(session, v.residents[1])
    assert (await api.data(query, {"id": request_id}, api.token_for(household_user)))["node"]["status"] == "RECEIVED"
    assert await api.error_code(query, {"id": request_id}, api.token_for(v.resident_user)) == "NOT_FOUND"
    assert await api.error_code(query, {"id": request_id}, api.token_for(other.admin)) == "NOT_FOUND"
    refused = await api.data(ACT, {"i": {"requestId": request_id, "action": "ACCEPT"}}, api.token_for(other.admin))
    assert refused["actOnRequest"]["errors"][0]["code"] == "NOT_FOUND"
    forbidden = await api.post(ACT, {"i": {"requestId": request_id, "action": "ACCEPT"}}, api.token_for(household_user))
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await api.error_code(
        "query($u: ID!) { requests(unitId: $u) { edges { cursor } } }", {"u": gid("OrgUnit", v.village.id)},
        api.token_for(other.admin)) == "NOT_FOUND"


async def test_every_request_mutation_on_another_village_is_not_found(api, session, settings):
    from tests.test_tenancy import mutations_of

    v = await build_village(session, settings, "诉甲村")
    other = await build_village(session, settings, "诉乙村")
    request = gid("ResidentRequest", (await _submit(session, v)).id)
    calls = {
        "submitRequest": (SUBMIT, {"category": "OTHER", "description": "x",
                                   "householdId": gid("Household", v.households[0].id)}),
        "actOnRequest": (ACT, {"requestId": request, "action": "ACCEPT"}),
        "rateRequest": ("""mutation($i: RateRequestInput!) { rateRequest(input: $i) { errors { code } } }""",
                        {"requestId": request, "rating": "SATISFIED"}),
        "setRequestDeadline": ("""mutation($i: SetRequestDeadlineInput!) { setRequestDeadline(input: $i) { errors { code } } }""",
                               {"villageId": gid("OrgUnit", v.village.id), "category": "DISPUTE",
                                "level": "UNIT", "hours": 5}),
    }
    assert mutations_of("resolvers.requests") == set(calls)
    for name, (query, variables) in calls.items():
        data = await api.data(query, {"i": variables}, api.token_for(other.admin))
        assert data[name]["errors"][0]["code"] == "NOT_FOUND", name



async def test_updates_record_where_they_came_from_and_hide_internal_notes(api, session, settings):
    from sqlalchemy import select as sa_select

    from grid.appointments import end_appointment
    from models import Appointment

    v = await build_village(session, settings, "记村")
    request = await _submit(session, v, household=2)  # the second neighbourhood
    request_id = gid("ResidentRequest", request.id)
    other_chief = await appointments.user_for_resident(session, v.residents[6])  # lives next door
    await appointments.appoint(session, v.neighbourhoods[1], other_chief, "chief", appointed_by=None, now=T0)
    token = api.token_for(other_chief)
    await api.data(ACT, {"i": {"requestId": request_id, "action": "ACCEPT"}}, token)
    await api.data(ACT, {"i": {"requestId": request_id, "action": "NOTE", "note": "内部", "visibleToResident": False}},
                   api.token_for(v.admin))
    steps = await api.data("query($id: ID!) { node(id: $id) { ... on ResidentRequest { updates { action fromStatus toStatus actorName } } } }",
                           {"id": request_id}, token)
    assert [(u["action"], u["fromStatus"], u["toStatus"]) for u in steps["node"]["updates"]] == [
        ("submit", None, "RECEIVED"), ("accept", "RECEIVED", "ACCEPTED"), ("note", "ACCEPTED", "ACCEPTED")]
    assert steps["node"]["updates"][1]["actorName"] == other_chief.display_name
    # a household member who is a store clerk elsewhere still sees only what is meant for them
    member = await appointments.user_for_resident(session, v.residents[5])
    await appointments.appoint(session, v.village, member, "store_clerk", appointed_by=None, now=T0)
    own = await api.data("{ myRequests { edges { node { updates { note } } } } }", token=api.token_for(member))
    assert "内部" not in [u["note"] for u in own["myRequests"]["edges"][0]["node"]["updates"]]
    # once the chief's term ends, being the owner no longer opens the request
    term = await session.scalar(sa_select(Appointment).where(Appointment.user_id == other_chief.id))
    await end_appointment(session, term, ended_by=None, now=datetime.now(UTC))
    assert await api.error_code("query($id: ID!) { node(id: $id) { id } }", {"id": request_id},
                                api.token_for(other_chief)) == "NOT_FOUND"


async def test_handing_over_keeps_the_owner(api, session, settings):
    v = await build_village(session, settings, "交村")
    request_id = gid("ResidentRequest", (await _submit(session, v)).id)
    worker = await appointments.user_for_resident(session, v.residents[3])
    await appointments.appoint(session, v.neighbourhoods[0], worker, "grid_worker", appointed_by=None, now=T0)
    outsider = await appointments.user_for_resident(session, v.residents[6])
    await api.data(ACT, {"i": {"requestId": request_id, "action": "ACCEPT"}}, api.token_for(v.chief))
    query = """mutation($i: ActOnRequestInput!) { actOnRequest(input: $i) {
      request { ownerName handlerName } errors { code field } } }"""
    refused = await api.data(query, {"i": {"requestId": request_id, "action": "HAND_OVER",
                                           "handlerId": gid("User", outsider.id)}}, api.token_for(v.chief))
    assert refused["actOnRequest"]["errors"] == [{"code": "NOT_FOUND", "field": "handlerId"}]
    handed = await api.data(query, {"i": {"requestId": request_id, "action": "HAND_OVER",
                                          "handlerId": gid("User", worker.id)}}, api.token_for(v.chief))
    assert handed["actOnRequest"]["request"] == {"ownerName": v.chief.display_name, "handlerName": worker.display_name}


async def test_a_towns_figures_and_a_units_list_read_their_requests_by_index(session):
    # a town's figures have no village to narrow by: without an index on the origin path they
    # read every request of the county
    since = datetime(2026, 1, 1, tzinfo=UTC)
    by_origin = select(func.count()).where(figures.cohort("/1/", since, since + timedelta(days=31)))
    escalated = select(ResidentRequest.id).where(ResidentRequest.unit_id == 7).order_by(ResidentRequest.id.desc())
    connection = await session.connection()
    await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # price out scanning the table
    for statement, index in ((by_origin, "ix_resident_requests_origin"), (escalated, "ix_resident_requests_unit")):
        compiled = statement.compile(dialect=session.bind.dialect, compile_kwargs={"literal_binds": True})
        plan = "\n".join((await connection.exec_driver_sql(f"EXPLAIN {compiled}")).scalars().all())
        assert index in plan, plan


async def test_a_refused_field_leaves_the_next_mutation_of_the_document_working(api, session, settings):
    # a refusal rolls the request's session back, which expired the viewer's household row:
    # the next field read it and failed, and the whole answer became null
    v = await build_village(session, settings, "多村")
    resident = api.token_for(await appointments.user_for_resident(session, v.residents[0]))
    body = await api.post("""mutation {
      a: submitRequest(input: {category: OTHER, description: "路灯坏了"}) { request { id } errors { code } }
      b: rateRequest(input: {requestId: "UmVzaWRlbnRSZXF1ZXN0Ojk5OTk5OQ==", rating: SATISFIED}) { errors { code } }
      c: submitRequest(input: {category: OTHER, description: "水管漏了"}) { request { id } errors { code } } }""",
        token=resident)
    assert "errors" not in body, body
    assert body["data"]["b"]["errors"] == [{"code": "NOT_FOUND"}]
    assert body["data"]["a"]["request"] and body["data"]["c"]["request"]
