"""Hostile input on every route that takes a time or free text: times at the edges of the calendar and NUL
characters answer 422 naming the parameter, never 500, on SQLite and on PostgreSQL (which cannot store NUL). And
whatever a route raises, the client gets a JSON 500 and its connection stays usable."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from app.asgi import build_api
from tests.api.app_databases import app_database  # noqa: F401  (a fixture: the app on SQLite, then PostgreSQL)

pytestmark = pytest.mark.reliability

EDGE_TIMES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00")  # no UTC equivalent either of them
NUL = "a\x00b"
HISTORY = "/api/v1/realtime/events/history"
PUBLISH = "/api/v1/realtime/events/publish"
INBOX = "/api/v1/notifications"
SEND = "/api/v1/notifications/send"
ALERT = "/api/v1/notifications/system-alert"
METRICS = "/api/v1/metrics"
BROADCAST = "/api/v1/realtime/ws/broadcast"
NOTIFY = "/api/v1/realtime/ws/notify"

TO_ALICE = {"user_id": "alice", "notification_type": "info"}
AN_ALERT = {"title": "Disk", "message": "Disk is full"}
AN_EVENT = {"event_type": "garden.plant_watered", "source": "garden", "data": {"plant": "fern"}}

# (method, path, query, body, the parameter the answer must name)
CASES: list[tuple[str, str, dict[str, str] | None, dict[str, Any] | None, str]] = [
    *[("GET", HISTORY, {name: edge}, None, name) for name in ("since", "until") for edge in EDGE_TIMES],
    *[("GET", INBOX, {"since": edge}, None, "since") for edge in EDGE_TIMES],
    *[("POST", SEND, None, {**TO_ALICE, "expires_at": edge}, "expires_at") for edge in EDGE_TIMES],
    ("POST", SEND, None, {**TO_ALICE, "expires_at": "9999-12-31T23:59:59Z"}, "expires_at"),  # no room to read back
    *[("GET", HISTORY, {name: NUL}, None, name) for name in ("q", "source", "event_type", "correlation_id")],
    ("GET", INBOX, {"since": NUL}, None, "since"),
    *[("POST", PUBLISH, None, {**AN_EVENT, name: NUL}, name) for name in ("source", "event_type", "correlation_id")],
    ("POST", PUBLISH, None, {**AN_EVENT, "data": {"plant": NUL}}, "data"),
    ("POST", PUBLISH, None, {**AN_EVENT, "data": {NUL: "fern"}}, "data"),
    *[("POST", SEND, None, {**TO_ALICE, name: NUL}, name)
      for name in ("title", "message", "user_id", "role", "channel", "notification_type")],
    ("POST", SEND, None, {**TO_ALICE, "data": {"note": NUL}}, "data"),
    ("POST", SEND, None, {**TO_ALICE, "actions": [{"label": NUL, "action": "go"}]}, "actions[0].label"),
    *[("POST", ALERT, None, {**AN_ALERT, name: NUL}, name)
      for name in ("title", "message", "alert_level", "target_channel")],
    ("POST", ALERT, None, {**AN_ALERT, "data": {"disk": NUL}}, "data"),
    *[("POST", METRICS, None, {"name": "homes", name: NUL}, name) for name in ("name", "description", "unit")],
    ("POST", f"{METRICS}/homes/record", None, {"value": 1, "tags": {"site": NUL}}, "tags"),
    ("POST", f"{METRICS}/homes/record", None, {"value": 1, "tags": {NUL: "x"}}, "tags"),
    ("POST", f"{METRICS}/a%00b/record", None, {"value": 1}, "a\\u0000b"),
    ("POST", f"{METRICS}/alert-rules", None, {"metric_name": NUL, "threshold": 1}, "metric_name"),
    ("POST", BROADCAST, None, {"channel": "system", "message_type": NUL}, "message_type"),
    ("POST", BROADCAST, None, {"channel": "system", "message_type": "x", "data": {"k": NUL}}, "data"),
    ("POST", f"{NOTIFY}/a%00b", None, {"message_type": "x"}, "user_id"),
    ("POST", f"{NOTIFY}/alice", None, {"message_type": NUL}, "message_type"),
    ("POST", f"{NOTIFY}/alice", None, {"message_type": "x", "data": {"k": NUL}}, "data"),
    ("POST", "/api/v1/users", None, {"username": NUL, "password": "password-123"}, "username"),
]


@pytest.mark.usefixtures("app_database")
async def test_edge_times_and_nul_characters_answer_422_naming_the_parameter(
        client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    wrong = []
    for method, path, query, body, name in CASES:
        response = await client.request(method, path, headers=admin_headers, params=query, json=body)
        detail = response.json().get("detail") if response.headers.get("content-type") == "application/json" else None
        if response.status_code != 422 or name not in json.dumps(detail):
            wrong.append((method, path, query, body, response.status_code, detail))
    assert wrong == []
    # Nothing half-done: no notification, event or metric came of any of it.
    assert (await client.get(INBOX, headers=user_headers)).json()["total_count"] == 0
    assert (await client.get(HISTORY, headers=admin_headers, params={"source": "garden"})).json()["total_count"] == 0
    assert (await client.get(f"{METRICS}/homes", headers=admin_headers)).status_code == 404


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[int]:
    """`app` behind a real uvicorn on a free port (keep-alive connections as clients get them); yields the port."""
    listener = socket.create_server(("127.0.0.1", 0))  # listening already: connections wait in its backlog
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", ws="none", log_level="critical"))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        listener.close()


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> tuple[int, bytes]:
    """One HTTP/1.1 request on an open connection: (status, body), or (0, b"") when the server had closed it."""
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return 0, b""
    lines = head.decode().split("\r\n")
    length = next(int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length:"))
    return int(lines[0].split()[1]), await reader.readexactly(length)


async def test_after_an_unexpected_error_the_client_gets_json_and_keeps_its_connection(
        caplog: pytest.LogCaptureFixture) -> None:
    api = build_api()

    @api.get("/api/v1/boom")
    async def boom() -> None:
        raise RuntimeError("a bug in a route")

    @api.get("/api/v1/fine")
    async def fine() -> dict[str, bool]:
        return {"ok": True}

    async with serving(api) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            failed = await exchange(reader, writer, "/api/v1/boom")
            after = await exchange(reader, writer, "/api/v1/fine")  # the same connection
        finally:
            writer.close()
    assert failed[0] == 500 and json.loads(failed[1]) == {"detail": "internal server error"}
    assert after == (200, b'{"ok":true}'), "the connection broke after the 500"
    assert "a bug in a route" in caplog.text, "the error is logged for whoever runs the server"
