"""The REST app in front of the pages, pure-ASGI stand-ins for NiceGUI's request middlewares, API error shapes.

Machine routes live in their own FastAPI app (`build_api`), which `MachineRoutes` serves before any page
middleware runs: REST requests pay for no session, storage or gzip layer and no page-route matching. NiceGUI also
wraps every page request in Starlette `BaseHTTPMiddleware` classes, which cost a few hundred microseconds per
request; the replacements below do the same work as plain ASGI callables.
"""

from __future__ import annotations

import ctypes
import gc
import inspect
import logging
import sys
import time
import uuid
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.batch_writer import is_transient, refusal

log = logging.getLogger(__name__)

MACHINE_PREFIXES = ("/api/", "/metrics", "/docs", "/openapi.json", "/redoc")
DOC_SECTIONS = ("auth", "users", "events", "notifications", "metrics", "websocket", "health")
"""The order of the sections in /docs (the routes themselves are matched in the order app.web includes them)."""
DATABASE_RETRY_AFTER = 5
"""Seconds a client is asked to wait (`Retry-After`) while the database cannot be reached."""
DATABASE_UNAVAILABLE = "the database is unavailable right now; try again shortly"
UNCONNECTED_GRACE = 15.0
"""Seconds a served page has to connect its socket before its client is deleted (NiceGUI itself waits 60 s). A
browser that connects later is told to reload, and gets a new page."""
MAX_UNCONNECTED = 500
"""Served pages waiting for their socket, at most; beyond that the oldest go at once (a flood of page loads that
never connect, from a crawler say, would otherwise hold about 140 kB each for the whole grace period). A browser
connects within a second of its page, and this process serves at most a few hundred pages a second."""
SWEEP_SECONDS = 1.0
COLLECT_AFTER = 100
"""Deleted clients (about 14 MB) worth a full garbage collection of their own (see UnconnectedClients)."""
COLLECT_SECONDS = 60.0
"""Longest time deleted clients may wait for that collection while deletions go on."""


class PrefixRedirect:
    """Prefix relative `Location` headers with `X-Forwarded-Prefix` (behind a path-rewriting proxy)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        prefix = next((v.decode() for k, v in scope["headers"] if k == b"x-forwarded-prefix"), "")
        if not prefix:
            await self.app(scope, receive, send)
            return

        async def send_prefixed(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (k, prefix.encode() + v if k.lower() == b"location" and v.startswith(b"/") else v)
                    for k, v in message.get("headers", [])
                ]
            await send(message)

        await self.app(scope, receive, send_prefixed)


class StaticCacheControl:
    """Long cache lifetimes for NiceGUI's versioned static files."""

    def __init__(self, app: ASGIApp) -> None:
        from nicegui import core
        from nicegui.version import __version__

        self.app = app
        self.core = core
        self.prefix = f"/_nicegui/{__version__}/"
        self.dynamic = f"/_nicegui/{__version__}/dynamic_resources/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(self.prefix) or path.startswith(self.dynamic):
            await self.app(scope, receive, send)
            return
        directives = self.core.app.config.cache_control_directives.encode()

        async def send_cached(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"cache-control", directives)]
            await send(message)

        await self.app(scope, receive, send_cached)


class RequestTracking:
    """What NiceGUI's RequestTrackingMiddleware does for pages (session id, user storage), without its overhead."""

    def __init__(self, app: ASGIApp) -> None:
        from nicegui import core
        from nicegui.storage import request_contextvar

        self.app = app
        self.core = core
        self.contextvar = request_contextvar

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(MACHINE_PREFIXES):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        self.contextvar.set(request)
        session: dict[str, Any] = scope["session"]
        if "id" not in session:
            session["id"] = str(uuid.uuid4())
        request.state.responded = False
        session_id = session["id"]
        storage = self.core.app.storage
        active = storage._active_request_sessions
        active[session_id] += 1
        try:
            if session_id not in storage._users:
                await storage._create_user_storage(session_id)

            async def send_tracked(message: Message) -> None:
                if message["type"] == "http.response.start":
                    request.state.responded = True
                await send(message)

            await self.app(scope, receive, send_tracked)
        finally:
            active[session_id] -= 1
            if active[session_id] <= 0:
                del active[session_id]


