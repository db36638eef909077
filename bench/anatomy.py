"""Where a request's CPU goes, measured rather than sampled: the service's app answers one
request at a time in this process (httpx's ASGI transport, uvloop, no HTTP server), and
plain SQLAlchemy and asyncpg calls are timed against the same database.

- documents: a GraphQL request that touches no table, then growing parts of the home screen;
- one statement: the same lookup through the ORM (entity, column), Core and raw asyncpg;
- a session per request: checkout (as served, without the pool's pre-ping, and with it), BEGIN, one
  statement, ROLLBACK, as every request that reads does.

Run by bench/run.py after the load phases; on its own:
    .venv/bin/python bench/anatomy.py [village|county]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DOCUMENTS = [
    ("{ __typename }  (no SQL)", "{ __typename }"),
    ("{ unreadNoticeCount }", "{ unreadNoticeCount }"),
    ("{ me { household { id } } }", "{ me { household { id } } }"),
    ("… + points { balance }", "{ me { household { id points { balance } } } }"),
    ("… + entries(first: 20)", "{ me { household { id points { balance entries(first: 20) { edges { node "
                               "{ id points reason createdAt } } } } } } }"),
    ("home screen (whole)", None),  # filled in from bench.run.HOME
]


async def _cpu_per_call(fn: Callable[[], Awaitable], n: int) -> float:
    for _ in range(min(30, n)):
        await fn()
    started = time.process_time()
    for _ in range(n):
        await fn()
    return 1000 * (time.process_time() - started) / n


async def anatomy(url: str, users: list[int], n: int = 200) -> list[dict]:
    import asyncpg
    import httpx
    from sqlalchemy import event, select, text
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.asgi import create_app
    from app.database import async_url, create_engine, create_sessionmaker
    from bench.run import HOME, bench_settings
    from identity.tokens import issue_access_token
    from models import PointsAccount

    settings = bench_settings(url)
    rows = []
    engine = create_engine(url, settings)
    statements = {"n": 0}
    event.listen(engine.sync_engine, "before_cursor_execute",
                 lambda *a: statements.__setitem__("n", statements["n"] + 1))
    app = create_app(settings, session_factory=create_sessionmaker(engine))
    now = datetime.now(UTC)
    tokens = [issue_access_token(u, settings, now)[0] for u in users]
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                for label, document in DOCUMENTS:
                    document = document or HOME
                    turn = {"i": 0}

                    async def call(turn=turn, document=document, label=label) -> None:
                        turn["i"] += 1
                        token = tokens[turn["i"] % len(tokens)]
                        response = await http.post("/graphql", json={"query": document},
                                                   headers={"Authorization": f"Bearer {token}"})
                        if "errors" in response.json():
                            raise SystemExit(f"{label}: {response.text[:300]}")

                    statements["n"] = 0
                    cpu = await _cpu_per_call(call, n)
                    rows.append({"what": label, "cpu_ms": cpu, "statements": statements["n"] / (n + min(30, n))})

        household = (users[0] + 2) // 3
        lookup = select(PointsAccount).where(PointsAccount.household_id == household)
        column = select(PointsAccount.id).where(PointsAccount.household_id == household)
        raw = "SELECT id FROM points_accounts WHERE household_id = $1"
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            rows.append({"what": "one statement: ORM select(PointsAccount) (entity)", "statements": 1,
                         "cpu_ms": await _cpu_per_call(lambda: session.execute(lookup), 10 * n)})
            rows.append({"what": "one statement: ORM select(PointsAccount.id) (column)", "statements": 1,
                         "cpu_ms": await _cpu_per_call(lambda: session.scalar(column), 10 * n)})
        async with engine.connect() as connection:
            core = text("SELECT id FROM points_accounts WHERE household_id = :h")
            rows.append({"what": "one statement: Core connection.execute(text())", "statements": 1,
                         "cpu_ms": await _cpu_per_call(lambda: connection.execute(core, {"h": household}), 10 * n)})
        plain = await asyncpg.connect(url)
        try:
            rows.append({"what": "one statement: asyncpg fetchrow (the floor's way)", "statements": 1,
                         "cpu_ms": await _cpu_per_call(lambda: plain.fetchrow(raw, household), 10 * n)})
        finally:
            await plain.close()

        async def session_round(factory) -> None:
            async with factory() as session:
                await session.scalar(text("SELECT 1"))

        rows.append({"what": "session per request (as served, no pre-ping): checkout, BEGIN, SELECT 1, "
                             "ROLLBACK", "statements": 1,
                     "cpu_ms": await _cpu_per_call(lambda: session_round(sessions), 5 * n)})
        pinged = create_async_engine(async_url(url), pool_size=settings.db_pool_size, pool_pre_ping=True,
                                     connect_args={"server_settings": {"timezone": "UTC"}})
        try:
            factory = create_sessionmaker(pinged)
            rows.append({"what": "session per request, pool_pre_ping=True (served before 348a924)", "statements": 1,
                         "cpu_ms": await _cpu_per_call(lambda: session_round(factory), 5 * n)})
        finally:
            await pinged.dispose()
    finally:
        await engine.dispose()
    return rows


def render(rows: list[dict]) -> str:
    lines = ["| what | CPU ms per call | SQL statements |", "|---|---:|---:|"]
    lines += [f"| {r['what']} | {r['cpu_ms']:.3f} | {r['statements']:.0f} |" for r in rows]
    return "\n".join(lines)


def run(url: str, users: list[int]) -> list[dict]:
    """Under uvloop, as the service runs under uvicorn."""
    import uvloop

    return uvloop.run(anatomy(url, users))


if __name__ == "__main__":
    from bench.dataset import SCALES, server_url

    scale = SCALES[sys.argv[1] if len(sys.argv) > 1 else "county"]
    print(render(run(server_url(scale.database), list(range(1, 3000, 7)))))
