"""Helpers for the WebSocket tests against real servers (test_ws_hub, test_ws_limits, test_ws_cluster, browser).

No tests here: the name only keeps to this feature's `test_ws_*` files.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from tests.browser.conftest import ADMIN_PASSWORD, Server, start_server, stop_server
from tests.conftest import service_url

PASSWORD = "user-password-1"
Frame = dict[str, Any]


@contextmanager
def two_processes(folder: Callable[[str], Path], **env: str) -> Iterator[tuple[Server, Server]]:
    """Two servers sharing Redis (under a prefix of their own), one SQLite database and one secret, each with its
    own data directory; the first to start leads. `folder(name)` makes a fresh directory."""
    shared = folder("cluster")
    env = {"REDIS_URL": service_url("TEST_REDIS_URL"), "REDIS_PREFIX": f"test-{uuid.uuid4().hex[:10]}",
           "DATABASE_URL": f"sqlite:///{shared / 'liberation.db'}", "SECRET_KEY": secrets.token_urlsafe(32), **env}
    first = start_server(folder("node-1"), **env)
    try:
        second = start_server(folder("node-2"), **env)
    except Exception:
        stop_server(first)
        raise
    try:
        yield first, second
    finally:
        stop_server(second)
        stop_server(first)


def tokens_for(server: Server, *users: str, role: str = "user") -> dict[str, str]:
    """Admin token under "admin", and a token for each of `users` (created if missing)."""
    with httpx.Client(base_url=server.url) as api:
        admin = api.post("/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD})
        tokens = {"admin": admin.json()["access_token"]}
        for user in users:
            api.post("/api/v1/users", headers={"Authorization": f"Bearer {tokens['admin']}"},
                     json={"username": user, "password": PASSWORD, "role": role})
            answer = api.post("/api/v1/auth/token", json={"username": user, "password": PASSWORD})
            tokens[user] = answer.json()["access_token"]
    return tokens


def ws_url(server: Server, token: str | None, kind: str | None = "dashboard") -> str:
    query = "&".join(f"{k}={v}" for k, v in (("connection_type", kind), ("token", token)) if v is not None)
    return server.url.replace("http://", "ws://") + f"/api/v1/realtime/ws?{query}"


async def receive(ws: ClientConnection, seconds: float = 5) -> Frame:
    return dict(orjson.loads(await asyncio.wait_for(ws.recv(), seconds)))


async def until(ws: ClientConnection, check: Callable[[Frame], bool], seen: list[Frame] | None = None,
                seconds: float = 5) -> Frame:
    """The first frame that passes `check`; frames before it go to `seen`."""
    async with asyncio.timeout(seconds):
        while True:
            frame = await receive(ws, seconds)
            if check(frame):
                return frame
            if seen is not None:
                seen.append(frame)


async def opened(server: Server, token: str, kind: str = "dashboard", **options: Any) -> ClientConnection:
    """A connection whose welcome (connection_established and every subscription_confirmed) has been read."""
    ws = await connect(ws_url(server, token, kind), ping_interval=None, **options)
    welcome = await receive(ws)
    assert welcome["type"] == "connection_established", welcome
    for channel in welcome["data"]["channels"]:
        confirmed = await receive(ws)
        assert (confirmed["type"], confirmed["data"]["channel"]) == ("subscription_confirmed", channel)
    return ws


async def command(ws: ClientConnection, reply: str, **frame: Any) -> Frame:
    """Send a command and return the first frame of type `reply`."""
    await ws.send(orjson.dumps(frame).decode())
    return await until(ws, lambda f: f["type"] == reply)


async def drain(ws: ClientConnection) -> list[Frame]:
    """Every frame until the reply to a ping (what the server sent before it)."""
    seen: list[Frame] = []
    marker = uuid.uuid4().hex
    await ws.send(orjson.dumps({"type": "ping", "data": marker}).decode())
    await until(ws, lambda f: f["type"] == "pong" and f["data"]["data"] == marker, seen)
    return seen


async def post(server: Server, token: str, path: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url) as api:
        return await api.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


async def broadcast(server: Server, token: str, channel: str, message_type: str, data: dict[str, Any]) -> Frame:
    response = await post(server, token, "/api/v1/realtime/ws/broadcast",
                          {"channel": channel, "message_type": message_type, "data": data})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def get(server: Server, token: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url) as api:
        return await api.get(path, headers={"Authorization": f"Bearer {token}"})


async def connections_of(server: Server, admin: str, user: str) -> list[Frame]:
    listed = (await get(server, admin, "/api/v1/realtime/ws/connections?limit=1000")).json()["connections"]
    return [c for c in listed if c["user"] == user]


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5) -> None:
    """Poll another process until `check` passes."""
    async with asyncio.timeout(seconds):
        while not await check():  # noqa: ASYNC110 - the state lives in the server process: nothing to wait on here
            await asyncio.sleep(0.05)


def on(channel: str, message_type: str | None = None) -> Callable[[Frame], bool]:
    return lambda f: f["channel"] == channel and (message_type is None or f["type"] == message_type)