class UnconnectedClients:
    """Deletes the clients of served pages whose browser never connected, and the empty storage of their sessions.

    Every page load builds a NiceGUI client (its elements, about 140 kB) and RequestTracking gives every new session
    a user storage; NiceGUI keeps a client that never connects for 60 s. Anonymous page loads that never connect
    (crawlers, floods, a closed tab) then held hundreds of megabytes. Here such a client is deleted after
    `grace` seconds, or at once when more than `limit` are waiting, and with it the storage of a session nobody
    signed in to. A deleted client's elements form reference cycles that only a full garbage collection frees.
    While pages are being loaded, Python's own collections come often enough; but a server that falls quiet after
    a flood allocates too little to trigger one, and the memory would stay taken. So after COLLECT_AFTER deletions,
    once a sweep finds nothing more to delete, one full collection follows (or every COLLECT_SECONDS while deletions
    go on). Its pause grows with the live objects (about 0.3 s with 500 pages waiting), hence not after every one.
    """

    def __init__(self, grace: float, limit: int) -> None:
        from nicegui import Client, core

        self.grace = grace
        self.limit = limit
        self._clients = Client.instances
        self._storage = core.app.storage
        self._garbage = 0
        self._collected = time.monotonic()

    async def sweep(self) -> None:
        """Delete what waited too long (a timer calls this every SWEEP_SECONDS)."""
        # Client.instances keeps creation order: the oldest waiting clients come first.
        # Served, never connected (a client that disconnected has a delete task of NiceGUI's, for its reconnect).
        waiting = [c for c in self._clients.values()
                   if c._response_built and c.tab_id is None and not c._delete_tasks and not c.is_deleted]
        too_many = len(waiting) - self.limit
        oldest = time.time() - self.grace
        doomed = [c for n, c in enumerate(waiting) if n < too_many or c.created <= oldest]
        if doomed:
            sessions = {_session_id(c) for c in doomed}
            for client in doomed:
                client.delete()
            await self._forget_sessions(sessions)
            self._garbage += len(doomed)
        if self._garbage >= COLLECT_AFTER and (not doomed or time.monotonic() - self._collected >= COLLECT_SECONDS):
            self._garbage = 0
            self._collected = time.monotonic()
            started = time.perf_counter()
            freed = gc.collect()
            _return_free_memory()
            log.debug("collected %d objects of deleted page clients in %.1f ms", freed,
                      (time.perf_counter() - started) * 1000)

    async def _forget_sessions(self, sessions: set[str | None]) -> None:
        """Drop the user storage of sessions no client or request uses and nobody stored anything in (signed in)."""
        users = self._storage._users
        active = self._storage._active_request_sessions
        in_use = {_session_id(c) for c in self._clients.values()}
        for session_id in sessions - in_use:
            storage = users.get(session_id) if session_id is not None else None
            if session_id is not None and storage is not None and not storage and session_id not in active:
                del users[session_id]
                await storage.close()


