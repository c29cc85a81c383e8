"""Two processes on a Redis of their own that is killed and comes back empty: no live message is dropped in
silence, clients are told what could not be recovered, and health says so meanwhile."""

from __future__ import annotations

import asyncio
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.test_ws_support import opened, post, receive, tokens_for
from tests.browser.conftest import Server, free_port, start_server, stop_server

pytestmark = [pytest.mark.reliability, pytest.mark.redis]


class PrivateRedis:
    """A redis-server on a free port, with nothing on disk, that the test may kill and start again."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                subprocess.run(["redis-cli", "-p", str(self.port), "ping"], check=True, capture_output=True)
                return
            except subprocess.CalledProcessError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()


async def healthy(server: Server) -> bool:
    async with httpx.AsyncClient(base_url=server.url) as api:
        return (await api.get("/api/v1/health")).json()["broker"]["status"] == "ok"


async def send(server: Server, admin: str, text: str) -> None:
    answer = await post(server, admin, "/api/v1/notifications/send",
                        {"user_id": "alice", "notification_type": "info", "message": text})
    assert answer.status_code == 201, answer.text


async def test_after_redis_restarts_empty_live_messages_still_reach_the_other_process(
        tmp_path_factory: pytest.TempPathFactory, redis: PrivateRedis) -> None:
    env = {"REDIS_URL": redis.url, "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('db') / 'shared.db'}",
           "SECRET_KEY": secrets.token_urlsafe(32)}
    a = start_server(tmp_path_factory.mktemp("a"), **env)
    b = start_server(tmp_path_factory.mktemp("b"), **env)
    try:
        tokens = tokens_for(a, "alice")
        ws = await opened(a, tokens["alice"])
        for n in range(30):  # the channel's numbers climb well above where a restarted Redis starts
            await send(b, tokens["admin"], f"before-{n}")
        seen: list[dict[str, object]] = []
        async with asyncio.timeout(10):
            while len([f for f in seen if f["type"] == "notification"]) < 30:
                seen.append(await receive(ws))

        redis.kill()
        for n in range(5):  # accepted and stored while Redis is away; the other process cannot hear of them
            await send(b, tokens["admin"], f"during-{n}")
        a.process.send_signal(signal.SIGSTOP)  # A is slower to reconnect than B (a busy or stalled process) ...
        redis.start()  # ... to a Redis that came back empty: every channel's numbering starts again from 1
        async with asyncio.timeout(20):
            while not await healthy(b):  # noqa: ASYNC110 - the state is in another process
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)  # past the history's retry pause: B numbers its messages in Redis again
        await send(b, tokens["admin"], "first-after")  # numbered 1 of a new epoch, while A is not listening
        a.process.send_signal(signal.SIGCONT)
        async with asyncio.timeout(20):
            while not await healthy(a):  # noqa: ASYNC110 - the state is in another process
                await asyncio.sleep(0.1)

        for n in range(20):
            await send(b, tokens["admin"], f"after-{n}")
        after: list[dict[str, object]] = []
        async with asyncio.timeout(10):
            while len([f for f in after if f["type"] == "notification"
                       and str(f["data"]["message"]).startswith("after-")]) < 20:  # type: ignore[index]
                after.append(await receive(ws))
        messages = [f["data"]["message"] for f in after if f["type"] == "notification"]  # type: ignore[index]
        assert [m for m in messages if m.startswith("after-")] == [f"after-{n}" for n in range(20)]
        told = [f for f in after if f["type"] == "subscription_confirmed" and f["data"].get("recovered") is False]
        assert told, "the client was not told that messages may be missing"
        async with httpx.AsyncClient(base_url=a.url) as api:
            health = (await api.get("/api/v1/health")).json()
        assert health["websocket"]["status"] != "ok"  # losses are recent: not "ok"
        assert health["websocket"]["delivery"]["losses"]["reconnects"] + \
            health["websocket"]["delivery"]["losses"]["restarted"] >= 1
        await ws.close()
    finally:
        stop_server(b)
        stop_server(a)
