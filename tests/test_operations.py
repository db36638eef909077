"""Health, readiness, metrics, request ids, masking of unexpected errors, production mode."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr

from app.asgi import create_app
from app.database import create_sessionmaker
from grid import access, appointments
from identity.errors import AuthError, AuthErrorCode
from identity.login import reset_password
from tests.conftest import _session
from tests.support import build_village, gid


async def test_health_ready_and_metrics(api):
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    assert (await api.http.get("/readyz")).json() == {"status": "ok"}
    await api.post("query Probe { me { user { id } } }")
    metrics = (await api.http.get("/metrics")).text
    assert 'graphql_operations_total{operation="Probe",outcome="ok",type="query"}' in metrics
    assert "graphql_operation_duration_seconds_bucket" in metrics


async def test_request_id_is_returned_and_can_be_supplied(api):
    response = await api.http.post("/graphql", json={"query": "{ me { user { id } } }"})
    assert len(response.headers["x-request-id"]) == 32
    mine = await api.http.post(
        "/graphql", json={"query": "{ me { user { id } } }"}, headers={"X-Request-ID": "abc-123"}
    )
    assert mine.headers["x-request-id"] == "abc-123"


async def test_unexpected_errors_are_masked_with_the_request_id(api, session, settings, monkeypatch):
    v = await build_village(session, settings, "错村")

    async def broken(*args, **kwargs):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(access, "get_unit", broken)
    response = await api.http.post(
        "/graphql",
        json={"query": 'query($id: ID!) { orgUnit(id: $id) { name } }',
              "variables": {"id": gid("OrgUnit", v.village.id)}},
        headers={"Authorization": f"Bearer {api.token_for(v.admin)}", "X-Request-ID": "req-42"},
    )
    error = response.json()["errors"][0]
    assert "hunter2" not in response.text
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}


async def test_production_mode_hides_introspection_and_graphiql(settings, connection):
    production = settings.model_copy(
        update={
            "environment": "production",
            "jwt_secret": SecretStr("p" * 48),
            "data_encryption_key": SecretStr("cHJvZHVjdGlvbi1rZXktMzItYnl0ZXMtbG9uZyEhISE="),
        }
    )
    app = create_app(production, session_factory=lambda: _session(connection))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            body = (await http.post("/graphql", json={"query": "{ __schema { types { name } } }"})).json()
            assert body["errors"] and "introspection" in body["errors"][0]["message"].lower()
            page = await http.get("/graphql", headers={"Accept": "text/html"})
            assert "graphiql" not in page.text.lower()


def test_production_refuses_development_secrets():
    from app.settings import Settings

    with pytest.raises(ValueError, match="JWT_SECRET"):
        Settings(_env_file=None, environment="production", database_url="postgresql://x/y")
    secrets = {"jwt_secret": "p" * 48, "data_encryption_key": "cHJvZHVjdGlvbi1rZXktMzItYnl0ZXMtbG9uZyEhISE=",
               "database_url": "postgresql://x/y"}
    with pytest.raises(ValueError, match="SMS_SENDER=log"):  # login codes in the log
        Settings(_env_file=None, environment="production", **secrets)
    assert Settings(_env_file=None, environment="production", sms_sender="off", **secrets).production


async def test_oversized_requests_are_refused_before_parsing(api):
    response = await api.http.post(
        "/graphql", json={"query": "{ me { user { id } } }", "variables": {"x": "a" * 2_000_000}}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_operation_names_in_metrics_are_bounded(monkeypatch):
    from schema import extensions

    monkeypatch.setattr(extensions, "_seen_names", set())
    names = {extensions.metric_name(f"Op{i}") for i in range(extensions.MAX_OPERATION_NAMES + 50)}
    assert "other" in names and len(names) <= extensions.MAX_OPERATION_NAMES + 1
    assert extensions.metric_name("bad name!") == "anonymous"


async def test_a_connection_killed_while_idle_fails_one_request_and_the_pool_recovers(settings, engine):
    """The pool does not ping before use: a connection that died in the pool (PostgreSQL
    restarted, a proxy cut it) fails the statement that finds it dead, and the pool drops
    it and every connection as old, so the next request gets a new one."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from app.database import create_engine

    small = create_engine(settings.database_url, settings.model_copy(update={"db_pool_size": 1}))
    try:
        async with small.connect() as conn:
            pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        async with engine.connect() as admin:
            assert await admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as failed:
            async with small.connect() as conn:
                await conn.execute(text("SELECT 1"))
        assert failed.value.connection_invalidated
        async with small.connect() as conn:
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        await small.dispose()


