"""Bare GraphQL: the floor's hand-written SQL (bench/floor.py) behind strawberry.

It answers the benchmark's GraphQL documents (the home screen, redeemReward,
finishNoticeRead) with the service's JSON, built the way the service builds it: strawberry
types with relay global ids and connections, one resolver per field that reads, the same
parser and validation caches. Its resolvers send the floor's statements on one pooled
asyncpg connection per request, with no ORM and no domain layer.

So the three implementations split the cost of a request:
- floor → bare GraphQL: what the GraphQL layer alone costs (strawberry and graphql-core);
- bare GraphQL → the service: what SQLAlchemy and the service's own code cost.

Served by the floor's process at /bare/graphql (one uvicorn worker); statements are
counted in the floor's stats as "bare:home", "bare:redeem" and "bare:finish".
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from enum import Enum

import floor
import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry import relay
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import Info

from affairs.notices import ancestor_paths


class SharedDb(floor.Db):
    """The request's connection, one statement at a time: sibling fields resolve
    concurrently (as in the service, whose session is behind a lock too)."""

    def __init__(self, conn, route: str) -> None:
        super().__init__(conn, route)
        self.lock = asyncio.Lock()

    async def fetch(self, sql, *args):
        async with self.lock:
            return await super().fetch(sql, *args)

    async def fetchrow(self, sql, *args):
        async with self.lock:
            return await super().fetchrow(sql, *args)

    async def fetchval(self, sql, *args):
        async with self.lock:
            return await super().fetchval(sql, *args)

    async def execute(self, sql, *args):
        async with self.lock:
            return await super().execute(sql, *args)


class BareContext:
    """One request: its connection, its token's user, the viewer loaded once."""

    def __init__(self, db: SharedDb, user_id: int | None) -> None:
        self.db, self.user_id, self.now = db, user_id, datetime.now(UTC)
        self._viewer_lock = asyncio.Lock()
        self._viewer: object = ...

    async def viewer(self, operation: str):
        """The viewer (None without a valid token); the first root field names the
        operation its statements are counted under."""
        async with self._viewer_lock:
            if self._viewer is ...:
                self.db.route = f"bare:{operation}"
                floor.stats[self.db.route][0] += 1
                self._viewer = None
                if self.user_id is not None:
                    self._viewer, _grants = await floor.load_viewer(self.db, self.user_id, self.now)
        return self._viewer


def context(info: Info) -> BareContext:
    return info.context


def require(viewer):
    if viewer is None:
        raise PermissionError("请先登录")
    return viewer


def page(nodes: list, cursor_of) -> relay.Connection:
    cursors = [cursor_of(n) for n in nodes]
    return relay.Connection(
        edges=[relay.Edge(cursor=c, node=n) for n, c in zip(nodes, cursors, strict=True)],
        page_info=relay.PageInfo(has_next_page=False, has_previous_page=False,
                                 start_cursor=cursors[0] if cursors else None,
                                 end_cursor=cursors[-1] if cursors else None))


@strawberry.type
class PointsEntry(relay.Node):
    id: relay.NodeID[int]
    points: int
    reason: str
    created_at: datetime


@strawberry.type
class HouseholdPoints:
    account_id: strawberry.Private[int | None]
    spendable: strawberry.Private[int]

    @strawberry.field
    def balance(self) -> int:
        return self.spendable

    @strawberry.field
    async def entries(self, info: Info, first: int | None = None) -> relay.Connection[PointsEntry]:
        if self.account_id is None:
            return page([], str)
        rows = await context(info).db.fetch(floor.ENTRIES, self.account_id)
        entries = [PointsEntry(id=r["id"], points=r["points"], reason=r["reason"], created_at=r["created_at"])
                   for r in rows[:first]]
        return page(entries, lambda e: str(e.id))


@strawberry.type
class Household(relay.Node):
    id: relay.NodeID[int]

    @strawberry.field
    async def points(self, info: Info) -> HouseholdPoints:
        ctx = context(info)
        account = await ctx.db.fetchrow(floor.BALANCE, self.id, ctx.now)
        if account is None:
            return HouseholdPoints(account_id=None, spendable=0)
        return HouseholdPoints(account_id=account["id"], spendable=int(account["balance"]))


@strawberry.type
class Me:
    household_id: strawberry.Private[int | None]

    @strawberry.field
    def household(self) -> Household | None:
        return None if self.household_id is None else Household(id=self.household_id)


