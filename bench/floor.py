"""The floor: the benchmarked operations written by hand with asyncpg behind bare Starlette
routes, on the same database, under the same uvicorn (one worker, uvloop, httptools).

It does the work the GraphQL service does for the same answer, and no more:
- auth: decode the same JWT and load the viewer with the same single query
  (identity.viewer.load_viewer: the user with their household and their roles);
- home: the household's spendable balance, its 20 latest entries, the unread count and
  the five newest notices with their current titles and whether they were read;
- redeem: rewards.redemptions.redeem in one transaction: lock the household's account,
  look up the idempotency key, lock the item and check it, draw lots soonest-expiring
  first, reserve stock, insert the redemption (with a pickup code), the stock movement, the
  transaction, its legs and the idempotency record, and move the cached balances;
- finish: affairs.reading.finish_read + rewards.awards.award: lock the read, check the
  notice is still visible and the minimum time passed, insert the receipt, then award the
  village's notice_read rule once per household and notice within its cap and budget.

The answers have the same JSON shape as the GraphQL ones. Each route counts the SQL
statements it sends (GET /floor/stats), the way the service's are counted.

The same process serves bench/bare_graphql.py at /bare/graphql: these statements behind
strawberry.

Run: uvicorn --app-dir bench floor:app --port 8101 (DATABASE_URL and JWT_SECRET set).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections import defaultdict
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from affairs.notices import ancestor_paths

CHINA = ZoneInfo("Asia/Shanghai")
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SECRET = os.environ["JWT_SECRET"]
pool: asyncpg.Pool | None = None
# route -> [requests, statements]
stats: dict[str, list[int]] = defaultdict(lambda: [0, 0])


class Db:
    """A connection that counts what it sends."""

    def __init__(self, conn: asyncpg.Connection, route: str) -> None:
        self.conn, self.route = conn, route

    def _count(self) -> None:
        stats[self.route][1] += 1

    async def fetch(self, sql, *args):
        self._count()
        return await self.conn.fetch(sql, *args)

    async def fetchrow(self, sql, *args):
        self._count()
        return await self.conn.fetchrow(sql, *args)

    async def fetchval(self, sql, *args):
        self._count()
        return await self.conn.fetchval(sql, *args)

    async def execute(self, sql, *args):
        self._count()
        return await self.conn.execute(sql, *args)


def gid(type_name: str, id: int) -> str:
    return base64.b64encode(f"{type_name}:{id}".encode()).decode()


def from_gid(value: str, type_name: str) -> int | None:
    try:
        kind, _, raw = base64.b64decode(value).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return int(raw) if kind == type_name and raw.isdigit() else None


def answer(data: dict, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status_code=status, media_type="application/json")


def unauthenticated() -> Response:
    return answer({"data": None, "errors": [{"message": "请先登录", "extensions": {"code": "UNAUTHENTICATED"}}]})


# ---- auth: the same token checks and the same viewer query -------------------------------

VIEWER = """
SELECT u.id, u.display_name, u.resident_id, m.household_id, h.village_id, o.path AS household_unit_path,
       g.roles, g.unit_ids, g.unit_paths, g.village_ids
FROM users u
LEFT JOIN household_memberships m ON m.resident_id = u.resident_id AND m.valid_to IS NULL
LEFT JOIN households h ON h.id = m.household_id
LEFT JOIN org_units o ON o.id = h.unit_id
JOIN LATERAL (
    SELECT array_agg(a.role ORDER BY a.id) AS roles, array_agg(a.unit_id ORDER BY a.id) AS unit_ids,
           array_agg(go.path ORDER BY a.id) AS unit_paths, array_agg(go.village_id ORDER BY a.id) AS village_ids
    FROM appointments a JOIN org_units go ON go.id = a.unit_id
    WHERE a.user_id = u.id AND a.valid_from <= $2 AND (a.valid_to IS NULL OR a.valid_to > $2)
) g ON true
WHERE u.id = $1 AND u.is_active"""


def user_of(request: Request) -> int | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    try:
        claims = jwt.decode(token.strip(), SECRET, algorithms=["HS256"],
                            options={"require": ["sub", "exp", "iat"]})
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "access" or not str(claims["sub"]).isdigit():
        return None
    return int(claims["sub"])


async def load_viewer(db: Db, user_id: int, now: datetime):
    """The user, their household and their roles now, in one round trip (as the service)."""
    viewer = await db.fetchrow(VIEWER, user_id, now)
    if viewer is None:
        return None, []
    grants = zip(viewer["roles"] or (), viewer["unit_ids"] or (), viewer["unit_paths"] or (),
                 viewer["village_ids"] or (), strict=True)
    return viewer, list(grants)


# ---- the resident's home screen ----------------------------------------------------------

# $2: the ancestor paths of the household's unit (an audience unit is one of them), as the
# service matches them: one key probe per notice
VISIBLE = """n.village_id = $1 AND n.status = 'published' AND n.published_at <= $3
  AND EXISTS (SELECT 1 FROM notice_audiences a WHERE a.notice_id = n.id AND a.unit_path = ANY($2::text[]))"""
BALANCE = """
SELECT a.id,
       (SELECT coalesce(sum(l.remaining), 0) FROM points_lots l
        WHERE l.account_id = a.id AND l.remaining > 0 AND (l.expires_at IS NULL OR l.expires_at > $2)) AS balance
