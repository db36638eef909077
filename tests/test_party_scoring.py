"""Party-member scoring: a known fixture's scores equal their breakdowns and ignore
redemptions; published snapshots never change; nominees and honours; visibility."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.database import create_sessionmaker
from household_links import links, visits
from household_links.coverage import month_of
from household_links.errors import LinkError, LinkErrorCode
from party_scoring import evidence, honours, standings, weights
from party_scoring.errors import ScoringError, ScoringErrorCode
from rewards import awards, catalog, ledger, redemptions, rules
from rewards.periods import period_bounds
from tests.links_support import days, log_visit, month_ahead, party_member, viewer_of
from tests.rewards_support import assert_ledger_consistent
from tests.support import build_village, gid, start_until_blocked

BREAKDOWN = """query($p: RankingPeriod!, $r: ScoredRole!, $u: ID) {
  scoreBreakdown(period: $p, role: $r, userId: $u) {
    published standing { rank score contactPart problemPart pointsPart contactsRequired contactsDone
                         problemsFound pointsEarned person { displayName } }
    contacts(first: 50) { edges { node { met monthStart contactNeeded household { number } visit { mode } } } }
    problems(first: 50) { edges { node { category description visit { authorName } } } }
    points(first: 50) { edges { node { points reason entryId household { number } } } } } }"""


async def _award(session, v, household, at, source):
    return await awards.award_for_event(
        session, village_id=v.village.id, event_type="notice_read", household_id=household.id,
        resident_id=None, source=source, actor_user_id=None, now=at,
    )


async def _fixture(session, settings, name):
    """A month M0 (in the future, see `month_ahead`): party member A answers for h0 and h1
    from day 1; the chief heads the neighbourhood of h0 and h1."""
    v = await build_village(session, settings, name)
    a = await party_member(session, v, 2)
    m0 = month_ahead()
    h0, h1, h2, _ = v.households
    await rules.create_rule(session, v.village.id, "read", rules.RuleTerms(
        name="有效阅读", points=5, trigger="event", event_type="notice_read"), v.admin.id, m0 - days(30))
    await _award(session, v, h0, m0 + timedelta(hours=12), "n:0")  # before A's link: the chief's only
    await links.link(session, [h0, h1], a, linked_by=v.admin.id, now=m0 + days(1))
    await _award(session, v, h0, m0 + days(2), "n:1")
    await log_visit(session, a, h0, "in_person", m0 + days(3),
                 [("safety_hazard", "电线老化"), ("livelihood", "独居老人需照料")])
    await log_visit(session, a, h1, "phone", m0 + days(4))  # at home: a call does not meet the duty
    await log_visit(session, v.chief, h1, "in_person", m0 + days(6), [("environment", "垃圾未分类")])
    await _award(session, v, h1, m0 + days(8), "n:2")
    [undone] = await _award(session, v, h1, m0 + days(7), "n:undone")  # reversed: never earned
    await awards.reverse_award(session, village_id=v.village.id, award_id=undone.award.id, reason="误发",
                               actor_user_id=v.admin.id, now=m0 + days(7.5))
    await _award(session, v, h2, m0 + days(9), "n:3")  # nobody's here: another neighbourhood
    # h0 spends points: its earned points, and so A's standing, must not change
    item = await catalog.create_item(session, v.village.id, catalog.ItemTerms(name="洗衣粉", points_price=4),
                                     10, v.admin.id, m0)
    await redemptions.redeem(session, user_id=v.admin.id, village_id=v.village.id, household_id=h0.id,
                             resident_id=None, item_id=item.id, quantity=2, idempotency_key="r-1",
                             now=m0 + days(10))
    return v, a, m0


async def test_a_known_fixture_scores_as_expected_and_equals_its_breakdown(session, settings):
    v, a, m0 = await _fixture(session, settings, "评村")
    start, end = period_bounds("month", m0)
    now = end + days(2)
    rows = {(s.user_id, s.role): s for s in await standings.live(session, v.village.id, start, end, now)}
    member, chief = rows[(a.id, "party_member")], rows[(v.chief.id, "chief")]
    # A: 2 household-months, both met (h1 by the chief's visit); 2 problems; 5 + 5 points
    assert (member.contacts_required, member.contacts_done, member.problems_found, member.points_earned) == (2, 2, 2, 10)
    assert member.score == Decimal("60") + Decimal("4") + Decimal("1.00")
    # the chief: the same households, 1 problem, and the award before A's link too
    assert (chief.contacts_required, chief.contacts_done, chief.problems_found, chief.points_earned) == (2, 2, 1, 15)
    assert chief.score == Decimal("63.50") and chief.chief_level == 3
    assert (member.rank, chief.rank) == (1, 1)  # each ranked among their peers

    e = evidence.live(v.village.id, start, end, now)
    for s in (member, chief):
        rows_of = (await session.execute(select(e).where(e.c.user_id == s.user_id, e.c.role == s.role))).all()
        contacts = [r for r in rows_of if r.kind == "contact"]
        assert len(contacts) == s.contacts_required
        assert sum(r.visit_id is not None for r in contacts) == s.contacts_done
        assert sum(r.kind == "problem" for r in rows_of) == s.problems_found
        assert sum(r.points for r in rows_of if r.kind == "points") == s.points_earned
        assert s.score == s.contact_part + s.problem_part + s.points_part
    # h0 spent 8 of its 10 points: its balance is 2, and A's points earned still count them all
    summary = await ledger.household_summary(session, v.households[0].id, now)
    assert (summary.spendable, summary.lifetime_earned) == (2, 10)
    assert member.points_earned == 10
    await assert_ledger_consistent(session)

    # other weights, the same evidence
    await weights.set_weights(session, v.village.id, weights.Weights(Decimal(100), Decimal(0), Decimal(1)),
                              actor_user_id=v.admin.id, now=now)
    again = {(s.user_id, s.role): s for s in await standings.live(session, v.village.id, start, end, now)}
    assert again[(a.id, "party_member")].score == Decimal("110.00")
    with pytest.raises(ScoringError) as refused:
        await weights.set_weights(session, v.village.id, weights.Weights(Decimal(-1), Decimal(0), Decimal(0)),
                                  actor_user_id=v.admin.id, now=now)
    assert refused.value.field == "contactWeight"


async def test_a_published_snapshot_does_not_change_when_later_data_arrives(session, settings):
    v, a, m0 = await _fixture(session, settings, "冻村")
    start, end = period_bounds("month", m0)
    with pytest.raises(ScoringError) as early:
        await standings.publish(session, v.village.id, "month", start, end, actor_user_id=v.admin.id, now=end - days(1))
    assert early.value.code is ScoringErrorCode.PERIOD_NOT_OVER
    # a visit logged in the last hour of the month, still correctable when the scores go out
    fresh = await log_visit(session, a, v.households[1], "in_person", end - timedelta(hours=1), [("other", "月末发现")])
    published_at = end + timedelta(hours=2)
    snapshot = await standings.publish(session, v.village.id, "month", start, end,
                                       actor_user_id=v.admin.id, now=published_at)
    frozen = await standings.published(session, snapshot)
    live_then = await standings.live(session, v.village.id, start, end, published_at)
    assert [(s.user_id, s.role, s.score, s.rank) for s in frozen] == [
        (s.user_id, s.role, s.score, s.rank) for s in live_then]
    with pytest.raises(ScoringError) as twice:
        await standings.publish(session, v.village.id, "month", start, end, actor_user_id=v.admin.id, now=published_at)
    assert twice.value.code is ScoringErrorCode.ALREADY_PUBLISHED

    # later: a visit logged late for that month, more points, the weights changed
    await log_visit(session, a, v.households[1], "in_person", end - days(2), [("other", "补录的问题")])
    await _award(session, v, v.households[1], end - days(1), "n:late")
    await weights.set_weights(session, v.village.id, weights.Weights(Decimal(10), Decimal(10), Decimal(10)),
                              actor_user_id=v.admin.id, now=published_at)
    live_now = {(s.user_id, s.role): s for s in await standings.live(session, v.village.id, start, end, end + days(3))}
    assert live_now[(a.id, "party_member")].problems_found == 4  # the live view moved on
    snapshot_again = await standings.snapshot_of(session, v.village.id, start, end)
    assert [(s.user_id, s.score, s.points_earned, s.problems_found) for s in await standings.published(session, snapshot_again)] == [
        (s.user_id, s.score, s.points_earned, s.problems_found) for s in frozen]
    stored = standings.snapshot_evidence(snapshot.id)
    member_rows = (await session.execute(select(stored).where(stored.c.user_id == a.id, stored.c.role == "party_member"))).all()
    assert sum(r.points for r in member_rows) == 10 and sum(r.kind == "problem" for r in member_rows) == 3
    # the database refuses to rewrite what was published; a counted visit is no longer corrected
    for statement in ("UPDATE score_rows SET score = 100", "DELETE FROM score_evidence",
                      "UPDATE score_snapshots SET contact_weight = 0"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text(statement))
    assert fresh.id in {r.visit_id for r in member_rows}
    viewer = await viewer_of(session, a, datetime.now(UTC))
    with pytest.raises(LinkError) as fixed:
        await visits.correct_visit(session, viewer, fresh.id, reason="改", notes="改", now=published_at + timedelta(hours=1))
    assert fixed.value.code is LinkErrorCode.ALREADY_SCORED
    with pytest.raises(DBAPIError, match="counted in published scores"):
        async with session.begin_nested():
            await session.execute(text("UPDATE visits SET notes = 'x', revision = revision + 1 WHERE id = :id"),
                                  {"id": fresh.id})


async def test_neighbour_chief_nominees_and_honours(session, settings):
    v, a, m0 = await _fixture(session, settings, "美村")
    start, end = period_bounds("quarter", m0)
    top, published = await honours.nominees(session, v.village.id, start, end, end + days(1))
    assert [s.user_id for s in top] == [v.chief.id] and not published  # A is no chief
    with pytest.raises(ScoringError) as early:
        await honours.honour(session, v.village.id, start, end, v.chief.id, citation="热心服务",
                             actor_user_id=v.admin.id, now=end - days(1))
    assert early.value.code is ScoringErrorCode.PERIOD_NOT_OVER
    row = await honours.honour(session, v.village.id, start, end, v.chief.id, citation="热心为邻里排忧解难",
                               actor_user_id=v.admin.id, now=end + days(1))
    assert row.score == top[0].score
    for user, code in ((v.chief.id, ScoringErrorCode.ALREADY_HONOURED), (a.id, ScoringErrorCode.NOT_A_NEIGHBOUR_CHIEF)):
        with pytest.raises(ScoringError) as refused:
            await honours.honour(session, v.village.id, start, end, user, citation="x",
                                 actor_user_id=v.admin.id, now=end + days(1))
        assert refused.value.code is code
    assert [h.user_id for h in await honours.honours(session, v.village.id)] == [v.chief.id]


async def test_the_breakdown_through_the_api_and_who_may_see_it(api, session, settings):
    v = await build_village(session, settings, "明村")
    other = await build_village(session, settings, "他村")
    a, c = await party_member(session, v, 2), await party_member(session, v, 6)
    now = datetime.now(UTC)
    month = month_of(now, now)
    since = max(month.start, now - days(1))
    await rules.create_rule(session, v.village.id, "read", rules.RuleTerms(
        name="有效阅读", points=3, trigger="event", event_type="notice_read"), v.admin.id, since)
    await links.link(session, [v.households[0]], a, linked_by=v.admin.id, now=since)
    await log_visit(session, a, v.households[0], "in_person", since + (now - since) / 3, [("dispute", "邻里宅基地纠纷")])
    await _award(session, v, v.households[0], since + (now - since) / 2, "n:api")
    variables = {"p": "MONTH", "r": "PARTY_MEMBER"}
    mine = (await api.data(BREAKDOWN, variables, api.token_for(a)))["scoreBreakdown"]
    assert mine["published"] is False
    assert mine["standing"]["contactsDone"] == mine["standing"]["contactsRequired"] == 1
    assert mine["standing"]["score"] == pytest.approx(mine["standing"]["contactPart"] + mine["standing"]["problemPart"]
                                                      + mine["standing"]["pointsPart"])
    [contact] = [e["node"] for e in mine["contacts"]["edges"]]
    assert contact["met"] and contact["visit"]["mode"] == "IN_PERSON" and contact["contactNeeded"] == "IN_PERSON"
    assert [e["node"]["description"] for e in mine["problems"]["edges"]] == ["邻里宅基地纠纷"]
    [points] = [e["node"] for e in mine["points"]["edges"]]
    assert (points["points"], points["reason"]) == (3, "有效阅读") and points["entryId"]
    assert sum(e["node"]["points"] for e in mine["points"]["edges"]) == mine["standing"]["pointsEarned"]
    # the admin sees anyone's; another member, the chief and another village's admin do not
    theirs = await api.data(BREAKDOWN, {**variables, "u": gid("User", a.id)}, api.token_for(v.admin))
    assert theirs["scoreBreakdown"]["standing"]["score"] == mine["standing"]["score"]
    for user in (c, v.chief, other.admin):
        assert await api.error_code(BREAKDOWN, {**variables, "u": gid("User", a.id)}, api.token_for(user)) == "NOT_FOUND"
    scores = "query { partyScores(period: MONTH) { published standings { rank score role person { displayName } } } }"
    listed = await api.data(scores, token=api.token_for(v.admin))
    assert [s["person"]["displayName"] for s in listed["partyScores"]["standings"]] == [a.display_name, v.chief.display_name]
    other_village = "query($v: ID) { partyScores(period: MONTH, villageId: $v) { published } }"
    assert await api.error_code(other_village, {"v": gid("OrgUnit", v.village.id)}, api.token_for(a)) == "FORBIDDEN"
    assert await api.error_code(other_village, {"v": gid("OrgUnit", v.village.id)}, api.token_for(other.admin)) == "NOT_FOUND"
    # honours are public where one lives, whether the village is named or not
    honoured = "query($v: ID) { chiefHonours(villageId: $v) { citation } }"
    for named in (None, gid("OrgUnit", v.village.id)):
        assert (await api.data(honoured, {"v": named}, api.token_for(v.resident_user)))["chiefHonours"] == []
    assert await api.error_code(honoured, {"v": gid("OrgUnit", v.village.id)},
                                api.token_for(other.resident_user)) == "NOT_FOUND"


async def test_a_household_moved_to_another_unit_keeps_its_past_with_the_old_chief(session, settings):
    from grid import households

    v, a, m0 = await _fixture(session, settings, "迁村")
    start, end = period_bounds("month", m0)
    # h1 moves to the second neighbourhood the next month: the first neighbourhood's chief
    # keeps last month's duty and points for it, and the month after is someone else's
    await households.update_household(session, v.households[1], unit=v.neighbourhoods[1], now=end + days(3))
    rows = {(s.user_id, s.role): s for s in await standings.live(session, v.village.id, start, end, end + days(5))}
    chief = rows[(v.chief.id, "chief")]
    assert (chief.contacts_required, chief.points_earned) == (2, 15)
    later = period_bounds("month", end + days(5))
    after = {(s.user_id, s.role): s for s in await standings.live(session, v.village.id, *later, later[1] + days(1))}
    assert after[(v.chief.id, "chief")].contacts_required == 1
    from household_links import coverage

    assert (await coverage.unit_tally(session, v.neighbourhoods[0], month_of(m0, end + days(5)))).required == 2
    assert (await coverage.unit_tally(session, v.neighbourhoods[0], month_of(end + days(5), end + days(5)))).required == 1


async def test_a_visit_corrected_while_scores_are_published_is_counted_as_corrected(committed, settings):
    v, a, m0 = await _fixture(committed, settings, "并评村")
    start, end = period_bounds("month", m0)
    fresh = await log_visit(committed, a, v.households[1], "in_person", end - timedelta(hours=1), [("other", "月末发现")])
    await committed.commit()
    sessions = create_sessionmaker(committed.bind)
    async with sessions() as correcting:
        await visits.correct_visit(correcting, await viewer_of(correcting, a, datetime.now(UTC)), fresh.id,
                                   reason="并无问题", problems=[], now=end + timedelta(hours=1))

        async def publish(session) -> int:
            snapshot = await standings.publish(session, v.village.id, "month", start, end,
                                               actor_user_id=v.admin.id, now=end + timedelta(hours=2))
            return snapshot.id

        publishing = await start_until_blocked(committed.bind, publish)  # the correction goes first
        await correcting.commit()
    stored = standings.snapshot_evidence(await publishing)
    async with sessions() as fresh_session:
        cited = (await fresh_session.execute(select(stored.c.kind).where(stored.c.visit_id == fresh.id))).scalars().all()
    assert "problem" not in cited  # the problem the correction removed is not in the frozen scores
