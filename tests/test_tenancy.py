"""Multi-village: an admin of village A reads and edits village B as if it did not exist."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from grid import appointments, units
from schema.root import Mutation
from tests.support import build_village, gid


def mutations_of(module: str) -> set[str]:
    """The GraphQL names of the mutations whose resolvers live in `module`."""
    return {
        _camel(f.python_name)
        for f in Mutation.__strawberry_definition__.fields
        if f.base_resolver.wrapped_func.__module__ == module
    }


async def _snapshot(session) -> tuple:
    """Row counts and a digest of the grid tables: a refused request changes neither."""
    tables = ["org_units", "village_levels", "hamlets", "households", "residents",
              "household_memberships", "appointments", "users"]
    parts = []
    for table in tables:
        parts.append(await session.scalar(text(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t")))
    return tuple(parts)


def _queries(b) -> list[tuple[str, dict]]:
    hood = b.neighbourhoods[0]
    return [
        ("query($id: ID!) { orgUnit(id: $id) { name } }", {"id": gid("OrgUnit", b.village.id)}),
        ("query($id: ID!) { orgUnit(id: $id) { name } }", {"id": gid("OrgUnit", hood.id)}),
        ("query($id: ID!) { orgUnit(id: $id) { name } }", {"id": gid("OrgUnit", b.town.id)}),
        ("query($id: ID!) { household(id: $id) { number } }", {"id": gid("Household", b.households[0].id)}),
        ("query($id: ID!) { resident(id: $id) { name } }", {"id": gid("Resident", b.residents[0].id)}),
        ("query($id: ID!) { residents(unitId: $id) { edges { node { name } } } }", {"id": gid("OrgUnit", b.village.id)}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": gid("OrgUnit", b.village.id)}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": gid("Household", b.households[0].id)}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": gid("Resident", b.residents[0].id)}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": gid("Hamlet", b.hamlet.id)}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": gid("Appointment", b.chief_appointment.id)}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": gid("User", b.admin.id)}),
    ]


def _mutations(a, b) -> dict[str, tuple[str, dict]]:
    """One refused call per grid mutation, each aimed at village B."""
    def m(name: str, input_type: str, payload_field: str):
        return (
            f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {payload_field} {{ id }} "
            "errors { code field } } }"
        )

    hood_b = b.neighbourhoods[0]
    return {
        "createVillage": (m("createVillage", "CreateVillageInput", "orgUnit"),
                          {"townId": gid("OrgUnit", b.town.id), "name": "新村"}),
        "setVillageLevels": (m("setVillageLevels", "SetVillageLevelsInput", "orgUnit"),
                             {"villageId": gid("OrgUnit", b.village.id),
                              "levels": [{"key": "grid", "name": "网格", "chiefTitle": "网格长"}]}),
        "createOrgUnit": (m("createOrgUnit", "CreateOrgUnitInput", "orgUnit"),
                          {"parentId": gid("OrgUnit", b.group.id), "name": "第9邻"}),
        "updateOrgUnit": (m("updateOrgUnit", "UpdateOrgUnitInput", "orgUnit"),
                          {"id": gid("OrgUnit", hood_b.id), "name": "改名"}),
        "createHamlet": (m("createHamlet", "CreateHamletInput", "hamlet"),
                         {"villageId": gid("OrgUnit", b.village.id), "name": "新屋场"}),
        "createHousehold": (m("createHousehold", "CreateHouseholdInput", "household"),
                            {"unitId": gid("OrgUnit", hood_b.id), "number": "X-1", "address": "某地"}),
        "updateHousehold": (m("updateHousehold", "UpdateHouseholdInput", "household"),
                            {"id": gid("Household", b.households[0].id), "address": "改地址"}),
        "createResident": (m("createResident", "CreateResidentInput", "resident"),
                           {"householdId": gid("Household", b.households[0].id), "name": "张三",
                            "gender": "MALE", "relation": "CHILD"}),
        "updateResident": (m("updateResident", "UpdateResidentInput", "resident"),
                           {"id": gid("Resident", b.residents[0].id), "name": "改名"}),
        "moveResident": (m("moveResident", "MoveResidentInput", "resident"),
                         {"residentId": gid("Resident", b.residents[1].id),
                          "householdId": gid("Household", a.households[0].id),
                          "relation": "SPOUSE", "reason": "婚入"}),
        "appoint": (m("appoint", "AppointInput", "appointment"),
                    {"unitId": gid("OrgUnit", hood_b.id), "role": "CHIEF",
                     "residentId": gid("Resident", b.residents[2].id)}),
        "endAppointment": (m("endAppointment", "EndAppointmentInput", "appointment"),
                           {"id": gid("Appointment", b.chief_appointment.id)}),
    }


async def _two_villages(session, settings):
    a = await build_village(session, settings, "甲村")
    b = await build_village(session, settings, "乙村")
    b.hamlet = await units.create_hamlet(session, b.village, "乙屋场")
    b.chief_appointment = await appointments.appoint(
        session, b.neighbourhoods[1], b.chief, "chief", appointed_by=None, now=datetime.now(UTC)
    )
    await session.flush()
    return a, b


async def test_every_query_reads_another_village_as_not_found(api, session, settings):
    a, b = await _two_villages(session, settings)
    token = api.token_for(a.admin)
    for query, variables in _queries(b):
        assert await api.error_code(query, variables, token) == "NOT_FOUND", query


async def test_every_grid_mutation_on_another_village_is_not_found_and_writes_nothing(
    api, session, settings
):
    a, b = await _two_villages(session, settings)
    token = api.token_for(a.admin)
    calls = _mutations(a, b)
    assert mutations_of("resolvers.grid") == set(calls), "cover every grid mutation"
    before = await _snapshot(session)
    for name, (query, variables) in calls.items():
        data = await api.data(query, {"input": variables}, token)
        assert data[name]["errors"][0]["code"] == "NOT_FOUND", (name, data)
    # also: moving A's resident into B, appointing B's resident in A
    into_b = await api.data(
        calls["moveResident"][0],
        {"input": {"residentId": gid("Resident", a.residents[1].id),
                   "householdId": gid("Household", b.households[0].id), "relation": "SPOUSE",
                   "reason": "婚出"}},
        token,
    )
    assert into_b["moveResident"]["errors"][0]["code"] == "NOT_FOUND"
    b_in_a = await api.data(
        calls["appoint"][0],
        {"input": {"unitId": gid("OrgUnit", a.neighbourhoods[1].id), "role": "CHIEF",
                   "residentId": gid("Resident", b.residents[0].id)}},
        token,
    )
    assert b_in_a["appoint"]["errors"] == [{"code": "NOT_FOUND", "field": "residentId"}]
    assert await _snapshot(session) == before


async def test_a_chief_sees_their_subtree_but_may_not_edit_it(api, session, settings):
    a = await build_village(session, settings, "丙村")
    token = api.token_for(a.chief)  # chief of the first neighbourhood
    hood, other = a.neighbourhoods
    seen = await api.data(
        "query($id: ID!) { orgUnit(id: $id) { households { edges { node { number } } } } }",
        {"id": gid("OrgUnit", hood.id)}, token,
    )
    assert len(seen["orgUnit"]["households"]["edges"]) == 2
    assert await api.error_code(
        "query($id: ID!) { orgUnit(id: $id) { name } }", {"id": gid("OrgUnit", other.id)}, token
    ) == "NOT_FOUND"
    # the units above are visible by name, their other branches are not listed
    up = await api.data(
        "query($id: ID!) { orgUnit(id: $id) { name children { edges { node { name } } } } }",
        {"id": gid("OrgUnit", a.group.id)}, token,
    )
    assert [e["node"]["name"] for e in up["orgUnit"]["children"]["edges"]] == ["第1邻"]
    edit = await api.post(
        "mutation($i: UpdateOrgUnitInput!) { updateOrgUnit(input: $i) { errors { code } } }",
        {"i": {"id": gid("OrgUnit", hood.id), "name": "新名字"}}, token,
    )
    assert edit["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_resident_sees_only_their_own_household(api, session, settings):
    a = await build_village(session, settings, "丁村")
    token = api.token_for(a.resident_user)  # the spouse in the last household
    own = a.households[-1]
    data = await api.data(
        "query($id: ID!) { household(id: $id) { number members { resident { name } } } }",
        {"id": gid("Household", own.id)}, token,
    )
    assert len(data["household"]["members"]) == 2
    assert await api.error_code(
        "query($id: ID!) { household(id: $id) { number } }", {"id": gid("Household", a.households[0].id)}, token
    ) == "NOT_FOUND"
    village = await api.data(
        "query($id: ID!) { orgUnit(id: $id) { name households { edges { node { number } } } } }",
        {"id": gid("OrgUnit", a.village.id)}, token,
    )
    assert [e["node"]["number"] for e in village["orgUnit"]["households"]["edges"]] == [own.number]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)
