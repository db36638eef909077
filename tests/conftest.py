"""Test set-up: a real PostgreSQL (DATABASE_URL, or the embedded one), a fresh database
migrated once per run, and each test inside a transaction that is rolled back."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.asgi import create_app
from app.database import create_engine, create_sessionmaker
from app.embedded_postgres import ensure_database, start_embedded
from app.migrate import upgrade
from app.settings import Settings
from tests.support import GraphQLClient, RecordingSms

ROOT = Path(__file__).resolve().parent.parent
TEST_DATABASE = "village_test"


@pytest.fixture(scope="session")
def database_url() -> str:
    server = os.environ.get("DATABASE_URL") or start_embedded(ROOT / ".data")
    url = ensure_database(server, TEST_DATABASE, recreate=True)
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        log_format="console",
        log_level="WARNING",
        wechat_app_id="wx-test-app",
        wechat_app_secret="wx-test-secret",
        wechat_api_base="http://127.0.0.1:9",  # replaced by the fake server's address
        # Races serialise on row locks; on a loaded machine the losers may wait longer than
        # production's 3 s before their turn, and a test counts every turn.
        db_lock_timeout_ms=20000,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url, settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        outer = await conn.begin()
        yield conn
        await outer.rollback()


def _session(conn: AsyncConnection) -> AsyncSession:
    return AsyncSession(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    async with _session(connection) as s:
        yield s


@pytest.fixture
def sms() -> RecordingSms:
    return RecordingSms()


@pytest.fixture
async def api(settings: Settings, connection: AsyncConnection, sms: RecordingSms):
    """A client of the real app over ASGI, whose sessions share the test's transaction."""
    app = create_app(settings, session_factory=lambda: _session(connection), sms=sms)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield GraphQLClient(http, settings)


@pytest.fixture
def sql_count(engine: AsyncEngine):
    """Counts SQL statements sent while the test runs: `sql_count()` reads it."""
    counter = {"n": 0}

    def count(*_args) -> None:
        counter["n"] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    yield lambda: counter["n"]
    event.remove(engine.sync_engine, "before_cursor_execute", count)


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose commits are real, to set up data that parallel requests will see."""
    async with create_sessionmaker(engine)() as session:
        yield session


@pytest.fixture
async def live_api(settings: Settings):
    """The app on its own connection pool: concurrent requests run on separate connections
    and in separate transactions, as in production. `live_api.sms` records SMS codes."""
    sms = RecordingSms()
    app = create_app(settings, sms=sms)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            client = GraphQLClient(http, settings)
            client.sms = sms
            yield client
