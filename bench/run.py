"""The Smart Village benchmark. One command, from the repository root:

    .venv/bin/python bench/run.py [--scale village|county|both] [--duration 20]

It builds (or reuses) the datasets (bench/dataset.py), serves the API for each scale under
uvicorn with one worker (`village serve --no-migrate`, production settings), next to the
hand-written floor (bench/floor.py) and bare GraphQL (bench/bare_graphql.py: the floor's
SQL behind strawberry, in the floor's process), and drives them with wrk (bench/load.lua) from
thousands of residents' tokens. It also runs pgbench (bench/redeem.pgbench) for
redeemReward, runs the notice-read storm and checks that every award happened exactly
once, counts the SQL statements per operation, profiles the service under load with
py-spy, runs `village rewards check`, and prints the table. Raw numbers go to
bench/results/; bench/RESULTS.md has a run and what it says.

This machine may be shared, so each operation's phases are interleaved: round by round,
village then county, GraphQL, bare GraphQL, floor, so that whatever else runs meanwhile weighs on
them alike. Rounds are merged exactly (wrk's full latency histograms, pgbench's
per-transaction log).

Needs PostgreSQL (BENCH_PG, default postgresql://postgres@127.0.0.1:5432, a role that may
create databases), and wrk and pgbench on PATH. py-spy comes from PATH or is installed
into bench/results/tools (a throwaway venv); --no-profile skips the profile.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from bench.dataset import SCALES, Scale, ensure_dataset, log, rewards_check, server_url  # noqa: E402

RESULTS = BENCH / "results"
# Benchmark-only secrets (production mode refuses the development ones).
JWT_SECRET = "bench-only-jwt-secret-0123456789abcdef-not-for-production"
DATA_KEY = base64.urlsafe_b64encode(b"bench-only-data-key-32-bytes!!!!").decode()
TOKEN_TTL = 7200  # the whole run fits in it
RESIDENT_TOKENS = 2000
STORM_RESIDENTS = 10_000
TOP_UP_BELOW, TOP_UP_POINTS = 2000, 3000  # buyers running low get a fresh lot before a run
RESTOCK_BELOW, RESTOCK = 100_000, 900_000
WARM_UP_SECONDS = 3

HOME = ("query Home { me { household { id points { balance entries(first: 20) { edges { node "
        "{ id points reason createdAt } } } } } } unreadNoticeCount notices(first: 5) { edges "
        "{ node { id title publishedAt read } } } }")
CATALOG = "query Catalog { catalog(first: 20) { edges { node { id name pointsPrice stockAvailable } } } }"
REDEEM = ("mutation Redeem($item: ID!, $key: String!) { redeemReward(input: {itemId: $item, quantity: 1, "
          "idempotencyKey: $key}) { redemption { id status pickupCode } errors { code } } }")
OVERVIEW = "query Overview { pointsOverview { issued redeemed expired outstanding budgetLeft } }"
OPEN = ("mutation Open($notice: ID!) { openNotice(input: {noticeId: $notice}) { read { id startedAt "
        "minimumSeconds } errors { code message } } }")
FINISH = ("mutation Finish($read: ID!) { finishNoticeRead(input: {readId: $read}) { receipt { id seconds } "
          "pointsAwarded errors { code message } } }")
CREATE_NOTICE = ("mutation Publish($village: ID!, $title: String!) { createNotice(input: {category: "
                 "VILLAGE_AFFAIRS, title: $title, body: \"请全体村民认真阅读本通知，阅读满规定时间可获得积分。\", "
                 "audienceUnitIds: [$village], minimumSeconds: 10, publish: true}) { notice { id } "
                 "errors { code message } } }")


def gid(type_name: str, id: int) -> str:
    return base64.b64encode(f"{type_name}:{id}".encode()).decode()


def graphql_body(query: str, name: str, variables: dict | None = None) -> str:
    body = {"query": query, "operationName": name, "variables": variables or {}}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def service_env(url: str) -> dict:
    return {
        **os.environ, "DATABASE_URL": url, "ENVIRONMENT": "production", "JWT_SECRET": JWT_SECRET,
        "DATA_ENCRYPTION_KEY": DATA_KEY, "LOG_LEVEL": "WARNING", "SMS_SENDER": "off",
        "ACCESS_TOKEN_TTL_SECONDS": str(TOKEN_TTL),
    }


def bench_settings(url: str):
    from app.settings import Settings

    return Settings(environment="production", database_url=url, jwt_secret=JWT_SECRET,
                    data_encryption_key=DATA_KEY, access_token_ttl_seconds=TOKEN_TTL,
                    log_level="WARNING", sms_sender="off", _env_file=None)


# ---- measurements ----------------------------------------------------------------------------


@dataclass
class Phase:
    """One operation on one scale by one implementation, merged over its rounds."""

    operation: str
    scale: str
    impl: str  # GraphQL, floor, pgbench
    requests: int = 0
    seconds: float = 0.0
    cpu: float = 0.0  # the server process's CPU seconds over the phase (not for pgbench)
    failures: int = 0
    loads: list[float] = field(default_factory=list)  # 1-minute load average at each round
    histogram: Counter = field(default_factory=Counter)  # latency µs -> count
    statements: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile_ms(self, p: float) -> float:
        total = sum(self.histogram.values())
        if not total:
            return 0.0
        rank, seen = p / 100 * total, 0
        for value in sorted(self.histogram):
            seen += self.histogram[value]
            if seen >= rank:
                return value / 1000
        return max(self.histogram) / 1000

    @property
    def p50_ms(self) -> float:
        return self.percentile_ms(50)

    @property
    def p99_ms(self) -> float:
        return self.percentile_ms(99)

    @property
    def cpu_ms(self) -> float | None:
        return 1000 * self.cpu / self.requests if self.cpu and self.requests else None

    @property
    def load(self) -> float:
        return statistics.mean(self.loads) if self.loads else 0.0

    def summary(self) -> dict:
        return {"operation": self.operation, "scale": self.scale, "impl": self.impl,
                "requests": self.requests, "seconds": round(self.seconds, 3), "rps": round(self.rps, 1),
                "p50_ms": self.p50_ms, "p99_ms": self.p99_ms, "cpu_ms_per_request": self.cpu_ms,
                "statements": self.statements, "failures": self.failures, "load": round(self.load, 2),
                **{k: v for k, v in self.extra.items() if k != "first_failure" or v}}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc). What each request costs
    the worker varies less with other work on the machine than its rate does."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---- per-run preparation: buyers, their tokens, top-ups -----------------------------------


@dataclass
class RunData:
    scale: Scale
    url: str
    folder: Path
    villages: list  # bench.villages rows
    residents: list[int]  # the sample of resident users (user id = resident id)
    storm_residents: list[int]
    storm_village: dict
    tokens: dict[int, str] = field(default_factory=dict)

    def village_of_household(self, household: int):
        starts = [v["first_hh"] for v in self.villages]
        return self.villages[bisect.bisect_right(starts, household) - 1]


async def prepare(scale: Scale, nonce: str, storm_size: int = STORM_RESIDENTS) -> RunData:
    from identity.tokens import issue_access_token

    url = server_url(scale.database)
    folder = RESULTS / scale.name
    folder.mkdir(parents=True, exist_ok=True)
    conn = await asyncpg.connect(url)
    try:
        villages = [dict(r) for r in await conn.fetch("SELECT * FROM bench.villages ORDER BY first_hh")]
        total_residents = 3 * sum(v["n_hh"] for v in villages)
        residents = sorted(random.Random(20261122).sample(range(1, total_residents + 1),
                                                          min(RESIDENT_TOKENS, total_residents)))
        storm_village = villages[0]
        first = 3 * (storm_village["first_hh"] - 1) + 1
        # as many residents of one village as the storm wants, or as the village has
        storm = list(range(first, first + min(storm_size, 3 * storm_village["n_hh"])))
        data = RunData(scale, url, folder, villages, residents, storm, storm_village)
        households = sorted({(r + 2) // 3 for r in residents})
        async with conn.transaction():
            topped = await conn.fetchval(TOP_UP, households, TOP_UP_BELOW, TOP_UP_POINTS)
            restocked = await conn.fetchval(
                RESTOCK_SQL, sorted({data.village_of_household(h)["village_id"] for h in households}),
                RESTOCK_BELOW, RESTOCK)
        if topped or restocked:
            log(f"{scale.name}: topped up {topped} households, restocked {restocked} items")
        # pgbench's buyers: the same residents
        await conn.execute("""
            DROP TABLE IF EXISTS bench.redeemers;
            CREATE TABLE bench.redeemers (n int PRIMARY KEY, user_id bigint, household_id bigint,
                                          resident_id bigint, village_id bigint, first_item bigint)""")
        await conn.copy_records_to_table("redeemers", schema_name="bench", records=[
            (i + 1, r, (r + 2) // 3, r, data.village_of_household((r + 2) // 3)["village_id"],
             data.village_of_household((r + 2) // 3)["first_item"])
            for i, r in enumerate(residents)])
        await conn.execute("ANALYZE")
    finally:
        await conn.close()

    settings = bench_settings(url)
    now = datetime.now(UTC)
    users = set(residents) | set(storm) | {v["admin_user_id"] for v in villages}
    data.tokens = {u: issue_access_token(u, settings, now)[0] for u in users}
    rng = random.Random(7)

    def write(name: str, lines: list[tuple[str, str]]) -> Path:
        path = folder / name
        path.write_text("".join(f"{token}\t{body}\n" for token, body in lines), encoding="utf-8")
        return path

    home = graphql_body(HOME, "Home")
    catalog = graphql_body(CATALOG, "Catalog")
    overview = graphql_body(OVERVIEW, "Overview")
    buyers = []
    for r in residents:
        village = data.village_of_household((r + 2) // 3)
        buyers.append((r, gid("RewardItem", village["first_item"] + rng.randrange(10))))
    write("home.tsv", [(data.tokens[r], home) for r in residents])
    write("catalog.tsv", [(data.tokens[r], catalog) for r in residents])
    write("redeem.tsv", [(data.tokens[r], graphql_body(REDEEM, "Redeem", {"item": item, "key": "%KEY%"}))
                         for r, item in buyers])
    admins = sorted({data.village_of_household((r + 2) // 3)["admin_user_id"] for r in residents})
    write("overview.tsv", [(data.tokens[a], overview) for a in admins])
    write("floor_home.tsv", [(data.tokens[r], "{}") for r in residents])
    write("floor_redeem.tsv", [(data.tokens[r], json.dumps({"item": item, "key": "%KEY%"}))
                               for r, item in buyers])
    return data


# A household running low gets a fresh lot: an admin's adjustment, posted like any other
# (a transaction with two legs that balance, cached balances moved by the same amounts).
TOP_UP = """
WITH low AS (
    SELECT a.id AS account_id, a.household_id, a.village_id, v.admin_user_id, v.issuance_account
    FROM points_accounts a JOIN bench.villages v ON v.village_id = a.village_id
    WHERE a.household_id = ANY($1::bigint[]) AND a.balance < $2),
