"""WeChat mini-program login, against a local fake of `jscode2session` over real HTTP."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from structlog.testing import capture_logs

from app.asgi import create_app
from tests.conftest import _session
from tests.support import GraphQLClient, build_village, gid, local_http_server

WECHAT = """mutation($code: String!, $phone: String, $smsCode: String) {
  loginWithWechat(input: {code: $code, phone: $phone, smsCode: $smsCode}) {
    tokens { accessToken } errors { code field } } }"""


class FakeWeChat(BaseHTTPRequestHandler):
    """`js_code` decides the answer: wx-<name> → openid o-<name>; 'used' → errcode 40163;
    'down' → HTTP 502; 'odd' → JSON that is not an object."""

    requests: list[dict] = []

    def do_GET(self) -> None:
        url = urlparse(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        FakeWeChat.requests.append({"path": url.path, **params})
        code = params.get("js_code", "")
        if url.path != "/sns/jscode2session" or code == "down":
            self.send_response(502)
            self.end_headers()
            return
        if params.get("appid") != "wx-test-app" or params.get("secret") != "wx-test-secret":
            body = {"errcode": 40013, "errmsg": "invalid appid"}
        elif code == "used":
            body = {"errcode": 40163, "errmsg": "code been used"}
        elif code == "odd":
            body = ["not", "an", "object"]
        else:
            body = {"openid": "o-" + code.removeprefix("wx-"), "session_key": "k"}
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:  # keep test output quiet
        pass


@pytest.fixture(scope="module")
def fake_wechat():
    with local_http_server(FakeWeChat) as url:
        yield url


@pytest.fixture
async def wechat_api(settings, connection, sms, fake_wechat):
    app = create_app(
        settings.model_copy(update={"wechat_api_base": fake_wechat}),
        session_factory=lambda: _session(connection),
        sms=sms,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield GraphQLClient(http, settings)


async def test_first_login_binds_the_openid_then_code_alone_logs_in(wechat_api, session, settings, sms):
    api = wechat_api
    v = await build_village(session, settings, "微村")
    phone = v.residents[0].phone

    unbound = await api.data(WECHAT, {"code": "wx-alice"})
    assert unbound["loginWithWechat"]["errors"] == [{"code": "WECHAT_NOT_BOUND", "field": None}]
    assert FakeWeChat.requests[-1]["grant_type"] == "authorization_code"
    assert FakeWeChat.requests[-1]["js_code"] == "wx-alice"

    await api.data(
        "mutation($p: String!) { requestLoginCode(input: {phone: $p}) { sent } }", {"p": phone}
    )
    bound = await api.data(
        WECHAT, {"code": "wx-alice", "phone": phone, "smsCode": sms.last_code(phone)}
    )
    token = bound["loginWithWechat"]["tokens"]["accessToken"]
    me = await api.data("query { me { resident { name } } }", token=token)
    assert me["me"]["resident"]["name"] == v.residents[0].name

    again = await api.data(WECHAT, {"code": "wx-alice"})
    assert again["loginWithWechat"]["errors"] == []
    assert again["loginWithWechat"]["tokens"]["accessToken"]


async def test_bad_codes_and_an_unavailable_wechat_are_coded_errors(wechat_api):
    used = await wechat_api.data(WECHAT, {"code": "used"})
    assert used["loginWithWechat"]["errors"] == [{"code": "INVALID_CODE", "field": "code"}]
    with capture_logs() as logged:
        down = await wechat_api.data(WECHAT, {"code": "down"})
    assert down["loginWithWechat"]["errors"] == [{"code": "WECHAT_UNAVAILABLE", "field": None}]
    failed = [e for e in logged if e["event"] == "wechat.exchange_failed"]
    assert failed == [{"event": "wechat.exchange_failed", "error": "HTTPStatusError", "status": 502,
                       "log_level": "warning"}]  # and not the URL, which holds the app secret
    odd = await wechat_api.data(WECHAT, {"code": "odd"})
    assert odd["loginWithWechat"]["errors"] == [{"code": "WECHAT_UNAVAILABLE", "field": None}]


async def test_a_text_message_alone_does_not_bind_a_wechat_to_an_admin(wechat_api, session, settings, sms):
    v = await build_village(session, settings, "微管村")  # the admin has a password
    await wechat_api.data("mutation($p: String!) { requestLoginCode(input: {phone: $p}) { sent } }",
                          {"p": v.admin.phone})
    bound = await wechat_api.data(
        WECHAT, {"code": "wx-mallory", "phone": v.admin.phone, "smsCode": sms.last_code(v.admin.phone)})
    assert bound["loginWithWechat"]["errors"] == [{"code": "PASSWORD_REQUIRED", "field": None}]
    assert (await wechat_api.data(WECHAT, {"code": "wx-mallory"}))["loginWithWechat"]["errors"][0]["code"] == \
        "WECHAT_NOT_BOUND"


async def test_a_wechat_bound_through_an_old_number_is_unbound_when_the_phone_changes(wechat_api, session, settings, sms):
    # the number was reassigned to someone else, who bound their WeChat to the resident's
    # account with it: correcting the phone must lock them out, not only end the sessions
    api = wechat_api
    v = await build_village(session, settings, "换号村")
    resident, phone = v.residents[0], v.residents[0].phone
    await api.data("mutation($p: String!) { requestLoginCode(input: {phone: $p}) { sent } }", {"p": phone})
    bound = await api.data(WECHAT, {"code": "wx-stranger", "phone": phone, "smsCode": sms.last_code(phone)})
    assert bound["loginWithWechat"]["errors"] == []
    changed = await api.data(
        """mutation($i: UpdateResidentInput!) { updateResident(input: $i) { errors { code } } }""",
        {"i": {"id": gid("Resident", resident.id), "phone": "13912340000"}}, api.token_for(v.admin))
    assert changed["updateResident"]["errors"] == []
    after = await api.data(WECHAT, {"code": "wx-stranger"})
    assert after["loginWithWechat"]["errors"] == [{"code": "WECHAT_NOT_BOUND", "field": None}]
