"""A resident earns, sees, redeems and collects; admins configure; through the API."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from models import StockMovement
from tests.rewards_support import (
    ADJUST_POINTS,
    ADJUST_STOCK,
    CANCEL,
    CATALOG,
    CREATE_ITEM,
    CREATE_RULE,
    HOME,
    PICKUP,
    REDEEM,
    assert_ledger_consistent,
    store_clerk,
)
from tests.support import build_village, gid


async def test_earn_by_claim_redeem_and_collect(api, session, settings):
    v = await build_village(session, settings, "兑村")
    clerk = await store_clerk(session, v, "15500000001")
    admin, resident = api.token_for(v.admin), api.token_for(v.resident_user)

    rule = await api.data(CREATE_RULE, {"input": {
        "code": "toilet", "name": "完成改厕", "points": 50, "trigger": "CLAIM", "oncePerHousehold": True}}, admin)
    assert rule["createEarningRule"]["errors"] == []
    claim = await api.data(
        """mutation($r: ID!) { submitClaim(input: {ruleId: $r, note: "已完成厕所改造", photoUrls: ["https://img.example/1.jpg"]}) {
             claim { id status } errors { code } } }""",
        {"r": rule["createEarningRule"]["rule"]["id"]}, resident,
    )
    claim_id = claim["submitClaim"]["claim"]["id"]
    reviewed = await api.data(
        """mutation($c: ID!) { reviewClaim(input: {claimId: $c, approve: true}) { claim { status } errors { code } } }""",
        {"c": claim_id}, admin,
    )
    assert reviewed["reviewClaim"]["claim"]["status"] == "APPROVED"

    home = (await api.data(HOME, token=resident))["me"]["household"]["points"]
    assert home["balance"] == 50 and home["lifetimeEarned"] == 50
    assert home["entries"]["edges"][0]["node"]["reason"] == "完成改厕（申报审核通过）"

    item = await api.data(CREATE_ITEM, {"input": {"name": "洗衣粉", "pointsPrice": 20, "stock": 2}}, admin)
    item_id = item["createRewardItem"]["item"]["id"]
    assert [e["node"]["name"] for e in (await api.data(CATALOG, token=resident))["catalog"]["edges"]] == ["洗衣粉"]

    first = (await api.data(REDEEM, {"item": item_id, "q": 1, "key": "a"}, resident))["redeemReward"]
    assert first["errors"] == [] and first["redemption"]["status"] == "RESERVED"
    code = first["redemption"]["pickupCode"]
    assert len(code) == 8
    collected = await api.data(PICKUP, {"code": code.lower()}, api.token_for(clerk))
    assert collected["confirmPickup"]["redemption"]["status"] == "PICKED_UP"
    again = await api.data(PICKUP, {"code": code}, api.token_for(clerk))
    assert again["confirmPickup"]["errors"][0]["code"] == "INVALID_STATE"

    second = (await api.data(REDEEM, {"item": item_id, "q": 1, "key": "b"}, resident))["redeemReward"]
    cancelled = await api.data(CANCEL, {"id": second["redemption"]["id"]}, resident)
    assert cancelled["cancelRedemption"]["redemption"]["status"] == "CANCELLED"
    home = (await api.data(HOME, token=resident))["me"]["household"]["points"]
    assert home["balance"] == 30
    kinds = [e["node"]["kind"] for e in home["entries"]["edges"]]
    assert kinds == ["REFUND", "REDEMPTION", "REDEMPTION", "AWARD"]

    overview = await api.data(
        "{ pointsOverview { issued redeemed outstanding budget budgetLeft } }", token=admin)
    assert overview["pointsOverview"] == {
        "issued": 50, "redeemed": 20, "outstanding": 30, "budget": None, "budgetLeft": None}
    await assert_ledger_consistent(session)


async def test_admin_adjustments_and_stock_are_idempotent_and_explained(api, session, settings):
    v = await build_village(session, settings, "调村")
    admin = api.token_for(v.admin)
    household = gid("Household", v.households[0].id)
    first = await api.data(ADJUST_POINTS, {"h": household, "p": 30, "reason": "补录积分", "key": "k1"}, admin)
    retry = await api.data(ADJUST_POINTS, {"h": household, "p": 30, "reason": "补录积分", "key": "k1"}, admin)
    assert first["adjustPoints"]["household"]["points"]["balance"] == 30
    assert retry["adjustPoints"]["household"]["points"]["balance"] == 30
    reused = await api.data(ADJUST_POINTS, {"h": household, "p": 31, "reason": "补录积分", "key": "k1"}, admin)
    assert reused["adjustPoints"]["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    no_reason = await api.data(ADJUST_POINTS, {"h": household, "p": 5, "reason": " ", "key": "k2"}, admin)
    assert no_reason["adjustPoints"]["errors"][0]["code"] == "INVALID_INPUT"
    too_much = await api.data(ADJUST_POINTS, {"h": household, "p": -31, "reason": "更正", "key": "k3"}, admin)
    assert too_much["adjustPoints"]["errors"][0]["code"] == "INSUFFICIENT_POINTS"
    # enough points now: a fresh try would pass, but the retry of that tap gets the first answer
    await api.data(ADJUST_POINTS, {"h": household, "p": 10, "reason": "补录积分", "key": "k4"}, admin)
    again = await api.data(ADJUST_POINTS, {"h": household, "p": -31, "reason": "更正", "key": "k3"}, admin)
    assert again["adjustPoints"]["errors"][0]["code"] == "INSUFFICIENT_POINTS"

    item = (await api.data(CREATE_ITEM, {"input": {"name": "毛巾", "pointsPrice": 5, "stock": 1}}, admin))
    item_id = item["createRewardItem"]["item"]["id"]
    for _ in range(2):
        received = await api.data(ADJUST_STOCK, {"item": item_id, "delta": 10, "reason": "到货", "key": "s1"}, admin)
        assert received["adjustStock"]["item"]["stockAvailable"] == 11
    written_off = await api.data(ADJUST_STOCK, {"item": item_id, "delta": -12, "reason": "破损", "key": "s2"}, admin)
    assert written_off["adjustStock"]["errors"][0]["code"] == "OUT_OF_STOCK"
    overfull = await api.data(ADJUST_STOCK, {"item": item_id, "delta": 1_000_000, "reason": "到货", "key": "s3"}, admin)
    assert overfull["adjustStock"]["errors"][0]["code"] == "INVALID_INPUT"  # past the shelf's ceiling
    await assert_ledger_consistent(session)


REVIEW = """mutation($input: ReviewClaimInput!) { reviewClaim(input: $input) {
  claim { id status } errors { code field } } }"""
REVERSE = """mutation($input: ReverseAwardInput!) { reverseAward(input: $input) {
  household { points { balance } } errors { code field } } }"""


async def _claim(api, v, points: int) -> str:
    """A resident's pending claim under a new claim rule worth `points`; its id."""
    rule = await api.data(CREATE_RULE, {"input": {
        "code": f"claim-{points}", "name": "庭院整洁", "points": points, "trigger": "CLAIM"}}, api.token_for(v.admin))
    submitted = await api.data(
        """mutation($r: ID!) { submitClaim(input: {ruleId: $r, note: "院子已清理"}) { claim { id } } }""",
        {"r": rule["createEarningRule"]["rule"]["id"]}, api.token_for(v.resident_user),
    )
    return submitted["submitClaim"]["claim"]["id"]


