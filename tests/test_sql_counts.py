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


HOME = """query Home { me { household { id points { balance entries(first: 20) { edges { node { id points reason createdAt } } } } } }
  unreadNoticeCount notices(first: 5) { edges { node { id title publishedAt read } } } }"""
CATALOG = "query Catalog { catalog(first: 20) { edges { node { id name pointsPrice stockAvailable } } } }"
OVERVIEW = "query Overview { pointsOverview { issued redeemed expired outstanding budgetLeft } }"


async def _village_with_activity(session, settings, name: str, size: int):
    """A village whose resident household has `size` ledger entries, notices and items."""
    from datetime import UTC, datetime

    from affairs import notices
    from rewards import awards, catalog

    now = datetime.now(UTC)
    v = await build_village(session, settings, name)
    household = v.households[-1]
    for i in range(size):
        await awards.adjust_points(session, village_id=v.village.id, household_id=household.id, points=5,
                                   reason=f"补录{i}", actor_user_id=v.admin.id, now=now)
        draft = notices.NoticeDraft(title=f"通知{i}", body="内容" * 10, category="other",
                                    audience_unit_ids=[v.village.id])
        await notices.publish_notice(session, await notices.create_notice(session, v.village, draft, v.admin.id, now), now)
        await catalog.create_item(session, v.village.id, catalog.ItemTerms(name=f"商品{i}", points_price=5), 10,
                                  v.admin.id, now)
    await session.flush()
    return v


async def test_hot_paths_cost_the_same_for_small_and_large_villages(api, session, settings, sql_count):
    """The benchmarked operations (bench/): statements per request must not grow with data."""
    small = await _village_with_activity(session, settings, "少量村", 2)
    large = await _village_with_activity(session, settings, "大量村", 25)
    for query, who in ((HOME, "resident_user"), (CATALOG, "resident_user"), (OVERVIEW, "admin")):
        counts = [
            await _statements(api, sql_count, query, None, api.token_for(getattr(v, who)))
            for v in (small, large)
        ]
        assert counts[0] == counts[1], (query.split()[1], counts)
    pinned = {HOME: 7, CATALOG: 4, OVERVIEW: 5}  # with the test's SAVEPOINT; lower them, never raise
    for query, who in ((HOME, "resident_user"), (CATALOG, "resident_user"), (OVERVIEW, "admin")):
        assert await _statements(api, sql_count, query, None, api.token_for(getattr(large, who))) <= pinned[query]


REDEEM = ("mutation Redeem($item: ID!, $key: String!) { redeemReward(input: {itemId: $item, quantity: 1, "
          "idempotencyKey: $key}) { redemption { id status pickupCode } errors { code } } }")


async def test_redeem_costs_a_pinned_number_of_statements(api, session, settings, sql_count):
    """bench/'s redeemReward, from the second purchase on (the first creates nothing more)."""
    from datetime import UTC, datetime

    from rewards import awards, catalog

    now = datetime.now(UTC)
    v = await build_village(session, settings, "兑换村")
    household = v.households[-1]
    await awards.adjust_points(session, village_id=v.village.id, household_id=household.id, points=500,
                               reason="补录", actor_user_id=v.admin.id, now=now)
    item = await catalog.create_item(
        session, v.village.id, catalog.ItemTerms(name="肥皂", points_price=5), 10, v.admin.id, now
    )
    await session.flush()
    token = api.token_for(v.resident_user)
    counts = []
    for key in ("first", "second"):
        start = sql_count()
        data = await api.data(REDEEM, {"item": gid("RewardItem", item.id), "key": key}, token)
        counts.append(sql_count() - start)
        assert data["redeemReward"]["errors"] == [] and data["redeemReward"]["redemption"]["status"] == "RESERVED"
    assert counts[0] == counts[1]
    assert counts[1] <= 18  # with the test's SAVEPOINT and RELEASE; lower it, never raise it