def _return_free_memory() -> None:
    """Give the C heap's free pages back to the system (glibc keeps them otherwise, so RSS would only ever grow)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _load_malloc_trim() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, say): nothing to trim
        return None


_malloc_trim = _load_malloc_trim()


def _session_id(client: Any) -> str | None:
    request = client._request  # None for a client built without a request
    return request.session.get("id") if request is not None and "session" in request.scope else None


class MachineRoutes:
    """Sends machine HTTP requests (`/api/`, `/metrics`, `/docs`) to the REST app, past every page middleware."""

    def __init__(self, app: ASGIApp, api: ASGIApp) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(MACHINE_PREFIXES):
            await self.api(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class BrowserOnly:
    """Runs a wrapped middleware (sessions, gzip) for browser requests only; machine routes go straight through."""

    def __init__(self, app: ASGIApp, middleware: Any, *args: Any, **kwargs: Any) -> None:
        self.app = app
        self.wrapped = middleware(app, *args, **kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"].startswith(MACHINE_PREFIXES):
            await self.app(scope, receive, send)
        else:
            await self.wrapped(scope, receive, send)


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` (or what it was raised from) says the database cannot be reached right now: refused or
    dropped connections, an exhausted pool, a lost server. Not a query the database refused, which stays a bug."""
    psycopg = sys.modules.get("psycopg")  # only loaded with PostgreSQL: without it, none of its errors can occur
    driver_errors = (psycopg.OperationalError, psycopg.InterfaceError) if psycopg is not None else ()
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        # is_transient also covers Python's own ConnectionError and TimeoutError, which here could come from
        # anything (Redis, a client): only the database's errors say the database is away.
        if (isinstance(current, SQLAlchemyError) and is_transient(current)) or isinstance(current, driver_errors):
            return True
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.append(current.__cause__)
    return False


class UnexpectedErrors:
    """Answers a JSON 500 `{"detail": ...}` for an exception no route handled, and keeps it from the server.

    Starlette's ServerErrorMiddleware sends its 500 and then raises again; the server, seeing an exception after a
    response began, closes the connection, which breaks the client's next request on it (a pooled keep-alive one).
    Here the exception is logged and answered, and the connection stays usable. An exception after the response
    began still goes up: only closing the connection can tell the client its answer is cut short.

    While the database cannot be reached, every route that needs it answers 503 with `Retry-After` instead: the
    request was fine and will succeed once the database is back, which a client (or a proxy) can act on.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception as error:
            if database_unavailable(error):
                # One line, not a traceback per request: an outage would otherwise flood the log.
                log.warning("database unavailable answering %s %s: %s", scope.get("method"), scope.get("path"),
                            refusal(error))
                if started:
                    raise
                await JSONResponse({"detail": DATABASE_UNAVAILABLE}, status_code=503,
                                   headers={"Retry-After": str(DATABASE_RETRY_AFTER)})(scope, receive, send)
                return
            log.exception("unexpected error answering %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await JSONResponse({"detail": "internal server error"}, status_code=500)(scope, receive, send)


def replace_slow_middlewares(app: FastAPI, api: FastAPI) -> None:
    """Put the REST app in front, and swap NiceGUI's BaseHTTPMiddleware classes for the ASGI ones above."""
    from nicegui import app as nicegui_app
    from nicegui.middlewares import RedirectWithPrefixMiddleware, SetCacheControlMiddleware
    from nicegui.storage import RequestTrackingMiddleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.middleware.sessions import SessionMiddleware

    swaps: dict[Any, Any] = {
        RedirectWithPrefixMiddleware: PrefixRedirect,
        SetCacheControlMiddleware: StaticCacheControl,
        RequestTrackingMiddleware: RequestTracking,
    }
    browser_only = (GZipMiddleware, SessionMiddleware)
    replaced = []
    for m in app.user_middleware:
        if m.cls in swaps:
            replaced.append(Middleware(swaps[m.cls]))
        elif m.cls in browser_only:
            replaced.append(Middleware(BrowserOnly, m.cls, *m.args, **m.kwargs))
        else:
            replaced.append(m)
    app.user_middleware[:] = [Middleware(MachineRoutes, api=api), *replaced]
    app.middleware_stack = None  # Starlette rebuilds it on the next request
    # RequestTracking's sessions and the pages they load are bounded by the sweep (NiceGUI's own waits 60 s).
    nicegui_app.timer(SWEEP_SECONDS, UnconnectedClients(UNCONNECTED_GRACE, MAX_UNCONNECTED).sweep)


