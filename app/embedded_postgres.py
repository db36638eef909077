"""Where the database is: `DATABASE_URL`, or a PostgreSQL embedded in a local data folder.

With no `DATABASE_URL` we start PostgreSQL from the `pgserver` wheel (CPython 3.11/3.12
on Linux x86-64, macOS and Windows). Where that wheel is missing we fall back to the
`initdb`/`pg_ctl` found on PATH; failing both we say plainly that `DATABASE_URL` is needed.
The server stops when the process that started it exits.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)

DATABASE_NAME = "village"


class DatabaseUnavailable(RuntimeError):
    pass


def start_embedded(data_dir: Path) -> str:
    """Start (or join) the embedded server in `data_dir` and return a URL to its `postgres` db."""
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        import pgserver
    except ImportError:
        return _start_from_path(data_dir / "postgres-local")
    server = pgserver.get_server(data_dir / "postgres", cleanup_mode="stop")
    return server.get_uri()


def _start_from_path(pgdata: Path) -> str:
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        raise DatabaseUnavailable(
            "No embedded PostgreSQL for this platform (the pgserver wheel supports CPython "
            "3.11/3.12) and no initdb/pg_ctl on PATH. Set DATABASE_URL to a PostgreSQL 15+ "
            "server, e.g. DATABASE_URL=postgresql://user:pass@localhost:5432/village"
        )
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        raise DatabaseUnavailable(
            "PostgreSQL refuses to run as root; run as another user or set DATABASE_URL."
        )
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [initdb, "-D", str(pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8"],
            check=True,
            capture_output=True,
        )
    status = subprocess.run([pg_ctl, "-D", str(pgdata), "status"], capture_output=True)
    if status.returncode != 0:
        subprocess.run(
            [pg_ctl, "-D", str(pgdata), "-w", "-l", str(pgdata / "log"),
             "-o", f"-h '' -k {pgdata}", "start"],
            check=True,
            capture_output=True,
        )
        atexit.register(
            subprocess.run, [pg_ctl, "-D", str(pgdata), "-m", "fast", "stop"], capture_output=True
        )
    return f"postgresql://postgres@/postgres?host={quote(str(pgdata))}"


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at database `name`."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def ensure_database(server_url: str, name: str, *, recreate: bool = False) -> str:
    """Create database `name` on the server if missing (drop it first if `recreate`)."""
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(with_database(server_url, "postgres")))
        try:
            if recreate:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(run())
    return with_database(server_url, name)


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def resolve_database_url(database_url: str | None, data_dir: Path) -> str:
    """The URL the service should use, starting the embedded server when none is configured."""
    if database_url:
        return database_url
    server_url = start_embedded(data_dir)
    log.info("embedded PostgreSQL running in %s", data_dir)
    return ensure_database(server_url, DATABASE_NAME)
