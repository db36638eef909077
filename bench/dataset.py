"""Benchmark datasets: a county (300 villages, 400k households, 1.2M residents, 5.6M ledger
entries) and a single village, generated with set-based SQL and COPY.

Ids are explicit and arithmetic (household h owns residents 3h-2..3h, lots 6h-5..6h,
transactions 7h-6..7h, entries 14h-13..14h, ...), so every table can be filled by one
INSERT ... SELECT over generate_series without lookups; the identity sequences are moved
past the generated ids at the end, so the service keeps inserting normally.

Everything goes in through the schema's own guards: CHECK constraints, foreign keys, the
append-only triggers and the deferred `points_entries_balanced` trigger stay enabled. The
cached numbers (balances, lifetime earned, stock) are then derived from the rows they
summarise, and `village rewards check` must pass before the dataset is marked complete.

The rows are written for the schema at migration BUILT_AT; the project's own migrations then
carry the dataset to the head revision (at build and at every reuse), as they carry a
production database, backfilling whatever newer tables need.

A dataset is reused when its database carries the completion marker of the current
DATASET_VERSION; anything else (a half-built database, an older layout) is rebuilt.
"""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
DATASET_VERSION = "5"
BUILT_AT = "0003"  # the schema revision the generator writes rows for

OPENING_POINTS = 3000  # every household's imported opening balance (a lot of its own)
NOTICE_READ_POINTS = 1
RETURN_REPORT_POINTS = 10
BUDGET = 1_000_000_000  # per village: no benchmark run can exhaust it
ITEM_STOCK = 1_000_000
MIN_READ_SECONDS = 30
GROUP_SIZE = 67  # households per group (组), four areas (片) per village

# The village store: the first ten are everyday goods without a limit (what the redeem
# benchmark buys); the last five are limited to one per household per year.
ITEMS = [
    ("肥皂", "日用品", 5), ("牙膏", "日用品", 6), ("毛巾", "日用品", 8), ("酱油", "粮油调味", 10),
    ("食醋", "粮油调味", 12), ("洗衣粉", "日用品", 15), ("洗洁精", "日用品", 18),
    ("卫生纸", "日用品", 20), ("食盐", "粮油调味", 25), ("挂面", "粮油调味", 30),
    ("洗发水", "日用品", 40), ("面粉", "粮油调味", 60), ("食用油", "粮油调味", 80),
    ("电动车充电券", "服务券", 100), ("大米", "粮油调味", 120), ("保温杯", "日用品", 150),
    ("电热水壶", "小家电", 300), ("电饭煲", "小家电", 400), ("电风扇", "小家电", 500),
    ("棉被", "床上用品", 600),
]
UNLIMITED_ITEMS = 10
LIMITED_FROM = 15
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["建国", "秀英", "桂兰", "志强", "海燕", "明", "红梅", "军", "丽", "伟", "芳", "勇", "静",
         "春花", "德福", "国庆", "玉兰", "小龙", "文华", "金凤", "长青", "家豪", "雨欣", "子涵",
         "浩然", "梓萱", "思远", "佳怡", "天佑", "晓燕"]
NOTICE_TOPICS = ["村民代表会议决议公示", "低保评议结果公示", "农村危房改造补助公示",
                 "耕地地力保护补贴发放公示", "村级财务收支公开", "人居环境整治评比结果",
                 "医保缴费提醒", "防汛抗旱值班安排", "党员积分评定结果", "集体经济项目招标公告"]
NOTICE_CATEGORIES = ["village_affairs", "finance", "party_affairs", "policy", "other"]
BODY = ("根据村民代表会议决议，现将有关事项公示如下。公示期为七天，如有异议，请在公示期内向村务监督委员会"
        "反映，或在本公示下留言提问。联系人：村委会办公室。") * 3