txn AS (
    INSERT INTO points_transactions (village_id, kind, reason, actor_user_id, household_id)
    SELECT village_id, 'adjustment', '积分补录', admin_user_id, household_id FROM low
    RETURNING id, household_id),
lot AS (
    INSERT INTO points_lots (village_id, account_id, points, remaining, expires_at)
    SELECT village_id, account_id, $3, $3,
           make_timestamptz(extract(year FROM now() AT TIME ZONE 'Asia/Shanghai')::int + 2, 1, 1, 0, 0, 0, 'Asia/Shanghai')
    FROM low RETURNING id, account_id),
legs AS (
    INSERT INTO points_entries (transaction_id, village_id, account_id, lot_id, points)
    SELECT txn.id, low.village_id, low.account_id, lot.id, $3
    FROM low JOIN txn USING (household_id) JOIN lot USING (account_id)
    UNION ALL
    SELECT txn.id, low.village_id, low.issuance_account, NULL, -$3 FROM low JOIN txn USING (household_id)),
moved AS (
    UPDATE points_accounts a SET balance = a.balance + d.delta, lifetime_earned = a.lifetime_earned + d.earned
    FROM (SELECT account_id, $3::bigint AS delta, $3::bigint AS earned FROM low
          UNION ALL
          SELECT issuance_account, -$3::bigint * count(*), 0 FROM low GROUP BY issuance_account) d
    WHERE a.id = d.account_id)
