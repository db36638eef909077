"""Village affairs disclosure and group accounts, through the API and the domain."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from affairs import accounts, cadence, notices
from affairs.errors import AffairsError
from app.database import create_sessionmaker
from grid import appointments, units
from models import AccountStatement, NoticeRead, NoticeReceipt, PointsAward
from rewards import check, rules
from tests.support import build_village, gid

CREATE = """mutation($i: CreateNoticeInput!) { createNotice(input: $i) {
  notice { id title status minimumSeconds revision } errors { code field message } } }"""
OPEN = """mutation($n: ID!) { openNotice(input: {noticeId: $n}) { read { id startedAt minimumSeconds } errors { code message } } }"""
FINISH = """mutation($r: ID!) { finishNoticeRead(input: {readId: $r}) { receipt { id seconds } pointsAwarded errors { code message } } }"""
LIST = """query($unread: Boolean) { notices(first: 20, unreadOnly: $unread) { edges { node { id title category publishedAt read } } } }"""


async def _reading_rule(session, v, points=1, **terms):
    return await rules.create_rule(
        session, v.village.id, "notice_read",
        rules.RuleTerms(name="有效阅读村务公开", points=points, trigger="event", event_type="notice_read", **terms),
        v.admin.id, datetime.now(UTC),
    )


async def _notice(api, v, audience, title="关于道路硬化的公示", body="经村民代表大会讨论，决定硬化东片主干道。" * 4):
    made = await api.data(CREATE, {"i": {
        "category": "VILLAGE_AFFAIRS", "title": title, "body": body, "minimumSeconds": 20,
        "audienceUnitIds": [gid("OrgUnit", u.id) for u in audience], "publish": True}},
        api.token_for(v.admin))
    assert made["createNotice"]["errors"] == [], made
    return made["createNotice"]["notice"]["id"]


async def _age_reads(session, seconds=60):
    await session.execute(update(NoticeRead).values(started_at=NoticeRead.started_at - timedelta(seconds=seconds)))


async def test_reading_for_real_earns_once_and_only_after_the_minimum(api, session, settings):
    v = await build_village(session, settings, "读村")
    await _reading_rule(session, v)
    notice = await _notice(api, v, [v.village])
    resident = api.token_for(v.resident_user)

    listed = await api.data(LIST, {"unread": True}, resident)
    assert [e["node"]["read"] for e in listed["notices"]["edges"]] == [False]
    opened = (await api.data(OPEN, {"n": notice}, resident))["openNotice"]["read"]
    assert opened["minimumSeconds"] == 20
    early = await api.data(FINISH, {"r": opened["id"]}, resident)
    assert early["finishNoticeRead"]["errors"][0]["code"] == "TOO_EARLY"
    assert await session.scalar(select(func.count()).select_from(NoticeReceipt)
                                .where(NoticeReceipt.resident_id == v.residents[-1].id)) == 0

    await _age_reads(session)
    done = (await api.data(FINISH, {"r": opened["id"]}, resident))["finishNoticeRead"]
    assert done["errors"] == [] and done["pointsAwarded"] == 1 and done["receipt"]["seconds"] >= 60
    twice = (await api.data(FINISH, {"r": opened["id"]}, resident))["finishNoticeRead"]
    assert twice["errors"][0]["code"] == "ALREADY_READ" and twice["pointsAwarded"] == 0
    again = (await api.data(OPEN, {"n": notice}, resident))["openNotice"]["read"]
    await _age_reads(session)
    second_read = (await api.data(FINISH, {"r": again["id"]}, resident))["finishNoticeRead"]
    assert second_read["errors"][0]["code"] == "ALREADY_READ"
    # the spouse in the same household reads too: a receipt, but the household was paid once
    spouse = await appointments.user_for_resident(session, v.residents[-2])
    spouse_read = (await api.data(OPEN, {"n": notice}, api.token_for(spouse)))["openNotice"]["read"]
    await _age_reads(session)
    spouse_done = (await api.data(FINISH, {"r": spouse_read["id"]}, api.token_for(spouse)))["finishNoticeRead"]
    assert spouse_done["errors"] == [] and spouse_done["pointsAwarded"] == 0
    assert (await api.data(LIST, {"unread": True}, resident))["notices"]["edges"] == []
    assert (await api.data("{ unreadNoticeCount }", token=resident))["unreadNoticeCount"] == 0
    assert await check.violations(session) == {}


async def test_outside_the_audience_a_notice_does_not_exist(api, session, settings):
    v = await build_village(session, settings, "范村")
    other_area = await units.create_unit(session, v.village, "西片")
    notice = await _notice(api, v, [other_area], title="西片通知")
    resident = api.token_for(v.resident_user)  # lives in 东片
    assert (await api.data(LIST, {"unread": None}, resident))["notices"]["edges"] == []
    refused = await api.data(OPEN, {"n": notice}, resident)
    assert refused["openNotice"]["errors"][0]["code"] == "NOT_FOUND"
    assert await api.error_code("query($id: ID!) { node(id: $id) { id } }", {"id": notice}, resident) == "NOT_FOUND"


async def test_revisions_are_kept_and_shown(api, session, settings):
    v = await build_village(session, settings, "改村")
    notice = await _notice(api, v, [v.village])
    admin = api.token_for(v.admin)
    revise = """mutation($i: ReviseNoticeInput!) { reviseNotice(input: $i) { notice { revision revised changeReason title
      revisions { revision title changeReason } } errors { code field } } }"""
    no_reason = await api.data(revise, {"i": {"noticeId": notice, "title": "新标题"}}, admin)
    assert no_reason["reviseNotice"]["errors"] == [{"code": "INVALID_INPUT", "field": "reason"}]
    revised = (await api.data(revise, {"i": {"noticeId": notice, "title": "关于道路硬化的公示（更正）",
                                              "reason": "更正施工日期"}}, admin))["reviseNotice"]["notice"]
    assert revised["revision"] == 2 and revised["revised"] and revised["changeReason"] == "更正施工日期"
    assert [r["title"] for r in revised["revisions"]] == ["关于道路硬化的公示", "关于道路硬化的公示（更正）"]
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text("UPDATE notice_revisions SET title = 'x'"))


async def test_a_new_body_keeps_an_explicit_minimum_and_moves_a_derived_one(api, session, settings):
    v = await build_village(session, settings, "时村")
    admin = api.token_for(v.admin)
    revise = """mutation($i: ReviseNoticeInput!) { reviseNotice(input: $i) {
      notice { minimumSeconds } errors { code field } } }"""
    longer = "经村民代表大会讨论，决定硬化东片主干道，并公布施工日期与经费来源。" * 40
    explicit = await _notice(api, v, [v.village])  # 20 s, set by the admin
    kept = await api.data(revise, {"i": {"noticeId": explicit, "body": longer, "reason": "补充"}}, admin)
    assert kept["reviseNotice"] == {"notice": {"minimumSeconds": 20}, "errors": []}
    derived = (await api.data(CREATE, {"i": {
        "category": "VILLAGE_AFFAIRS", "title": "通知", "body": "短文" * 10,
        "audienceUnitIds": [gid("OrgUnit", v.village.id)], "publish": True}}, admin))["createNotice"]["notice"]
    assert derived["minimumSeconds"] == notices.default_min_read_seconds("短文" * 10)
    moved = await api.data(revise, {"i": {"noticeId": derived["id"], "body": longer, "reason": "补充"}}, admin)
    assert moved["reviseNotice"]["notice"]["minimumSeconds"] == notices.default_min_read_seconds(longer) > 20
    changed = await api.data(revise, {"i": {"noticeId": explicit, "minimumSeconds": 45, "reason": "延长"}}, admin)
    assert changed["reviseNotice"]["notice"]["minimumSeconds"] == 45


async def test_read_rates_by_unit_and_households_not_reached(api, session, settings):
    v = await build_village(session, settings, "率村", households_per_neighbourhood=2)
    first, second = v.neighbourhoods  # households 0,1 and 2,3
    notice = await _notice(api, v, [v.group])
    for resident in (v.residents[0], v.residents[2], v.residents[3]):  # households 0 and 1
        user = await appointments.user_for_resident(session, resident)
        read = (await api.data(OPEN, {"n": notice}, api.token_for(user)))["openNotice"]["read"]
        await _age_reads(session)
        await api.data(FINISH, {"r": read["id"]}, api.token_for(user))
    chief = api.token_for(v.chief)  # the chief of the first neighbourhood
    reach = await api.data(
        """query($n: ID!, $u: ID) { noticeReach(noticeId: $n, unitId: $u) {
             total { audienceHouseholds reachedHouseholds rate }
             units { unit { name } audienceHouseholds reachedHouseholds rate } } }""",
        {"n": notice, "u": gid("OrgUnit", v.group.id)}, api.token_for(v.admin),
    )
    assert reach["noticeReach"]["total"] == {"audienceHouseholds": 4, "reachedHouseholds": 2, "rate": 0.5}
    assert reach["noticeReach"]["units"] == [
        {"unit": {"name": "第1邻"}, "audienceHouseholds": 2, "reachedHouseholds": 2, "rate": 1.0},
        {"unit": {"name": "第2邻"}, "audienceHouseholds": 2, "reachedHouseholds": 0, "rate": 0.0},
    ]
    missing = await api.data(
        """query($n: ID!, $u: ID) { unreachedHouseholds(noticeId: $n, unitId: $u) { edges { node { number } } } }""",
        {"n": notice, "u": gid("OrgUnit", second.id)}, api.token_for(v.admin),
    )
    assert [e["node"]["number"] for e in missing["unreachedHouseholds"]["edges"]] == [
        v.households[2].number, v.households[3].number]
    # a neighbour chief sees their own neighbourhood's reach, not the one next door
    own = await api.data(
        "query($n: ID!, $u: ID) { noticeReach(noticeId: $n, unitId: $u) { total { reachedHouseholds } } }",
        {"n": notice, "u": gid("OrgUnit", first.id)}, chief,
    )
    assert own["noticeReach"]["total"]["reachedHouseholds"] == 2
    assert await api.error_code(
        "query($n: ID!, $u: ID) { noticeReach(noticeId: $n, unitId: $u) { total { rate } } }",
        {"n": notice, "u": gid("OrgUnit", second.id)}, chief,
    ) == "NOT_FOUND"


async def test_a_read_finishes_only_as_the_latest_recent_one_of_what_is_published_now(api, session, settings):
    v = await build_village(session, settings, "真读村")
    await _reading_rule(session, v)
    first = await _notice(api, v, [v.village], title="道路公示")
    second = await _notice(api, v, [v.village], title="补贴公示")
    resident = api.token_for(v.resident_user)

    async def open_(notice):
        return (await api.data(OPEN, {"n": notice}, resident))["openNotice"]["read"]["id"]

    async def finish(read):
        return (await api.data(FINISH, {"r": read}, resident))["finishNoticeRead"]

    # opening everything at once and finishing it all later: only the latest read counts
    scripted = [await open_(first), await open_(second)]
    await _age_reads(session)
    assert (await finish(scripted[0]))["errors"][0]["code"] == "REOPEN_REQUIRED"
    assert (await finish(scripted[1]))["pointsAwarded"] == 1
    # a read left open for hours
    stale = await open_(first)
    await _age_reads(session, seconds=31 * 60)
    assert (await finish(stale))["errors"][0]["code"] == "REOPEN_REQUIRED"
    # the notice revised after it was opened: what was read is no longer what is published
    revised = await open_(first)
    await _age_reads(session)
    changed = await api.data("""mutation($i: ReviseNoticeInput!) { reviseNotice(input: $i) { errors { code } } }""",
                             {"i": {"noticeId": first, "body": "补充：东片主干道硬化宽度为4.5米。" * 4,
                                    "reason": "补充宽度"}}, api.token_for(v.admin))
    assert changed["reviseNotice"]["errors"] == []
    assert (await finish(revised))["errors"][0]["code"] == "REOPEN_REQUIRED"
    fresh = await open_(first)
    await _age_reads(session, seconds=300)
    assert (await finish(fresh))["errors"] == []


async def test_fifty_finishes_at_once_make_one_receipt_and_one_award(live_api, committed, engine, settings):
    v = await build_village(committed, settings, "并读村")
    await _reading_rule(committed, v)
    await committed.commit()
    notice = await _notice(live_api, v, [v.village])
    token = live_api.token_for(v.resident_user)
    reads = [(await live_api.data(OPEN, {"n": notice}, token))["openNotice"]["read"]["id"] for _ in range(5)]
    await _age_reads(committed)
    await committed.commit()
    results = await asyncio.gather(*(
        live_api.data(FINISH, {"r": reads[i % 5]}, token) for i in range(50)
    ))
    ok = [r for r in results if not r["finishNoticeRead"]["errors"]]
    assert len(ok) == 1 and ok[0]["finishNoticeRead"]["pointsAwarded"] == 1
    # the latest read finishes once; the four opened before it can no longer finish
    assert {r["finishNoticeRead"]["errors"][0]["code"] for r in results if r not in ok} == {
        "ALREADY_READ", "REOPEN_REQUIRED"}
    async with create_sessionmaker(engine)() as fresh:
        assert await fresh.scalar(select(func.count()).select_from(NoticeReceipt)
                                  .where(NoticeReceipt.resident_id == v.residents[-1].id)) == 1
        assert await fresh.scalar(select(func.count()).select_from(PointsAward)
                                  .where(PointsAward.household_id == v.households[-1].id)) == 1
        assert await check.violations(fresh) == {}


async def test_a_statement_totals_balances_and_freezes(session, settings):
    v = await build_village(session, settings, "账村")
    now = datetime(2026, 11, 5, tzinfo=UTC)
    entries = [
        (date(2026, 9, 3), "income", "土地流转", 1_200_000, "承包费"),
        (date(2026, 9, 20), "expense", "道路维修", 350_050, "修补路面"),
        (date(2026, 10, 2), "income", "上级补助", 500_000, "人居环境补助"),
        (date(2026, 10, 9), "expense", "保洁", 80_000, "保洁员工资"),
        (date(2026, 10, 15), "expense", "保洁", 20_000, "垃圾桶"),
    ]
    for day, direction, category, fen, description in entries:
        await accounts.add_entry(session, v.group, accounts.EntryInput(day, direction, category, fen, description),
                                 v.admin.id, now)
    september = (await accounts.publish_statement(session, v.group, "2026-09", reason=None, publisher_id=v.admin.id,
                                                  now=now)).statement
    assert september.content["closing_balance_fen"] == 849_950
    october = (await accounts.publish_statement(session, v.group, "2026-10", reason=None, publisher_id=v.admin.id,
                                                now=now)).statement
    c = october.content
    assert (c["opening_balance_fen"], c["income_fen"], c["expense_fen"], c["closing_balance_fen"]) == (
        849_950, 500_000, 100_000, 1_249_950)
    assert c["by_category"] == [
        {"direction": "expense", "category": "保洁", "amount_fen": 100_000},
        {"direction": "income", "category": "上级补助", "amount_fen": 500_000},
    ]
    assert october.previous_digest == september.digest
    with pytest.raises(Exception) as no_reason:
        await accounts.publish_statement(session, v.group, "2026-10", reason=None, publisher_id=v.admin.id, now=now)
    assert no_reason.value.field == "correctionReason"
    await accounts.add_entry(session, v.group, accounts.EntryInput(date(2026, 10, 30), "expense", "保洁", 5_000, "补录"),
                             v.admin.id, now)
    corrected = (await accounts.publish_statement(session, v.group, "2026-10", reason="补录遗漏支出",
                                                  publisher_id=v.admin.id, now=now)).statement
    assert corrected.version == 2 and corrected.content["closing_balance_fen"] == 1_244_950
    assert corrected.previous_digest == october.digest
    for statement in ("UPDATE account_statements SET content = content WHERE id = :id",
                      "DELETE FROM account_statements WHERE id = :id"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text(statement), {"id": october.id})
    assert await accounts.verify(session, v.village.id) == []


async def test_verification_names_a_statement_altered_behind_the_applications_back(session, settings):
    v = await build_village(session, settings, "验村")
    now = datetime(2026, 11, 5, tzinfo=UTC)
    for month in (8, 9, 10):
        await accounts.add_entry(session, v.village, accounts.EntryInput(date(2026, month, 1), "income", "集体收入",
                                                                          100_000, "租金"), v.admin.id, now)
        await accounts.publish_statement(session, v.village, f"2026-{month:02d}", reason=None,
                                         publisher_id=v.admin.id, now=now)
    tampered = await session.scalar(select(AccountStatement).where(
        AccountStatement.unit_id == v.village.id, AccountStatement.period == "2026-09"))
    # someone with the database's keys edits the published figures directly
    await session.execute(text("ALTER TABLE account_statements DISABLE TRIGGER account_statements_append_only"))
    await session.execute(text(
        "UPDATE account_statements SET content = jsonb_set(content, '{income_fen}', '1') WHERE id = :id"),
        {"id": tampered.id})
    await session.execute(text("ALTER TABLE account_statements ENABLE TRIGGER account_statements_append_only"))
    broken = await accounts.verify(session, v.village.id)
    assert [(b.period, b.version) for b in broken] == [("2026-09", 1)]


async def test_an_entry_is_dated_in_a_month_the_books_can_hold(session, settings):
    v = await build_village(session, settings, "限村")
    now = datetime.now(UTC)
    for day in (date(1999, 12, 31), date(2100, 1, 1)):  # 2100-01 could be neither listed nor published
        with pytest.raises(AffairsError) as refused:
            await accounts.add_entry(session, v.village, accounts.EntryInput(day, "income", "租金", 100, "x"),
                                     v.admin.id, now)
        assert refused.value.field == "date"
    await accounts.add_entry(session, v.village, accounts.EntryInput(date(2099, 12, 31), "income", "租金", 100, "x"),
                             v.admin.id, now)


async def test_cadence_lists_what_is_overdue(session, settings):
    v = await build_village(session, settings, "期公村")
    await build_village(session, settings, "静村", town=v.town)
    now = datetime(2026, 11, 20, tzinfo=UTC)
    draft = notices.NoticeDraft(title="三季度村务", body="三季度村务公开内容", category="village_affairs",
                                audience_unit_ids=[v.village.id])
    published = await notices.create_notice(session, v.village, draft, v.admin.id, now)
    await notices.publish_notice(session, published, datetime(2026, 9, 30, tzinfo=UTC))
    await accounts.add_entry(session, v.group, accounts.EntryInput(date(2026, 10, 3), "income", "补助", 100, "x"),
                             v.admin.id, now)
    await accounts.publish_statement(session, v.group, "2026-10", reason=None, publisher_id=v.admin.id, now=now)
    found = {(o.unit.name, o.kind) for o in await cadence.overdue(session, v.town, now)}
    # 期公村 published village affairs last quarter and its group's October accounts, but not
    # the village's own book; 静村 published nothing
    assert found == {("期公村", "finance"), ("静村", "notice"), ("静村", "finance")}


async def test_books_carry_forward_and_refuse_gaps_and_the_future(session, settings):
    v = await build_village(session, settings, "续村")
    now = datetime(2026, 11, 5, tzinfo=UTC)

    async def entry(day, fen):
        await accounts.add_entry(session, v.village, accounts.EntryInput(day, "income", "租金", fen, "x"), v.admin.id, now)

    async def publish(period, reason=None):
        return await accounts.publish_statement(session, v.village, period, reason=reason,
                                                publisher_id=v.admin.id, now=now)

    await entry(date(2026, 8, 3), 100)
    await entry(date(2026, 9, 3), 10)
    with pytest.raises(Exception) as gap:  # August has entries but was never published
        await publish("2026-09")
    assert "2026-08" in gap.value.message
    await publish("2026-08")
    assert (await publish("2026-09")).statement.content["opening_balance_fen"] == 100
    with pytest.raises(Exception) as future:
        await publish("2026-12")
    assert future.value.field == "period"
    assert await accounts.verify(session, v.village.id) == []


PUBLISH = """mutation($i: PublishStatementInput!) { publishStatement(input: $i) {
  statement { period version openingBalanceFen closingBalanceFen }
  carriedForward { period version openingBalanceFen incomeFen closingBalanceFen correctionReason
                   entries { amountFen } }
  errors { code field } } }"""


async def test_a_book_corrected_without_carrying_forward_is_found_and_repaired(session, settings):
    v = await build_village(session, settings, "旧账村")
    now = datetime(2026, 11, 5, tzinfo=UTC)
    for day, fen in ((date(2026, 8, 3), 100), (date(2026, 9, 3), 10)):
        await accounts.add_entry(session, v.village, accounts.EntryInput(day, "income", "租金", fen, "x"), v.admin.id, now)
        september = await accounts.publish_statement(session, v.village, accounts.period_of(day), reason=None,
                                                     publisher_id=v.admin.id, now=now)
    await accounts.add_entry(session, v.village, accounts.EntryInput(date(2026, 8, 20), "income", "租金", 50, "补"),
                             v.admin.id, now)
    # August corrected as it used to be: chained, but September left opening at 100
    august = dict((await accounts.draft_statement(session, v.village, "2026-08")), version=2,
                  correction_reason="补录")
    session.add(AccountStatement(
        village_id=v.village.id, unit_id=v.village.id, period="2026-08", version=2, content=august,
        digest=accounts.digest_of(august, september.statement.digest), previous_digest=september.statement.digest,
        correction_reason="补录", published_by_id=v.admin.id, published_at=now,
    ))
    await session.flush()
    broken = await accounts.verify(session, v.village.id)
    assert [(b.period, b.version, b.problem[:4]) for b in broken] == [("2026-09", 1, "期初余额")]
    repaired = await accounts.publish_statement(session, v.village, "2026-08", reason="重新结转",
                                                publisher_id=v.admin.id, now=now)
    assert [(s.period, s.content["opening_balance_fen"]) for s in repaired.carried_forward] == [("2026-09", 150)]
    assert await accounts.verify(session, v.village.id) == []


async def test_a_correction_carries_its_closing_balance_through_the_later_months(api, session, settings):
    v = await build_village(session, settings, "结村")
    now = datetime(2026, 11, 5, tzinfo=UTC)
    for day, fen in ((date(2026, 8, 3), 100), (date(2026, 9, 3), 10), (date(2026, 10, 3), 1)):
        await accounts.add_entry(session, v.village, accounts.EntryInput(day, "income", "租金", fen, "x"), v.admin.id, now)
        await accounts.publish_statement(session, v.village, accounts.period_of(day), reason=None,
                                         publisher_id=v.admin.id, now=now)
    # a September entry added after publication stays a draft: carrying forward keeps the frozen entries
    await accounts.add_entry(session, v.village, accounts.EntryInput(date(2026, 9, 9), "income", "租金", 7, "x"),
                             v.admin.id, now)
    await accounts.add_entry(session, v.village, accounts.EntryInput(date(2026, 8, 20), "income", "租金", 50, "补"),
                             v.admin.id, now)
    admin = api.token_for(v.admin)
    august = {"unitId": gid("OrgUnit", v.village.id), "period": "2026-08"}
    refused = (await api.data(PUBLISH, {"i": august}, admin))["publishStatement"]
    assert refused["errors"] == [{"code": "INVALID_INPUT", "field": "correctionReason"}]
    assert refused["carriedForward"] == []

    answer = (await api.data(PUBLISH, {"i": {**august, "correctionReason": "补录租金"}}, admin))["publishStatement"]
    assert answer["errors"] == []
    assert answer["statement"] == {"period": "2026-08", "version": 2, "openingBalanceFen": 0, "closingBalanceFen": 150}
    assert answer["carriedForward"] == [
        {"period": "2026-09", "version": 2, "openingBalanceFen": 150, "incomeFen": 10, "closingBalanceFen": 160,
         "correctionReason": "结转2026-08第2版的期末余额", "entries": [{"amountFen": 10}]},
        {"period": "2026-10", "version": 2, "openingBalanceFen": 160, "incomeFen": 1, "closingBalanceFen": 161,
         "correctionReason": "结转2026-08第2版的期末余额", "entries": [{"amountFen": 1}]},
    ]
    assert await accounts.verify(session, v.village.id) == []
    # publishing September now freezes its new entry and carries that into October
    again = await accounts.publish_statement(session, v.village, "2026-09", reason="补录九月租金",
                                             publisher_id=v.admin.id, now=now)
    assert (again.statement.version, again.statement.content["closing_balance_fen"]) == (3, 167)
    assert [(s.period, s.version, s.content["opening_balance_fen"]) for s in again.carried_forward] == [
        ("2026-10", 3, 167)]
    assert await accounts.verify(session, v.village.id) == []


async def test_residents_never_see_what_was_written_before_publication(api, session, settings):
    v = await build_village(session, settings, "稿村")
    admin = api.token_for(v.admin)
    draft = await api.data(CREATE, {"i": {"category": "OTHER", "title": "草稿", "body": "内部讨论：某户欠款",
                                          "audienceUnitIds": [gid("OrgUnit", v.village.id)]}}, admin)
    notice = draft["createNotice"]["notice"]["id"]
    await api.data("""mutation($i: ReviseNoticeInput!) { reviseNotice(input: $i) { errors { code } } }""",
                   {"i": {"noticeId": notice, "title": "关于清理欠款的通知", "body": "请各户按时缴纳水费。"}}, admin)
    await api.data("mutation($n: ID!) { publishNotice(input: {noticeId: $n}) { errors { code } } }", {"n": notice}, admin)
    seen = await api.data("query($id: ID!) { node(id: $id) { ... on Notice { revisions { body } } } }",
                          {"id": notice}, api.token_for(v.resident_user))
    assert [r["body"] for r in seen["node"]["revisions"]] == ["请各户按时缴纳水费。"]
    assert len((await api.data("query($id: ID!) { node(id: $id) { ... on Notice { revisions { body } } } }",
                               {"id": notice}, admin))["node"]["revisions"]) == 2


def test_times_without_an_offset_are_china_time_and_absurd_years_are_refused():
    from schema.scalars import parse_datetime

    assert parse_datetime("2026-11-22T08:00:00").isoformat() == "2026-11-22T08:00:00+08:00"
    assert parse_datetime("2026-11-22T00:00:00Z").utcoffset() == timedelta(0)
    with pytest.raises(ValueError):
        parse_datetime("9999-12-31T23:00:00Z")