FROM points_accounts a WHERE a.household_id = $1"""
ENTRIES = """
SELECT e.id, e.points, t.reason, e.created_at
FROM points_entries e JOIN points_transactions t ON t.id = e.transaction_id
WHERE e.account_id = $1 ORDER BY e.id DESC LIMIT 20"""
UNREAD = f"""
SELECT count(*) FROM notices n WHERE {VISIBLE}
  AND NOT EXISTS (SELECT 1 FROM notice_receipts r WHERE r.notice_id = n.id AND r.resident_id = $4)"""
NEWEST = f"""
SELECT n.id, rev.title, n.published_at,
       EXISTS (SELECT 1 FROM notice_receipts r WHERE r.notice_id = n.id AND r.resident_id = $4) AS read
FROM notices n
CROSS JOIN LATERAL (SELECT title FROM notice_revisions v WHERE v.notice_id = n.id
                    ORDER BY v.revision DESC LIMIT 1) rev
WHERE {VISIBLE}
ORDER BY n.pinned DESC, coalesce(n.published_at, n.created_at) DESC, n.id DESC LIMIT 5"""


async def home(request: Request) -> Response:
    user_id = user_of(request)
    if user_id is None:
        return unauthenticated()
    now = datetime.now(UTC)
    stats["home"][0] += 1
    async with pool.acquire() as conn:
        db = Db(conn, "home")
        viewer, _grants = await load_viewer(db, user_id, now)
        if viewer is None:
            return unauthenticated()
        household = None
        if viewer["household_id"] is not None:
            account = await db.fetchrow(BALANCE, viewer["household_id"], now)
            entries = await db.fetch(ENTRIES, account["id"]) if account else []
            household = {
                "id": gid("Household", viewer["household_id"]),
                "points": {
                    "balance": int(account["balance"]) if account else 0,
                    "entries": {"edges": [
                        {"node": {"id": gid("PointsEntry", e["id"]), "points": e["points"],
                                  "reason": e["reason"], "createdAt": e["created_at"].isoformat()}}
                        for e in entries
                    ]},
                },
            }
            args = (viewer["village_id"], ancestor_paths(viewer["household_unit_path"]), now, viewer["resident_id"])
            unread = await db.fetchval(UNREAD, *args)
            notices = await db.fetch(NEWEST, *args)
        else:
            unread, notices = 0, []
    return answer({"data": {
        "me": {"household": household},
        "unreadNoticeCount": unread,
        "notices": {"edges": [
            {"node": {"id": gid("Notice", n["id"]), "title": n["title"],
                      "publishedAt": n["published_at"].isoformat(), "read": n["read"]}}
            for n in notices
        ]},
    }})


# ---- redeeming a reward ------------------------------------------------------------------


class Refusal(Exception):
    def __init__(self, code: str, message: str, remember: bool = True) -> None:
        super().__init__(message)
        self.code, self.message, self.remember = code, message, remember


def request_hash(**inputs) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def period_start(period: str, now: datetime) -> datetime | None:
    local = now.astimezone(CHINA)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "day": midnight,
        "week": midnight - timedelta(days=local.weekday()),
        "month": midnight.replace(day=1),
        "year": midnight.replace(month=1, day=1),
    }.get(period)


async def lock_household_account(db: Db, village_id: int, household_id: int):
    account = await db.fetchrow(
        "SELECT id FROM points_accounts WHERE household_id = $1 FOR UPDATE", household_id)
    if account is None:  # the household's first movement of points
        await db.execute(
            "INSERT INTO points_accounts (village_id, kind, household_id, min_balance) "
            "VALUES ($1, 'household', $2, 0) ON CONFLICT (household_id) DO NOTHING",
            village_id, household_id)
        account = await db.fetchrow(
            "SELECT id FROM points_accounts WHERE household_id = $1 FOR UPDATE", household_id)
    return account["id"]


async def draw(db: Db, account_id: int, points: int, now: datetime) -> list[tuple[int, int]]:
    """(lot id, points taken) soonest-expiring first; never an expired lot."""
    lots = await db.fetch(
        "SELECT id, remaining FROM points_lots WHERE account_id = $1 AND remaining > 0"
        " AND (expires_at IS NULL OR expires_at > $2)"
        " ORDER BY expires_at ASC NULLS LAST, id FOR UPDATE", account_id, now)
    taken, wanted = [], points
    for lot in lots:
        if wanted == 0:
            break
        n = min(lot["remaining"], wanted)
        taken.append((lot["id"], n))
        wanted -= n
    if wanted:
        raise Refusal("INSUFFICIENT_POINTS", "积分不足")
    await db.execute(
        "UPDATE points_lots l SET remaining = l.remaining - d.n"
        " FROM unnest($1::bigint[], $2::bigint[]) d(id, n) WHERE l.id = d.id",
        [t[0] for t in taken], [t[1] for t in taken])
    return taken


REDEEM_OPERATION = "redeemReward"


async def redeem(request: Request) -> Response:
    user_id = user_of(request)
    if user_id is None:
        return unauthenticated()
    body = await request.json()
    now = datetime.now(UTC)
    stats["redeem"][0] += 1
    async with pool.acquire() as conn:
        db = Db(conn, "redeem")
        viewer, _grants = await load_viewer(db, user_id, now)
        if viewer is None:
            return unauthenticated()
        try:
            redemption = await redeem_item(db, viewer, from_gid(body["item"], "RewardItem"), body["key"], 1, now)
        except Refusal as refusal:
            return answer({"data": {"redeemReward": {
                "redemption": None, "errors": [{"code": refusal.code}]}}})
    return answer({"data": {"redeemReward": {"redemption": {
        "id": gid("Redemption", redemption["id"]), "status": "RESERVED",
        "pickupCode": redemption["pickup_code"]}, "errors": []}}})


async def redeem_item(db: Db, viewer, item_id: int | None, key: str, quantity: int, now: datetime):
    """The redemption (id, pickup_code), in a transaction of its own; a Refusal is remembered
    under the key, so that a retry gets the same answer."""
    key = key.strip()
    digest = request_hash(item_id=item_id, quantity=quantity)
    try:
        async with db.conn.transaction():
            return await _redeem(db, viewer, viewer["village_id"], viewer["household_id"], item_id, key,
                                 quantity, digest, now)
    except Refusal as refusal:
        if refusal.remember:
            await db.execute(
                "INSERT INTO idempotency_records (user_id, operation, key, request_hash, error_code,"
                " error_message) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                viewer["id"], REDEEM_OPERATION, key, digest, refusal.code, refusal.message)
        raise


async def _redeem(db: Db, viewer, village_id, household_id, item_id, key, quantity, digest, now):
    if household_id is None:
        raise Refusal("NO_HOUSEHOLD", "当前账号未关联农户", remember=False)
    account_id = await lock_household_account(db, village_id, household_id)
    # the key is locked for the transaction (rewards.idempotency.KeyedRequest.replay), so that two
    # requests with one key cannot both pass
    await db.execute("SELECT pg_advisory_xact_lock(7302, hashtext($1))", f"{viewer['id']}:{REDEEM_OPERATION}:{key}")
    earlier = await db.fetchrow(
        "SELECT request_hash, result_id, error_code, error_message FROM idempotency_records"
        " WHERE user_id = $1 AND operation = $2 AND key = $3", viewer["id"], REDEEM_OPERATION, key)
    if earlier is not None:
        if earlier["request_hash"] != digest:
            raise Refusal("IDEMPOTENCY_KEY_REUSED", "该幂等键已用于另一个请求", remember=False)
        if earlier["error_code"]:
            raise Refusal(earlier["error_code"], earlier["error_message"] or "", remember=False)
        return await db.fetchrow("SELECT id, pickup_code FROM redemptions WHERE id = $1", earlier["result_id"])
    item = await db.fetchrow("SELECT * FROM reward_items WHERE id = $1 FOR UPDATE", item_id)
    if item is None or item["village_id"] != village_id:
        raise Refusal("NOT_FOUND", "商品不存在", remember=False)
    on_sale = item["enabled"] and (item["active_from"] is None or item["active_from"] <= now) and (
        item["active_to"] is None or now < item["active_to"])
    if not on_sale:
        raise Refusal("ITEM_INACTIVE", "该商品未上架")
    if item["limit_quantity"] is not None:
        start = period_start(item["limit_period"], now) or datetime(1900, 1, 1, tzinfo=UTC)
        taken = await db.fetchval(
            "SELECT coalesce(sum(quantity), 0) FROM redemptions WHERE item_id = $1 AND household_id = $2"
            " AND status IN ('reserved', 'picked_up') AND created_at >= $3", item_id, household_id, start)
        if taken + quantity > item["limit_quantity"]:
            raise Refusal("LIMIT_REACHED", f"每户限兑{item['limit_quantity']}件")
    if item["stock_available"] < quantity:
        raise Refusal("OUT_OF_STOCK", "库存不足")
    cost = item["points_price"] * quantity
    legs = await draw(db, account_id, cost, now)
    await db.execute(
        "UPDATE reward_items SET stock_available = stock_available - $2, stock_reserved = stock_reserved + $2"
        " WHERE id = $1", item_id, quantity)
    pickup_days = await db.fetchval("SELECT pickup_days FROM points_policies WHERE village_id = $1", village_id)
    redemption = None
    while redemption is None:  # a code already taken in this village: draw another
        redemption = await db.fetchrow(
            "INSERT INTO redemptions (village_id, household_id, account_id, resident_id, user_id, item_id,"
            " quantity, points, pickup_code, pickup_deadline, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            " ON CONFLICT (village_id, pickup_code) DO NOTHING RETURNING id, pickup_code",
            village_id, household_id, account_id, viewer["resident_id"], viewer["id"], item_id, quantity,
            cost, "".join(secrets.choice(CODE_ALPHABET) for _ in range(8)),
            now + timedelta(days=pickup_days or 7), now)
    await db.execute(
        "INSERT INTO stock_movements (village_id, item_id, kind, delta_available, delta_reserved, reason,"
        " actor_user_id, redemption_id, created_at) VALUES ($1, $2, 'reserve', $3, $4, '兑换预留', $5, $6, $7)",
        village_id, item_id, -quantity, quantity, viewer["id"], redemption["id"], now)
    redeemed = await db.fetchval(
        "SELECT id FROM points_accounts WHERE village_id = $1 AND kind = 'redeemed'", village_id)
    transaction_id = await db.fetchval(
        "INSERT INTO points_transactions (village_id, kind, reason, actor_user_id, household_id, resident_id,"
        " redemption_id, created_at) VALUES ($1, 'redemption', $2, $3, $4, $5, $6, $7) RETURNING id",
        village_id, f"兑换 {item['name']} ×{quantity}", viewer["id"], household_id, viewer["resident_id"],
        redemption["id"], now)
    await db.execute(
        "INSERT INTO points_entries (transaction_id, village_id, account_id, lot_id, points, created_at)"
        " SELECT $1, $2, a, l, p, $6 FROM unnest($3::bigint[], $4::bigint[], $5::bigint[]) t(a, l, p)",
        transaction_id, village_id, [account_id] * len(legs) + [redeemed],
        [lot for lot, _ in legs] + [None], [-n for _, n in legs] + [cost], now)
    await db.execute("UPDATE points_accounts SET balance = balance - $2 WHERE id = $1", account_id, cost)
    await db.execute("UPDATE points_accounts SET balance = balance + $2 WHERE id = $1", redeemed, cost)
    await db.execute(
        "INSERT INTO idempotency_records (user_id, operation, key, request_hash, result_id)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        viewer["id"], REDEEM_OPERATION, key, digest, redemption["id"])
    return redemption


# ---- finishing an effective read (the award path) ----------------------------------------

CURRENT_EVENT_RULES = """
SELECT v.* FROM earning_rule_versions v JOIN earning_rules r ON r.id = v.rule_id
WHERE r.village_id = $1 AND v.trigger = 'event' AND v.event_type = $2
  AND v.version = (SELECT max(version) FROM earning_rule_versions x WHERE x.rule_id = r.id)
