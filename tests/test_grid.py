"""The grid through the API: building it, appointments with history, masking, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from grid import appointments
from models import Appointment, HouseholdMembership, OrgUnit, Resident
from tests.support import build_village, gid, id_number

CREATE_UNIT = """mutation($i: CreateOrgUnitInput!) { createOrgUnit(input: $i) {
  orgUnit { id name kind level { name chiefTitle } ancestors { name } } errors { code field message } } }"""
CREATE_HOUSEHOLD = """mutation($i: CreateHouseholdInput!) { createHousehold(input: $i) {
  household { id number livingStatus unit { name } } errors { code field message } } }"""
CREATE_RESIDENT = """mutation($i: CreateResidentInput!) { createResident(input: $i) {
  resident { id name phone idNumber relation household { number } } errors { code field message } } }"""
APPOINT = """mutation($i: AppointInput!) { appoint(input: $i) {
  appointment { id role title active user { displayName } } errors { code field message } } }"""
HISTORY = """query($id: ID!, $at: DateTime, $all: Boolean!) { orgUnit(id: $id) {
  chief { user { displayName } }
  appointments(role: CHIEF, at: $at, includeEnded: $all) {
    edges { node { user { displayName } validFrom validTo active } } } } }"""


async def test_admin_builds_the_grid_down_to_a_household_and_resident(api, session, settings):
    v = await build_village(session, settings, "建村")
    token = api.token_for(v.admin)
    unit = await api.data(
        CREATE_UNIT, {"i": {"parentId": gid("OrgUnit", v.group.id), "name": "第3邻"}}, token
    )
    created = unit["createOrgUnit"]
    assert created["errors"] == []
    assert created["orgUnit"]["level"] == {"name": "邻", "chiefTitle": "邻长"}
    assert [a["name"] for a in created["orgUnit"]["ancestors"]] == ["建村镇", "建村", "东片", "一组"]
    household = await api.data(
        CREATE_HOUSEHOLD,
        {"i": {"unitId": created["orgUnit"]["id"], "number": "J-100", "address": "建村3号",
               "livingStatus": "WORKING_AWAY"}},
        token,
    )
    assert household["createHousehold"]["household"]["livingStatus"] == "WORKING_AWAY"
    number = id_number(1990)
    resident = await api.data(
        CREATE_RESIDENT,
        {"i": {"householdId": household["createHousehold"]["household"]["id"], "name": "赵六",
               "gender": "MALE", "relation": "HEAD", "phone": "138 0013 8000", "idNumber": number,
               "birthYear": 1990}},
        token,
    )
    r = resident["createResident"]
    assert r["errors"] == []
    assert r["resident"]["phone"] == "13800138000"
    assert r["resident"]["idNumber"] == number  # an admin needs the full number
    stored = await session.scalar(select(Resident).where(Resident.name == "赵六"))
    assert number.encode() not in stored.id_number_cipher  # encrypted at rest
    assert stored.id_number_masked == number[:3] + "*" * 11 + number[-4:]


async def test_refusals_are_coded_and_write_nothing(api, session, settings):
    v = await build_village(session, settings, "拒村")
    token = api.token_for(v.admin)
    hood = gid("OrgUnit", v.neighbourhoods[0].id)

    async def count(model) -> int:
        return await session.scalar(select(func.count()).select_from(model))

    units_before, residents_before = await count(OrgUnit), await count(Resident)
    cases = [
        (CREATE_UNIT, {"parentId": hood, "name": "更下一级"}, "createOrgUnit", "NO_DEEPER_LEVEL"),
        (CREATE_UNIT, {"parentId": gid("OrgUnit", v.group.id), "name": "第1邻"}, "createOrgUnit", "DUPLICATE"),
        (CREATE_UNIT, {"parentId": gid("OrgUnit", v.group.id), "name": "  "}, "createOrgUnit", "INVALID_INPUT"),
        (CREATE_UNIT, {"parentId": gid("OrgUnit", 987654321), "name": "x"}, "createOrgUnit", "NOT_FOUND"),
        (CREATE_UNIT, {"parentId": gid("Household", v.households[0].id), "name": "x"}, "createOrgUnit", "NOT_FOUND"),
        (CREATE_HOUSEHOLD, {"unitId": gid("OrgUnit", v.group.id), "number": "N", "address": "a"},
         "createHousehold", "NOT_A_LEAF_UNIT"),
        (CREATE_HOUSEHOLD, {"unitId": hood, "number": v.households[0].number, "address": "a"},
         "createHousehold", "DUPLICATE"),
        (CREATE_RESIDENT, {"householdId": gid("Household", v.households[0].id), "name": "甲",
                           "gender": "MALE", "relation": "CHILD", "phone": "1234"},
         "createResident", "INVALID_PHONE"),
        (CREATE_RESIDENT, {"householdId": gid("Household", v.households[0].id), "name": "乙",
                           "gender": "MALE", "relation": "CHILD", "idNumber": "430681199001011235"},
         "createResident", "INVALID_ID_NUMBER"),
        (CREATE_RESIDENT, {"householdId": gid("Household", v.households[0].id), "name": "丙",
                           "gender": "MALE", "relation": "HEAD"},
         "createResident", "HOUSEHOLD_HAS_HEAD"),
        (CREATE_RESIDENT, {"householdId": gid("Household", v.households[0].id), "name": "丁",
                           "gender": "MALE", "relation": "CHILD", "birthYear": 1800},
         "createResident", "INVALID_INPUT"),
    ]
    for query, variables, name, code in cases:
        data = await api.data(query, {"i": variables}, token)
        assert data[name]["errors"][0]["code"] == code, (variables, data)
    assert (await count(OrgUnit), await count(Resident)) == (units_before, residents_before)


async def test_malformed_ids_and_limits_are_client_errors(api, session, settings):
    v = await build_village(session, settings, "限村")
    token = api.token_for(v.admin)
    body = await api.post('query { orgUnit(id: "%%%") { name } }', token=token)
    assert body["errors"] and body["data"] is None
    assert await api.error_code(
        'query { orgUnit(id: "T3JnVW5pdDphYmM=") { name } }', token=token  # OrgUnit:abc
    ) == "NOT_FOUND"
    deep = "query { me { household { unit { " + "parent { " * 12 + "name" + " }" * 12 + " } } } }"
    body = await api.post(deep, token=token)
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    aliases = "query { " + " ".join(f"a{i}: me {{ user {{ id }} }}" for i in range(20)) + " }"
    assert "aliases found" in (await api.post(aliases, token=token))["errors"][0]["message"]
    huge = "query { me { " + "user { id } " * 1500 + "} }"
    assert "token" in (await api.post(huge, token=token))["errors"][0]["message"].lower()
    assert await api.error_code(
        "query($id: ID!) { orgUnit(id: $id) { children(first: 1000) { edges { cursor } } } }",
        {"id": gid("OrgUnit", v.village.id)}, token,
    ) == "BAD_USER_INPUT"
    assert await api.error_code(
        "query($id: ID!) { orgUnit(id: $id) { children(after: \"garbage\") { edges { cursor } } } }",
        {"id": gid("OrgUnit", v.village.id)}, token,
    ) == "BAD_USER_INPUT"


async def test_chief_appointments_keep_their_history(api, session, settings):
    v = await build_village(session, settings, "任村")
    token = api.token_for(v.admin)
    hood = v.neighbourhoods[1]
    first, second = v.residents[2], v.residents[3]  # both live in the second neighbourhood
    one = await api.data(
        APPOINT, {"i": {"unitId": gid("OrgUnit", hood.id), "role": "CHIEF",
                        "residentId": gid("Resident", first.id)}}, token,
    )
    assert one["appoint"]["appointment"]["title"] == "邻长"
    # back-date the first term so the two terms are distinguishable in time
    await session.execute(text("ALTER TABLE appointments DISABLE TRIGGER appointments_history"))
    await session.execute(
        text("UPDATE appointments SET valid_from = now() - interval '90 days' WHERE unit_id = :u"),
        {"u": hood.id},
    )
    await session.execute(text("ALTER TABLE appointments ENABLE TRIGGER appointments_history"))
    two = await api.data(
        APPOINT, {"i": {"unitId": gid("OrgUnit", hood.id), "role": "CHIEF",
                        "residentId": gid("Resident", second.id)}}, token,
    )
    assert two["appoint"]["errors"] == []

    now = await api.data(HISTORY, {"id": gid("OrgUnit", hood.id), "at": None, "all": False}, token)
    assert now["orgUnit"]["chief"]["user"]["displayName"] == second.name
    assert [e["node"]["user"]["displayName"] for e in now["orgUnit"]["appointments"]["edges"]] == [second.name]
    month_ago = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    then = await api.data(HISTORY, {"id": gid("OrgUnit", hood.id), "at": month_ago, "all": False}, token)
    assert [e["node"]["user"]["displayName"] for e in then["orgUnit"]["appointments"]["edges"]] == [first.name]
    everything = await api.data(HISTORY, {"id": gid("OrgUnit", hood.id), "at": None, "all": True}, token)
    terms = [e["node"] for e in everything["orgUnit"]["appointments"]["edges"]]
    assert [(t["user"]["displayName"], t["active"]) for t in terms] == [(second.name, True), (first.name, False)]
    assert terms[1]["validTo"] is not None

    ended = await api.data(
        "mutation($i: EndAppointmentInput!) { endAppointment(input: $i) { appointment { active } errors { code } } }",
        {"i": {"id": two["appoint"]["appointment"]["id"]}}, token,
    )
    assert ended["endAppointment"]["appointment"]["active"] is False
    twice = await api.data(
        "mutation($i: EndAppointmentInput!) { endAppointment(input: $i) { errors { code } } }",
        {"i": {"id": two["appoint"]["appointment"]["id"]}}, token,
    )
    assert twice["endAppointment"]["errors"] == [{"code": "ALREADY_ENDED"}]


async def test_history_rows_cannot_be_rewritten_in_the_database(session, settings):
    v = await build_village(session, settings, "史村")
    appointment = await session.scalar(select(Appointment).where(Appointment.user_id == v.chief.id))
    membership = await session.scalar(select(HouseholdMembership).limit(1))
    refused = [
        ("UPDATE appointments SET role = 'village_admin' WHERE id = :id", appointment.id),
        ("DELETE FROM appointments WHERE id = :id", appointment.id),
        ("UPDATE household_memberships SET relation = 'other' WHERE id = :id", membership.id),
        ("DELETE FROM household_memberships WHERE id = :id", membership.id),
    ]
    for statement, row_id in refused:
        with pytest.raises(DBAPIError, match="history|only the end"):
            async with session.begin_nested():
                await session.execute(text(statement), {"id": row_id})
    # ending a term is the one change allowed, once
    await session.execute(
        text("UPDATE appointments SET valid_to = now() WHERE id = :id"), {"id": appointment.id}
    )
    with pytest.raises(DBAPIError, match="ended"):
        async with session.begin_nested():
            await session.execute(
                text("UPDATE appointments SET valid_to = now() + interval '1 day' WHERE id = :id"),
                {"id": appointment.id},
            )


async def test_phones_and_id_numbers_are_masked_by_role(api, session, settings):
    v = await build_village(session, settings, "掩村")
    target = v.residents[0]  # head of the first household, in the chief's neighbourhood
    number_query = "query($id: ID!) { resident(id: $id) { phone idNumber } }"
    variables = {"id": gid("Resident", target.id)}

    admin = (await api.data(number_query, variables, api.token_for(v.admin)))["resident"]
    assert admin["phone"] == target.phone and len(admin["idNumber"]) == 18 and "*" not in admin["idNumber"]

    chief = (await api.data(number_query, variables, api.token_for(v.chief)))["resident"]
    assert chief["phone"] == target.phone  # chiefs call the households they serve
    assert chief["idNumber"] == target.id_number_masked

    # a party member at the village sees the grid but not phones
    from grid import appointments

    member = await appointments.user_for_resident(session, v.residents[4])
    await appointments.appoint(session, v.village, member, "party_member", appointed_by=None,
                               now=datetime.now(UTC))
    party = (await api.data(number_query, variables, api.token_for(member)))["resident"]
    assert party["phone"] == target.phone[:3] + "****" + target.phone[-4:]
    assert party["idNumber"] == target.id_number_masked

    # a resident sees their own household: their own phone in full, the others' masked
    spouse = await appointments.user_for_resident(session, v.residents[1])
    own = await api.data(
        "query { me { household { members { resident { name phone idNumber } } } } }",
        token=api.token_for(spouse),
    )
    members = {m["resident"]["name"]: m["resident"] for m in own["me"]["household"]["members"]}
    assert members[v.residents[1].name]["phone"] == v.residents[1].phone
    assert members[target.name]["phone"] == target.phone[:3] + "****" + target.phone[-4:]
    assert all("*" in m["idNumber"] for m in members.values())


async def test_moving_a_resident_keeps_the_old_membership(api, session, settings):
    v = await build_village(session, settings, "迁村")
    token = api.token_for(v.admin)
    bride = v.residents[3]  # spouse in household 2 moves to household 1 as a daughter-in-law
    moved = await api.data(
        """mutation($i: MoveResidentInput!) { moveResident(input: $i) {
             resident { relation household { number } memberships { relation validTo endReason household { number } } }
             errors { code } } }""",
        {"i": {"residentId": gid("Resident", bride.id), "householdId": gid("Household", v.households[0].id),
               "relation": "CHILD_IN_LAW", "reason": "婚嫁"}},
        token,
    )
    r = moved["moveResident"]["resident"]
    assert r["relation"] == "CHILD_IN_LAW" and r["household"]["number"] == v.households[0].number
    assert [(m["relation"], m["household"]["number"], m["endReason"]) for m in r["memberships"]] == [
        ("CHILD_IN_LAW", v.households[0].number, None),
        ("SPOUSE", v.households[1].number, "婚嫁"),
    ]


async def test_admin_searches_residents_by_name_phone_or_id_number(api, session, settings):
    v = await build_village(session, settings, "搜村")
    token = api.token_for(v.admin)
    query = """query($u: ID!, $q: String) { residents(unitId: $u, query: $q, first: 2) {
      edges { node { name } } pageInfo { hasNextPage endCursor } } }"""
    unit = gid("OrgUnit", v.village.id)
    target = v.residents[5]
    by_phone = await api.data(query, {"u": unit, "q": target.phone}, token)
    assert [e["node"]["name"] for e in by_phone["residents"]["edges"]] == [target.name]
    by_name = await api.data(query, {"u": unit, "q": "李"}, token)
    assert len(by_name["residents"]["edges"]) == 2 and by_name["residents"]["pageInfo"]["hasNextPage"]
    rest = await api.data(
        query.replace("first: 2", "first: 2, after: $after").replace("$q: String)", "$q: String, $after: String)"),
        {"u": unit, "q": "李", "after": by_name["residents"]["pageInfo"]["endCursor"]}, token,
    )
    names = [e["node"]["name"] for e in by_name["residents"]["edges"] + rest["residents"]["edges"]]
    assert sorted(names) == sorted(r.name for r in v.residents if r.name.startswith("李"))
    assert await api.error_code(query, {"u": unit, "q": "李"}, api.token_for(v.chief)) == "FORBIDDEN"


async def test_appointing_by_phone_cannot_reach_into_another_village(api, session, settings):
    a = await build_village(session, settings, "号甲村")
    b = await build_village(session, settings, "号乙村")
    token = api.token_for(a.admin)
    query = """mutation($i: AppointInput!) { appoint(input: $i) { appointment { user { displayName } } errors { code field } } }"""
    unit = gid("OrgUnit", a.village.id)
    # B's admin (serves in B) and B's resident user: as if they did not exist
    for phone in (b.admin.phone, b.resident_user.phone):
        refused = await api.data(query, {"i": {"unitId": unit, "role": "PARTY_MEMBER", "phone": phone}}, token)
        assert refused["appoint"]["errors"] == [{"code": "NOT_FOUND", "field": "phone"}]
    # a resident without a login yet cannot be impersonated by a new staff user
    no_login = b.residents[1].phone
    taken = await api.data(query, {"i": {"unitId": unit, "role": "GRID_WORKER", "phone": no_login,
                                         "displayName": "冒名"}}, token)
    assert taken["appoint"]["errors"][0]["code"] == "INVALID_INPUT"
    # a new staff member by phone is fine
    clerk = await api.data(query, {"i": {"unitId": unit, "role": "STORE_CLERK", "phone": "17700001111",
                                         "displayName": "店员小王"}}, token)
    assert clerk["appoint"]["appointment"]["user"]["displayName"] == "店员小王"
    # a resident and a phone at once: which was meant? (the phone was silently ignored)
    both = await api.data(query, {"i": {"unitId": unit, "role": "GRID_WORKER", "phone": "17700002222",
                                        "residentId": gid("Resident", a.residents[1].id)}}, token)
    assert both["appoint"]["errors"] == [{"code": "INVALID_INPUT", "field": "phone"}]


async def test_levels_cannot_be_added_below_households_and_keys_can_be_swapped(api, session, settings):
    v = await build_village(session, settings, "级村")
    token = api.token_for(v.admin)
    query = """mutation($i: SetVillageLevelsInput!) { setVillageLevels(input: $i) {
      orgUnit { levels { key name } } errors { code } } }"""
    village = gid("OrgUnit", v.village.id)
    deeper = [{"key": "area", "name": "片", "chiefTitle": "片长"}, {"key": "group", "name": "组", "chiefTitle": "组长"},
              {"key": "neighbourhood", "name": "邻", "chiefTitle": "邻长"}, {"key": "x", "name": "户组", "chiefTitle": "户组长"}]
    refused = await api.data(query, {"i": {"villageId": village, "levels": deeper}}, token)
    assert refused["setVillageLevels"]["errors"] == [{"code": "LEVEL_IN_USE"}]
    swapped = [{"key": "group", "name": "片", "chiefTitle": "片长"}, {"key": "area", "name": "组", "chiefTitle": "组长"},
               {"key": "neighbourhood", "name": "邻", "chiefTitle": "邻长"}]
    done = await api.data(query, {"i": {"villageId": village, "levels": swapped}}, token)
    assert [lv["key"] for lv in done["setVillageLevels"]["orgUnit"]["levels"]] == ["group", "area", "neighbourhood"]
    too_long = [{"key": "k" * 40, "name": "片", "chiefTitle": "片长"}] + swapped[1:]
    long_key = await api.data(query, {"i": {"villageId": village, "levels": too_long}}, token)
    assert long_key["setVillageLevels"]["errors"] == [{"code": "INVALID_INPUT"}]


async def test_odd_input_is_a_client_error_never_an_internal_one(api, session, settings):
    v = await build_village(session, settings, "怪村")
    token = api.token_for(v.admin)
    household = gid("Household", v.households[0].id)
    nul = await api.post(
        """mutation($i: CreateResidentInput!) { createResident(input: $i) { errors { code } } }""",
        {"i": {"householdId": household, "name": "张\u0000三", "gender": "MALE", "relation": "CHILD"}}, token,
    )
    assert nul["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    search = await api.post(
        'query($u: ID!) { residents(unitId: $u, query: "a\\u0000b") { edges { cursor } } }',
        {"u": gid("OrgUnit", v.village.id)}, token,
    )
    assert search["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    arabic = await api.data(
        """mutation($i: CreateResidentInput!) { createResident(input: $i) { errors { code } } }""",
        {"i": {"householdId": household, "name": "李四", "gender": "MALE", "relation": "CHILD",
               "phone": "138001380٠٠"}}, token,
    )
    assert arabic["createResident"]["errors"] == [{"code": "INVALID_PHONE"}]
    for bad_id in (gid("OrgUnit", 10**30), "T3JnVW5pdDrCsg=="):  # too big; "OrgUnit:²"
        assert await api.error_code("query($id: ID!) { node(id: $id) { id } }", {"id": bad_id}, token) == "NOT_FOUND"
    import base64
    import json

    for forged in ([["x"]], [[1e23]], [[2**70]], [[1, 2]]):
        cursor = base64.urlsafe_b64encode(json.dumps(forged[0]).encode()).decode()
        code = await api.error_code(
            "query($id: ID!, $c: String) { orgUnit(id: $id) { children(after: $c) { edges { cursor } } } }",
            {"id": gid("OrgUnit", v.village.id), "c": cursor}, token,
        )
        assert code == "BAD_USER_INPUT", forged
    for at in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"):
        body = await api.post(
            "query($id: ID!, $at: DateTime) { orgUnit(id: $id) { appointments(at: $at) { edges { cursor } } } }",
            {"id": gid("OrgUnit", v.village.id), "at": at}, token,
        )
        assert body["errors"][0]["extensions"]["code"] in {"BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"}, body
        # the same value written into the document is the client's error too, not an internal one
        literal = await api.post(
            f'query($id: ID!) {{ orgUnit(id: $id) {{ appointments(at: "{at}") {{ edges {{ cursor }} }} }} }}',
            {"id": gid("OrgUnit", v.village.id)}, token,
        )
        assert literal["errors"][0]["extensions"]["code"] in {"BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"}, literal


async def test_living_status_changes_keep_their_history(api, session, settings):
    from grid.households import living_status_at
    from models import HouseholdLivingStatus

    v = await build_village(session, settings, "居村")
    household = v.households[0]
    taken = await api.data(  # a number already in use, with a status change in the same call
        """mutation($i: UpdateHouseholdInput!) { updateHousehold(input: $i) { errors { code field } } }""",
        {"i": {"id": gid("Household", household.id), "number": v.households[1].number, "livingStatus": "WORKING_AWAY"}},
        api.token_for(v.admin),
    )
    assert taken["updateHousehold"]["errors"] == [{"code": "DUPLICATE", "field": "number"}]
    changed = await api.data(
        """mutation($i: UpdateHouseholdInput!) { updateHousehold(input: $i) { household { livingStatus } errors { code } } }""",
        {"i": {"id": gid("Household", household.id), "livingStatus": "WORKING_AWAY"}}, api.token_for(v.admin),
    )
    assert changed["updateHousehold"]["household"]["livingStatus"] == "WORKING_AWAY"
    periods = (await session.scalars(
        select(HouseholdLivingStatus).where(HouseholdLivingStatus.household_id == household.id)
        .order_by(HouseholdLivingStatus.id))).all()
    assert [(p.living_status, p.valid_to is None) for p in periods] == [("at_home", False), ("working_away", True)]
    now = datetime.now(UTC)  # the change is dated by the request's clock
    assert await living_status_at(session, household.id, now) == "working_away"
    with pytest.raises(DBAPIError, match="only the end|history"):
        async with session.begin_nested():
            await session.execute(text("UPDATE household_living_statuses SET living_status = 'at_home' WHERE id = :id"),
                                  {"id": periods[1].id})


async def test_residents_see_their_chief_but_not_the_roll_of_posts(api, session, settings):
    v = await build_village(session, settings, "册村")
    other = await appointments.user_for_resident(session, v.residents[-3])  # a neighbour of resident_user
    await appointments.appoint(session, v.neighbourhoods[-1], other, "chief", appointed_by=v.admin.id,
                               now=datetime.now(UTC), note="试用期")
    hood = gid("OrgUnit", v.neighbourhoods[-1].id)
    chief = "query($u: ID!) { orgUnit(id: $u) { chief { note user { displayName } } } }"
    seen = await api.data(chief, {"u": hood}, api.token_for(v.resident_user))
    assert seen["orgUnit"]["chief"] == {"note": None, "user": {"displayName": other.display_name}}
    assert (await api.data(chief, {"u": hood}, api.token_for(v.admin)))["orgUnit"]["chief"]["note"] == "试用期"
    roll = "query($u: ID!) { orgUnit(id: $u) { appointments(includeEnded: true) { edges { node { role } } } } }"
    assert await api.error_code(roll, {"u": gid("OrgUnit", v.village.id)}, api.token_for(v.resident_user)) == "FORBIDDEN"
    assert (await api.data(roll, {"u": gid("OrgUnit", v.village.id)}, api.token_for(v.admin)))["orgUnit"]["appointments"]


async def test_a_chief_appointed_again_is_a_duplicate_not_a_new_term(session, settings):
    from grid.errors import GridError, GridErrorCode

    v = await build_village(session, settings, "连任村")
    with pytest.raises(GridError) as again:
        await appointments.appoint(session, v.neighbourhoods[0], v.chief, "chief", appointed_by=v.admin.id,
                                   now=datetime.now(UTC))
    assert again.value.code is GridErrorCode.DUPLICATE
    terms = await session.scalar(select(func.count()).select_from(Appointment).where(
        Appointment.user_id == v.chief.id, Appointment.role == "chief"))
    assert terms == 1


def test_id_numbers_with_impossible_birth_dates_are_refused():
    from grid.id_numbers import normalize_id_number

    assert normalize_id_number(id_number(1980)) is not None
    for year in (1899, datetime.now(UTC).year + 1):
        assert normalize_id_number(id_number(year)) is None, year


async def test_each_refusal_of_a_taken_household_number_is_an_error_of_its_own(session, settings):
    # one shared error, raised again and again, kept every request's traceback (and its
    # session, rows and context) alive on that object
    from grid import households
    from grid.errors import GridError

    v = await build_village(session, settings, "复号村")
    refusals = []
    for _ in range(2):
        with pytest.raises(GridError) as taken:
            async with session.begin_nested():  # as a refused request's transaction, rolled back
                await households.create_household(session, v.neighbourhoods[0], v.households[0].number, "1号")
        refusals.append(taken.value)
    assert refusals[0] is not refusals[1]


async def test_a_resident_whose_phone_is_another_login_is_not_given_a_login_nobody_can_use(session, settings):
    from grid.errors import GridError, GridErrorCode
    from tests.rewards_support import store_clerk

    v = await build_village(session, settings, "重号村")
    await store_clerk(session, v, "17700003333")  # staff appointed by phone: a login without a resident
    resident = v.residents[1]
    resident.phone = "17700003333"  # the same person, registered later as a resident
    await session.flush()
    with pytest.raises(GridError) as refused:
        await appointments.appoint(session, v.neighbourhoods[1], await appointments.user_for_resident(session, resident),
                                   "chief", appointed_by=v.admin.id, now=datetime.now(UTC))
    assert (refused.value.code, refused.value.field) == (GridErrorCode.DUPLICATE, "residentId")


async def test_ending_a_post_one_cannot_see_reads_as_not_found(api, session, settings):
    v = await build_village(session, settings, "隐任村")
    admins_post = await session.scalar(select(Appointment.id).where(Appointment.user_id == v.admin.id))
    end = """mutation($i: EndAppointmentInput!) { endAppointment(input: $i) { appointment { id } errors { code } } }"""
    # the chief sees the village only by name: its admin's post is as node(id:) says, not there
    ended = await api.data(end, {"i": {"id": gid("Appointment", admins_post)}}, api.token_for(v.chief))
    assert ended["endAppointment"] == {"appointment": None, "errors": [{"code": "NOT_FOUND"}]}
    # another village's post, a post seen by name and no post at all give the same answer
    other = await build_village(session, settings, "隐任外村")
    with_message = end.replace("errors { code }", "errors { code message }")
    elsewhere = await session.scalar(select(Appointment.id).where(Appointment.user_id == other.admin.id))
    answers = [(await api.data(with_message, {"i": {"id": gid("Appointment", post)}}, api.token_for(v.chief)))[
        "endAppointment"]["errors"] for post in (admins_post, elsewhere, 999_999)]
    assert answers[0] == answers[1] == answers[2]
    assert await api.error_code("query($id: ID!) { node(id: $id) { id } }", {"id": gid("Appointment", admins_post)},
                                api.token_for(v.chief)) == "NOT_FOUND"