@dataclass(frozen=True)
class Scale:
    name: str
    database: str
    towns: int
    villages_per_town: int
    households_per_village: int
    notices_per_village: int
    # The first village may be larger: the notice-read storm needs that many residents
    # in one notice's audience.
    first_village_households: int | None = None
    chunk_households: int = 25_000
    # A run's writes (~25k redemptions, two storms) land in this scale's villages. Spread over
    # a county's 300 villages they add ~1% to a village's ledger; in a lone village they
    # multiply it, and the next run would measure a different village. So the village
    # dataset (seconds to build) is built afresh for every run; the county one is reused.
    fresh_each_run: bool = False

    @property
    def villages(self) -> int:
        return self.towns * self.villages_per_town

    def village_households(self, number: int) -> int:
        if number == 1 and self.first_village_households:
            return self.first_village_households
        return self.households_per_village

    @property
    def households(self) -> int:
        return sum(self.village_households(n) for n in range(1, self.villages + 1))


SCALES = {
    "county": Scale("county", "bench_county", towns=20, villages_per_town=15,
                    households_per_village=1334, notices_per_village=200,
                    first_village_households=3400),
    "village": Scale("village", "bench_village", towns=1, villages_per_town=1,
                     households_per_village=1000, notices_per_village=200, fresh_each_run=True),
}


def server_url(database: str = "postgres") -> str:
    base = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
    return f"{base.rstrip('/')}/{database}"


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


# ---- reuse or rebuild ------------------------------------------------------------------


async def dataset_is_complete(scale: Scale) -> bool:
    try:
        conn = await asyncpg.connect(server_url(scale.database))
    except asyncpg.InvalidCatalogNameError:
        return False
    try:
        marker = await conn.fetchval(
            "SELECT value FROM bench.meta WHERE key = 'complete'"
        ) if await conn.fetchval("SELECT to_regclass('bench.meta')") else None
        return marker == f"{DATASET_VERSION}:{scale}"
    finally:
        await conn.close()


async def ensure_dataset(scale: Scale) -> None:
    from app.migrate import upgrade

    url = server_url(scale.database)
    if not scale.fresh_each_run and await dataset_is_complete(scale):
        log(f"{scale.name}: dataset {scale.database} present and complete, reusing it")
        await asyncio.to_thread(upgrade, url)  # Alembic runs its own event loop
        return
    started = time.perf_counter()
    await _recreate_database(scale.database)
    await asyncio.to_thread(upgrade, url, BUILT_AT)
    log(f"{scale.name}: migrated {scale.database} to {BUILT_AT}")
    conn = await asyncpg.connect(url)
    try:
        base = await conn.fetchval("SELECT date_trunc('second', now())")
        await _plan(conn, scale, base)
        await _grid_and_people(conn, scale, base)
        await _catalog_rules_notices(conn, scale, base)
    finally:
        await conn.close()
    await _ledger(url, scale)
    conn = await asyncpg.connect(url)
    try:
        await _derive_cached_numbers(conn)
        await _move_sequences(conn)
        log(f"{scale.name}: VACUUM ANALYZE")
        await conn.execute("VACUUM (ANALYZE)")
        await _report_counts(conn, scale)
    finally:
        await conn.close()
    await asyncio.to_thread(upgrade, url)
    log(f"{scale.name}: migrated to the head revision")
    check_started = time.perf_counter()
    rewards_check(url)
    log(f"{scale.name}: `village rewards check` passed in {time.perf_counter() - check_started:.0f}s")
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO bench.meta VALUES ('complete', $1), ('built_seconds', $2)",
            f"{DATASET_VERSION}:{scale}", f"{time.perf_counter() - started:.0f}",
        )
    finally:
        await conn.close()
    log(f"{scale.name}: dataset built in {time.perf_counter() - started:.0f}s")


def rewards_check(url: str) -> float:
    """The service's own invariant check, as an operator runs it."""
    started = time.perf_counter()
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING",
           "DB_STATEMENT_TIMEOUT_MS": "600000"}
    done = subprocess.run([str(ROOT / ".venv/bin/village"), "rewards", "check"], env=env,
                          cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"village rewards check failed on {url}")
    return time.perf_counter() - started


async def _recreate_database(database: str) -> None:
    if not database.startswith("bench_"):  # never anyone else's database
        raise ValueError(database)
    conn = await asyncpg.connect(server_url())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


# ---- the plan: towns, villages, units; small, computed here ----------------------------