SELECT count(*) FROM low"""

RESTOCK_SQL = """
WITH low AS (SELECT id, village_id FROM reward_items WHERE village_id = ANY($1::bigint[]) AND stock_available < $2),
received AS (
    INSERT INTO stock_movements (village_id, item_id, kind, delta_available, delta_reserved, reason)
    SELECT village_id, id, 'receive', $3, 0, '补货入库' FROM low),
moved AS (UPDATE reward_items i SET stock_available = i.stock_available + $3 FROM low WHERE i.id = low.id)
SELECT count(*) FROM low"""


# ---- processes -----------------------------------------------------------------------------


class Server:
    def __init__(self, name: str, args: list[str], env: dict, ready_url: str, log_path: Path) -> None:
        self.name, self.ready_url = name, ready_url
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"{self.name} not ready after {timeout}s")

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def post_json(url: str, body: dict | str, token: str | None = None) -> dict:
    data = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    request = urllib.request.Request(url, data=data.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@dataclass
class System:
    """One scale's running system: its data, the service and the floor."""

    data: RunData
    service: Server
    floor: Server
    service_url: str
    floor_url: str

    @property
    def name(self) -> str:
        return self.data.scale.name


def start(data: RunData, port: int, floor_port: int) -> System:
    env = service_env(data.url)
    service_url, floor_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{floor_port}"
    service = Server(f"{data.scale.name} service",
                     [str(ROOT / ".venv/bin/village"), "serve", "--port", str(port), "--no-migrate"],
                     env, f"{service_url}/readyz", data.folder / "service.log")
    floor = Server(f"{data.scale.name} floor",
                   [str(ROOT / ".venv/bin/uvicorn"), "floor:app", "--app-dir", str(BENCH), "--host", "127.0.0.1",
                    "--port", str(floor_port), "--workers", "1", "--no-access-log", "--log-level", "warning"],
                   env, f"{floor_url}/floor/stats", data.folder / "floor.log")
    return System(data, service, floor, service_url, floor_url)


# ---- load tools ------------------------------------------------------------------------------


