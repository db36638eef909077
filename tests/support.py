"""Helpers for tests: a GraphQL client over HTTP, a recording SMS sender, a grid builder."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.database import create_sessionmaker
from app.settings import Settings
from grid import appointments, households, residents, units
from grid.id_numbers import IdNumberVault, check_char
from identity.passwords import hash_password
from identity.tokens import issue_access_token
from models import Household, OrgUnit, Resident, User


class RecordingSms:
    """The SMS sender the app is given in tests: remembers codes instead of logging them."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send_login_code(self, phone: str, code: str, ttl_seconds: int) -> None:
        self.sent.append((phone, code))

    def last_code(self, phone: str) -> str:
        return next(code for p, code in reversed(self.sent) if p == phone)


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, settings: Settings) -> None:
        self.http = http
        self.settings = settings

    async def post(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        """The data of a request that must not fail at the top level."""
        body = await self.post(query, variables, token)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def error_code(self, query: str, variables: dict | None = None, token: str | None = None) -> str:
        body = await self.post(query, variables, token)
        assert body.get("errors"), body
        return body["errors"][0]["extensions"]["code"]

    def token_for(self, user: User) -> str:
        return issue_access_token(user.id, self.settings, datetime.now(UTC))[0]


def gid(type_name: str, id: int) -> str:
    return base64.b64encode(f"{type_name}:{id}".encode()).decode()


_serial = count(1)


def id_number(birth_year: int = 1980, male: bool = True) -> str:
    """A valid ID number, unique within a test run (committed rows outlive their test)."""
    n = next(_serial)
    region = f"4307{n // 100 % 100:02d}"  # the demo town uses 430681
    birthday = f"{birth_year}{n // 10_000 % 12 + 1:02d}{n // 120_000 % 28 + 1:02d}"
    first17 = f"{region}{birthday}{n % 100:02d}{1 if male else 2}"
    return first17 + check_char(first17)


def phone() -> str:
    return f"158{next(_serial):08d}"


@dataclass
class Village:
    """A small village built through the domain functions: 1 area → 1 group → 2 neighbourhoods."""

    town: OrgUnit
    village: OrgUnit
    area: OrgUnit
    group: OrgUnit
    neighbourhoods: list[OrgUnit]
    households: list[Household] = field(default_factory=list)
    residents: list[Resident] = field(default_factory=list)
    admin: User | None = None
    chief: User | None = None
    resident_user: User | None = None


async def build_village(
    session: AsyncSession,
    settings: Settings,
    name: str,
    town: OrgUnit | None = None,
    households_per_neighbourhood: int = 2,
) -> Village:
    vault = IdNumberVault(settings.data_key_bytes)
    now = datetime.now(UTC)
    town = town or await units.create_town(session, f"{name}镇")
    village = await units.create_village(session, town, name)
    area = await units.create_unit(session, village, "东片")
    group = await units.create_unit(session, area, "一组")
    hoods = [await units.create_unit(session, group, f"第{i}邻") for i in (1, 2)]
    v = Village(town, village, area, group, hoods)
    for hood in hoods:
        for _ in range(households_per_neighbourhood):
            n = len(v.households) + 1
            h = await households.create_household(session, hood, f"{name}-{n:03d}", f"{name}{n}号")
            v.households.append(h)
            head = await residents.create_resident(
                session, vault, h, name=f"李{n}", gender="male", relation="head",
                phone=phone(), id_number=id_number(1970), birth_year=1970,
            )
            spouse = await residents.create_resident(
                session, vault, h, name=f"王{n}", gender="female", relation="spouse",
                phone=phone(), id_number=id_number(1972, male=False), birth_year=1972,
            )
            v.residents += [head, spouse]
    admin = User(phone=phone(), display_name=f"{name}管理员", password_hash=hash_password("secret-pass"))
    session.add(admin)
    await session.flush()
    await appointments.appoint(session, village, admin, "village_admin", appointed_by=None, now=now)
    v.admin = admin
    v.chief = await appointments.user_for_resident(session, v.residents[0])
    await appointments.appoint(session, hoods[0], v.chief, "chief", appointed_by=admin.id, now=now)
    v.resident_user = await appointments.user_for_resident(session, v.residents[-1])
    await session.flush()
    return v


@contextmanager
def local_http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A fake of an outside service (WeChat, the SMS provider) over real HTTP: a server on a
    free local port, in a thread; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()


async def start_until_blocked(engine, work: Callable[[AsyncSession], Awaitable[object]]) -> asyncio.Task:
    """Run `work` on a session of its own (committed after it) in a task, and return that
    task once the session waits for a lock another transaction holds, or `work` is done."""
    backend = asyncio.get_running_loop().create_future()

    async def run():
        async with create_sessionmaker(engine)() as session:
            backend.set_result(await session.scalar(text("SELECT pg_backend_pid()")))
            result = await work(session)
            await session.commit()
            return result

    task = asyncio.create_task(run())
    await _until_waiting(engine, task, backend)
    return task


async def _until_waiting(engine, task: asyncio.Task, backend: asyncio.Future) -> None:
    for _ in range(400):
        if task.done():
            return
        if backend.done():
            async with engine.connect() as conn:
                if await conn.scalar(text("SELECT cardinality(pg_blocking_pids(:pid)) > 0"),
                                     {"pid": backend.result()}):
                    return
        await asyncio.sleep(0.025)
    raise AssertionError("neither waiting nor done")
