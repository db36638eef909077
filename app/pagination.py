"""Keyset pagination: order by a unique key, continue after the last row seen.

Never OFFSET: the cost of page N stays the cost of page 1. The cursor is the sort key of
the last row, opaque to clients (url-safe base64 of JSON).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

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


def _decode(cursor: str, columns: list) -> tuple:
    """The sort key in a cursor, checked value by value against the key's columns: a
    forged cursor is a client error, never a failed query."""
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(plain, list) or len(plain) != len(columns):
            raise ValueError
        values = []
        for value, column in zip(plain, columns, strict=True):
            python_type = column.type.python_type
            if python_type is bool:
                if type(value) is not bool:
                    raise ValueError
            elif python_type is datetime:
                value = datetime.fromisoformat(value["dt"])
                if value.tzinfo is None:
                    raise ValueError
            elif not (type(value) is int and -(2**63) <= value < 2**63):
                raise ValueError
            values.append(value)
        return tuple(values)
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
        values = _decode(after, order_by)
        stmt = stmt.where(key < tuple_(*values) if descending else key > tuple_(*values))
    stmt = stmt.order_by(*(c.desc() for c in order_by) if descending else order_by).limit(size + 1)
    rows = list((await session.execute(stmt)).all())
    has_next = len(rows) > size
    rows = rows[:size]
    width = len(order_by)
    return Page(rows, [_encode(tuple(r[-width:])) for r in rows], has_next)


class Keyset:
    """`keyset_page` for a statement built once (at import, with `bindparam()`s for what
    changes per call): the first page and the pages after a cursor are built once too, so
    a request only binds values; nothing is rebuilt or re-keyed per call."""

    def __init__(
        self, stmt: Select, order_by: list, *, descending: bool = False,
        decorate: Callable[[Select], Select] | None = None,
    ) -> None:
        """`decorate`, if given, wraps the page's statement (ordered and limited) in the one
        that runs: to join what each row of the page needs after the page is cut, not
        before. What it returns must end in the sort key's columns, in page order."""
        self.order_by = order_by
        key = tuple_(*order_by)
        after = tuple_(*(bindparam(f"_after_{i}", type_=c.type) for i, c in enumerate(order_by)))
        ordering = [c.desc() for c in order_by] if descending else order_by
        limit = bindparam("_limit", type_=Integer)
        self.first = stmt.order_by(*ordering).limit(limit)
        self.after = stmt.where(key < after if descending else key > after).order_by(*ordering).limit(limit)
        if decorate is not None:
            self.first, self.after = decorate(self.first), decorate(self.after)

    async def page(
        self, session: AsyncSession, params: dict[str, Any], first: int | None, after: str | None
    ) -> Page:
        size = page_size(first)
        params = {**params, "_limit": size + 1}
        stmt = self.first
        if after is not None:
            values = _decode(after, self.order_by)
            params.update((f"_after_{i}", v) for i, v in enumerate(values))
            stmt = self.after
        rows = list((await session.execute(stmt, params)).all())
        has_next = len(rows) > size
        rows = rows[:size]
        width = len(self.order_by)
        return Page(rows, [_encode(tuple(r[-width:])) for r in rows], has_next)


async def first_pages(
    session: AsyncSession, model, partition: str, parent_ids: Sequence[int], where: list, size: int
) -> dict[int, Page]:
    """The first page of `model` rows for each of many parents, in one statement: what a
    nested connection needs so that a list of N parents costs one query, not N. Cursors
    continue with `keyset_page(..., [model.id], ...)`."""
    parent = getattr(model, partition)
    number = func.row_number().over(partition_by=parent, order_by=model.id).label("row_number")
    ranked = select(model, number).where(parent.in_(parent_ids), *where).subquery()
    entity = aliased(model, ranked)
    rows = (
        await session.execute(
            select(entity)
            .where(ranked.c.row_number <= size + 1)
            .order_by(ranked.c[partition], ranked.c.id)
        )
    ).scalars()
    grouped: dict[int, list] = {pid: [] for pid in parent_ids}
    for item in rows:
        grouped[getattr(item, partition)].append(item)
    return {
        pid: Page(
            [(item, item.id) for item in items[:size]],
            [_encode((item.id,)) for item in items[:size]],
            len(items) > size,
        )
        for pid, items in grouped.items()
    }