async def test_a_retried_review_or_reversal_gets_the_first_answer(api, session, settings):
    v = await build_village(session, settings, "复村")
    admin, resident = api.token_for(v.admin), api.token_for(v.resident_user)
    approve = {"claimId": await _claim(api, v, 30), "approve": True, "idempotencyKey": "rv-1"}
    for _ in range(2):  # the retry is answered as the first review was
        reviewed = (await api.data(REVIEW, {"input": approve}, admin))["reviewClaim"]
        assert reviewed["errors"] == [] and reviewed["claim"]["status"] == "APPROVED"
    entries = (await api.data(HOME, token=resident))["me"]["household"]["points"]["entries"]["edges"]
    assert [e["node"]["points"] for e in entries] == [30]  # awarded once
    reject = {**approve, "approve": False, "reason": "照片不清"}
    other = (await api.data(REVIEW, {"input": reject}, admin))["reviewClaim"]
    assert other["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    unkeyed = (await api.data(REVIEW, {"input": {**approve, "idempotencyKey": None}}, admin))["reviewClaim"]
    assert unkeyed["errors"][0]["code"] == "INVALID_STATE"

    undo = {"entryId": entries[0]["node"]["id"], "reason": "误发", "idempotencyKey": "rev-1"}
    for _ in range(2):
        reversed_ = (await api.data(REVERSE, {"input": undo}, admin))["reverseAward"]
        assert reversed_["errors"] == [] and reversed_["household"]["points"]["balance"] == 0
    entries = (await api.data(HOME, token=resident))["me"]["household"]["points"]["entries"]["edges"]
    assert [e["node"]["points"] for e in entries] == [-30, 30]  # reversed once
    other = (await api.data(REVERSE, {"input": {**undo, "reason": "重复"}}, admin))["reverseAward"]
    assert other["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    unkeyed = (await api.data(REVERSE, {"input": {**undo, "idempotencyKey": None}}, admin))["reverseAward"]
    assert unkeyed["errors"][0]["code"] == "INVALID_STATE"
    blank = (await api.data(REVERSE, {"input": {**undo, "idempotencyKey": ""}}, admin))["reverseAward"]
    assert blank["errors"][0]["field"] == "idempotencyKey"
    await assert_ledger_consistent(session)


async def test_a_refused_reversal_is_refused_again_on_retry_with_its_key(api, session, settings):
    v = await build_village(session, settings, "拒村")
    admin, resident = api.token_for(v.admin), api.token_for(v.resident_user)
    await api.data(REVIEW, {"input": {"claimId": await _claim(api, v, 20), "approve": True}}, admin)
    item = await api.data(CREATE_ITEM, {"input": {"name": "肥皂", "pointsPrice": 20, "stock": 5}}, admin)
    spent = (await api.data(REDEEM, {"item": item["createRewardItem"]["item"]["id"], "q": 1, "key": "r1"},
                            resident))["redeemReward"]
    entries = (await api.data(HOME, token=resident))["me"]["household"]["points"]["entries"]["edges"]
    award_entry = next(e["node"]["id"] for e in entries if e["node"]["kind"] == "AWARD")

    undo = {"entryId": award_entry, "reason": "误发", "idempotencyKey": "undo-1"}
    first = (await api.data(REVERSE, {"input": undo}, admin))["reverseAward"]
    assert first["errors"][0]["code"] == "POINTS_ALREADY_SPENT"
    # the points come back (the redemption is cancelled); the retry still gets the first answer
    await api.data(CANCEL, {"id": spent["redemption"]["id"]}, resident)
    retry = (await api.data(REVERSE, {"input": undo}, admin))["reverseAward"]
    assert retry["errors"][0]["code"] == "POINTS_ALREADY_SPENT"
    # a new decision is a new request, with a new key
    fresh = (await api.data(REVERSE, {"input": {**undo, "idempotencyKey": "undo-2"}}, admin))["reverseAward"]
    assert fresh["errors"] == [] and fresh["household"]["points"]["balance"] == 0
    await assert_ledger_consistent(session)


async def test_a_retried_new_item_is_put_on_the_shelf_once(api, session, settings):
    v = await build_village(session, settings, "架村")
    admin = api.token_for(v.admin)
    soap = {"name": "香皂", "pointsPrice": 8, "stock": 40, "idempotencyKey": "item-1"}
    first = (await api.data(CREATE_ITEM, {"input": soap}, admin))["createRewardItem"]
    retry = (await api.data(CREATE_ITEM, {"input": soap}, admin))["createRewardItem"]
    assert first["errors"] == retry["errors"] == []
    assert retry["item"] == first["item"] and first["item"]["stockAvailable"] == 40
    catalog = await api.data(CATALOG, token=api.token_for(v.resident_user))
    assert [e["node"]["name"] for e in catalog["catalog"]["edges"]] == ["香皂"]
    received = await session.scalar(
        select(func.count()).select_from(StockMovement).where(StockMovement.village_id == v.village.id)
    )
    assert received == 1  # one opening stock, not two

    other = (await api.data(CREATE_ITEM, {"input": {**soap, "stock": 41}}, admin))["createRewardItem"]
    assert other["item"] is None and other["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    blank = (await api.data(CREATE_ITEM, {"input": {**soap, "idempotencyKey": " "}}, admin))["createRewardItem"]
    assert blank["errors"][0]["field"] == "idempotencyKey"
    # without a key every request is a new item, as before
    await api.data(CREATE_ITEM, {"input": {"name": "毛巾", "pointsPrice": 5}}, admin)
    await api.data(CREATE_ITEM, {"input": {"name": "毛巾", "pointsPrice": 5}}, admin)
    assert len((await api.data(CATALOG, token=api.token_for(v.resident_user)))["catalog"]["edges"]) == 3


async def test_bad_store_input_is_refused_with_codes(api, session, settings):
    v = await build_village(session, settings, "误村")
    admin, resident = api.token_for(v.admin), api.token_for(v.resident_user)
    cases = [
        ({"name": "", "pointsPrice": 5}, "name"),
        ({"name": "米", "pointsPrice": 0}, "pointsPrice"),
        ({"name": "米", "pointsPrice": 5, "stock": -1}, "stock"),
        ({"name": "米", "pointsPrice": 5, "limitQuantity": 2}, "limitQuantity"),
        ({"name": "米", "pointsPrice": 5, "imageUrl": "javascript:alert(1)"}, "imageUrl"),
    ]
    for input, field in cases:
        result = await api.data(CREATE_ITEM, {"input": input}, admin)
        assert result["createRewardItem"]["errors"][0]["field"] == field, input
    item = await api.data(CREATE_ITEM, {"input": {"name": "米", "pointsPrice": 5, "stock": 3}}, admin)
    item_id = item["createRewardItem"]["item"]["id"]
    for variables, code in [
        ({"item": item_id, "q": 0, "key": "x"}, "INVALID_INPUT"),
        ({"item": item_id, "q": 1, "key": ""}, "INVALID_INPUT"),
        ({"item": item_id, "q": 1, "key": "y"}, "INSUFFICIENT_POINTS"),
        ({"item": gid("RewardItem", 99999999), "q": 1, "key": "z"}, "NOT_FOUND"),
        ({"item": gid("Household", 1), "q": 1, "key": "w"}, "NOT_FOUND"),
    ]:
        result = await api.data(REDEEM, variables, resident)
        assert result["redeemReward"]["errors"][0]["code"] == code, variables
    # an admin without a household of their own cannot redeem
    no_household = await api.data(REDEEM, {"item": item_id, "q": 1, "key": "v"}, admin)
    assert no_household["redeemReward"]["errors"][0]["code"] == "NO_HOUSEHOLD"
    await assert_ledger_consistent(session)


async def test_a_store_clerk_sees_a_redemption_but_not_the_households_points(api, session, settings):
    v = await build_village(session, settings, "店村")
    clerk = await store_clerk(session, v, "15500000002")
    admin, resident = api.token_for(v.admin), api.token_for(v.resident_user)
    await api.data(ADJUST_POINTS, {"h": gid("Household", v.households[-1].id), "p": 50, "reason": "奖励", "key": "c1"}, admin)
    item = (await api.data(CREATE_ITEM, {"input": {"name": "盐", "pointsPrice": 5, "stock": 5}}, admin))
    await api.data(REDEEM, {"item": item["createRewardItem"]["item"]["id"], "q": 1, "key": "r1"}, resident)
    listing = "{ redemptions(status: RESERVED) { edges { node { pickupCode household { number } } } } }"
    seen = await api.data(listing, token=api.token_for(clerk))
    assert seen["redemptions"]["edges"][0]["node"]["household"]["number"] == v.households[-1].number
    # the code is the household's to say at the counter: staff never list it
    assert seen["redemptions"]["edges"][0]["node"]["pickupCode"] is None
    assert (await api.data(listing, token=admin))["redemptions"]["edges"][0]["node"]["pickupCode"] is None
    deeper = "{ redemptions { edges { node { household { points { balance } members { relation } } } } } }"
    assert (await api.data(deeper, token=api.token_for(clerk)))["redemptions"]["edges"][0]["node"]["household"] == {
        "points": None, "members": None}  # not the clerk's to see, and the list still stands


async def test_an_admin_leaves_their_own_households_points_to_another_admin(api, session, settings):
    from grid import appointments

    v = await build_village(session, settings, "避村")
    insider = v.resident_user  # lives in the last household, and now also runs the village
    await appointments.appoint(session, v.village, insider, "village_admin", appointed_by=v.admin.id,
                               now=datetime.now(UTC))
    own, other = gid("Household", v.households[-1].id), gid("Household", v.households[0].id)
    adjust = {"p": 100, "reason": "奖励", "key": "self-1"}
    assert await api.error_code(ADJUST_POINTS, {**adjust, "h": own}, api.token_for(insider)) == "FORBIDDEN"
    assert (await api.data(ADJUST_POINTS, {**adjust, "h": other, "key": "self-2"}, api.token_for(insider)))[
        "adjustPoints"]["errors"] == []
    claim = await _claim(api, v, 20)  # the insider's household claims ...
    approve = {"input": {"claimId": claim, "approve": True}}
    assert await api.error_code(REVIEW, approve, api.token_for(insider)) == "FORBIDDEN"  # ... not theirs to approve
    assert (await api.data(REVIEW, approve, api.token_for(v.admin)))["reviewClaim"]["errors"] == []


async def test_a_retried_claim_with_its_key_is_the_first_claim(api, session, settings):
    from models import PointsClaim

    v = await build_village(session, settings, "申村")
    rule = await api.data(CREATE_RULE, {"input": {"code": "yard", "name": "庭院整洁", "points": 5, "trigger": "CLAIM"}},
                          api.token_for(v.admin))
    submit = """mutation($i: SubmitClaimInput!) { submitClaim(input: $i) { claim { id } errors { code } } }"""
    tap = {"ruleId": rule["createEarningRule"]["rule"]["id"], "note": "院子已清理", "idempotencyKey": "tap-1"}
    first, retry = [(await api.data(submit, {"i": tap}, api.token_for(v.resident_user)))["submitClaim"]
                    for _ in range(2)]
    assert first["errors"] == [] and retry["claim"]["id"] == first["claim"]["id"]
    other = await api.data(submit, {"i": {**tap, "note": "另一件事"}}, api.token_for(v.resident_user))
    assert other["submitClaim"]["errors"] == [{"code": "IDEMPOTENCY_KEY_REUSED"}]
    assert await session.scalar(select(func.count()).select_from(PointsClaim)
                                .where(PointsClaim.household_id == v.households[-1].id)) == 1


async def test_rows_loaded_before_a_refused_field_are_read_afresh_by_the_next_one(api, session, settings):
    # the refusal's rollback expires every row the request's session holds, the loaders'
    # cache included: the household loaded for `a` would fail `c`, and the answer be null
    v = await build_village(session, settings, "续村")
    admin, resident = api.token_for(v.admin), api.token_for(v.resident_user)
    rule = (await api.data(CREATE_RULE, {"input": {
        "code": "clean", "name": "庭院整洁", "points": 5, "trigger": "CLAIM"}}, admin))["createEarningRule"]["rule"]
    def claim(rule_id: str) -> str:
        return f'submitClaim(input: {{ruleId: "{rule_id}", note: "已打扫"}}) {{ claim {{ household {{ number }} }} errors {{ code }} }}'

    body = await api.post(f'mutation {{ a: {claim(rule["id"])} b: {claim(gid("EarningRule", 999_999))} '
                          f'c: {claim(rule["id"])} }}', token=resident)
    assert "errors" not in body, body
    assert body["data"]["b"] == {"claim": None, "errors": [{"code": "NOT_FOUND"}]}
    assert body["data"]["a"] == body["data"]["c"] == {
        "claim": {"household": {"number": v.households[-1].number}}, "errors": []}