async def _plan(conn, scale: Scale, base: datetime) -> None:
    """Org units and the `bench` schema that records where every village's rows start."""
    await conn.execute("""
        CREATE SCHEMA bench;
        CREATE TABLE bench.meta (key text PRIMARY KEY, value text NOT NULL);
        CREATE TABLE bench.villages (
            village_no int PRIMARY KEY, village_id bigint NOT NULL UNIQUE, name text NOT NULL,
            path text NOT NULL, first_hh bigint NOT NULL, n_hh int NOT NULL,
            admin_user_id bigint NOT NULL, issuance_account bigint NOT NULL,
            redeemed_account bigint NOT NULL, expired_account bigint NOT NULL,
            first_item bigint NOT NULL, first_notice bigint NOT NULL,
            notice_rule bigint NOT NULL, return_rule bigint NOT NULL);
        CREATE TABLE bench.groups (
            group_id bigint PRIMARY KEY, village_id bigint NOT NULL, name text NOT NULL,
            first_hh bigint NOT NULL, n_hh int NOT NULL);
    """)
    await conn.execute("INSERT INTO bench.meta VALUES ('base', $1)", base.isoformat())
    created = base - timedelta(days=3 * 365)
    units, levels, villages, groups = [], [], [], []
    next_id = scale.towns + scale.villages + 1
    first_hh = 1
    households = scale.households
    residents = 3 * households
    for t in range(1, scale.towns + 1):
        units.append((t, "town", None, None, None, f"第{t}镇", f"T{t:02d}", f"/{t}/", created, created))
    for n in range(1, scale.villages + 1):
        town = (n - 1) // scale.villages_per_town + 1
        vid = scale.towns + n
        vpath = f"/{town}/{vid}/"
        name = f"第{town}镇{n}村"
        units.append((vid, "village", town, vid, None, name, f"V{n:03d}", vpath, created, created))
        levels += [(vid, 1, "area", "片", "片长"), (vid, 2, "group", "组", "组长")]
        n_hh = scale.village_households(n)
        group_count = math.ceil(n_hh / GROUP_SIZE)
        per_area = math.ceil(group_count / 4)
        hh = first_hh
        for a in range(4):
            area_id = next_id
            next_id += 1
            units.append((area_id, "unit", vid, vid, 1, f"第{a + 1}片", None, f"{vpath}{area_id}/", created, created))
            for g in range(per_area):
                gno = a * per_area + g
                if gno >= group_count:
                    break
                gid = next_id
                next_id += 1
                gname = f"{a + 1}片{g + 1}组"
                units.append((gid, "unit", area_id, vid, 2, gname, None, f"{vpath}{area_id}/{gid}/", created, created))
                size = min(GROUP_SIZE, first_hh + n_hh - hh)
                groups.append((gid, vid, gname, hh, size))
                hh += size
        villages.append((
            n, vid, name, vpath, first_hh, n_hh, residents + n,
            households + 3 * (n - 1) + 1, households + 3 * (n - 1) + 2, households + 3 * (n - 1) + 3,
            len(ITEMS) * (n - 1) + 1, scale.notices_per_village * (n - 1) + 1, 2 * (n - 1) + 1, 2 * (n - 1) + 2,
        ))
        first_hh += n_hh
    # Villages before their levels before the units on those levels (foreign keys).
    towns_and_villages = [u for u in units if u[1] != "unit"]
    below = [u for u in units if u[1] == "unit"]
    columns = ["id", "kind", "parent_id", "village_id", "level", "name", "code", "path", "created_at", "updated_at"]
    await conn.copy_records_to_table("org_units", records=towns_and_villages, columns=columns)
    await conn.copy_records_to_table("village_levels", records=levels,
                                     columns=["village_id", "level", "key", "name", "chief_title"])
    await conn.copy_records_to_table("org_units", records=below, columns=columns)
    await conn.copy_records_to_table("villages", schema_name="bench", records=villages)
    await conn.copy_records_to_table("groups", schema_name="bench", records=groups)
    log(f"{scale.name}: {len(units)} org units, {len(villages)} villages, {len(groups)} groups")


# ---- households, residents, users, admins, accounts ------------------------------------


