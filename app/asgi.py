"""The ASGI application: /graphql, /healthz, /readyz, /metrics."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager
from functools import lru_cache

import httpx
import structlog
from cross_web import HTTPException
from graphql import GraphQLError, OperationDefinitionNode, parse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL

from app import metrics
from app.database import create_engine, create_sessionmaker
from app.embedded_postgres import resolve_database_url
from app.logging import configure_logging
from app.settings import Settings, get_settings
from grid.id_numbers import IdNumberVault
from identity.sms import SmsOutbox, SmsSender, make_sms_sender
from identity.wechat import WeChatClient
from schema.context import Context, Services
from schema.root import build_schema

log = structlog.get_logger("http")
REQUEST_ID_HEADER = "x-request-id"


class RequestContextMiddleware:
    """Give every request an id (the caller's X-Request-ID if sane), echo it back, bind it
    to the logs, and log and count the request once it is answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append(
                    (REQUEST_ID_HEADER.encode(), request_id.encode())
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = scope["path"]
            metrics.HTTP_REQUESTS.labels(path if path in KNOWN_PATHS else "other", str(status)).inc()
            if path not in QUIET_PATHS:
                log.info(
                    "http.request", method=scope["method"], path=path, status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )
            structlog.contextvars.unbind_contextvars("request_id")


class BodySizeLimit:
    """Refuse request bodies over `limit` bytes (413) before anyone parses them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await JSONResponse({"errors": [{"message": "请求过大", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]},
                               status_code=413)(scope, receive, send)
            return
        received = 0

        async def counted() -> dict:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise PayloadTooLarge()
            return message

        try:
            await self.app(scope, counted, send)
        except PayloadTooLarge:
            await JSONResponse({"errors": [{"message": "请求过大", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]},
                               status_code=413)(scope, receive, send)


class PayloadTooLarge(Exception):
    pass


MAX_BODY_BYTES = 1_000_000
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _operations_in(query: str, max_tokens: int) -> int:
    # clients repeat their documents, so counts are cached; not past a size no real one
    # reaches, so that hostile bodies cannot fill the cache with megabytes each
    if len(query) > 20_000:
        return _count_operations(query, max_tokens)
    return _cached_count_operations(query, max_tokens)


def _count_operations(query: str, max_tokens: int) -> int:
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return 0  # strawberry reports it, with its own limits
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)


_cached_count_operations = lru_cache(maxsize=512)(_count_operations)


def _encodable(parsed: object) -> bool:
    try:
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
KNOWN_PATHS = {"/graphql", "/healthz", "/readyz", "/metrics"}
QUIET_PATHS = {"/healthz", "/readyz", "/metrics"}


class GraphQLEndpoint(GraphQL):
    """Strawberry's ASGI view with one database session per request, closed afterwards."""

    def __init__(self, schema, services: Services, session_factory: Callable[[], AsyncSession], **kw):
        super().__init__(schema, **kw)
        self.services = services
        self.session_factory = session_factory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        async with self.session_factory() as session:
            scope.setdefault("state", {})["db_session"] = session
            await super().__call__(scope, receive, send)

    async def process_result(self, request: Request, result):
        """Every error carries `extensions.code`: what reaches here without one is the
        document or its variables failing to parse, validate or coerce."""
        for error in result.errors or ():
            if not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED"}
        return await super().process_result(request, result)

    def parse_json(self, data: str | bytes) -> object:
        """A request body as JSON of valid Unicode, or a 400: never a 500, whatever is sent."""
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            parsed = json.loads(text)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            raise HTTPException(400, "Unable to parse request body as JSON") from exc
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object")
        # a lone surrogate (only an escape can make one) would break whatever hashes or
        # echoes the string; a pair is one character and fine
        if _SURROGATE_ESCAPE.search(text) and not _encodable(parsed):
            raise HTTPException(400, "The request body holds invalid Unicode (a lone surrogate)")
        return parsed

    async def parse_http_body(self, request):
        """As strawberry reads it, but a document of several operations needs the name of
        the one to run (strawberry would run the first, which the spec forbids)."""
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else (data,):
            if (item.operation_name is None and item.query
                    and _operations_in(item.query, self.services.settings.graphql_max_tokens) > 1):
                raise HTTPException(400, "The document holds several operations: say which in operationName")
        return data

    def encode_json(self, data: object) -> str:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    async def get_context(self, request: Request, response: Response) -> Context:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        return Context(
            services=self.services,
            session=request.scope["state"]["db_session"],
            request_id=request.scope["state"].get("request_id", ""),
            access_token=token.strip() if scheme.lower() == "bearer" and token.strip() else None,
        )


def create_app(
    settings: Settings | None = None,
    *,
    session_factory: Callable[[], AsyncSession] | None = None,
    sms: SmsSender | None = None,
) -> Starlette:
    """The application. Tests pass their own session factory (bound to a test transaction)
    and SMS sender; everything else is the real thing."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    state: dict = {}

    @asynccontextmanager
    async def lifespan(app: Starlette):
        http = httpx.AsyncClient()
        engine = None
        factory = session_factory
        if factory is None:
            url = resolve_database_url(settings.database_url, settings.data_dir)
            engine = create_engine(url, settings)
            factory = create_sessionmaker(engine)
        state["session_factory"] = factory
        # tests pass a sender that records at once; served, codes go out in the background
        outbox = None if sms is not None else SmsOutbox(make_sms_sender(settings, http))
        app.state.sms_outbox = outbox
        services = Services(
            settings=settings,
            sms=sms or outbox,
            wechat=WeChatClient(settings, http),
            vault=IdNumberVault(settings.data_key_bytes),
        )
        graphql.services, graphql.session_factory = services, factory
        try:
            yield
        finally:
            if outbox is not None:
                await outbox.drain()  # codes under way still go out
            await http.aclose()
            if engine is not None:
                await engine.dispose()

    graphql = GraphQLEndpoint(
        build_schema(settings),
        services=None,  # set at start-up, when the database is known
        session_factory=None,
        graphql_ide=None if settings.production else "graphiql",
        allow_queries_via_get=False,
    )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            async with state["session_factory"]() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means: do not send traffic here
            log.warning("readyz.failed", error=str(exc))
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def metrics_endpoint(request: Request) -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route("/graphql", graphql),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(RequestContextMiddleware)
    return app


def app_factory() -> Starlette:
    """For `uvicorn --factory app.asgi:app_factory` (what `village serve` runs)."""
    return create_app()
