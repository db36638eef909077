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