def build_api() -> FastAPI:
    """The FastAPI app of every REST route, with its OpenAPI documentation at /docs."""
    options: dict[str, Any] = {}
    if "telemetry" in inspect.signature(FastAPI).parameters:
        # Newer FastAPI checks per request, for each app, whether OpenTelemetry is configured (several environment
        # lookups). This app always runs inside NiceGUI's FastAPI app, which makes that check (and traces, when
        # configured) for every request already: here it would only be paid twice.
        options["telemetry"] = {"tracing": False, "metrics": False, "logs": False}
    api = FastAPI(title="Liberation System API", version="1.0",
                  description="Events, notifications, metrics and the WebSocket hub of the Liberation System.",
                  openapi_tags=[{"name": tag} for tag in DOC_SECTIONS], **options)
    add_validation_errors(api)
    document_errors(api)
    api.add_middleware(UnexpectedErrors)  # added first: innermost, so timing and error counts see its 500
    return api


ERROR_SCHEMA: dict[str, Any] = {"title": "Error", "type": "object", "required": ["detail"],
                                "properties": {"detail": {"type": "string", "title": "Detail"}}}
RETRY_AFTER: dict[str, Any] = {"Retry-After": {"description": "seconds to wait before trying again", "required": True,
                                               "schema": {"type": "integer"}}}
METHODS = frozenset({"get", "post", "put", "patch", "delete"})


def document_errors(api: FastAPI) -> None:
    """Describe in /openapi.json the error answers the routes give besides their own (all `{"detail": ...}`):
    401/403 where a token is needed, 404 for a named resource, 400 for a body that is not JSON, 422 also with a
    message rather than a list, 503 while the database is away, and other refusals (409 taken, 429 too often)."""
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            _add_error_responses(generate())
        return api.openapi_schema  # type: ignore[return-value]  # set by generate()

    api.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema


def _add_error_responses(schema: dict[str, Any]) -> None:
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method in METHODS:
                _document_operation(path, operation, operation.setdefault("responses", {}))


def _document_operation(path: str, operation: dict[str, Any], responses: dict[str, Any]) -> None:
    if "health" in operation.get("tags", ()):
        if path.endswith("/health") and "200" in responses:  # degraded: the same report, with 503
            responses.setdefault("503", {**responses["200"], "description": "Degraded: the same report"})
        return
    known = {"401": "No token, or an invalid or expired one", "403": "The caller's role may not use this route"} \
        if operation.get("security") else {}
    if "{" in path:
        known["404"] = "Nothing of that name (or not the caller's)"
    if "requestBody" in operation:
        known["400"] = "The body could not be read as JSON"
    known["4XX"] = "Refused; `detail` says why (409 for a name already taken, say, or 429 with Retry-After)"
    for code, description in known.items():
        responses.setdefault(code, {"description": description})
    responses.setdefault("503", {"description": "The database is unavailable right now", "headers": RETRY_AFTER})
    validation = responses.get("422", {}).get("content", {}).get("application/json", {})
    if "schema" in validation:  # FastAPI's list of problems, or a route's own message
        validation["schema"] = {"anyOf": [validation["schema"], {"$ref": "#/components/schemas/Error"}]}
    for code, response in responses.items():
        if code[0] in "45" and "content" not in response:
            response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def add_api_not_found(app: FastAPI) -> None:
    """Unknown `/api/...` paths answer JSON 404 instead of NiceGUI's HTML error page (register last)."""

    @app.api_route("/api/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def api_not_found(path: str) -> None:
        raise HTTPException(404, f"no such API route: /api/{path}")


def add_validation_errors(app: FastAPI) -> None:
    """422 answers list what is wrong without echoing the input (a NaN or a huge body must not turn into a 500)."""

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        details = [{"type": e.get("type"), "loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in error.errors()]
        return JSONResponse({"detail": details}, status_code=422)
