"""What the app's own layers cost a trivial REST request, without sockets: the ASGI app called in-process.

wrk figures on this machine drift by 20 % between runs; this counts microseconds per request of the app's stack
(NiceGUI's outer app, the REST app in front of the pages, timing middleware, routing) against a bare FastAPI app
with the same route. Run pinned to one core: `taskset -c 1 python bench/asgi_overhead.py`.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1]))
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp())
os.environ.setdefault("ADMIN_PASSWORD", "bench-admin-password")

from fastapi import FastAPI
from nicegui import app as nicegui_app

from app.asgi import replace_slow_middlewares
from app.container import build_services
from app.settings import load_settings
from app.web import setup

SCOPE = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1", "method": "GET",
         "scheme": "http", "path": "/api/v1/ping", "raw_path": b"/api/v1/ping", "query_string": b"",
         "root_path": "", "headers": [(b"host", b"127.0.0.1:8000")], "client": ("127.0.0.1", 50000),
         "server": ("127.0.0.1", 8000)}


def bare_app() -> FastAPI:
    bare = FastAPI()

    @bare.get("/api/v1/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    return bare


async def per_request(app: Any, requests: int) -> float:
    """Microseconds per request through `app`."""
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.perf_counter()
    for _ in range(requests):
        await app(dict(SCOPE), receive, send)
    elapsed = time.perf_counter() - started
    assert set(statuses) == {200}, set(statuses)
    return elapsed / requests * 1e6


async def main() -> None:
    web = setup(build_services(load_settings()))
    replace_slow_middlewares(nicegui_app, web.api)  # what the app's start-up does
    bare = bare_app()
    samples: dict[str, list[float]] = {"bare FastAPI": [], "app": []}
    for app in (bare, nicegui_app):
        await per_request(app, 2000)  # warm-up
    for _ in range(7):
        samples["bare FastAPI"].append(await per_request(bare, 10000))
        samples["app"].append(await per_request(nicegui_app, 10000))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, value in medians.items():
        print(f"{name:<16}{value:>8.1f} µs per GET /api/v1/ping (median of 7 x 10,000)")
    print(f"the app's layers add {medians['app'] - medians['bare FastAPI']:.1f} µs per request")


if __name__ == "__main__":
    asyncio.run(main())
