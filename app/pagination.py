"""Keyset pagination: order by a unique key, continue after the last row seen.

Never OFFSET: the cost of page N stays the cost of page 1. The cursor is the sort key of
the last row, opaque to clients (url-safe base64 of JSON).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import BadInput

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    cursors: list[str]
    has_next: bool


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise BadInput(f"first 取值为1到{MAX_PAGE_SIZE}", "first")
    return first


def _encode(values: tuple) -> str:
    plain = [{"dt": v.isoformat()} if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode()


def _decode(cursor: str, width: int) -> tuple:
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(plain, list) or len(plain) != width:
            raise ValueError
        return tuple(
            datetime.fromisoformat(v["dt"]) if isinstance(v, dict) else v for v in plain
        )
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise BadInput("分页游标无效", "after") from None


async def keyset_page(
    session: AsyncSession,
    stmt: Select,
    order_by: list,
    first: int | None,
    after: str | None,
    *,
    descending: bool = False,
) -> Page:
    """Run `stmt` for one page. `order_by` columns must end in a unique column and be
    selected as the last `len(order_by)` columns of `stmt`."""
    size = page_size(first)
    key = tuple_(*order_by)
    if after is not None:
        values = _decode(after, len(order_by))
        stmt = stmt.where(key < tuple_(*values) if descending else key > tuple_(*values))
    stmt = stmt.order_by(*(c.desc() for c in order_by) if descending else order_by).limit(size + 1)
    rows = list((await session.execute(stmt)).all())
    has_next = len(rows) > size
    rows = rows[:size]
    width = len(order_by)
    return Page(rows, [_encode(tuple(r[-width:])) for r in rows], has_next)
