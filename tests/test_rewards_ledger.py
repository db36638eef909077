"""The points engine's domain functions, called directly (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from models import EarningRule, PointsAccount, PointsEntry, PointsLot
from rewards import accounts, awards, catalog, check, claims, ledger, redemptions, rules
from rewards.accounts import policy, set_budget
from rewards.errors import RewardsError, RewardsErrorCode
from tests.support import build_village, gid

NOW = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)  # 12:00 in China


async def _rule(session, village, admin, points=10, **terms):
    return await rules.create_rule(
        session, village.id, f"r{points}{len(terms)}{terms.get('event_type', '')}",
        rules.RuleTerms(name="测试规则", points=points, trigger="event",
                        event_type=terms.pop("event_type", "notice_read"), **terms),
        admin.id, NOW,
    )


async def _balance(session, household_id) -> int:
    return await session.scalar(select(PointsAccount.balance).where(PointsAccount.household_id == household_id))


async def test_award_is_idempotent_per_source_and_the_ledger_balances(session, settings):
    v = await build_village(session, settings, "账村")
    version = await _rule(session, v.village, v.admin, points=5)
    h = v.households[0]
    first = await awards.award(session, version, household_id=h.id, resident_id=v.residents[0].id,
                               source="notice:1", actor_user_id=None, now=NOW)
    again = await awards.award(session, version, household_id=h.id, resident_id=v.residents[0].id,
                               source="notice:1", actor_user_id=None, now=NOW)
    assert first.created and not again.created and again.award.id == first.award.id
    assert first.points == 5 and again.points == 0
    assert await _balance(session, h.id) == 5
    assert await check.violations(session) == {}


async def test_spending_draws_soonest_expiring_lots_and_never_expired_ones(session, settings):
    v = await build_village(session, settings, "期村")
    h = v.households[0]
    soon = await _rule(session, v.village, v.admin, points=30, validity_days=10)
    later = await _rule(session, v.village, v.admin, points=50, validity_days=100)
    never = await _rule(session, v.village, v.admin, points=20)
    for version in (never, later, soon):
        await awards.award(session, version, household_id=h.id, resident_id=None,
                           source="s", actor_user_id=None, now=NOW)
    item = await catalog.create_item(session, v.village.id, catalog.ItemTerms(name="肥皂", points_price=40),
                                     10, v.admin.id, NOW)
    await redemptions.redeem(session, user_id=v.resident_user.id, village_id=v.village.id,
                             household_id=h.id, resident_id=None, item_id=item.id, quantity=1,
                             idempotency_key="k1", now=NOW)
    lots = {lot.points: lot.remaining for lot in await session.scalars(select(PointsLot))
            if lot.account_id == (await session.scalar(select(PointsAccount.id).where(PointsAccount.household_id == h.id)))}
    assert lots == {30: 0, 50: 40, 20: 20}  # the 30 expiring soonest went first, then 10 of the 50
    # after the 50-point lot expires (T), its 40 can never be spent, even unswept
    t = NOW + timedelta(days=100)
    with pytest.raises(RewardsError) as refused:
        await redemptions.redeem(session, user_id=v.resident_user.id, village_id=v.village.id,
                                 household_id=h.id, resident_id=None, item_id=item.id, quantity=1,
                                 idempotency_key="k2", now=t)
    assert refused.value.code is RewardsErrorCode.INSUFFICIENT_POINTS
    assert await check.violations(session) == {}


async def test_a_deduction_takes_what_there_is_and_records_the_shortfall(session, settings):
    v = await build_village(session, settings, "扣村")
    h = v.households[0]
    plus = await _rule(session, v.village, v.admin, points=8)
    minus = await _rule(session, v.village, v.admin, points=-20, event_type="return_report")
    await awards.award(session, plus, household_id=h.id, resident_id=None, source="a", actor_user_id=None, now=NOW)
    outcome = await awards.award(session, minus, household_id=h.id, resident_id=v.residents[0].id,
                                 source="violation:1", actor_user_id=v.admin.id, now=NOW)
    assert outcome.award.points == -20 and outcome.award.shortfall == 12 and outcome.points == -8
    assert await _balance(session, h.id) == 0
    nothing = await awards.award(session, minus, household_id=h.id, resident_id=None,
                                 source="violation:2", actor_user_id=v.admin.id, now=NOW)
    assert nothing.award.shortfall == 20 and nothing.award.transaction_id is None
    assert await check.violations(session) == {}


async def test_budget_reversal_and_adjustment(session, settings):
    v = await build_village(session, settings, "预村")
    h = v.households[0]
    await set_budget(session, v.village.id, 15)
    version = await _rule(session, v.village, v.admin, points=10)
    first = await awards.award(session, version, household_id=h.id, resident_id=None, source="1",
                               actor_user_id=None, now=NOW)
    with pytest.raises(RewardsError) as over:
        await awards.award(session, version, household_id=h.id, resident_id=None, source="2",
                           actor_user_id=None, now=NOW)
    assert over.value.code is RewardsErrorCode.BUDGET_EXHAUSTED
    await awards.reverse_award(session, village_id=v.village.id, award_id=first.award.id,
                               reason="误发", actor_user_id=v.admin.id, now=NOW)
    with pytest.raises(RewardsError) as twice:
        await awards.reverse_award(session, village_id=v.village.id, award_id=first.award.id,
                                   reason="误发", actor_user_id=v.admin.id, now=NOW)
    assert twice.value.code is RewardsErrorCode.INVALID_STATE
    await awards.adjust_points(session, village_id=v.village.id, household_id=h.id, points=12,
                               reason="补录", actor_user_id=v.admin.id, now=NOW)
    with pytest.raises(RewardsError) as short:
        await awards.adjust_points(session, village_id=v.village.id, household_id=h.id, points=-13,
                                   reason="更正", actor_user_id=v.admin.id, now=NOW)
    assert short.value.code is RewardsErrorCode.INSUFFICIENT_POINTS
    assert await _balance(session, h.id) == 12
    assert await check.violations(session) == {}


async def test_reversing_spent_points_is_refused_with_a_code(session, settings):
    v = await build_village(session, settings, "撤村")
    h = v.households[0]
    version = await _rule(session, v.village, v.admin, points=10)
    given = await awards.award(session, version, household_id=h.id, resident_id=None, source="x",
                               actor_user_id=None, now=NOW)
    item = await catalog.create_item(session, v.village.id, catalog.ItemTerms(name="盐", points_price=4),
                                     5, v.admin.id, NOW)
    await redemptions.redeem(session, user_id=v.resident_user.id, village_id=v.village.id,
                             household_id=h.id, resident_id=None, item_id=item.id, quantity=1,
                             idempotency_key="k", now=NOW)
    with pytest.raises(RewardsError) as spent:
        await awards.reverse_award(session, village_id=v.village.id, award_id=given.award.id,
                                   reason="误发", actor_user_id=v.admin.id, now=NOW)
    assert spent.value.code is RewardsErrorCode.POINTS_ALREADY_SPENT
    assert await _balance(session, h.id) == 6


async def test_ledger_rows_cannot_be_updated_or_deleted(session, settings):
    v = await build_village(session, settings, "改村")
    version = await _rule(session, v.village, v.admin, points=10)
    await awards.award(session, version, household_id=v.households[0].id, resident_id=None,
                       source="x", actor_user_id=None, now=NOW)
    entry = await session.scalar(select(PointsEntry).order_by(PointsEntry.id.desc()).limit(1))
    for statement in (
        "UPDATE points_entries SET points = points + 100 WHERE id = :id",
        "DELETE FROM points_entries WHERE id = :id",
        "UPDATE points_transactions SET reason = 'x' WHERE id = (SELECT transaction_id FROM points_entries WHERE id = :id)",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text(statement), {"id": entry.id})


async def test_an_unbalanced_transaction_cannot_commit(session, settings):
    v = await build_village(session, settings, "平村")
    version = await _rule(session, v.village, v.admin, points=10)
    await awards.award(session, version, household_id=v.households[0].id, resident_id=None,
                       source="x", actor_user_id=None, now=NOW)
    entry = await session.scalar(select(PointsEntry).order_by(PointsEntry.id.desc()).limit(1))
    with pytest.raises(DBAPIError, match="does not balance"):
        async with session.begin_nested():
            await session.execute(
                text("INSERT INTO points_entries (transaction_id, village_id, account_id, points) "
                     "VALUES (:t, :v, :a, 1)"),
                {"t": entry.transaction_id, "v": entry.village_id, "a": entry.account_id},
            )
            await session.execute(text("SET CONSTRAINTS points_entries_balanced IMMEDIATE"))


async def test_end_of_next_year_policy(session, settings):
    v = await build_village(session, settings, "年村")
    village_policy = await policy(session, v.village.id)
    village_policy.expire_end_of_next_year = True
    version = await _rule(session, v.village, v.admin, points=3)
    outcome = await awards.award(session, version, household_id=v.households[0].id, resident_id=None,
                                 source="x", actor_user_id=None, now=NOW)
    lot = await session.get(PointsLot, outcome.award.lot_id)
    assert lot.expires_at == datetime(2027, 12, 31, 16, 0, tzinfo=UTC)  # 2028-01-01 00:00 China


async def _generic_plan(session, statement, **values) -> str:
    """The plan PostgreSQL caches for `statement` once it settles on a generic one (asyncpg
    prepares every statement), with sequential scans priced out so that any usable index shows."""
    compiled = statement.compile(dialect=session.bind.dialect)
    args = [values.get(name, compiled.params.get(name)) for name in compiled.positiontup]
    literal = [f"'{a.isoformat() if isinstance(a, datetime) else a}'" for a in args]  # typed by the casts
    connection = await session.connection()
    await connection.exec_driver_sql(f"PREPARE generic AS {compiled}")
    await connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plan = (await connection.exec_driver_sql(f"EXPLAIN EXECUTE generic({', '.join(literal)})")).scalars().all()
    await connection.exec_driver_sql("DEALLOCATE generic")
    return "\n".join(plan)


@pytest.mark.parametrize(("statement", "index"), [
    (ledger._HOUSEHOLD_SUMMARY, "ix_points_lots_open"),  # the home screen's balance
    (ledger._LIVE_LOTS, "ix_points_lots_open"),  # the lots a redemption draws from
    (accounts._SYSTEM_ACCOUNT, "uq_points_accounts_system"),  # every posting's system account
    (ledger._LOCK_BUDGET, "uq_points_accounts_system"),  # every award's budget
])
async def test_cached_plans_of_the_hot_statements_use_their_partial_indexes(session, statement, index):
    # with the index's predicate bound as a parameter (`remaining > $1`, `kind = $1`) the
    # generic plan cannot use it: it read every lot of the county, or every account of the village
    plan = await _generic_plan(session, statement, now=datetime.now(UTC), household_id=1, account_id=1,
                               village_id=1, kind="issuance", points=1)
    assert index in plan, plan


async def test_without_a_budget_a_village_still_issues_no_more_than_the_api_can_show(api, session, settings):
    v = await build_village(session, settings, "顶村")
    now = datetime.now(UTC)
    household = v.households[0]

    async def adjust(points: int):
        return await awards.adjust_points(session, village_id=v.village.id, household_id=household.id,
                                          points=points, reason="调整", actor_user_id=v.admin.id, now=now)

    await adjust(10)
    # as if the village had issued all but 5 points of the ceiling (the balances are not the point here)
    await session.execute(text("UPDATE points_accounts SET balance = :b WHERE village_id = :v AND kind = 'issuance'"),
                          {"b": -(accounts.MAX_ISSUED - 5), "v": v.village.id})
    with pytest.raises(RewardsError) as capped:
        await adjust(10)
    assert capped.value.code is RewardsErrorCode.BUDGET_EXHAUSTED
    await adjust(5)  # up to the ceiling
    with pytest.raises(RewardsError) as too_big:
        await set_budget(session, v.village.id, accounts.MAX_ISSUED + 1)
    assert too_big.value.field == "budget"
    # and a number past 32 bits, could one appear, is a masked internal error, not a "validation" one
    await session.execute(text("UPDATE points_lots SET points = 3000000000, remaining = 3000000000 "
                               "WHERE account_id = (SELECT id FROM points_accounts WHERE household_id = :h)"),
                          {"h": household.id})
    query = "query($h: ID!) { household(id: $h) { points { balance } } }"
    assert await api.error_code(query, {"h": gid("Household", household.id)},
                                api.token_for(v.admin)) == "INTERNAL_SERVER_ERROR"


# Each invariant of `village rewards check`, broken on purpose: the check must name it.
PLANTS = {
    "cached balance equals the ledger": "UPDATE points_accounts SET balance = balance + 1 WHERE id = :account",
    "lot remainder equals its entries": "UPDATE points_lots SET remaining = remaining - 1 WHERE id = :lot",
    "village totals equal the ledger": "UPDATE points_village_totals SET points = points + 1 WHERE village_id = :village",
    "lifetime earned equals credits kept": "UPDATE points_accounts SET lifetime_earned = lifetime_earned + 1 WHERE id = :account",
    "stock on hand equals its movements": "UPDATE reward_items SET stock_available = stock_available + 1 WHERE id = :item",
    "reserved stock equals its movements and open redemptions":
        "UPDATE reward_items SET stock_reserved = stock_reserved + 1 WHERE id = :item",
    "a redemption spends its price": "UPDATE redemptions SET points = points + 1 WHERE id = :redemption",
    "a redemption's stock moves once to reserve and once to close":
        "UPDATE redemptions SET status = 'picked_up', closed_at = now() WHERE id = :redemption",
    "no lot is drawn after it expired":
        "UPDATE points_lots SET expires_at = CAST(:drawn AS timestamptz) - interval '1 second' WHERE id = :lot",
    "an approved claim has its award, and no other claim has one":
        "UPDATE points_claims SET status = 'rejected' WHERE id = :claim",
}


async def test_the_check_names_each_invariant_a_row_breaks(session, settings):
    v = await build_village(session, settings, "验账村")
    now = datetime.now(UTC)
    household = v.households[0]
    claim_rule = await rules.create_rule(session, v.village.id, "yard", rules.RuleTerms(
        name="庭院整洁", points=40, trigger="claim"), v.admin.id, now)
    rule = await session.get(EarningRule, claim_rule.rule_id)
    claim = await claims.submit_claim(session, rule=rule, household_id=household.id, resident_id=None,
                                      submitted_by=v.admin.id, note="院子已清理", photo_urls=[], now=now)
    await claims.review_claim(session, village_id=v.village.id, claim_id=claim.id, approve=True, reason=None,
                              reviewer_id=v.admin.id, now=now)
    item = await catalog.create_item(session, v.village.id, catalog.ItemTerms(name="盐", points_price=10),
                                     5, v.admin.id, now)
    redemption = await redemptions.redeem(
        session, user_id=v.admin.id, village_id=v.village.id, household_id=household.id, resident_id=None,
        item_id=item.id, quantity=1, idempotency_key="plant", now=now + timedelta(minutes=1),
    )
    account = await session.scalar(select(PointsAccount.id).where(PointsAccount.household_id == household.id))
    lot = await session.scalar(select(PointsLot.id).where(PointsLot.account_id == account))
    assert await check.violations(session) == {}
    values = {"account": account, "lot": lot, "village": v.village.id, "item": item.id,
              "redemption": redemption.id, "drawn": now + timedelta(minutes=1), "claim": claim.id}
    for name, plant in PLANTS.items():
        planted = await session.begin_nested()
        await session.execute(text(plant), {k: v for k, v in values.items() if f":{k}" in plant})
        found = await check.violations(session)
        await planted.rollback()
        assert name in found, (name, found)


async def test_rankings_share_ranks_on_equal_points_and_keep_ties_at_the_cut(session, settings):
    from rewards import rankings

    v = await build_village(session, settings, "榜村")
    now = datetime.now(UTC)
    version = await rules.create_rule(session, v.village.id, "deed", rules.RuleTerms(
        name="好人好事", points=10, trigger="event", event_type="notice_read"), v.admin.id, now)
    for household, times in zip(v.households, (3, 2, 2, 1), strict=True):
        for n in range(times):
            await awards.award(session, version, household_id=household.id, resident_id=None, source=f"d{n}",
                               actor_user_id=None, now=now)
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    full = await rankings.compute(session, v.village.id, "red", start, end)
    assert [(r["rank"], r["points"]) for r in full] == [(1, 30), (2, 20), (2, 20), (4, 10)]
    cut = await rankings.compute(session, v.village.id, "red", start, end, limit=2)
    assert [r["rank"] for r in cut] == [1, 2, 2]  # both households at rank 2 stay on the list
