"""Where request and query timings come from: a pure-ASGI middleware on /api/ and SQLAlchemy cursor hooks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.metrics import MetricsService

_STARTED = "metrics_query_started"


class ApiTiming:
    """Records `api_response_time` (ms) for every /api/ request and marks `error_rate` for 5xx answers.

    Plain ASGI on purpose: Starlette's BaseHTTPMiddleware costs a few hundred microseconds per request.
    """

    def __init__(self, app: ASGIApp, metrics: MetricsService, prefix: str = "/api/") -> None:
        self.app = app
        self.prefix = prefix
        self._timing = metrics.metrics["api_response_time"].record
        self._errors = metrics.metrics["error_rate"].record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self._timing((time.perf_counter() - started) * 1000.0)
            if status >= 500:
                self._errors(1)


def watch_queries(engine: Engine, metrics: MetricsService) -> Callable[[], None]:
    """Record `database_query_time` (ms) for every statement on `engine`; returns a function that stops it."""

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        conn.info.setdefault(_STARTED, []).append(time.perf_counter())

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        started = conn.info.get(_STARTED)
        if started:
            metrics.record_threadsafe("database_query_time", (time.perf_counter() - started.pop()) * 1000.0)

    def failed(context: Any) -> None:
        started = context.connection.info.get(_STARTED) if context.connection is not None else None
        if started:
            started.pop()  # keep the stack of a connection that failed a statement balanced

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", failed)

    def stop() -> None:
        for name, fn in (("before_cursor_execute", before), ("after_cursor_execute", after), ("handle_error", failed)):
            if event.contains(engine, name, fn):
                event.remove(engine, name, fn)

    return stop