def run_wrk(url: str, lines: Path, *, mode: str, seconds: float, connections: int, nonce: str,
            histogram: Path | None = None) -> dict:
    """wrk with bench/load.lua; returns the WRKJSON numbers (latencies in µs)."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
            "-s", str(BENCH / "load.lua"), url, "--", str(lines), mode, nonce]
    if histogram:
        args.append(str(histogram))
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    for line in done.stdout.splitlines():
        if line.startswith("WRKJSON "):
            return json.loads(line[len("WRKJSON "):])
    raise SystemExit(f"wrk failed: {done.stdout}\n{done.stderr}")


def wrk_round(phase: Phase, url: str, lines: Path, server: Server, args, nonce: str, *,
              mode: str = "cycle", seconds: float, warm: bool = False) -> dict:
    """One round of a phase with wrk, merged into it."""
    if warm:
        run_wrk(url, lines, mode=mode, seconds=WARM_UP_SECONDS, connections=args.connections, nonce=nonce + "w")
    phase.loads.append(os.getloadavg()[0])
    cpu_before = cpu_seconds(server.pid)
    with tempfile.NamedTemporaryFile("r", suffix=".hist") as histogram:
        numbers = run_wrk(url, lines, mode=mode, seconds=seconds, connections=args.connections, nonce=nonce,
                          histogram=Path(histogram.name))
        for line in histogram:
            value, count = line.split()
            phase.histogram[int(value)] += int(count)
    phase.cpu += cpu_seconds(server.pid) - cpu_before
    phase.requests += numbers["requests"]
    # a "once" run is timed by the script from its first request to its last answer
    phase.seconds += (numbers["elapsed_us"] if mode == "once" else numbers["duration_us"]) / 1e6
    phase.failures += numbers["failures"] + numbers["http_errors"] + numbers["socket_errors"]
    if numbers["failures"] + numbers["http_errors"] + numbers["socket_errors"] and not phase.extra.get("first_failure"):
        phase.extra["first_failure"] = numbers["first_failure"]
    phase.extra["awarded"] = phase.extra.get("awarded", 0) + numbers["awarded"]
    return numbers


def pgbench_round(phase: Phase, data: RunData, args, seconds: float) -> None:
    """One round of redeem.pgbench, merged into the phase (its latencies from the log)."""
    script = BENCH / "redeem.pgbench"
    where = urlsplit(data.url)
    # the service's session settings
    env = {**os.environ, "PGOPTIONS": "-c timezone=UTC -c lock_timeout=3000 -c statement_timeout=15000"}
    if where.password:
        env["PGPASSWORD"] = where.password
    before = asyncio.run(_pgbench_outcomes(data.url))
    phase.loads.append(os.getloadavg()[0])
    with tempfile.TemporaryDirectory() as logs:
        done = subprocess.run(
            ["pgbench", "-n", "-M", "prepared", "-c", str(args.connections), "-j", "2", "-T", str(max(1, round(seconds))),
             "-D", f"redeemers={len(data.residents)}", "-f", str(script), "-l", "--log-prefix", f"{logs}/tx",
             "-h", where.hostname or "127.0.0.1", "-p", str(where.port or 5432), "-U", where.username or "postgres",
             where.path.lstrip("/")],
            capture_output=True, text=True, env=env, cwd=ROOT)
        if done.returncode != 0:
            raise SystemExit(f"pgbench failed:\n{done.stdout}\n{done.stderr}")
        count = 0
        for path in Path(logs).iterdir():
            for line in path.read_text().splitlines():
                phase.histogram[int(line.split()[2])] += 1
                count += 1
    tps = next(float(line.split("=")[1].split()[0]) for line in done.stdout.splitlines() if line.startswith("tps ="))
    after = asyncio.run(_pgbench_outcomes(data.url))
    redeemed, refused = after[0] - before[0], after[1] - before[1]
    phase.requests += count
    phase.seconds += count / tps if tps else seconds
    phase.failures += refused + (count - redeemed - refused)
    phase.statements = pgbench_statements(script)
    phase.extra["redeemed"] = phase.extra.get("redeemed", 0) + redeemed
    phase.extra["refused"] = phase.extra.get("refused", 0) + refused


def report_phase(phase: Phase) -> None:
    cpu = f"{phase.cpu_ms:5.2f} CPU ms/req" if phase.cpu_ms else " " * 15
    failed = f", {phase.failures} failed: {phase.extra.get('first_failure', '')}" if phase.failures else ""
    log(f"  {phase.operation:<24} {phase.scale:<8} {phase.impl:<12} {phase.rps:7.1f}/s  p50 {phase.p50_ms:7.1f} ms"
        f"  p99 {phase.p99_ms:7.1f} ms  {cpu}  ({phase.requests} requests, load {phase.load:.1f}{failed})")


def pgbench_statements(script: Path) -> int:
    """SQL statements a transaction sends on the taken branch (BEGIN/COMMIT not counted)."""
    count, branch = 0, []
    statement_open = False
    for raw in script.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("--"):
            continue
        if line.startswith("\\if"):
            branch.append(True)
        elif line.startswith("\\else"):
            branch[-1] = False
        elif line.startswith("\\endif"):
            branch.pop()
        elif line.startswith("\\"):
            continue
        elif all(branch):
            if not statement_open and line.rstrip(";").upper() not in ("BEGIN", "COMMIT"):
                count += 1
            statement_open = not (line.endswith(";") or line.endswith("\\gset"))
    return count


async def _pgbench_outcomes(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE error_code IS NULL), count(*) FILTER (WHERE error_code IS NOT NULL)"
            " FROM idempotency_records WHERE key LIKE 'pgbench-%'")
        return row[0], row[1]
    finally:
        await conn.close()



# ---- the notice-read storm -------------------------------------------------------------------


def create_notice(service: str, data: RunData, title: str) -> int:
    admin = data.tokens[data.storm_village["admin_user_id"]]
    body = post_json(f"{service}/graphql", {"query": CREATE_NOTICE, "variables": {
        "village": gid("OrgUnit", data.storm_village["village_id"]), "title": title}}, admin)
    payload = body["data"]["createNotice"]
    if payload["errors"]:
        raise SystemExit(f"createNotice refused: {payload['errors']}")
    return int(base64.b64decode(payload["notice"]["id"]).decode().split(":")[1])


async def storm_reads(url: str, notice_id: int) -> list[tuple[int, int]]:
    conn = await asyncpg.connect(url)
    try:
        return [(r["id"], r["user_id"]) for r in await conn.fetch(
            "SELECT id, user_id FROM notice_reads WHERE notice_id = $1 ORDER BY id", notice_id)]
    finally:
        await conn.close()


async def age_reads(url: str, notice_id: int) -> None:
    """The readers spent ten minutes on the notice (the minimum is counted on the server's clock)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("UPDATE notice_reads SET started_at = started_at - interval '10 minutes'"
                           " WHERE notice_id = $1", notice_id)
    finally:
        await conn.close()