@strawberry.type
class Notice(relay.Node):
    id: relay.NodeID[int]
    title: str
    published_at: datetime
    read: bool


async def reader_arguments(info: Info):
    """The floor's notice arguments for the viewer, or None without a household."""
    ctx = context(info)
    viewer = require(await ctx.viewer("home"))
    if viewer["household_id"] is None:
        return None
    return (viewer["village_id"], ancestor_paths(viewer["household_unit_path"]), ctx.now, viewer["resident_id"])


@strawberry.type
class Query:
    @strawberry.field
    async def me(self, info: Info) -> Me | None:
        viewer = await context(info).viewer("home")
        return None if viewer is None else Me(household_id=viewer["household_id"])

    @strawberry.field
    async def unread_notice_count(self, info: Info) -> int:
        arguments = await reader_arguments(info)
        return 0 if arguments is None else await context(info).db.fetchval(floor.UNREAD, *arguments)

    @strawberry.field
    async def notices(self, info: Info, first: int | None = None) -> relay.Connection[Notice]:
        arguments = await reader_arguments(info)
        rows = [] if arguments is None else await context(info).db.fetch(floor.NEWEST, *arguments)
        return page([Notice(id=n["id"], title=n["title"], published_at=n["published_at"], read=n["read"])
                     for n in rows[:first]], lambda n: str(n.id))


@strawberry.enum
class RedemptionStatus(Enum):
    RESERVED = "reserved"


@strawberry.type
class Redemption(relay.Node):
    id: relay.NodeID[int]
    status: RedemptionStatus
    pickup_code: str


@strawberry.type
class UserError:
    code: str
    message: str


@strawberry.input
class RedeemRewardInput:
    item_id: relay.GlobalID
    quantity: int = 1
    idempotency_key: str


@strawberry.type
class RedeemRewardPayload:
    redemption: Redemption | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class NoticeReceipt(relay.Node):
    id: relay.NodeID[int]
    seconds: int


@strawberry.input
class FinishNoticeReadInput:
    read_id: relay.GlobalID


@strawberry.type
class FinishNoticeReadPayload:
    receipt: NoticeReceipt | None = None
    points_awarded: int = 0
    errors: list[UserError] = strawberry.field(default_factory=list)


def row_id(global_id: relay.GlobalID, type_name: str) -> int | None:
    return int(global_id.node_id) if global_id.type_name == type_name and global_id.node_id.isdigit() else None


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def redeem_reward(self, info: Info, input: RedeemRewardInput) -> RedeemRewardPayload:
        ctx = context(info)
        viewer = require(await ctx.viewer("redeem"))
        try:
            redemption = await floor.redeem_item(ctx.db, viewer, row_id(input.item_id, "RewardItem"),
                                                 input.idempotency_key, input.quantity, ctx.now)
        except floor.Refusal as refusal:
            return RedeemRewardPayload(errors=[UserError(code=refusal.code, message=refusal.message)])
        return RedeemRewardPayload(redemption=Redemption(
            id=redemption["id"], status=RedemptionStatus.RESERVED, pickup_code=redemption["pickup_code"]))

    @strawberry.mutation
    async def finish_notice_read(self, info: Info, input: FinishNoticeReadInput) -> FinishNoticeReadPayload:
        ctx = context(info)
        viewer = require(await ctx.viewer("finish"))
        try:
            async with ctx.db.conn.transaction():
                receipt_id, seconds, points = await floor.finish_read(
                    ctx.db, viewer, row_id(input.read_id, "NoticeRead"), ctx.now)
        except floor.Refusal as refusal:
            return FinishNoticeReadPayload(errors=[UserError(code=refusal.code, message=refusal.message)])
        return FinishNoticeReadPayload(receipt=NoticeReceipt(id=receipt_id, seconds=seconds), points_awarded=points)


schema = strawberry.Schema(query=Query, mutation=Mutation,
                           extensions=[lambda: ParserCache(maxsize=512), lambda: ValidationCache(maxsize=512)])


class BareGraphQL(GraphQL):
    """Strawberry's ASGI view with one pooled connection per request."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with floor.pool.acquire() as conn:
            scope.setdefault("state", {})["conn"] = conn
            await super().__call__(scope, receive, send)

    async def get_context(self, request: Request, response: Response) -> BareContext:
        return BareContext(SharedDb(request.scope["state"]["conn"], "bare"), floor.user_of(request))

    def encode_json(self, data: object) -> str:  # as the service does
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


app = BareGraphQL(schema, graphql_ide=None, allow_queries_via_get=False)
