"""Another village's admin reads and writes village affairs as if they did not exist; a
resident asks questions that the audience sees with the asker's name masked."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select, text

from affairs import accounts, notices, questions, reading
from grid import appointments
from models import OrgUnit, Question
from tests.support import build_village, gid
from tests.test_tenancy import mutations_of

NOW = datetime.now(UTC)


async def _village(session, settings, name):
    v = await build_village(session, settings, name)
    draft = notices.NoticeDraft(title="公开", body="内容" * 20, category="village_affairs",
                                audience_unit_ids=[v.village.id])
    v.notice = await notices.create_notice(session, v.village, draft, v.admin.id, NOW)
    await notices.publish_notice(session, v.notice, NOW)
    v.entry = await accounts.add_entry(session, v.group, accounts.EntryInput(date(2026, 10, 1), "income", "补助", 100, "x"),
                                       v.admin.id, NOW)
    v.statement = (await accounts.publish_statement(session, v.group, "2026-10", reason=None,
                                                    publisher_id=v.admin.id, now=NOW)).statement
    v.question = await questions.ask(session, village_id=v.village.id, resident_id=v.residents[-1].id,
                                     text="修路钱从哪里来？", now=NOW, notice_id=v.notice.id)
    household = v.households[-1]
    unit = await session.get(OrgUnit, household.unit_id)
    reader = reading.Reader(v.resident_user.id, v.residents[-1].id, household.id, v.village.id, unit.path)
    v.read, _ = await reading.open_notice(session, reader, v.notice.id, NOW)  # their own read
    return v


def _mutations(b) -> dict[str, tuple[str, dict]]:
    def m(name, input_type, selection):
        return f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} errors {{ code }} }} }}"

    notice = gid("Notice", b.notice.id)
    return {
        "createNotice": (m("createNotice", "CreateNoticeInput", "notice { id }"),
                         {"villageId": gid("OrgUnit", b.village.id), "category": "OTHER", "title": "x",
                          "body": "y", "audienceUnitIds": [gid("OrgUnit", b.village.id)]}),
        "reviseNotice": (m("reviseNotice", "ReviseNoticeInput", "notice { id }"),
                         {"noticeId": notice, "title": "x", "reason": "y"}),
        "publishNotice": (m("publishNotice", "PublishNoticeInput", "notice { id }"), {"noticeId": notice}),
        "withdrawNotice": (m("withdrawNotice", "WithdrawNoticeInput", "notice { id }"), {"noticeId": notice}),
        "openNotice": (m("openNotice", "OpenNoticeInput", "read { id }"), {"noticeId": notice}),
        "finishNoticeRead": (m("finishNoticeRead", "FinishNoticeReadInput", "pointsAwarded"),
                             {"readId": gid("NoticeRead", b.read.id)}),
        "addAccountEntry": (m("addAccountEntry", "AddAccountEntryInput", "entry { id }"),
                            {"unitId": gid("OrgUnit", b.group.id), "date": "2026-10-02", "direction": "INCOME",
                             "category": "x", "amountFen": 1, "description": "x"}),
        "deleteAccountEntry": (m("deleteAccountEntry", "DeleteAccountEntryInput", "deleted"),
                               {"entryId": gid("AccountEntry", b.entry.id)}),
        "publishStatement": (m("publishStatement", "PublishStatementInput", "statement { id }"),
                             {"unitId": gid("OrgUnit", b.group.id), "period": "2026-10", "correctionReason": "x"}),
        "askQuestion": (m("askQuestion", "AskQuestionInput", "question { id }"),
                        {"statementId": gid("AccountStatement", b.statement.id), "text": "x"}),
        "answerQuestion": (m("answerQuestion", "AnswerQuestionInput", "question { id }"),
                           {"questionId": gid("Question", b.question.id), "answer": "x"}),
    }


async def _digest(session) -> tuple:
    tables = ["notices", "notice_revisions", "notice_reads", "notice_receipts", "account_entries",
              "account_statements", "questions"]
    return tuple([await session.scalar(text(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {t} t"))
                  for t in tables])


async def test_another_villages_affairs_are_not_found(api, session, settings):
    a = await _village(session, settings, "务甲村")
    b = await _village(session, settings, "务乙村")
    admin, resident = api.token_for(a.admin), api.token_for(a.resident_user)
    queries = [
        ("query($v: ID) { notices(villageId: $v) { edges { node { id } } } }", {"v": gid("OrgUnit", b.village.id)}),
        ("query($n: ID!) { noticeReach(noticeId: $n) { total { rate } } }", {"n": gid("Notice", b.notice.id)}),
        ("query($n: ID!) { unreachedHouseholds(noticeId: $n) { edges { cursor } } }", {"n": gid("Notice", b.notice.id)}),
        ("query($u: ID!) { accountEntries(unitId: $u, period: \"2026-10\") { edges { cursor } } }", {"u": gid("OrgUnit", b.group.id)}),
        ("query($u: ID!) { statements(unitId: $u) { edges { cursor } } }", {"u": gid("OrgUnit", b.group.id)}),
        ("query($v: ID) { verifyStatements(villageId: $v) { period } }", {"v": gid("OrgUnit", b.village.id)}),
        ("query($u: ID!) { disclosureCadence(unitId: $u) { due } }", {"u": gid("OrgUnit", b.village.id)}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": gid("Notice", b.notice.id)}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": gid("AccountStatement", b.statement.id)}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": gid("AccountEntry", b.entry.id)}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": gid("Question", b.question.id)}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": gid("NoticeRead", b.read.id)}),
    ]
    for query, variables in queries:
        assert await api.error_code(query, variables, admin) == "NOT_FOUND", query
    calls = _mutations(b)
    assert mutations_of("resolvers.affairs") == set(calls), "cover every affairs mutation"
    before = await _digest(session)
    for name, (query, variables) in calls.items():
        token = resident if name in {"openNotice", "finishNoticeRead", "askQuestion"} else admin
        data = await api.data(query, {"input": variables}, token)
        assert data[name]["errors"][0]["code"] == "NOT_FOUND", (name, data)
    assert await _digest(session) == before


async def test_questions_are_answered_once_and_shown_with_the_name_masked(api, session, settings):
    v = await _village(session, settings, "问村")
    token = api.token_for(v.resident_user)
    asked = await api.data(
        """mutation($s: ID!) { askQuestion(input: {statementId: $s, text: "保洁费为什么比上月高？"}) {
             question { id askerName } errors { code } } }""",
        {"s": gid("AccountStatement", v.statement.id)}, token,
    )
    question = asked["askQuestion"]["question"]
    assert question["askerName"] == v.residents[-1].name[0] + "*" * (len(v.residents[-1].name) - 1)
    answer = """mutation($q: ID!) { answerQuestion(input: {questionId: $q, answer: "新增了两个垃圾桶"}) {
      question { answer } errors { code } } }"""
    first = await api.data(answer, {"q": question["id"]}, api.token_for(v.admin))
    assert first["answerQuestion"]["question"]["answer"] == "新增了两个垃圾桶"
    second = await api.data(answer, {"q": question["id"]}, api.token_for(v.admin))
    assert second["answerQuestion"]["errors"] == [{"code": "ALREADY_ANSWERED"}]
    seen = await api.data(
        "query($u: ID!) { statements(unitId: $u) { edges { node { incomeFen questions { text askerName answer } } } } }",
        {"u": gid("OrgUnit", v.group.id)}, api.token_for(v.chief),
    )
    q = seen["statements"]["edges"][0]["node"]["questions"][0]
    assert q["answer"] == "新增了两个垃圾桶" and "*" in q["askerName"]


async def test_a_resident_sees_their_own_groups_book_not_the_neighbouring_groups(api, session, settings):
    from grid import units

    v = await _village(session, settings, "邻组村")
    other_group = await units.create_unit(session, v.area, "二组")
    await accounts.add_entry(session, other_group, accounts.EntryInput(date(2026, 10, 1), "expense", "x", 100, "x"),
                             v.admin.id, NOW)
    theirs = (await accounts.publish_statement(session, other_group, "2026-10", reason=None,
                                               publisher_id=v.admin.id, now=NOW)).statement
    token = api.token_for(v.resident_user)
    own = await api.data("query($id: ID!) { node(id: $id) { id } }", {"id": gid("AccountStatement", v.statement.id)}, token)
    assert own["node"]["id"]
    assert await api.error_code("query($id: ID!) { node(id: $id) { id } }",
                                {"id": gid("AccountStatement", theirs.id)}, token) == "NOT_FOUND"
    asked = await api.data(
        """mutation($s: ID!) { askQuestion(input: {statementId: $s, text: "?"}) { errors { code } } }""",
        {"s": gid("AccountStatement", theirs.id)}, token)
    assert asked["askQuestion"]["errors"][0]["code"] == "NOT_FOUND"


async def test_a_question_on_another_villages_book_belongs_to_that_village(api, session, settings):
    here = await _village(session, settings, "住村")
    there = await _village(session, settings, "管村")
    worker = here.resident_user  # lives here, and works as a grid worker there
    await appointments.appoint(session, there.group, worker, "grid_worker", appointed_by=there.admin.id, now=NOW)
    asked = await api.data(
        """mutation($s: ID!) { askQuestion(input: {statementId: $s, text: "这笔补助的用途？"}) {
             question { id } errors { code } } }""",
        {"s": gid("AccountStatement", there.statement.id)}, api.token_for(worker))
    question = asked["askQuestion"]["question"]
    stored = await session.scalar(select(Question).where(Question.text == "这笔补助的用途？"))
    assert stored.village_id == there.village.id
    answered = await api.data(
        """mutation($q: ID!) { answerQuestion(input: {questionId: $q, answer: "用于保洁"}) { errors { code } } }""",
        {"q": question["id"]}, api.token_for(there.admin))
    assert answered["answerQuestion"]["errors"] == []


async def test_staff_below_the_admins_see_neither_drafts_reach_nor_draft_entries(api, session, settings):
    v = await _village(session, settings, "稿村")
    draft = await notices.create_notice(session, v.village, notices.NoticeDraft(
        title="草稿", body="尚未发布" * 10, category="village_affairs", audience_unit_ids=[v.village.id]),
        v.admin.id, NOW)
    chief = api.token_for(v.chief)
    for query in ("query($n: ID!, $u: ID) { noticeReach(noticeId: $n, unitId: $u) { total { rate } } }",
                  "query($n: ID!, $u: ID) { unreachedHouseholds(noticeId: $n, unitId: $u) { edges { cursor } } }"):
        variables = {"n": gid("Notice", draft.id), "u": gid("OrgUnit", v.neighbourhoods[0].id)}
        assert await api.error_code(query, variables, chief) == "NOT_FOUND", query
        assert (await api.post(query, variables, api.token_for(v.admin))).get("errors") is None
        published = {**variables, "n": gid("Notice", v.notice.id)}
        assert (await api.post(query, published, chief)).get("errors") is None  # the published one is theirs
    delete = """mutation($e: ID!) { deleteAccountEntry(input: {entryId: $e}) { deleted errors { code } } }"""
    entry = await accounts.add_entry(session, v.group, accounts.EntryInput(date(2026, 11, 2), "income", "补助", 100, "x"),
                                     v.admin.id, NOW)
    refused = await api.data(delete, {"e": gid("AccountEntry", entry.id)}, chief)
    assert refused["deleteAccountEntry"] == {"deleted": False, "errors": [{"code": "NOT_FOUND"}]}


async def test_reads_and_questions_are_nodes_for_whoever_may_see_them(api, session, settings):
    v = await _village(session, settings, "节村")
    node = "query($id: ID!) { node(id: $id) { id ... on Question { askerName } ... on NoticeRead { minimumSeconds } } }"
    read, question = gid("NoticeRead", v.read.id), gid("Question", v.question.id)
    own = await api.data(node, {"id": read}, api.token_for(v.resident_user))
    assert own["node"]["id"] == read and own["node"]["minimumSeconds"] > 0
    assert await api.error_code(node, {"id": read}, api.token_for(v.admin)) == "NOT_FOUND"  # a read is the reader's
    for user in (v.resident_user, v.admin):  # the notice's audience and its admin
        assert (await api.data(node, {"id": question}, api.token_for(user)))["node"]["askerName"].endswith("*")
