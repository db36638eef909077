"""Relay building blocks shared by every domain: global ids and connections."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

from strawberry import relay

from app.pagination import Page

T = TypeVar("T")
_ROW_ID = re.compile(r"[1-9][0-9]{0,17}")  # fits a bigint


def connection(nodes: Sequence[T], page: Page) -> relay.Connection[T]:
    cursors, has_next = page.cursors, page.has_next
    edges = [relay.Edge(cursor=c, node=n) for n, c in zip(nodes, cursors, strict=True)]
    return relay.Connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=has_next,
            has_previous_page=False,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        ),
    )


def node_id(global_id: relay.GlobalID, type_name: str) -> int | None:
    """The database id inside a global id of the expected type, else None."""
    if global_id.type_name != type_name or not _ROW_ID.fullmatch(global_id.node_id):
        return None
    return int(global_id.node_id)
