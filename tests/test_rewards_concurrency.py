"""The points engine under races, over real parallel connections on committed data.

Data is set up with the `committed` session and committed; the race then runs either
through `live_api` (its own pool: each request is its own connection and transaction) or
through domain calls, each on its own session from `create_sessionmaker(engine)`. Every
test ends with the ledger's invariants (`check.violations`) on a fresh session, so it
sees what was committed."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.database import create_sessionmaker
from grid import appointments
from models import (
    IdempotencyRecord,
    PointsAccount,
    PointsAward,
    PointsLot,
    PointsTransaction,
    Redemption,
    RewardItem,
    User,
)
from rewards import awards, catalog, check, idempotency, queries, redemptions, rules
from rewards.accounts import lock_household_account, set_budget
from rewards.errors import RewardsError, RewardsErrorCode
from tests.rewards_support import CANCEL, PICKUP, REDEEM, store_clerk
from tests.support import build_village, gid, start_until_blocked

N = 50  # concurrent requests per race


# ---- helpers -------------------------------------------------------------------------


def db_id(global_id: str) -> int:
    """The database id inside a relay global id ("Type:123", base64)."""
    return int(base64.b64decode(global_id).decode().split(":", 1)[1])


async def give_points(session, v, household, points: int) -> None:
    await awards.adjust_points(
        session, village_id=v.village.id, household_id=household.id, points=points,
        reason="测试发放", actor_user_id=v.admin.id, now=datetime.now(UTC),
    )


async def new_item(session, v, price: int, stock: int, name: str = "肥皂") -> RewardItem:
    return await catalog.create_item(
        session, v.village.id, catalog.ItemTerms(name=name, points_price=price), stock,
        v.admin.id, datetime.now(UTC),
    )


async def event_rule(session, v, code: str, points: int, event_type: str = "notice_read", **terms):
    return await rules.create_rule(
        session, v.village.id, code,
        rules.RuleTerms(name="测试规则", points=points, trigger="event", event_type=event_type, **terms),
        v.admin.id, datetime.now(UTC),
    )


async def open_accounts(session, v, households) -> None:
    """Create the households' (empty) accounts beforehand, so that the race is on the
    award itself, not serialised by the first insert of the account."""
    for household in households:
        await lock_household_account(session, v.village.id, household.id)


async def in_parallel_sessions(engine, calls):
    """Run each `call(session)` at once, each in its own session and transaction."""
    maker = create_sessionmaker(engine)

    async def one(call):
        async with maker() as session, session.begin():
            return await call(session)

    return await asyncio.gather(*(one(call) for call in calls))


async def fresh_check(engine, probe=None):
    """The invariants (and, optionally, `probe(session)`'s answer) on committed data."""
    async with create_sessionmaker(engine)() as session:
        result = await probe(session) if probe else None
        assert await check.violations(session) == {}
        return result


def payload_errors(result: dict, field: str) -> list[str]:
    return [e["code"] for e in result[field]["errors"]]


async def item_stock(session, item_id: int) -> tuple[int, int]:
    row = (await session.execute(
        select(RewardItem.stock_available, RewardItem.stock_reserved).where(RewardItem.id == item_id)
    )).one()
    return row.stock_available, row.stock_reserved


async def awards_of(session, household_ids) -> list[PointsAward]:
    return list(await session.scalars(select(PointsAward).where(PointsAward.household_id.in_(household_ids))))


async def balance_of(session, household_id: int) -> int:
    return await session.scalar(select(PointsAccount.balance).where(PointsAccount.household_id == household_id))


# ---- redemptions through the API ------------------------------------------------------


async def test_fifty_residents_racing_for_the_last_item_one_gets_it(live_api, committed, engine, settings):
    v = await build_village(committed, settings, "抢货村", households_per_neighbourhood=13)
    for household in v.households:
        await give_points(committed, v, household, 20)
    # residents[0] is the chief, residents[-1] the village's resident_user: take the 50 between
    users = [await appointments.user_for_resident(committed, r) for r in v.residents[1:51]]
    item = await new_item(committed, v, price=10, stock=1)
    await committed.commit()
    assert len({u.id for u in users}) == N

    results = await asyncio.gather(*(
        live_api.data(REDEEM, {"item": gid("RewardItem", item.id), "q": 1, "key": f"last-{i}"},
                      live_api.token_for(user))
        for i, user in enumerate(users)
    ))
    answers = [r["redeemReward"] for r in results]
    winners = [a for a in answers if a["errors"] == []]
    assert len(winners) == 1 and winners[0]["redemption"]["status"] == "RESERVED"
    assert sorted(payload_errors(r, "redeemReward") for r in results if r["redeemReward"]["errors"]) \
        == [["OUT_OF_STOCK"]] * (N - 1)

    async def probe(session):
        redeemed = await session.scalar(select(func.count()).select_from(Redemption)
                                        .where(Redemption.item_id == item.id))
        return await item_stock(session, item.id), redeemed

    assert await fresh_check(engine, probe) == ((0, 1), 1)


async def test_fifty_redemptions_against_one_price_of_points_spend_it_once(
    live_api, committed, engine, settings
):
    v = await build_village(committed, settings, "一价村")
    household = v.households[-1]  # resident_user's household
    await give_points(committed, v, household, 10)
    item = await new_item(committed, v, price=10, stock=N)
    await committed.commit()
    token = live_api.token_for(v.resident_user)

    results = await asyncio.gather(*(
        live_api.data(REDEEM, {"item": gid("RewardItem", item.id), "q": 1, "key": f"spend-{i}"}, token)
        for i in range(N)
    ))
    assert sum(r["redeemReward"]["errors"] == [] for r in results) == 1
    assert sorted(payload_errors(r, "redeemReward") for r in results if r["redeemReward"]["errors"]) \
        == [["INSUFFICIENT_POINTS"]] * (N - 1)

    async def probe(session):
        account = await session.scalar(select(PointsAccount).where(PointsAccount.household_id == household.id))
        # the floor (0) is what keeps it from going negative, whatever the interleaving
        return account.balance, account.min_balance, await item_stock(session, item.id)

    balance, floor, stock = await fresh_check(engine, probe)
    assert balance == 0 and floor == 0
    assert stock == (N - 1, 1)


async def test_one_idempotency_key_fifty_times_at_once_redeems_once(live_api, committed, engine, settings):
    v = await build_village(committed, settings, "幂等村")
    household = v.households[-1]
    await give_points(committed, v, household, 100)
    item = await new_item(committed, v, price=10, stock=10)
    await committed.commit()
    token = live_api.token_for(v.resident_user)
    variables = {"item": gid("RewardItem", item.id), "q": 1, "key": "same-key"}

    at_once = await asyncio.gather(*(live_api.data(REDEEM, variables, token) for _ in range(N)))
    one_by_one = [await live_api.data(REDEEM, variables, token) for _ in range(10)]
    answers = [r["redeemReward"] for r in at_once + one_by_one]
    assert all(a["errors"] == [] for a in answers), [a["errors"] for a in answers if a["errors"]]
    assert len({a["redemption"]["id"] for a in answers}) == 1

    reused = await live_api.data(REDEEM, {**variables, "q": 2}, token)
    assert payload_errors(reused, "redeemReward") == ["IDEMPOTENCY_KEY_REUSED"]

    async def probe(session):
        rows = (await session.scalars(select(Redemption).where(Redemption.household_id == household.id))).all()
        return [r.id for r in rows], await balance_of(session, household.id), await item_stock(session, item.id)

    ids, balance, stock = await fresh_check(engine, probe)
    assert ids == [db_id(answers[0]["redemption"]["id"])]
    assert balance == 90 and stock == (9, 1)


# ---- awards from parallel sessions ----------------------------------------------------


async def test_one_event_delivered_fifty_times_at_once_awards_once(committed, engine, settings):
    v = await build_village(committed, settings, "重投村")
    now = datetime.now(UTC)
    await rules.create_rule(
        committed, v.village.id, "read", rules.RuleTerms(name="阅读", points=2, trigger="event",
                                                         event_type="notice_read"), v.admin.id, now,
    )
    h, r = v.households[0], v.residents[0]
    await open_accounts(committed, v, [h])
    await committed.commit()

    def deliver(session):
        return awards.award_for_event(
            session, village_id=v.village.id, event_type="notice_read", household_id=h.id,
            resident_id=r.id, source="notice:1", actor_user_id=None, now=now,
        )

    outcomes = [o for batch in await in_parallel_sessions(engine, [deliver] * N) for o in batch]
    assert len(outcomes) == N and all(o.refusal is None for o in outcomes)
    assert sum(o.created for o in outcomes) == 1
    assert len({o.award.id for o in outcomes}) == 1  # the repeats answer with the same award

    async def probe(session):
        return len(await awards_of(session, [h.id])), await balance_of(session, h.id)

    assert await fresh_check(engine, probe) == (1, 2)


async def test_a_daily_cap_holds_against_fifty_events_at_once(committed, engine, settings):
    v = await build_village(committed, settings, "限次村")
    await event_rule(committed, v, "read3", 2, cap_period="day", cap_count=3)
    h, r = v.households[0], v.residents[0]
    await open_accounts(committed, v, [h])
    await committed.commit()
    now = datetime.now(UTC)  # one instant for all: the same "day"

    def deliver(n):
        return lambda session: awards.award_for_event(
            session, village_id=v.village.id, event_type="notice_read", household_id=h.id,
            resident_id=r.id, source=f"notice:{n}", actor_user_id=None, now=now,
        )

    outcomes = [o for batch in await in_parallel_sessions(engine, [deliver(n) for n in range(1, N + 1)])
                for o in batch]
    assert sum(o.created for o in outcomes) == 3
    assert [o.refusal for o in outcomes if not o.created] == [RewardsErrorCode.CAP_REACHED] * (N - 3)

    async def probe(session):
        return len(await awards_of(session, [h.id])), await balance_of(session, h.id)

    assert await fresh_check(engine, probe) == (3, 6)


async def test_two_members_racing_a_once_per_household_rule_award_once(committed, engine, settings):
    v = await build_village(committed, settings, "一户村")
    await event_rule(committed, v, "antifraud", 5, event_type="anti_fraud_verified", once_per_household=True)
    h = v.households[0]
    await open_accounts(committed, v, [h])
    await committed.commit()
    members = v.residents[0:2]  # build_village: household i's head and spouse are residents 2i, 2i+1
    now = datetime.now(UTC)

    def verify(resident):
        return lambda session: awards.award_for_event(
            session, village_id=v.village.id, event_type="anti_fraud_verified", household_id=h.id,
            resident_id=resident.id, source=f"verify:{resident.id}", actor_user_id=None, now=now,
        )

    # 10 calls at once, alternating the two members (each member repeats their own event)
    calls = [verify(members[i % 2]) for i in range(10)]
    outcomes = [o for batch in await in_parallel_sessions(engine, calls) for o in batch]
    assert sum(o.created for o in outcomes) == 1
    # the winner's repeats find its award; the other member's calls hit the cap
    assert all(o.refusal in (None, RewardsErrorCode.CAP_REACHED) for o in outcomes)

    async def probe(session):
        return len(await awards_of(session, [h.id])), await balance_of(session, h.id)

    assert await fresh_check(engine, probe) == (1, 5)


async def test_a_budget_holds_against_twice_its_worth_of_awards_at_once(committed, engine, settings):
    budget = 100
    v = await build_village(committed, settings, "预算村", households_per_neighbourhood=10)
    assert len(v.households) == 20
    await set_budget(committed, v.village.id, budget)
    await event_rule(committed, v, "read10", 10)
    await open_accounts(committed, v, v.households)
    await committed.commit()
    now = datetime.now(UTC)

    def deliver(household):
        return lambda session: awards.award_for_event(
            session, village_id=v.village.id, event_type="notice_read", household_id=household.id,
            resident_id=None, source="notice:1", actor_user_id=None, now=now,
        )

    # 20 households × 10 points = 2 × budget, all at once
    outcomes = [o for batch in await in_parallel_sessions(engine, [deliver(h) for h in v.households])
                for o in batch]
    assert sum(o.created for o in outcomes) == budget // 10
    assert [o.refusal for o in outcomes if not o.created] == [RewardsErrorCode.BUDGET_EXHAUSTED] * 10

    async def probe(session):
        issued = await session.scalar(
            select(func.coalesce(func.sum(PointsAward.points), 0)).where(PointsAward.village_id == v.village.id)
        )
        issuance = await session.scalar(select(PointsAccount.balance).where(
            PointsAccount.village_id == v.village.id, PointsAccount.kind == "issuance"))
        return issued, issuance

    issued, issuance = await fresh_check(engine, probe)
    assert issued == budget  # ≤ B, and exactly B since 10 divides 100
    assert issuance == -budget and issuance >= -budget


async def test_adjustments_both_ways_at_once_keep_the_village_totals_exact(committed, engine, settings):
    """Credits take the issuance account before their legs go in, debits after drawing lots:
    both then move the village's running totals. Racing, they must neither deadlock nor
    lose a point, and the overview must read what the ledger says."""
    v = await build_village(committed, settings, "合计村", households_per_neighbourhood=10)
    await open_accounts(committed, v, v.households)
    for household in v.households:
        await give_points(committed, v, household, 100)
    await committed.commit()
    now = datetime.now(UTC)

    def adjust(household, points):
        return lambda session: awards.adjust_points(
            session, village_id=v.village.id, household_id=household.id, points=points,
            reason="并发调整", actor_user_id=v.admin.id, now=now,
        )

    calls = [adjust(h, points) for h in v.households for points in (30, -20, 5, -7)]
    await in_parallel_sessions(engine, calls)

    async def probe(session):
        return await queries.overview(session, v.village.id, datetime.now(UTC))

    overview = await fresh_check(engine, probe)
    households = len(v.households)
    assert overview["adjusted"] == households * (100 + 30 - 20 + 5 - 7)
    assert overview["outstanding"] == overview["adjusted"]
    assert overview["budget_left"] is None


# ---- lots and expiry -------------------------------------------------------------------


async def test_an_expired_lot_is_never_spent_and_lots_are_drawn_in_expiry_order(committed, engine, settings):
    v = await build_village(committed, settings, "批次村")
    now = datetime.now(UTC)
    short = await event_rule(committed, v, "short", 30, validity_days=1)
    long = await event_rule(committed, v, "long", 50, event_type="return_report", validity_days=10)
    # plain ids: a rollback below expires the ORM objects, which must not be reloaded lazily
    village_id = v.village.id
    late, early = v.households[-1].id, v.households[0].id
    late_user, early_user = v.resident_user.id, v.chief.id  # chief: residents[0] of households[0]
    for household_id in (late, early):
        for version in (short, long):
            await awards.award(committed, version, household_id=household_id, resident_id=None,
                               source="lot", actor_user_id=None, now=now)
    dear = (await new_item(committed, v, price=60, stock=5, name="大米")).id
    cheap = (await new_item(committed, v, price=40, stock=5, name="食用油")).id
    await committed.commit()

    async def lots(household_id):
        """{lot points: remaining} of the household's lots."""
        rows = await committed.execute(
            select(PointsLot.points, PointsLot.remaining)
            .join(PointsAccount, PointsAccount.id == PointsLot.account_id)
            .where(PointsAccount.household_id == household_id)
        )
        return dict(rows.all())

    def redeem(household_id, user_id, item_id, key, at):
        return redemptions.redeem(
            committed, user_id=user_id, village_id=village_id, household_id=household_id,
            resident_id=None, item_id=item_id, quantity=1, idempotency_key=key, now=at,
        )

    # after the 1-day lot expires (T = now + 1 day), only the 50 of the 10-day lot count:
    # 60 is more than that (though less than the 80 credited)...
    after_t = now + timedelta(days=2)
    with pytest.raises(RewardsError) as refused:
        await redeem(late, late_user, dear, "dear", after_t)
    assert refused.value.code is RewardsErrorCode.INSUFFICIENT_POINTS
    await committed.rollback()
    # ...and 40 is drawn from the live lot alone; the expired one keeps its 30, unspent
    await redeem(late, late_user, cheap, "cheap", after_t)
    await committed.commit()
    assert await lots(late) == {30: 30, 50: 10}

    # with both lots live, 40 empties the soonest-expiring lot (30) before touching the other
    await redeem(early, early_user, cheap, "cheap", now)
    await committed.commit()
    assert await lots(early) == {30: 0, 50: 40}
    await fresh_check(engine)


# ---- leaving `reserved`: cancel against cancel, cancel against pickup -----------------------


async def test_cancels_and_pickups_racing_close_a_redemption_once(live_api, committed, engine, settings):
    v = await build_village(committed, settings, "撤领村")
    clerk = await store_clerk(committed, v, "15500000071")
    household = v.households[-1]
    await give_points(committed, v, household, 100)
    item = await new_item(committed, v, price=10, stock=5)
    now = datetime.now(UTC)
    reserved = []
    for key in ("race-cancel", "race-mixed"):
        redemption = await redemptions.redeem(
            committed, user_id=v.resident_user.id, village_id=v.village.id, household_id=household.id,
            resident_id=v.residents[-1].id, item_id=item.id, quantity=1, idempotency_key=key, now=now,
        )
        reserved.append((redemption.id, redemption.pickup_code))
    await committed.commit()
    resident, store = live_api.token_for(v.resident_user), live_api.token_for(clerk)

    def cancel(redemption_id):
        return live_api.data(CANCEL, {"id": gid("Redemption", redemption_id)}, resident)

    def pickup(code):
        return live_api.data(PICKUP, {"code": code}, store)

    async def closed(session, redemption_id):
        status = await session.scalar(select(Redemption.status).where(Redemption.id == redemption_id))
        refunds = await session.scalar(select(func.count()).select_from(PointsTransaction).where(
            PointsTransaction.redemption_id == redemption_id, PointsTransaction.kind == "refund"))
        return status, refunds, await item_stock(session, item.id), await balance_of(session, household.id)

    def outcome(results):
        """(successes, the error codes of the rest)"""
        answers = [next(iter(r.values())) for r in results]
        return (sum(a["errors"] == [] for a in answers),
                sorted(e["code"] for a in answers for e in a["errors"]))

    # two reserved (stock 5 → 3 available, 2 reserved; balance 100 → 80)
    # 1) ten cancels at once: one refunds and releases, nine are told it is no longer reserved
    first_id, _ = reserved[0]
    successes, codes = outcome(await asyncio.gather(*(cancel(first_id) for _ in range(10))))
    assert successes == 1 and codes == ["INVALID_STATE"] * 9
    status, refunds, stock, balance = await fresh_check(engine, lambda s: closed(s, first_id))
    assert (status, refunds, stock, balance) == ("cancelled", 1, (4, 1), 90)

    # 2) five cancels and five pickups at once, interleaved: one of them wins, once
    second_id, code = reserved[1]
    calls = [cancel(second_id) if i % 2 else pickup(code) for i in range(10)]
    successes, codes = outcome(await asyncio.gather(*calls))
    assert successes == 1 and codes == ["INVALID_STATE"] * 9
    status, refunds, stock, balance = await fresh_check(engine, lambda s: closed(s, second_id))
    if status == "cancelled":  # refunded once, the goods back on the shelf once
        assert (refunds, stock, balance) == (1, (5, 0), 100)
    else:  # handed over: no refund, the reservation leaves the store
        assert (status, refunds, stock, balance) == ("picked_up", 0, (4, 0), 90)


# ---- the ledger is append-only for the application too ---------------------------------


async def test_the_application_cannot_update_or_delete_ledger_rows(committed, engine, settings):
    v = await build_village(committed, settings, "只增村")
    await give_points(committed, v, v.households[0], 7)
    village_id = v.village.id
    await committed.commit()
    statements = [
        "UPDATE points_entries SET points = 1 WHERE village_id = :v",
        "DELETE FROM points_entries WHERE village_id = :v",
        "UPDATE points_transactions SET reason = '改写' WHERE village_id = :v",
        "DELETE FROM points_transactions WHERE village_id = :v",
    ]
    async with engine.connect() as conn:  # the app's own engine and role
        for statement in statements:
            with pytest.raises(DBAPIError, match="append-only"):
                async with conn.begin():
                    await conn.execute(text(statement), {"v": village_id})

    async def probe(session):
        return (await session.execute(text(
            "SELECT count(*), sum(abs(points)) FROM points_entries WHERE village_id = :v"), {"v": village_id}
        )).one()

    assert tuple(await fresh_check(engine, probe)) == (2, 14)  # both legs, untouched


async def test_a_refusal_remembered_late_leaves_the_answer_of_a_retry_that_succeeded(engine, committed):
    # The refused request rolled back and let its key go before remembering the refusal. Its
    # retry took the key meanwhile and is succeeding (points or stock arrived in between):
    # the late refusal waits for the retry's commit and then leaves the retry's answer.
    user = User(display_name="重试者", phone="13900007777")
    committed.add(user)
    await committed.commit()
    request = idempotency.keyed(user.id, "redeemReward", "late-1", item_id=1, quantity=1)
    refusal = RewardsError(RewardsErrorCode.OUT_OF_STOCK, "库存不足")
    async with create_sessionmaker(engine)() as retry:
        assert await request.replay(retry) is None  # the retry holds the key
        late = await start_until_blocked(engine, lambda s: request.remember(s, error=refusal))
        assert not late.done()
        await request.remember(retry, result_id=42)
        await retry.commit()
    await late
    record = await committed.scalar(select(IdempotencyRecord).where(IdempotencyRecord.user_id == user.id))
    assert (record.result_id, record.error_code) == (42, None)
