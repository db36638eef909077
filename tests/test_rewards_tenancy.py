"""Test 11: an admin of village A cannot touch village B's rules, catalog, ledger, claims or
redemptions (NOT_FOUND, nothing written); a resident sees only their own household's points."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from rewards import awards, catalog, claims, redemptions, rules
from tests.rewards_support import HOME
from tests.support import build_village, gid
from tests.test_tenancy import mutations_of

NOW = datetime.now(UTC)


async def _village_b(session, settings):
    b = await build_village(session, settings, "积乙村")
    b.rule = await rules.create_rule(
        session, b.village.id, "toilet", rules.RuleTerms(name="改厕", points=50, trigger="claim"),
        b.admin.id, NOW,
    )
    b.claim = await claims.submit_claim(
        session, rule=await rules.get_rule(session, b.village.id, b.rule.rule_id),
        household_id=b.households[0].id, resident_id=None, submitted_by=b.admin.id, note="完成", photo_urls=[],
        now=NOW,
    )
    await awards.adjust_points(session, village_id=b.village.id, household_id=b.households[-1].id,
                               points=100, reason="初始", actor_user_id=b.admin.id, now=NOW)
    b.item = await catalog.create_item(session, b.village.id, catalog.ItemTerms(name="香皂", points_price=10),
                                       5, b.admin.id, NOW)
    b.redemption = await redemptions.redeem(
        session, user_id=b.resident_user.id, village_id=b.village.id, household_id=b.households[-1].id,
        resident_id=None, item_id=b.item.id, quantity=1, idempotency_key="b1", now=NOW,
    )
    b.entry_id = await session.scalar(text(
        "SELECT e.id FROM points_entries e JOIN points_accounts a ON a.id = e.account_id "
        "WHERE a.household_id = :h ORDER BY e.id LIMIT 1"), {"h": b.households[-1].id})
    return b


def _mutations(b) -> dict[str, tuple[str, dict]]:
    def m(name: str, input_type: str, selection: str):
        return f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} errors {{ code }} }} }}"

    village = gid("OrgUnit", b.village.id)
    return {
        "createEarningRule": (m("createEarningRule", "CreateEarningRuleInput", "rule { id }"),
                              {"villageId": village, "code": "x", "name": "x", "points": 1, "trigger": "CLAIM"}),
        "reviseEarningRule": (m("reviseEarningRule", "ReviseEarningRuleInput", "rule { id }"),
                              {"ruleId": gid("EarningRule", b.rule.rule_id), "points": 500}),
        "reviewClaim": (m("reviewClaim", "ReviewClaimInput", "claim { id }"),
                        {"claimId": gid("PointsClaim", b.claim.id), "approve": True}),
        "submitClaim": (m("submitClaim", "SubmitClaimInput", "claim { id }"),
                        {"ruleId": gid("EarningRule", b.rule.rule_id), "note": "x",
                         "householdId": gid("Household", b.households[0].id)}),
        "createRewardItem": (m("createRewardItem", "CreateRewardItemInput", "item { id }"),
                             {"villageId": village, "name": "x", "pointsPrice": 1}),
        "updateRewardItem": (m("updateRewardItem", "UpdateRewardItemInput", "item { id }"),
                             {"itemId": gid("RewardItem", b.item.id), "pointsPrice": 1}),
        "adjustStock": (m("adjustStock", "AdjustStockInput", "item { id }"),
                        {"itemId": gid("RewardItem", b.item.id), "delta": 100, "reason": "x", "idempotencyKey": "t1"}),
        "adjustPoints": (m("adjustPoints", "AdjustPointsInput", "household { id }"),
                         {"householdId": gid("Household", b.households[0].id), "points": 100, "reason": "x",
                          "idempotencyKey": "t2"}),
        "reverseAward": (m("reverseAward", "ReverseAwardInput", "household { id }"),
                         {"entryId": gid("PointsEntry", b.entry_id), "reason": "x"}),
        "redeemReward": (m("redeemReward", "RedeemRewardInput", "redemption { id }"),
                         {"itemId": gid("RewardItem", b.item.id), "quantity": 1, "idempotencyKey": "t3"}),
        "cancelRedemption": (m("cancelRedemption", "CancelRedemptionInput", "redemption { id }"),
                             {"redemptionId": gid("Redemption", b.redemption.id)}),
        "confirmPickup": (m("confirmPickup", "ConfirmPickupInput", "redemption { id }"),
                          {"code": b.redemption.pickup_code, "villageId": village}),
        "setPointsPolicy": (m("setPointsPolicy", "SetPointsPolicyInput", "policy { budget }"),
                            {"villageId": village, "budget": 1}),
        "publishRanking": (m("publishRanking", "PublishRankingInput", "ranking { published }"),
                           {"villageId": village, "kind": "RED", "period": "MONTH", "at": "2026-01-15T00:00:00Z"}),
    }


def _queries(b) -> list[tuple[str, dict]]:
    village = {"v": gid("OrgUnit", b.village.id)}
    return [
        ("query($v: ID) { catalog(villageId: $v) { edges { node { id } } } }", village),
        ("query($v: ID) { redemptions(villageId: $v) { edges { node { id } } } }", village),
        ("query($v: ID) { pointsOverview(villageId: $v) { issued } }", village),
        ("query($v: ID) { pointsLedger(villageId: $v) { edges { node { id } } } }", village),
        ("query($v: ID) { earningRules(villageId: $v) { edges { node { id } } } }", village),
        ("query($v: ID) { pointsClaims(villageId: $v) { edges { node { id } } } }", village),
        ("query($v: ID) { pointsPolicy(villageId: $v) { budget } }", village),
        ("query($v: ID) { pointsRanking(villageId: $v, kind: RED, period: MONTH) { rows { points } } }", village),
        ("query($id: ID!) { household(id: $id) { points { balance } } }", {"id": gid("Household", b.households[-1].id)}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": gid("RewardItem", b.item.id)}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": gid("Redemption", b.redemption.id)}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": gid("EarningRule", b.rule.rule_id)}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": gid("PointsClaim", b.claim.id)}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": gid("PointsEntry", b.entry_id)}),
    ]


async def _digest(session) -> tuple:
    tables = ["earning_rules", "earning_rule_versions", "points_claims", "points_transactions",
              "points_entries", "points_lots", "points_accounts", "reward_items", "stock_movements",
              "redemptions", "points_policies", "ranking_snapshots", "idempotency_records"]
    return tuple([
        await session.scalar(text(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {t} t"))
        for t in tables
    ])


async def test_admin_of_a_reads_village_b_points_as_not_found(api, session, settings):
    a = await build_village(session, settings, "积甲村")
    b = await _village_b(session, settings)
    token = api.token_for(a.admin)
    for query, variables in _queries(b):
        assert await api.error_code(query, variables, token) == "NOT_FOUND", query


async def test_every_rewards_mutation_on_village_b_is_not_found_and_writes_nothing(api, session, settings):
    a = await build_village(session, settings, "积丙村")
    b = await _village_b(session, settings)
    calls = _mutations(b)
    assert mutations_of("resolvers.rewards") == set(calls), "cover every rewards mutation"
    before = await _digest(session)
    admin = api.token_for(a.admin)
    resident = api.token_for(a.resident_user)
    for name, (query, variables) in calls.items():
        token = resident if name in {"redeemReward", "cancelRedemption", "submitClaim"} else admin
        data = await api.data(query, {"input": variables}, token)
        assert data[name]["errors"][0]["code"] == "NOT_FOUND", (name, data)
    assert await _digest(session) == before


async def test_a_resident_sees_only_their_own_points(api, session, settings):
    v = await _village_b(session, settings)
    mine = await api.data(HOME, token=api.token_for(v.resident_user))
    assert mine["me"]["household"]["points"]["balance"] == 90
    neighbour = gid("Household", v.households[0].id)
    assert await api.error_code(
        "query($id: ID!) { household(id: $id) { points { balance } } }", {"id": neighbour},
        api.token_for(v.resident_user),
    ) == "NOT_FOUND"
    # the village's ledger is the admins': naming their own village does not open it to a resident
    assert await api.error_code(
        "query($v: ID) { pointsLedger(villageId: $v) { edges { node { id } } } }",
        {"v": gid("OrgUnit", v.village.id)}, api.token_for(v.resident_user),
    ) == "FORBIDDEN"
