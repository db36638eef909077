"""Guards PostgreSQL keeps whatever connects to it: every append-only table refuses
TRUNCATE too (a row trigger does not see one)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


async def _tables_with(session, suffix: str) -> set[str]:
    rows = await session.execute(text(
        "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND t.tgname = c.relname || :suffix"), {"suffix": suffix})
    return set(rows.scalars())


async def test_every_append_only_table_refuses_truncate(session):
    append_only = await _tables_with(session, "_append_only")
    assert {"points_entries", "account_statements", "notice_receipts", "request_updates"} <= append_only
    assert append_only <= await _tables_with(session, "_no_truncate")


@pytest.mark.parametrize("table", ["request_updates", "account_statements", "notice_receipts"])
async def test_truncating_a_record_is_refused(session, table):
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text(f"TRUNCATE {table} CASCADE"))


async def test_published_notices_their_audiences_and_answered_questions_hold_in_the_database(session, settings):
    from datetime import UTC, datetime

    from affairs import notices, questions
    from tests.support import build_village

    v = await build_village(session, settings, "守村")
    now = datetime.now(UTC)
    draft = notices.NoticeDraft(title="公开", body="内容" * 20, category="village_affairs",
                                audience_unit_ids=[v.village.id])
    notice = await notices.create_notice(session, v.village, draft, v.admin.id, now)
    await notices.publish_notice(session, notice, now)
    question = await questions.ask(session, village_id=v.village.id, resident_id=v.residents[0].id,
                                   text="钱从哪里来？", now=now, notice_id=notice.id)
    await questions.answer(session, question, "上级补助", v.admin.id, now)
    refused = [
        ("UPDATE notices SET category = 'finance' WHERE id = :n", "fixed"),
        ("UPDATE notices SET status = 'draft', published_at = NULL WHERE id = :n", "cannot become"),
        ("UPDATE notices SET published_at = published_at - interval '1 day' WHERE id = :n", "change only"),
        ("DELETE FROM notices WHERE id = :n", "cannot be deleted"),
        ("UPDATE notice_audiences SET unit_path = '/0/' WHERE notice_id = :n", "audience"),
        ("DELETE FROM notice_audiences WHERE notice_id = :n", "audience"),
        ("INSERT INTO notice_audiences (notice_id, unit_id, unit_path) "
         f"VALUES (:n, {v.group.id}, '{v.group.path}')", "audience"),
        ("UPDATE questions SET answer = '另说' WHERE id = :q", "once"),
        ("UPDATE questions SET text = '改过的问题' WHERE id = :q", "once"),
        ("DELETE FROM questions WHERE id = :q", "cannot be deleted"),
    ]
    for statement, message in refused:
        with pytest.raises(DBAPIError, match=message):
            async with session.begin_nested():
                await session.execute(text(statement), {"n": notice.id, "q": question.id})
    async with session.begin_nested():  # and what the service does still goes through
        await session.execute(text("UPDATE notices SET status = 'withdrawn', withdrawn_at = now() WHERE id = :n"),
                              {"n": notice.id})