@pytest.mark.parametrize("body", [
    b'"hello"', b"42", b"null",  # JSON, but not an object
    b'{"query": "{ __typename \xff }"}',  # not UTF-8
    b'{"query": "{ __typename }", "variables": {"n": ' + b"9" * 5000 + b"}}",  # past Python's digit limit
    b"[" * 100_000,  # nested past the recursion limit
    b'{"query": "query($i: ID!) { node(id: $i) { id } }", "variables": {"i": "\\ud800"}}',  # a lone surrogate
    b'{"query": "mutation { loginWithPassword(input: {phone: \\"13900000099\\", password: \\"\\ud800\\"})'
    b' { errors { code } } }"}',
])
async def test_whatever_body_a_client_sends_it_gets_a_400_not_a_500(api, body):
    response = await api.http.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text


async def test_a_surrogate_pair_is_one_character_and_welcome(api):
    body = b'{"query": "query($x: String!) { __type(name: $x) { name } }", "variables": {"x": "\\ud83d\\ude00"}}'
    response = await api.http.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200 and response.json() == {"data": {"__type": None}}


async def test_a_document_of_several_operations_must_name_the_one_to_run(api):
    document = "query A { __typename } mutation B { logout(input: {refreshToken: \"x\"}) { ok } }"
    unnamed = await api.http.post("/graphql", json={"query": document})
    assert unnamed.status_code == 400
    named = await api.http.post("/graphql", json={"query": document, "operationName": "A"})
    assert named.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(("document", "variables"), [
    ("query($id: ID!) { node(id: $id) { id } }", {"id": {"not": "an id"}}),
    ("query($n: Int) { notices(first: $n) { edges { cursor } } }", {"n": "ten"}),
    ("query($v: ID!) { node(id: $v) { id } }", {}),
])
async def test_bad_variables_are_the_clients_error_not_a_masked_bug(api, document, variables):
    assert await api.error_code(document, variables) == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.parametrize("bad_id", ["", " ", "abc", "====", "SG91c2Vob2xkOjQ", "x" * 100_000, "//79"])
async def test_a_malformed_id_reads_as_not_found_not_as_a_bug(api, session, settings, bad_id):
    v = await build_village(session, settings, "坏村")
    assert await api.error_code("query($id: ID!) { node(id: $id) { id } }", {"id": bad_id}) == "NOT_FOUND"
    resident = api.token_for(await appointments.user_for_resident(session, v.residents[0]))
    redeem = """mutation($id: ID!) { redeemReward(input: {itemId: $id, idempotencyKey: "k1"}) {
        redemption { id } errors { code } } }"""
    assert await api.error_code(redeem, {"id": bad_id}, resident) == "NOT_FOUND"
    inline = f'{{ household(id: "{bad_id[:20]}") {{ id }} }}'
    assert await api.error_code(inline, token=api.token_for(v.admin)) == "NOT_FOUND"


async def test_an_operator_creates_a_town_and_its_first_admin(api, database_url):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": database_url}
    command = [sys.executable, "-m", "app.cli", "create-town", "新建镇", "--admin-phone", "13900009999",
               "--admin-name", "王镇长", "--password", "first-admin-pass"]
    created = subprocess.run(command, env=env, capture_output=True, text=True)
    assert created.returncode == 0, created.stderr
    again = subprocess.run(command, env=env, capture_output=True, text=True)  # the phone has an account now
    assert again.returncode == 1 and "已有账号" in again.stderr
    login = await api.data("""mutation { loginWithPassword(input: {phone: "13900009999", password: "first-admin-pass"}) {
        tokens { accessToken } errors { code } } }""")
    token = login["loginWithPassword"]["tokens"]["accessToken"]
    me = await api.data("query { me { appointments { role note unit { name } } } }", token=token)
    assert me["me"]["appointments"] == [{"role": "TOWN_ADMIN", "note": "建镇时由运维创建", "unit": {"name": "新建镇"}}]