ORDER BY r.id"""


async def finish(request: Request) -> Response:
    user_id = user_of(request)
    if user_id is None:
        return unauthenticated()
    read_id = from_gid((await request.json())["readId"], "NoticeRead")
    now = datetime.now(UTC)
    stats["finish"][0] += 1
    async with pool.acquire() as conn:
        db = Db(conn, "finish")
        viewer, _grants = await load_viewer(db, user_id, now)
        if viewer is None:
            return unauthenticated()
        try:
            async with conn.transaction():
                receipt_id, seconds, points = await finish_read(db, viewer, read_id, now)
        except Refusal as refusal:
            return answer({"data": {"finishNoticeRead": {
                "receipt": None, "pointsAwarded": 0, "errors": [{"code": refusal.code}]}}})
    return answer({"data": {"finishNoticeRead": {
        "receipt": {"id": gid("NoticeReceipt", receipt_id), "seconds": seconds},
        "pointsAwarded": points, "errors": []}}})


async def finish_read(db: Db, viewer, read_id: int | None, now: datetime):
    """(receipt id, seconds read, points awarded); run it in a transaction."""
    read = await db.fetchrow("SELECT * FROM notice_reads WHERE id = $1 FOR UPDATE", read_id)
    if read is None or read["user_id"] != viewer["id"]:
        raise Refusal("NOT_FOUND", "阅读记录不存在")
    visible = await db.fetchval(
        f"SELECT n.id FROM notices n WHERE n.id = $4 AND {VISIBLE}",
        viewer["village_id"], ancestor_paths(viewer["household_unit_path"]), now, read["notice_id"])
    if visible is None:
        raise Refusal("NOT_FOUND", "公开信息不存在")
    if read["finished_at"] is not None:
        raise Refusal("ALREADY_READ", "已经读过了")
    current_id, minimum, opened_since = await db.fetchrow(
        "SELECT c.id, c.min_read_seconds, EXISTS (SELECT 1 FROM notice_reads WHERE resident_id = $2 AND id > $3)"
        " FROM (SELECT id, min_read_seconds FROM notice_revisions WHERE notice_id = $1"
        " ORDER BY revision DESC LIMIT 1) c", read["notice_id"], read["resident_id"], read_id)
    seconds = int((now - read["started_at"]).total_seconds())
    if (current_id != read["revision_id"] or opened_since or read["household_id"] != viewer["household_id"]
            or now - read["started_at"] > max(timedelta(minutes=30), timedelta(seconds=10 * minimum))):
        raise Refusal("REOPEN_REQUIRED", "请重新打开")  # affairs.reading.finish_read's checks
    if seconds < minimum:
        raise Refusal("TOO_EARLY", f"请至少阅读{minimum}秒")
    await db.execute("UPDATE notice_reads SET finished_at = $2 WHERE id = $1", read_id, now)
    receipt_id = await db.fetchval(
        "INSERT INTO notice_receipts (notice_id, revision_id, read_id, village_id, resident_id, household_id,"
        " read_at, seconds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (notice_id, resident_id) DO NOTHING RETURNING id",
        read["notice_id"], read["revision_id"], read_id, read["village_id"], read["resident_id"],
        read["household_id"], now, seconds)
    if receipt_id is None:
        raise Refusal("ALREADY_READ", "已经读过了")
    points = 0
    for version in await db.fetch(CURRENT_EVENT_RULES, read["village_id"], "notice_read"):
        points += await _award(db, version, read, f"notice:{read['notice_id']}", viewer["id"], now)
    return receipt_id, seconds, points


async def _award(db: Db, version, read, source: str, actor: int, now: datetime) -> int:
    """rewards.awards.award for a positive rule: checks first, then writes; a refusal
    (cap, budget, inactive) writes nothing and awards 0, like the service's savepoint."""
    village_id, household_id, resident_id = version["village_id"], read["household_id"], read["resident_id"]
    account_id = await lock_household_account(db, village_id, household_id)
    if await db.fetchval(
        "SELECT id FROM points_awards WHERE rule_id = $1 AND account_id = $2 AND source = $3",
        version["rule_id"], account_id, source,
    ) is not None:
        return 0  # this household was awarded for this notice already
    if not version["enabled"] or (version["active_from"] and version["active_from"] > now) or (
            version["active_to"] and now >= version["active_to"]):
        return 0
    if version["cap_period"] is not None:
        scope = ("resident_id", resident_id) if version["cap_scope"] == "resident" else ("household_id", household_id)
        start = period_start(version["cap_period"], now) or datetime(1900, 1, 1, tzinfo=UTC)
        count = await db.fetchval(
            f"SELECT count(*) FROM points_awards WHERE rule_id = $1 AND {scope[0]} = $2 AND created_at >= $3",
            version["rule_id"], scope[1], start)
        if count >= version["cap_count"]:
            return 0
    points = version["points"]
    policy = await db.fetchrow(
        "SELECT default_validity_days, expire_end_of_next_year FROM points_policies WHERE village_id = $1",
        village_id)
    issuance = await db.fetchval(
        "SELECT id FROM points_accounts WHERE village_id = $1 AND kind = 'issuance'"
        " AND (min_balance IS NULL OR balance - $2 >= min_balance) FOR UPDATE", village_id, points)
    if issuance is None:
        return 0  # the village's budget is spent
    if version["validity_days"]:
        expires = now + timedelta(days=version["validity_days"])
    elif policy and policy["default_validity_days"]:
        expires = now + timedelta(days=policy["default_validity_days"])
    elif policy and policy["expire_end_of_next_year"]:
        expires = datetime(now.astimezone(CHINA).year + 2, 1, 1, tzinfo=CHINA)
    else:
        expires = None
    lot_id = await db.fetchval(
        "INSERT INTO points_lots (village_id, account_id, points, remaining, expires_at, created_at)"
        " VALUES ($1, $2, $3, $3, $4, $5) RETURNING id", village_id, account_id, points, expires, now)
    transaction_id = await db.fetchval(
        "INSERT INTO points_transactions (village_id, kind, reason, actor_user_id, household_id, resident_id,"
        " rule_version_id, source, created_at) VALUES ($1, 'award', $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        village_id, version["name"], actor, household_id, resident_id, version["id"], source, now)
    await db.execute(
        "INSERT INTO points_entries (transaction_id, village_id, account_id, lot_id, points, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $7), ($1, $2, $6, NULL, -$5, $7)",
        transaction_id, village_id, account_id, lot_id, points, issuance, now)
    await db.execute(
        "UPDATE points_accounts SET balance = balance + $2, lifetime_earned = lifetime_earned + $2"
        " WHERE id = $1", account_id, points)
    await db.execute("UPDATE points_accounts SET balance = balance - $2 WHERE id = $1", issuance, points)
    await db.execute(
        "INSERT INTO points_awards (village_id, rule_id, rule_version_id, account_id, household_id, resident_id,"
        " source, points, transaction_id, lot_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        village_id, version["rule_id"], version["id"], account_id, household_id, resident_id, source, points,
        transaction_id, lot_id, now)
    return points


# ---- the app -----------------------------------------------------------------------------


async def show_stats(request: Request) -> Response:
    if request.method == "POST":
        stats.clear()
    return answer({route: {"requests": n, "statements": s} for route, (n, s) in stats.items()})


@asynccontextmanager
async def lifespan(app: Starlette):
    global pool
    url = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    size = int(os.environ.get("DB_POOL_SIZE", "10"))
    # the service's pool: DB_POOL_SIZE connections plus as many again on overflow, and the
    # same session settings
    pool = await asyncpg.create_pool(url, min_size=size, max_size=2 * size, server_settings={
        "timezone": "UTC", "lock_timeout": "3000", "statement_timeout": "15000",
        "application_name": "bench-floor"})
    yield
    await pool.close()


async def healthz(request: Request) -> Response:
    return answer({"status": "ok"})


import bare_graphql  # noqa: E402  (it builds on this module's functions, defined above)

app = Starlette(routes=[
    Route("/healthz", healthz),
    Route("/floor/home", home, methods=["POST"]),
    Route("/floor/redeem", redeem, methods=["POST"]),
    Route("/floor/finish", finish, methods=["POST"]),
    Route("/floor/stats", show_stats, methods=["GET", "POST"]),
    Route("/bare/graphql", bare_graphql.app),
], lifespan=lifespan)
