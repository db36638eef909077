"""Alibaba Cloud SMS: the request signature against the provider's documented example,
and login codes sent through a local fake of `SendSms` over real HTTP."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import func, select

from app.asgi import create_app
from app.settings import Settings
from identity.sms import aliyun_signature
from models import LoginCode
from tests.conftest import _session
from tests.support import GraphQLClient, build_village, local_http_server

REQUEST_CODE = """mutation($phone: String!) {
  requestLoginCode(input: {phone: $phone}) { sent errors { code field } } }"""
LOGIN = """mutation($phone: String!, $code: String!) {
  loginWithCode(input: {phone: $phone, code: $code}) { tokens { accessToken } errors { code } } }"""
SECRET = "fake-secret"


def test_the_signature_is_the_documented_one():
    """The worked example of Alibaba Cloud's signature documentation (SendSms, testSecret)."""
    params = {
        "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
        "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}', "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert aliyun_signature("testSecret", params) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


class FakeAliyun(BaseHTTPRequestHandler):
    """Checks each request's signature as the provider does, then answers `answer`:
    a `Code` ("OK", "isv.BUSINESS_LIMIT_CONTROL", …) or "down" for an HTTP 502."""

    requests: list[dict] = []
    answer = "OK"

    def do_GET(self) -> None:
        params = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        FakeAliyun.requests.append(params)
        if FakeAliyun.answer == "down":
            self._reply(502, b"<html>Bad Gateway</html>", "text/html")
            return
        signature = params.pop("Signature", "")
        if signature != aliyun_signature(SECRET, params):
            body = {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}
            self._reply(400, json.dumps(body).encode())
            return
        body = {"Code": FakeAliyun.answer, "Message": FakeAliyun.answer, "RequestId": "r-1", "BizId": "b-1"}
        self._reply(200, json.dumps(body).encode())

    def _reply(self, status: int, payload: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def fake_aliyun():
    with local_http_server(FakeAliyun) as url:
        yield url


def _aliyun_settings(settings: Settings, endpoint: str, secret: str = SECRET) -> Settings:
    return settings.model_copy(update={
        "sms_sender": "aliyun", "aliyun_sms_endpoint": endpoint,
        "aliyun_sms_access_key_id": "key-id", "aliyun_sms_access_key_secret": SecretStr(secret),
        "aliyun_sms_sign_name": "智慧乡村", "aliyun_sms_template_code": "SMS_000001",
    })


@pytest.fixture
async def aliyun_api(settings, connection, fake_aliyun):
    app = create_app(_aliyun_settings(settings, fake_aliyun), session_factory=lambda: _session(connection))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield GraphQLClient(http, settings)


async def _codes(session, phone: str) -> int:
    return await session.scalar(select(func.count()).select_from(LoginCode).where(LoginCode.phone == phone))


async def test_a_login_code_goes_out_by_sms_and_logs_in(aliyun_api, session, settings):
    v = await build_village(session, settings, "信村")
    phone = v.residents[0].phone
    FakeAliyun.answer = "OK"
    sent = (await aliyun_api.data(REQUEST_CODE, {"phone": phone}))["requestLoginCode"]
    assert sent == {"sent": True, "errors": []}
    request = FakeAliyun.requests[-1]
    assert request["Action"] == "SendSms" and request["PhoneNumbers"] == phone
    assert request["SignName"] == "智慧乡村" and request["TemplateCode"] == "SMS_000001"
    code = json.loads(request["TemplateParam"])["code"]
    login = (await aliyun_api.data(LOGIN, {"phone": phone, "code": code}))["loginWithCode"]
    assert login["errors"] == [] and login["tokens"]["accessToken"]


async def test_a_refused_or_failed_sms_is_a_coded_error_and_uses_up_nothing(aliyun_api, session, settings):
    v = await build_village(session, settings, "败村")
    for resident, answer, expected in (
        (v.residents[0], "isv.BUSINESS_LIMIT_CONTROL", {"code": "RATE_LIMITED", "field": "phone"}),
        (v.residents[1], "isv.MOBILE_NUMBER_ILLEGAL", {"code": "INVALID_PHONE", "field": "phone"}),
        (v.residents[2], "isv.AMOUNT_NOT_ENOUGH", {"code": "SMS_UNAVAILABLE", "field": None}),
        (v.residents[3], "down", {"code": "SMS_UNAVAILABLE", "field": None}),
    ):
        FakeAliyun.answer = answer
        refused = (await aliyun_api.data(REQUEST_CODE, {"phone": resident.phone}))["requestLoginCode"]
        assert refused == {"sent": False, "errors": [expected]}, answer
        assert await _codes(session, resident.phone) == 0  # no code stored, no quota spent
    # once the provider is back, the same phone gets its code at once
    FakeAliyun.answer = "OK"
    again = (await aliyun_api.data(REQUEST_CODE, {"phone": v.residents[3].phone}))["requestLoginCode"]
    assert again == {"sent": True, "errors": []}


async def test_a_wrong_secret_is_refused_by_the_provider(settings, connection, fake_aliyun, session):
    v = await build_village(session, settings, "钥村")
    app = create_app(_aliyun_settings(settings, fake_aliyun, secret="not-the-secret"),
                     session_factory=lambda: _session(connection))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            api = GraphQLClient(http, settings)
            FakeAliyun.answer = "OK"
            refused = (await api.data(REQUEST_CODE, {"phone": v.residents[0].phone}))["requestLoginCode"]
    assert refused["errors"] == [{"code": "SMS_UNAVAILABLE", "field": None}]


def test_the_aliyun_sender_needs_its_keys(settings):
    with pytest.raises(ValidationError, match="ALIYUN_SMS_ACCESS_KEY_ID.*ALIYUN_SMS_ACCESS_KEY_SECRET"):
        Settings(_env_file=None, environment="test", sms_sender="aliyun",
                 aliyun_sms_sign_name="智慧乡村", aliyun_sms_template_code="SMS_000001")