async def _grid_and_people(conn, scale: Scale, base: datetime) -> None:
    t0 = time.perf_counter()
    surnames = "ARRAY[" + ",".join(f"'{s}'" for s in SURNAMES) + "]"
    given = "ARRAY[" + ",".join(f"'{g}'" for g in GIVEN) + "]"
    households = scale.households
    await conn.execute(_bind(f"""
        INSERT INTO households (id, village_id, unit_id, number, address, living_status, created_at, updated_at)
        SELECT h, g.village_id, g.group_id, 'H' || lpad((h - v.first_hh + 1)::text, 5, '0'),
               v.name || g.name || (h - v.first_hh + 1) || '号',
               CASE WHEN h % 5 = 0 THEN 'working_away' ELSE 'at_home' END,
               $1::timestamptz - interval '3 years', $1::timestamptz - interval '3 years'
        FROM bench.groups g JOIN bench.villages v USING (village_id),
             generate_series(g.first_hh, g.first_hh + g.n_hh - 1) h;

        -- Three residents a household: head, spouse, child. ID numbers are left out (all
        -- three columns null together, as the schema allows).
        INSERT INTO residents (id, village_id, name, phone, gender, birth_year, created_at, updated_at)
        SELECT r, h.village_id,
               ({surnames})[1 + h.id % {len(SURNAMES)}] || ({given})[1 + (r * 7) % {len(GIVEN)}],
               '13' || lpad(r::text, 9, '0'),
               CASE WHEN k = 2 THEN 'female' WHEN k = 1 THEN 'male'
                    WHEN r % 2 = 0 THEN 'female' ELSE 'male' END,
               CASE k WHEN 3 THEN 1995 + (r % 20) ELSE 1950 + (r % 35) END,
               h.created_at, h.created_at
        FROM households h, generate_series(1, 3) k, LATERAL (SELECT 3 * (h.id - 1) + k AS r) x;

        INSERT INTO household_memberships (id, village_id, household_id, resident_id, relation, valid_from)
        SELECT r.id, r.village_id, (r.id + 2) / 3, r.id,
               (ARRAY['child', 'head', 'spouse'])[1 + r.id % 3], r.created_at
        FROM residents r;

        -- Every resident uses the mini-program (logged in by SMS): a user each.
        INSERT INTO users (id, phone, display_name, resident_id, created_at)
        SELECT id, phone, name, id, created_at FROM residents;

        -- One village admin each (staff: a phone, no resident).
        INSERT INTO users (id, phone, display_name, created_at)
        SELECT admin_user_id, '15' || lpad(village_no::text, 9, '0'), name || '管理员',
               $1::timestamptz - interval '3 years'
        FROM bench.villages;

        INSERT INTO appointments (id, user_id, role, unit_id, village_id, valid_from, note)
        SELECT village_no, admin_user_id, 'village_admin', village_id, village_id,
               $1::timestamptz - interval '2 years', '村两委换届任命'
        FROM bench.villages;

        INSERT INTO points_policies (village_id, expire_end_of_next_year, pickup_days, updated_at)
        SELECT village_id, true, 7, $1::timestamptz - interval '1 year' FROM bench.villages;

        -- Cached balances start at zero and are derived from the ledger once it is written.
        INSERT INTO points_accounts (id, village_id, kind, household_id, balance, min_balance, created_at)
        SELECT id, village_id, 'household', id, 0, 0, $1::timestamptz - interval '1 year' FROM households;
        INSERT INTO points_accounts (id, village_id, kind, balance, created_at)
        SELECT a, village_id, kind, 0, $1::timestamptz - interval '1 year'
        FROM bench.villages,
             LATERAL (VALUES (issuance_account, 'issuance'), (redeemed_account, 'redeemed'),
                             (expired_account, 'expired')) s(a, kind);
    """, base))
    log(f"{scale.name}: {households} households, {3 * households} residents and users "
        f"in {time.perf_counter() - t0:.0f}s")


