"""SQL statements per request must not grow with the length of the lists returned."""

from __future__ import annotations

from grid import households, units
from tests.support import build_village, gid

TREE = """query($id: ID!) { orgUnit(id: $id) { name levels { name }
  children(first: 50) { edges { node { name level { name } chief { title user { displayName } }
    children(first: 50) { edges { node { name chief { user { displayName phone } } } } } } } } } }"""
HOUSEHOLDS = """query($id: ID!) { orgUnit(id: $id) { households(first: 100) { edges { node {
  number address livingStatus unit { name } hamlet { name }
  members { relation resident { name phone idNumber } } } } } } }"""


async def _statements(api, sql_count, query, variables, token) -> int:
    start = sql_count()
    await api.data(query, variables, token)
    return sql_count() - start


async def test_org_tree_query_costs_the_same_for_small_and_large_trees(api, session, settings, sql_count):
    small = await build_village(session, settings, "小村")
    large = await build_village(session, settings, "大村")
    for i in range(2, 6):  # the large village gets 4 more areas with 3 groups each
        area = await units.create_unit(session, large.village, f"第{i}片")
        for j in range(3):
            await units.create_unit(session, area, f"{i}-{j}组")
    await session.flush()
    token_small, token_large = api.token_for(small.admin), api.token_for(large.admin)
    n_small = await _statements(api, sql_count, TREE, {"id": gid("OrgUnit", small.village.id)}, token_small)
    n_large = await _statements(api, sql_count, TREE, {"id": gid("OrgUnit", large.village.id)}, token_large)
    assert n_small == n_large
    assert n_large <= 10


async def test_household_list_costs_the_same_for_2_and_40_households(api, session, settings, sql_count):
    small = await build_village(session, settings, "少户村", households_per_neighbourhood=1)
    large = await build_village(session, settings, "多户村", households_per_neighbourhood=20)
    for v in (small, large):  # both lists include a household in a hamlet
        hamlet = await units.create_hamlet(session, v.village, "屋场")
        await households.update_household(session, v.households[0], hamlet_id=hamlet.id)
    n_small = await _statements(
        api, sql_count, HOUSEHOLDS, {"id": gid("OrgUnit", small.village.id)}, api.token_for(small.admin)
    )
    n_large = await _statements(
        api, sql_count, HOUSEHOLDS, {"id": gid("OrgUnit", large.village.id)}, api.token_for(large.admin)
    )
    assert n_small == n_large
    assert n_large <= 10