async def test_an_operator_resets_a_forgotten_password_and_ends_the_old_sessions(live_api, engine, database_url):
    api = live_api  # its logins commit, as the reset's own transaction must see them
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": database_url}

    def reset(password: str):
        return subprocess.run([sys.executable, "-m", "app.cli", "reset-password", "--phone", "13900008888",
                               "--password", password], env=env, capture_output=True, text=True)

    unknown = reset("a-new-passphrase")
    assert unknown.returncode == 1 and "没有账号" in unknown.stderr
    created = subprocess.run(
        [sys.executable, "-m", "app.cli", "create-town", "忘密镇", "--admin-phone", "13900008888",
         "--admin-name", "赵镇长", "--password", "forgotten-pass"], env=env, capture_output=True, text=True)
    assert created.returncode == 0, created.stderr
    login = """mutation($p: String!) { loginWithPassword(input: {phone: "13900008888", password: $p}) {
        tokens { refreshToken } errors { code } } }"""
    old_session = (await api.data(login, {"p": "forgotten-pass"}))["loginWithPassword"]["tokens"]["refreshToken"]
    with pytest.raises(AuthError) as too_short:
        async with create_sessionmaker(engine)() as session:
            await reset_password(session, "13900008888", "short", datetime.now(UTC))
    assert too_short.value.code == AuthErrorCode.INVALID_PASSWORD
    for guess in range(5):  # trying to remember it locked the phone out
        await api.data(login, {"p": f"maybe-it-was-{guess}"})
    assert (await api.data(login, {"p": "forgotten-pass"}))["loginWithPassword"]["errors"] == [{"code": "LOCKED_OUT"}]
    done = reset("a-new-passphrase")
    assert done.returncode == 0, done.stderr
    assert (await api.data(login, {"p": "a-new-passphrase"}))["loginWithPassword"]["errors"] == []
    assert (await api.data(login, {"p": "forgotten-pass"}))["loginWithPassword"]["errors"] == [
        {"code": "INVALID_CREDENTIALS"}]
    refreshed = await api.data("""mutation($t: String!) { refreshToken(input: {refreshToken: $t}) {
        tokens { accessToken } errors { code } } }""", {"t": old_session})
    assert refreshed["refreshToken"]["tokens"] is None and refreshed["refreshToken"]["errors"]


async def test_a_failing_field_leaves_its_siblings_statements_whole(api, session, settings):
    # graphql-core cancelled the other root fields when one failed; one cancelled in the
    # middle of a statement took the request's connection with it (closing the session failed)
    v = await build_village(session, settings, "半村")
    homes = [f"h{n}: me {{ household {{ number points {{ balance entries(first: 20) {{ edges {{ cursor }} }} }} }} }}"
             for n in range(6)]
    refused = f'refused: noticeReach(noticeId: "{gid("Notice", 999_999)}") {{ total {{ rate }} }}'
    document = "{ " + " ".join([*homes[:3], refused, *homes[3:]]) + " }"
    for _ in range(5):
        answer = await api.post(document, token=api.token_for(v.resident_user))
        assert answer["data"] is None and [e["extensions"]["code"] for e in answer["errors"]] == ["NOT_FOUND"]


def test_every_node_type_can_be_fetched_by_node():
    from resolvers.node import LOADERS
    from schema.root import default_schema

    graphql_schema = default_schema()._schema
    nodes = {name for name, t in graphql_schema.type_map.items()
             if any(i.name == "Node" for i in getattr(t, "interfaces", ()))}
    assert nodes == set(LOADERS)