async def open_reads_in_sql(url: str, notice_id: int, residents: list[int]) -> None:
    """The floor's storm starts from reads opened ten minutes ago, written directly (the
    open is not what the floor measures)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("""
            INSERT INTO notice_reads (notice_id, revision_id, village_id, resident_id, household_id, user_id, started_at)
            SELECT n.id, (SELECT id FROM notice_revisions WHERE notice_id = n.id ORDER BY revision DESC LIMIT 1),
                   n.village_id, u.resident_id, m.household_id, u.id, now() - interval '10 minutes'
            FROM notices n, users u
            JOIN household_memberships m ON m.resident_id = u.resident_id AND m.valid_to IS NULL
            WHERE n.id = $1 AND u.id = ANY($2::bigint[])""", notice_id, residents)
    finally:
        await conn.close()


async def exactly_once(url: str, notice_id: int, village: dict, started: datetime) -> dict:
    """What the storm left: every read finished once, one receipt per reader, one award per
    household, one balanced transaction per award."""
    conn = await asyncpg.connect(url)
    try:
        source = f"notice:{notice_id}"
        return dict(await conn.fetchrow("""
            SELECT (SELECT count(*) FROM notice_reads WHERE notice_id = $1) AS reads,
                   (SELECT count(*) FROM notice_reads WHERE notice_id = $1 AND finished_at IS NOT NULL) AS finished,
                   (SELECT count(*) FROM notice_receipts WHERE notice_id = $1) AS receipts,
                   (SELECT count(DISTINCT resident_id) FROM notice_receipts WHERE notice_id = $1) AS readers,
                   (SELECT count(DISTINCT household_id) FROM notice_receipts WHERE notice_id = $1) AS households,
                   (SELECT count(*) FROM points_awards WHERE rule_id = $2 AND source = $3) AS awards,
                   (SELECT count(DISTINCT account_id) FROM points_awards WHERE rule_id = $2 AND source = $3) AS award_accounts,
                   (SELECT coalesce(sum(points), 0) FROM points_awards WHERE rule_id = $2 AND source = $3) AS points,
                   (SELECT count(*) FROM points_transactions
                     WHERE village_id = $4 AND created_at >= $5 AND kind = 'award' AND source = $3) AS transactions
        """, notice_id, village["notice_rule"], source, village["village_id"], started))
    finally:
        await conn.close()


def storm_check(phase: Phase, data: RunData, notice_id: int, started: datetime, readers: int) -> None:
    left = asyncio.run(exactly_once(data.url, notice_id, data.storm_village, started))
    ok = (phase.requests == readers and phase.failures == 0 and left["reads"] == left["finished"] == readers
          and left["receipts"] == left["readers"] == readers
          and left["awards"] == left["households"] == left["award_accounts"] == left["transactions"]
          and phase.extra["awarded"] == left["points"])
    phase.extra.update(left=left, exactly_once=ok, readers=readers)
    log(f"    {readers} readers of one notice, {left['households']} households: {left['awards']} awards and "
        f"{left['points']} points in the ledger, {phase.extra['awarded']} points answered -> "
        + ("every award exactly once" if ok else "EXACTLY-ONCE VIOLATED"))


def graphql_storm(system: System, args, nonce: str, phases: dict) -> None:
    """Residents open one notice (openNotice), the reads are aged ten minutes, and then every
    one of them finishes (finishNoticeRead), each read once."""
    data, url = system.data, f"{system.service_url}/graphql"
    started = datetime.now(UTC)
    notice = create_notice(system.service_url, data, f"阅读积分通知 {nonce}")
    opening = phases[("openNotice (storm)", system.name, "GraphQL")]
    lines = data.folder / "storm_open.tsv"
    lines.write_text("".join(
        f"{data.tokens[r]}\t{graphql_body(OPEN, 'Open', {'notice': gid('Notice', notice)})}\n"
        for r in data.storm_residents), encoding="utf-8")
    wrk_round(opening, url, lines, system.service, args, nonce, mode="once", seconds=args.storm_limit)
    report_phase(opening)
    asyncio.run(age_reads(data.url, notice))
    reads = asyncio.run(storm_reads(data.url, notice))
    random.Random(3).shuffle(reads)
    lines = data.folder / "storm_finish.tsv"
    lines.write_text("".join(
        f"{data.tokens[u]}\t{graphql_body(FINISH, 'Finish', {'read': gid('NoticeRead', r)})}\n"
        for r, u in reads), encoding="utf-8")
    finishing = phases[("finishNoticeRead storm", system.name, "GraphQL")]
    wrk_round(finishing, url, lines, system.service, args, nonce, mode="once", seconds=args.storm_limit)
    report_phase(finishing)
    storm_check(finishing, data, notice, started, len(reads))


def hand_written_storm(system: System, impl: str, args, nonce: str, phases: dict) -> None:
    """The same storm on the floor or on bare GraphQL, on a notice of its own (reads opened
    ten minutes ago, written directly: the open is not what they are compared on)."""
    data = system.data
    started = datetime.now(UTC)
    notice = create_notice(system.service_url, data, f"阅读积分通知 {nonce} ({impl})")
    asyncio.run(open_reads_in_sql(data.url, notice, data.storm_residents))
    reads = asyncio.run(storm_reads(data.url, notice))
    random.Random(3).shuffle(reads)
    if impl == BARE:
        route, body = "/bare/graphql", lambda r: graphql_body(FINISH, "Finish", {"read": gid("NoticeRead", r)})
    else:
        route, body = "/floor/finish", lambda r: json.dumps({"readId": gid("NoticeRead", r)})
    lines = data.folder / f"storm_finish_{impl.replace(' ', '_')}.tsv"
    lines.write_text("".join(f"{data.tokens[u]}\t{body(r)}\n" for r, u in reads), encoding="utf-8")
    phase = phases[("finishNoticeRead storm", system.name, impl)]
    wrk_round(phase, f"{system.floor_url}{route}", lines, system.floor, args, nonce, mode="once",
              seconds=args.storm_limit)
    report_phase(phase)
    storm_check(phase, data, notice, started, len(reads))


# ---- statements per request, counted in-process -------------------------------------------


async def service_statements(data: RunData, storm_notice_title: str) -> dict[str, float]:
    """The service's SQL statements per request for each operation, counted with a
    SQLAlchemy event while the app answers through httpx's ASGI transport (as the test
    suite's `sql_count` does). Pool pre-pings (one `;` round trip per checkout) are counted
    apart: they are not statements the operation asks for."""
    import httpx
    from sqlalchemy import event

    from app.asgi import create_app
    from app.database import create_engine, create_sessionmaker

    settings = bench_settings(data.url)
    engine = create_engine(data.url, settings)
    count = Counter()
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: count.update(["sql"]))
    event.listen(engine.sync_engine, "checkout", lambda *a: count.update(["checkout"]))
    app = create_app(settings, session_factory=create_sessionmaker(engine))
    per_op: dict[str, list[int]] = defaultdict(list)
    checkouts: dict[str, list[int]] = defaultdict(list)
    users = data.residents[:20]
    admins = sorted({data.village_of_household((r + 2) // 3)["admin_user_id"] for r in data.residents})[:20]
    rng = random.Random(11)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                async def call(op: str, user: int, query: str, name: str, variables: dict | None = None) -> dict:
                    count.clear()
                    response = await http.post("/graphql", json={"query": query, "operationName": name,
                                                                  "variables": variables or {}},
                                               headers={"Authorization": f"Bearer {data.tokens[user]}"})
                    body = response.json()
                    if body.get("errors"):
                        raise SystemExit(f"{op} failed while counting statements: {body['errors']}")
                    per_op[op].append(count["sql"])
                    checkouts[op].append(count["checkout"])
                    return body["data"]

                for user in users:
                    await call("home", user, HOME, "Home")
                    await call("catalog", user, CATALOG, "Catalog")
                    village = data.village_of_household((user + 2) // 3)
                    await call("redeemReward", user, REDEEM, "Redeem", {
                        "item": gid("RewardItem", village["first_item"] + rng.randrange(10)),
                        "key": f"count-{time.time_ns()}"})
                for admin in admins:
                    await call("pointsOverview", admin, OVERVIEW, "Overview")
                # a small storm of its own for the award path
                readers = data.storm_residents[:20]
                village = gid("OrgUnit", data.storm_village["village_id"])
                created = await http.post("/graphql", json={"query": CREATE_NOTICE, "variables": {
                    "village": village, "title": storm_notice_title}}, headers={
                    "Authorization": f"Bearer {data.tokens[data.storm_village['admin_user_id']]}"})
                notice = created.json()["data"]["createNotice"]["notice"]["id"]
                reads = {}
                for user in readers:
                    opened = await call("openNotice", user, OPEN, "Open", {"notice": notice})
                    reads[user] = opened["openNotice"]["read"]["id"]
                await age_reads(data.url, int(base64.b64decode(notice).decode().split(":")[1]))
                for user in readers:
                    await call("finishNoticeRead", user, FINISH, "Finish", {"read": reads[user]})
    finally:
        await engine.dispose()
    result = {op: statistics.mean(n) for op, n in per_op.items()}
    result.update({f"{op}:checkouts": statistics.mean(n) for op, n in checkouts.items()})
    return result


# ---- profiling -------------------------------------------------------------------------------


def py_spy() -> str | None:
    found = shutil.which("py-spy") or shutil.which("py-spy", path=str(RESULTS / "tools" / "bin"))
    if found:
        return found
    tools = RESULTS / "tools"
    log("installing py-spy into bench/results/tools (a throwaway venv) for the profile")
    subprocess.run([sys.executable, "-m", "venv", str(tools)], check=True)
    done = subprocess.run([str(tools / "bin" / "pip"), "install", "-q", "py-spy"], capture_output=True, text=True)
    if done.returncode != 0:
        log(f"py-spy could not be installed ({done.stderr.strip()[:200]}); no profile")
        return None
    return str(tools / "bin" / "py-spy")


def profile(system: System, lines: Path, operation: str, args, nonce: str, out: Path) -> dict | None:
    """Sample the service's process with py-spy while wrk drives one operation."""
    spy = py_spy()
    if spy is None:
        return None
    seconds = int(min(args.duration, 15))
    sampler = subprocess.Popen([spy, "record", "--pid", str(system.service.pid), "--duration", str(seconds),
                                "--rate", "250", "--format", "raw", "--full-filenames", "--output", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    run_wrk(f"{system.service_url}/graphql", lines, mode="cycle", seconds=seconds, connections=args.connections,
            nonce=nonce)
    _, err = sampler.communicate(timeout=60)
    if sampler.returncode != 0 or not out.exists():
        log(f"py-spy failed for {operation}: {err.strip()[:300]}")
        return None
    from bench.profile_summary import summarise

    summary = summarise(out)
    log(f"  profile of {operation} ({system.name}): {summary['samples']} samples -> {out.relative_to(ROOT)}")
    for name, share in summary["categories"][:8]:
        log(f"    {share:5.1f}%  {name}")
    return summary


def same_answers(system: System) -> None:
    """The floor and bare GraphQL must answer what the service answers: compare a few home
    screens."""
    for r in system.data.residents[:5]:
        token = system.data.tokens[r]
        graphql = post_json(f"{system.service_url}/graphql", graphql_body(HOME, "Home"), token)
        floor = post_json(f"{system.floor_url}/floor/home", "{}", token)
        bare = post_json(f"{system.floor_url}/bare/graphql", graphql_body(HOME, "Home"), token)
        if not graphql == floor == bare:
            raise SystemExit(f"{system.name}: the service, the floor and bare GraphQL disagree on resident {r}'s "
                             f"home screen:\n{graphql}\n{floor}\n{bare}")


# ---- the run ---------------------------------------------------------------------------------

# The floor's statements behind strawberry (bench/bare_graphql.py), served by the floor's process.
BARE = "bare GraphQL"
IMPLEMENTATIONS = ("GraphQL", BARE, "floor", "pgbench")
# (operation, implementation, data file, route) measured with wrk, in this order; the reads
# before the writes, which grow the ledgers the reads go over.
READS = [
    [("home screen", "GraphQL", "home.tsv", "/graphql"), ("home screen", BARE, "home.tsv", "/bare/graphql"),
     ("home screen", "floor", "floor_home.tsv", "/floor/home")],
    [("catalog page", "GraphQL", "catalog.tsv", "/graphql")],
    [("pointsOverview (admin)", "GraphQL", "overview.tsv", "/graphql")],
]
WRITES = [("redeemReward", "GraphQL", "redeem.tsv", "/graphql"),
          ("redeemReward", BARE, "redeem.tsv", "/bare/graphql"),
          ("redeemReward", "floor", "floor_redeem.tsv", "/floor/redeem")]


def measure(systems: list[System], args, nonce: str) -> tuple[dict, dict]:
    phases: dict[tuple, Phase] = {}

    def phase(operation: str, scale: str, impl: str) -> Phase:
        return phases.setdefault((operation, scale, impl), Phase(operation, scale, impl))

    round_seconds = args.duration / args.rounds
    for system in systems:
        post_json(f"{system.floor_url}/floor/stats", {})
    for group in [*READS, WRITES + [("redeemReward", "pgbench", None, None)]]:
        for r in range(args.rounds):
            for system in systems:
                for operation, impl, lines, route in group:
                    p = phase(operation, system.name, impl)
                    if impl == "pgbench":
                        pgbench_round(p, system.data, args, round_seconds)
                        continue
                    server, base = ((system.service, system.service_url) if impl == "GraphQL"
                                    else (system.floor, system.floor_url))
                    wrk_round(p, base + route, system.data.folder / lines, server, args,
                              f"{nonce}-{impl[0]}{r}", seconds=round_seconds, warm=r == 0)
        for operation in dict.fromkeys(op for op, *_ in group):
            for system in systems:
                for impl in IMPLEMENTATIONS:
                    if (operation, system.name, impl) in phases:
                        report_phase(phases[(operation, system.name, impl)])

    log("notice-read storms")
    for system in systems:
        phase("openNotice (storm)", system.name, "GraphQL")
        phase("finishNoticeRead storm", system.name, "GraphQL")
        phase("finishNoticeRead storm", system.name, BARE)
        phase("finishNoticeRead storm", system.name, "floor")
    for system in systems:
        log(f"  {system.name}: {len(system.data.storm_residents)} residents, GraphQL")
        graphql_storm(system, args, nonce, phases)
    for impl in (BARE, "floor"):
        for system in systems:
            log(f"  {system.name}: {len(system.data.storm_residents)} residents, {impl}")
            hand_written_storm(system, impl, args, nonce, phases)

    floor_counts = {s.name: json.loads(urllib.request.urlopen(f"{s.floor_url}/floor/stats").read()) for s in systems}
    for (operation, scale, impl), p in phases.items():
        route = {"home screen": "home", "redeemReward": "redeem", "finishNoticeRead storm": "finish"}.get(operation)
        counted = floor_counts[scale].get({"floor": route, BARE: f"bare:{route}"}.get(impl))
        if counted and counted["requests"]:
            p.statements = counted["statements"] / counted["requests"]

    profiles = {}
    chosen = [s for s in systems if s.name == args.profile_scale]
    if args.profile and chosen:
        log(f"profiling the {chosen[0].name} service under load (py-spy)")
        for op, lines in (("home screen", "home.tsv"), ("redeemReward", "redeem.tsv")):
            out = RESULTS / f"profile-{chosen[0].name}-{op.split()[0]}.txt"
            profiles[op] = profile(chosen[0], chosen[0].data.folder / lines, op, args, nonce + "-p", out)
    return phases, profiles


SERVICE_OPS = {"home screen": "home", "catalog page": "catalog", "redeemReward": "redeemReward",
               "pointsOverview (admin)": "pointsOverview", "openNotice (storm)": "openNotice",
               "finishNoticeRead storm": "finishNoticeRead"}


# ---- the report ------------------------------------------------------------------------------


def table(phases: dict) -> str:
    rows = ["| operation | scale | implementation | req/s | p50 ms | p99 ms | SQL/op | worker CPU ms/req "
            "| ÷ floor: req/s | : CPU per req | ÷ bare GraphQL: req/s | load |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    order = list(dict.fromkeys(op for op, _, _ in phases))
    for operation in order:
        for scale in ("village", "county"):
            for impl in IMPLEMENTATIONS:
                p = phases.get((operation, scale, impl))
                if p is None:
                    continue
                ratio = cpu_ratio = bare_ratio = ""
                floor, bare = phases.get((operation, scale, "floor")), phases.get((operation, scale, BARE))
                if impl in ("GraphQL", BARE) and floor and floor.rps:
                    ratio = f"{p.rps / floor.rps:.2f}"
                    if p.cpu_ms and floor.cpu_ms:
                        cpu_ratio = f"{p.cpu_ms / floor.cpu_ms:.1f}×"
                if impl == "GraphQL" and bare and bare.rps:
                    bare_ratio = f"{p.rps / bare.rps:.2f}"
                sql = "" if p.statements is None else f"{p.statements:.1f}".rstrip("0").rstrip(".")
                cpu = "" if p.cpu_ms is None else f"{p.cpu_ms:.2f}"
                name = operation + (" ✗" if p.failures else "")
                rows.append(f"| {name} | {scale} | {impl} | {p.rps:.0f} | {p.p50_ms:.1f} | {p.p99_ms:.1f} | {sql} "
                            f"| {cpu} | {ratio} | {cpu_ratio} | {bare_ratio} | {p.load:.1f} |")
    return "\n".join(rows)


def verdicts(phases: dict) -> list[str]:
    lines = []
    scales = list(dict.fromkeys(scale for _, scale, _ in phases))
    get = phases.get
    for scale in scales:
        for op, want in (("home screen", 0.6), ("redeemReward", 0.6), ("finishNoticeRead storm", 0.5)):
            g, f = get((op, scale, "GraphQL")), get((op, scale, "floor"))
            if not (g and f and f.rps):
                continue
            ratio = g.rps / f.rps
            cpu = (f"; by worker CPU per request {f.cpu_ms:.2f} / {g.cpu_ms:.2f} ms = {f.cpu_ms / g.cpu_ms:.2f}"
                   if g.cpu_ms and f.cpu_ms else "")
            lines.append(f"{'MET   ' if ratio >= want else 'MISSED'}  {scale}: {op}, GraphQL ≥ {want} × floor req/s "
                         f"({g.rps:.0f} / {f.rps:.0f} = {ratio:.2f}{cpu})")
            b = get((op, scale, BARE))
            if b and b.rps:  # not a target: where the gap lies
                lines.append(f"  info  {scale}: {op}, bare GraphQL ÷ floor = {b.rps / f.rps:.2f} (the GraphQL layer "
                             f"alone), GraphQL ÷ bare GraphQL = {g.rps / b.rps:.2f} (SQLAlchemy and the service's code)")
        storms = [p for impl in IMPLEMENTATIONS if (p := get(("finishNoticeRead storm", scale, impl)))]
        if storms:
            once = all(p.extra.get("exactly_once") for p in storms)
            lines.append(f"{'MET   ' if once else 'MISSED'}  {scale}: storm of {storms[0].extra.get('readers')} readers "
                         f"on one notice, every award exactly once ({', '.join(p.impl for p in storms)}), "
                         "`village rewards check` passes")
    if "village" in scales and "county" in scales:
        for (op, scale, impl), p in phases.items():
            v = get((op, "village", impl))
            if scale == "county" and impl == "GraphQL" and v and v.p50_ms:
                ratio = p.p50_ms / v.p50_ms
                cpu = f"; worker CPU per request {p.cpu_ms:.2f} / {v.cpu_ms:.2f} ms" if p.cpu_ms and v.cpu_ms else ""
                lines.append(f"{'MET   ' if ratio <= 1.5 else 'MISSED'}  {op}: county p50 ≤ 1.5 × village p50 "
                             f"({p.p50_ms:.1f} / {v.p50_ms:.1f} ms = {ratio:.2f}{cpu})")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=["village", "county", "both"], default="both")
    parser.add_argument("--duration", type=float, default=20, help="seconds of load per operation, scale and "
                        "implementation (split into --rounds rounds)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per load phase")
    parser.add_argument("--connections", type=int, default=10, help="concurrent connections per load phase")
    parser.add_argument("--storm-size", type=int, default=STORM_RESIDENTS,
                        help="residents in the notice-read storm (at most a village's residents)")
    parser.add_argument("--storm-limit", type=float, default=300, help="upper bound on one storm, seconds")
    parser.add_argument("--port", type=int, default=8100, help="the village service; the county's is PORT+10")
    parser.add_argument("--floor-port", type=int, default=8101, help="the village floor; the county's is +10")
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument("--profile-scale", default="county", choices=["village", "county"])
    args = parser.parse_args()
    for tool, package in (("wrk", "wrk"), ("pgbench", "postgresql-client")):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not on PATH (Debian: apt-get install -y {package})")
    names = ["village", "county"] if args.scale == "both" else [args.scale]
    if args.scale != "both":
        args.profile_scale = args.scale
    started = time.perf_counter()
    nonce = datetime.now(UTC).strftime("r%Y%m%dT%H%M%S")
    RESULTS.mkdir(exist_ok=True)
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=ROOT).stdout.strip()
    changed = [line[3:] for line in subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                                   capture_output=True, text=True, cwd=ROOT).stdout.splitlines()]
    if changed:  # the service is measured as it is on disk
        revision += f" + uncommitted changes to {', '.join(changed)}"

    datasets = {}
    for name in names:
        asyncio.run(ensure_dataset(SCALES[name]))
        datasets[name] = asyncio.run(prepare(SCALES[name], nonce, args.storm_size))
    systems = [start(datasets[name], args.port + 10 * i, args.floor_port + 10 * i) for i, name in enumerate(names)]
    try:
        for system in systems:
            system.service.wait_ready()
            system.floor.wait_ready()
            same_answers(system)
        log("the service, the floor and bare GraphQL give identical home screens; load phases "
            f"({args.duration:.0f}s per phase in {args.rounds} interleaved rounds, {args.connections} connections, "
            "one worker each)")
        phases, profiles = measure(systems, args, nonce)
    finally:
        for system in systems:
            system.service.stop()
            system.floor.stop()

    checks = {}
    for name in names:
        data = datasets[name]
        log(f"{name}: counting the service's SQL statements per request (in-process, httpx ASGI transport)")
        counted = asyncio.run(service_statements(data, f"阅读积分通知 {nonce} (count)"))
        for (operation, scale, impl), p in phases.items():
            if scale == name and impl == "GraphQL":
                p.statements = counted.get(SERVICE_OPS[operation])
                p.extra["pool_checkouts"] = counted.get(f"{SERVICE_OPS[operation]}:checkouts")
        log(f"{name}: `village rewards check`")
        checks[name] = rewards_check(data.url)
        log(f"{name}: all invariants hold ({checks[name]:.0f}s)")

    cost = None
    if args.profile_scale in datasets:
        from bench.anatomy import render
        from bench.anatomy import run as anatomy

        log(f"{args.profile_scale}: where a request's CPU goes, one request at a time (bench/anatomy.py)")
        cost = anatomy(datasets[args.profile_scale].url, datasets[args.profile_scale].residents[:200])
        print(render(cost))

    report = table(phases)
    lines = verdicts(phases)
    machine = f"{os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB"
    text = (f"{report}\n\nTargets:\n" + "\n".join(f"  {v}" for v in lines)
            + (f"\n\nCost anatomy ({args.profile_scale}, in-process, one request at a time):\n{render(cost)}"
               if cost else "")
            + "".join(f"\n\nProfile of {op} ({args.profile_scale}, py-spy under load, {summary['samples']} samples):\n"
                      + "\n".join(f"  {share:5.1f}%  {name}" for name, share in summary["categories"][:10])
                      for op, summary in profiles.items() if summary)
            + f"\n\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {revision}, {machine}, {args.connections} "
              f"connections, {args.duration:.0f}s per phase in {args.rounds} rounds, whole run "
              f"{time.perf_counter() - started:.0f}s")
    print("\n" + text)
    (RESULTS / f"{nonce}.md").write_text(text + "\n", encoding="utf-8")
    (RESULTS / f"{nonce}.json").write_text(json.dumps({
        "commit": revision, "machine": machine, "args": vars(args), "rewards_check_seconds": checks,
        "phases": [p.summary() for p in phases.values()], "profiles": profiles, "anatomy": cost,
    }, indent=1, default=str, ensure_ascii=False), encoding="utf-8")
    log(f"written bench/results/{nonce}.md and .json")


if __name__ == "__main__":
    main()
