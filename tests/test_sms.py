"""Alibaba Cloud SMS: the request signature against the provider's documented example,
and login codes sent through a local fake of `SendSms` over real HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

import httpx
import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr, ValidationError
from sqlalchemy import func, select

from app.asgi import create_app
from app.logging import configure_logging
from app.settings import Settings
from identity.sms import NotDelivered, SmsOutbox, aliyun_signature
from models import AuthFailure, LoginCode
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

    def do_POST(self) -> None:
        assert self.headers["Content-Type"] == "application/x-www-form-urlencoded"
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        params = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        FakeAliyun.requests.append({"path": self.path, **params})
        if FakeAliyun.answer == "down":
            self._reply(502, b"<html>Bad Gateway</html>", "text/html")
            return
        signature = params.pop("Signature", "")
        if signature != aliyun_signature(SECRET, params, "POST"):
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


class SmsApp:
    """The app as served (codes go out through its outbox), against the fake provider."""

    def __init__(self, api: GraphQLClient, outbox: SmsOutbox) -> None:
        self.api, self.outbox = api, outbox

    async def request_code(self, phone: str) -> dict:
        answer = (await self.api.data(REQUEST_CODE, {"phone": phone}))["requestLoginCode"]
        await self.outbox.drain()
        return answer


@pytest.fixture
async def served(settings, connection, fake_aliyun, request):
    secret = getattr(request, "param", SECRET)
    aliyun = settings.model_copy(update={
        "sms_sender": "aliyun", "aliyun_sms_endpoint": fake_aliyun,
        "aliyun_sms_access_key_id": "key-id", "aliyun_sms_access_key_secret": SecretStr(secret),
        "aliyun_sms_sign_name": "智慧 乡村", "aliyun_sms_template_code": "SMS_000001",
    })
    app = create_app(aliyun, session_factory=lambda: _session(connection))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            yield SmsApp(GraphQLClient(http, settings), app.state.sms_outbox)


def _count(outcome: str) -> float:
    return REGISTRY.get_sample_value("sms_login_codes_total", {"outcome": outcome}) or 0.0


async def test_a_login_code_goes_out_by_sms_and_logs_in(served, session, settings):
    v = await build_village(session, settings, "信村")
    phone = v.residents[0].phone
    FakeAliyun.answer = "OK"
    sent_before = _count("sent")
    assert await served.request_code(phone) == {"sent": True, "errors": []}
    request = FakeAliyun.requests[-1]
    assert request["path"] == "/"  # everything in the body: no code or key id in a URL
    assert request["Action"] == "SendSms" and request["PhoneNumbers"] == phone
    assert request["SignName"] == "智慧 乡村" and request["TemplateCode"] == "SMS_000001"
    assert _count("sent") == sent_before + 1  # the fake checked the signature
    code = json.loads(request["TemplateParam"])["code"]
    login = (await served.api.data(LOGIN, {"phone": phone, "code": code}))["loginWithCode"]
    assert login["errors"] == [] and login["tokens"]["accessToken"]


async def test_every_phone_gets_the_same_answer_whatever_the_provider_does(served, session, settings):
    v = await build_village(session, settings, "败村")
    requests_before = len(FakeAliyun.requests)
    answers = ("isv.BUSINESS_LIMIT_CONTROL", "isv.MOBILE_NUMBER_ILLEGAL", "down")
    for resident, answer in zip(v.residents[:3], answers, strict=True):
        FakeAliyun.answer = answer
        missed = _count("not_delivered")
        assert await served.request_code(resident.phone) == {"sent": True, "errors": []}, answer
        assert _count("not_delivered") == missed + 1, answer
    # an unregistered phone: the same answer, and nothing goes to the provider
    assert await served.request_code("13912345678") == {"sent": True, "errors": []}
    assert len(FakeAliyun.requests) == requests_before + 3


@pytest.mark.parametrize("served", ["not-the-secret"], indirect=True)
async def test_a_wrong_secret_is_refused_by_the_provider(served, session, settings):
    v = await build_village(session, settings, "钥村")
    FakeAliyun.answer = "OK"
    missed = _count("not_delivered")
    assert await served.request_code(v.residents[0].phone) == {"sent": True, "errors": []}
    assert _count("not_delivered") == missed + 1


async def test_the_outbox_answers_at_once_and_a_failing_sender_loses_nothing_else():
    release = asyncio.Event()
    delivered = []

    class SlowSender:
        async def send_login_code(self, phone, code, ttl_seconds):
            await release.wait()
            if phone == "13800000000":
                raise NotDelivered("refused")
            if phone == "13800000001":
                raise RuntimeError("a bug")
            delivered.append(phone)

    outbox = SmsOutbox(SlowSender())
    for phone in ("13800000000", "13800000001", "13800000002"):
        await asyncio.wait_for(outbox.send_login_code(phone, "123456", 300), timeout=5)
    assert delivered == []  # nothing waited for the provider
    release.set()
    await outbox.drain()
    assert delivered == ["13800000002"]


def test_urls_of_outgoing_requests_stay_out_of_the_log(settings):
    try:
        create_app(settings.model_copy(update={"log_level": "INFO"}))  # configures logging as served
        assert logging.getLogger().level == logging.INFO
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    finally:
        configure_logging(settings.log_level, settings.log_format)


def test_the_aliyun_sender_needs_its_keys():
    with pytest.raises(ValidationError, match="ALIYUN_SMS_ACCESS_KEY_ID.*ALIYUN_SMS_ACCESS_KEY_SECRET"):
        Settings(_env_file=None, environment="test", sms_sender="aliyun",
                 aliyun_sms_sign_name="智慧乡村", aliyun_sms_template_code="SMS_000001")


async def test_with_sms_off_codes_are_refused_and_nothing_is_written(settings, connection, session):
    v = await build_village(session, settings, "默村")
    phone = v.residents[0].phone
    app = create_app(settings.model_copy(update={"sms_sender": "off"}), session_factory=lambda: _session(connection))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            api = GraphQLClient(http, settings)
            asked = (await api.data(REQUEST_CODE, {"phone": phone}))["requestLoginCode"]
            assert asked == {"sent": False, "errors": [{"code": "SMS_UNAVAILABLE", "field": None}]}
            login = (await api.data(LOGIN, {"phone": phone, "code": "123456"}))["loginWithCode"]
            assert login == {"tokens": None, "errors": [{"code": "SMS_UNAVAILABLE"}]}
    assert await session.scalar(select(func.count()).select_from(LoginCode).where(LoginCode.phone == phone)) == 0
    assert await session.scalar(select(func.count()).select_from(AuthFailure).where(AuthFailure.phone == phone)) == 0