async def _catalog_rules_notices(conn, scale: Scale, base: datetime) -> None:
    t0 = time.perf_counter()
    villages = await conn.fetch("SELECT * FROM bench.villages ORDER BY village_no")
    units = await conn.fetch(
        "SELECT id, village_id, level, path FROM org_units WHERE kind = 'unit' ORDER BY id"
    )
    by_village: dict[int, dict[int, list]] = {}
    for u in units:
        by_village.setdefault(u["village_id"], {}).setdefault(u["level"], []).append(u)
    rules, versions, items, receives, notices, revisions, audiences = [], [], [], [], [], [], []
    year_ago = base - timedelta(days=365)
    total_notices = scale.notices_per_village * len(villages)
    for v in villages:
        vid, admin = v["village_id"], v["admin_user_id"]
        rules += [(v["notice_rule"], vid, "notice_read", year_ago), (v["return_rule"], vid, "return_report", year_ago)]
        # cap: 50 a day per resident, so that the cap query runs (as it does in production)
        # without a benchmark storm ever reaching it.
        versions += [
            (v["notice_rule"], v["notice_rule"], vid, 1, "有效阅读村务公开", NOTICE_READ_POINTS, "event",
             "notice_read", "day", 50, "resident", admin, year_ago),
            (v["return_rule"], v["return_rule"], vid, 1, "返乡报备", RETURN_REPORT_POINTS, "event",
             "return_report", "year", 2, "resident", admin, year_ago),
        ]
        for i, (name, category, price) in enumerate(ITEMS):
            item_id = v["first_item"] + i
            limited = i >= LIMITED_FROM
            items.append((item_id, vid, name, category, price, ITEM_STOCK, 0,
                          1 if limited else None, "year" if limited else None, year_ago))
            receives.append((item_id, vid, item_id, "receive", ITEM_STOCK, 0, "上架入库", admin, year_ago))
        areas, groups = by_village[vid][1], by_village[vid][2]
        for j in range(1, scale.notices_per_village + 1):
            nid = v["first_notice"] + j - 1
            published = base - timedelta(days=2 * (scale.notices_per_village - j))
            withdrawn = j % 50 == 25
            notices.append((nid, vid, NOTICE_CATEGORIES[j % len(NOTICE_CATEGORIES)],
                            "withdrawn" if withdrawn else "published", j % 97 == 0, published,
                            published + timedelta(days=3) if withdrawn else None, admin,
                            published - timedelta(hours=1)))
            title = f"{NOTICE_TOPICS[j % len(NOTICE_TOPICS)]}（第{j}期）"
            revisions.append((nid, nid, vid, 1, title, BODY, MIN_READ_SECONDS, None, admin,
                              published - timedelta(hours=1)))
            if j % 10 == 3:  # corrected after publication, with a reason readers see
                revisions.append((total_notices + nid, nid, vid, 2, title + "（更正）", BODY + "更正：联系人电话有误。",
                                  MIN_READ_SECONDS, "联系人电话有误", admin, published + timedelta(days=1)))
            # Most notices go to the whole village; every tenth to one area, every tenth
            # (offset) to one group. Reads in the history only touch village-wide ones.
            if j % 10 == 0:
                unit = areas[(j // 10) % len(areas)]
            elif j % 10 == 5:
                unit = groups[(j // 10) % len(groups)]
            else:
                unit = None
            audiences.append((nid, unit["id"] if unit else vid, unit["path"] if unit else v["path"]))
    await conn.copy_records_to_table("earning_rules", records=rules, columns=["id", "village_id", "code", "created_at"])
    await conn.copy_records_to_table(
        "earning_rule_versions", records=versions,
        columns=["id", "rule_id", "village_id", "version", "name", "points", "trigger", "event_type",
                 "cap_period", "cap_count", "cap_scope", "created_by_id", "created_at"])
    await conn.copy_records_to_table(
        "reward_items", records=items,
        columns=["id", "village_id", "name", "category", "points_price", "stock_available",
                 "stock_reserved", "limit_quantity", "limit_period", "created_at"])
    await conn.copy_records_to_table(
        "stock_movements", records=receives,
        columns=["id", "village_id", "item_id", "kind", "delta_available", "delta_reserved", "reason",
                 "actor_user_id", "created_at"])
    await conn.copy_records_to_table(
        "notices", records=notices,
        columns=["id", "village_id", "category", "status", "pinned", "published_at", "withdrawn_at",
                 "created_by_id", "created_at"])
    await conn.copy_records_to_table(
        "notice_revisions", records=revisions,
        columns=["id", "notice_id", "village_id", "revision", "title", "body", "min_read_seconds",
                 "change_reason", "created_by_id", "created_at"])
    await conn.copy_records_to_table("notice_audiences", records=audiences,
                                     columns=["notice_id", "unit_id", "unit_path"])
    log(f"{scale.name}: {len(rules)} rules, {len(items)} items, {len(notices)} notices "
        f"({len(revisions)} revisions) in {time.perf_counter() - t0:.0f}s")


# ---- the ledger, in household chunks on two connections --------------------------------

# Seven movements per household, k = 1..7:
#   1      the opening balance imported from the paper book (an admin's adjustment)
#   2..4   a notice read by the k-1-th member (with its read and receipt), 1 point each
#   5..6   return reports (返乡报备) by the head, 10 points each
#   7      one redemption of an everyday item, picked up, paid from the opening lot
# Each movement is a transaction with two legs (household and a system account), so a
# household has 7 transactions, 14 entries, 6 lots and 5 awards.
LEDGER_CHUNK = """
CREATE TEMP TABLE ev ON COMMIT DROP AS
SELECT h.id AS h, h.village_id, v.admin_user_id, v.issuance_account, v.redeemed_account,
       k, 7 * (h.id - 1) + k AS txn_id,
       CASE WHEN k <= 6 THEN 6 * (h.id - 1) + k ELSE 6 * (h.id - 1) + 1 END AS lot_id,
       CASE WHEN k BETWEEN 2 AND 4 THEN 3 * (h.id - 1) + k - 1 ELSE 3 * (h.id - 1) + 1 END AS resident_id,
       CASE WHEN k BETWEEN 2 AND 4 THEN v.first_notice + j - 1 END AS notice_id,
       v.first_item + item_no AS item_id, item_no,
       CASE WHEN k = 1 THEN 'adjustment' WHEN k = 7 THEN 'redemption' ELSE 'award' END AS kind,
       CASE WHEN k = 1 THEN {opening} WHEN k <= 4 THEN {notice_points} WHEN k <= 6 THEN {return_points}
            ELSE (ARRAY[{prices}])[1 + item_no] END AS points,
       CASE WHEN k BETWEEN 2 AND 4 THEN v.notice_rule WHEN k IN (5, 6) THEN v.return_rule END AS rule_id,
       CASE
         WHEN k = 1 THEN $1::timestamptz - interval '330 days' + (h.id % 1440) * interval '1 minute'
         WHEN k <= 4 THEN least($1::timestamptz - ({n_notices} - j) * interval '2 days'
                                + (1 + h.id % 240) * interval '1 hour',
                                $1::timestamptz - interval '1 hour')
         WHEN k = 5 THEN $1::timestamptz - interval '250 days' + (h.id % 1440) * interval '1 minute'
         WHEN k = 6 THEN $1::timestamptz - interval '50 days' + (h.id % 1440) * interval '1 minute'
         ELSE $1::timestamptz - interval '30 days' + (h.id % 1440) * interval '1 minute'
       END AS t
FROM households h
JOIN bench.villages v ON v.village_id = h.village_id
CROSS JOIN generate_series(1, 7) k
-- the notices read: village-wide ones (j mod 10 = k - 1 in 1..3), three different per household
CROSS JOIN LATERAL (SELECT 10 * ((3 * h.id + k) % 20) + (k - 1) AS j, (h.id % {unlimited}) AS item_no) pick
WHERE h.id BETWEEN $2 AND $3;

INSERT INTO redemptions (id, village_id, household_id, account_id, resident_id, user_id, item_id,
                         quantity, points, status, pickup_code, pickup_deadline, created_at,
                         closed_at, closed_by_id)
SELECT h, village_id, h, h, resident_id, resident_id, item_id, 1, points, 'picked_up',
       -- a distinct 8-letter code per household: its id in base 31 over the code alphabet
       (SELECT string_agg(substr('23456789ABCDEFGHJKMNPQRSTUVWXYZ', 1 + ((h / (31::bigint ^ i)::bigint) % 31)::int, 1), '' ORDER BY i)
        FROM generate_series(0, 7) i),
       t + interval '7 days', t, t + interval '2 days', admin_user_id
FROM ev WHERE k = 7;

INSERT INTO stock_movements (id, village_id, item_id, kind, delta_available, delta_reserved,
                             reason, actor_user_id, redemption_id, created_at)
SELECT {items_total} + 2 * (h - 1) + 1, village_id, item_id, 'reserve', -1, 1, '兑换预留',
       resident_id, h, t FROM ev WHERE k = 7
UNION ALL
SELECT {items_total} + 2 * h, village_id, item_id, 'pickup', 0, -1, '已领取',
       admin_user_id, h, t + interval '2 days' FROM ev WHERE k = 7;

INSERT INTO notice_reads (id, notice_id, revision_id, village_id, resident_id, household_id,
                          user_id, started_at, finished_at)
SELECT resident_id, notice_id, notice_id, village_id, resident_id, h, resident_id,
       t - interval '40 seconds', t
FROM ev WHERE k BETWEEN 2 AND 4;

INSERT INTO notice_receipts (id, notice_id, revision_id, read_id, village_id, resident_id,
                             household_id, read_at, seconds)
SELECT resident_id, notice_id, notice_id, resident_id, village_id, resident_id, h, t, 40
FROM ev WHERE k BETWEEN 2 AND 4;

-- Lots expire when the year after earning ends (China time), the villages' policy.
INSERT INTO points_lots (id, village_id, account_id, points, remaining, expires_at, created_at)
SELECT e.lot_id, e.village_id, e.h, e.points,
       e.points - CASE WHEN e.k = 1 THEN r.points ELSE 0 END,
       make_timestamptz(extract(year FROM e.t AT TIME ZONE 'Asia/Shanghai')::int + 2, 1, 1, 0, 0, 0, 'Asia/Shanghai'),
       e.t
FROM ev e JOIN ev r ON r.h = e.h AND r.k = 7
WHERE e.k <= 6;

INSERT INTO points_transactions (id, village_id, kind, reason, actor_user_id, household_id,
                                 resident_id, rule_version_id, redemption_id, source, created_at)
SELECT txn_id, village_id, kind,
       CASE kind WHEN 'adjustment' THEN '历史积分导入'
                 WHEN 'redemption' THEN '兑换 ' || (ARRAY[{names}])[1 + item_no] || ' ×1'
                 ELSE CASE WHEN k <= 4 THEN '有效阅读村务公开' ELSE '返乡报备' END END,
       CASE WHEN k = 1 THEN admin_user_id WHEN k <= 4 OR k = 7 THEN resident_id END,
       h, CASE WHEN k > 1 THEN resident_id END, rule_id,
       CASE WHEN k = 7 THEN h END,
       CASE WHEN k <= 4 AND k > 1 THEN 'notice:' || notice_id
            WHEN k IN (5, 6) THEN 'return_report:' || h || ':' || (k - 4) END,
       t
FROM ev;

INSERT INTO points_entries (id, transaction_id, village_id, account_id, lot_id, points, created_at)
SELECT 14 * (h - 1) + 2 * k - 1, txn_id, village_id, h, lot_id,
       CASE WHEN k = 7 THEN -points ELSE points END, t
FROM ev
UNION ALL
SELECT 14 * (h - 1) + 2 * k, txn_id, village_id,
       CASE WHEN k = 7 THEN redeemed_account ELSE issuance_account END, NULL,
       CASE WHEN k = 7 THEN points ELSE -points END, t
FROM ev;

INSERT INTO points_awards (id, village_id, rule_id, rule_version_id, account_id, household_id,
                           resident_id, source, points, transaction_id, lot_id, created_at)
SELECT 5 * (h - 1) + k - 1, village_id, rule_id, rule_id, h, h, resident_id,
       CASE WHEN k <= 4 THEN 'notice:' || notice_id ELSE 'return_report:' || h || ':' || (k - 4) END,
       points, txn_id, lot_id, t
FROM ev WHERE k BETWEEN 2 AND 6;
"""


async def _ledger(url: str, scale: Scale) -> None:
    t0 = time.perf_counter()
    async with asyncpg.create_pool(url, min_size=2, max_size=2) as pool:
        base = await pool.fetchval("SELECT value::timestamptz FROM bench.meta WHERE key = 'base'")
        sql = LEDGER_CHUNK.format(
            opening=OPENING_POINTS, notice_points=NOTICE_READ_POINTS, return_points=RETURN_REPORT_POINTS,
            prices=", ".join(str(p) for _, _, p in ITEMS[:UNLIMITED_ITEMS]),
            names=", ".join(f"'{n}'" for n, _, _ in ITEMS[:UNLIMITED_ITEMS]),
            unlimited=UNLIMITED_ITEMS, n_notices=scale.notices_per_village,
            items_total=len(ITEMS) * scale.villages,
        )
        chunks = [(lo, min(lo + scale.chunk_households - 1, scale.households))
                  for lo in range(1, scale.households + 1, scale.chunk_households)]
        queue: asyncio.Queue = asyncio.Queue()
        for chunk in chunks:
            queue.put_nowait(chunk)
        done = 0

        async def worker() -> None:
            nonlocal done
            while not queue.empty():
                lo, hi = queue.get_nowait()
                async with pool.acquire() as conn, conn.transaction():
                    await conn.execute(_bind(sql, base, lo, hi))
                done += 1
                if done % 4 == 0 or done == len(chunks):
                    log(f"{scale.name}: ledger {done}/{len(chunks)} chunks "
                        f"({time.perf_counter() - t0:.0f}s)")

        await asyncio.gather(worker(), worker())
    log(f"{scale.name}: ledger written in {time.perf_counter() - t0:.0f}s")


def _bind(sql: str, base: datetime, lo: int = 0, hi: int = 0) -> str:
    """Inline the parameters: a string of several commands goes as a simple query, which
    takes no bind parameters. They are a timestamp and two integers of our own."""
    return (sql.replace("$1::timestamptz", f"'{base.astimezone(UTC).isoformat()}'::timestamptz")
            .replace("$2", str(int(lo))).replace("$3", str(int(hi))))


async def _derive_cached_numbers(conn) -> None:
    """Cached balances, lifetime earned and stock, computed from the rows they cache."""
    t0 = time.perf_counter()
    await conn.execute(f"""
        UPDATE points_accounts a
        SET balance = s.total,
            lifetime_earned = CASE WHEN a.kind = 'household' THEN s.earned ELSE 0 END,
            min_balance = CASE WHEN a.kind = 'issuance' THEN -{BUDGET} ELSE a.min_balance END
        FROM (
            SELECT e.account_id, sum(e.points) AS total,
                   sum(e.points) FILTER (WHERE t.kind IN ('award', 'reversal')
                                          OR (t.kind = 'adjustment' AND e.points > 0)) AS earned
            FROM points_entries e JOIN points_transactions t ON t.id = e.transaction_id
            GROUP BY e.account_id
        ) s
        WHERE a.id = s.account_id;

        UPDATE reward_items i
        SET stock_available = s.available, stock_reserved = s.reserved
        FROM (SELECT item_id, sum(delta_available) AS available, sum(delta_reserved) AS reserved
              FROM stock_movements GROUP BY item_id) s
        WHERE i.id = s.item_id;
    """)
    log(f"cached balances and stock derived in {time.perf_counter() - t0:.0f}s")


async def _move_sequences(conn) -> None:
    """Identity sequences continue after the generated ids."""
    tables = await conn.fetch("""
        SELECT table_name FROM information_schema.columns
        WHERE table_schema = 'public' AND column_name = 'id' AND is_identity = 'YES'
    """)
    for row in tables:
        table = row["table_name"]
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
        )


async def _report_counts(conn, scale: Scale) -> None:
    counts = {}
    for table in ("households", "residents", "users", "points_accounts", "points_transactions",
                  "points_entries", "points_lots", "points_awards", "notices", "notice_revisions",
                  "notice_receipts", "redemptions", "reward_items"):
        counts[table] = await conn.fetchval(f"SELECT count(*) FROM {table}")
    await conn.execute("INSERT INTO bench.meta VALUES ('counts', $1)",
                       ", ".join(f"{k}={v}" for k, v in counts.items()))
    log(f"{scale.name}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


async def dataset_counts(database: str) -> dict[str, str]:
    conn = await asyncpg.connect(server_url(database))
    try:
        return {r["key"]: r["value"] for r in await conn.fetch("SELECT key, value FROM bench.meta")}
    finally:
        await conn.close()


if __name__ == "__main__":  # build one dataset on its own: python bench/dataset.py village
    sys.path.insert(0, str(ROOT))
    asyncio.run(ensure_dataset(SCALES[sys.argv[1] if len(sys.argv) > 1 else "village"]))
