"""The REST app in front of the pages, pure-ASGI stand-ins for NiceGUI's request middlewares, API error shapes.

Machine routes live in their own FastAPI app (`build_api`), which `MachineRoutes` serves before any page
middleware runs: REST requests pay for no session, storage or gzip layer and no page-route matching. NiceGUI also
wraps every page request in Starlette `BaseHTTPMiddleware` classes, which cost a few hundred microseconds per
request; the replacements below do the same work as plain ASGI callables.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

MACHINE_PREFIXES = ("/api/", "/metrics", "/docs", "/openapi.json", "/redoc")
DOC_SECTIONS = ("auth", "users", "events", "notifications", "metrics", "websocket", "health")
"""The order of the sections in /docs (the routes themselves are matched in the order app.web includes them)."""


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


class UnexpectedErrors:
    """Answers a JSON 500 `{"detail": ...}` for an exception no route handled, and keeps it from the server.

    Starlette's ServerErrorMiddleware sends its 500 and then raises again; the server, seeing an exception after a
    response began, closes the connection, which breaks the client's next request on it (a pooled keep-alive one).
    Here the exception is logged and answered, and the connection stays usable. An exception after the response
    began still goes up: only closing the connection can tell the client its answer is cut short.
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
        except Exception:
            log.exception("unexpected error answering %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await JSONResponse({"detail": "internal server error"}, status_code=500)(scope, receive, send)


def replace_slow_middlewares(app: FastAPI, api: FastAPI) -> None:
    """Put the REST app in front, and swap NiceGUI's BaseHTTPMiddleware classes for the ASGI ones above."""
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
    api.add_middleware(UnexpectedErrors)  # added first: innermost, so timing and error counts see its 500
    return api


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
