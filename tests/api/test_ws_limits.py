"""Limits on a real server: the connection cap, and a slow consumer that must not hold up a fast one."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.api.test_ws_support import broadcast, eventually, get, on, opened, receive, tokens_for, until, ws_url
from tests.browser.conftest import Server, start_server, stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("ws-limits"), WS_MAX_CONNECTIONS="2", WS_SEND_QUEUE="8")
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def tokens(server: Server) -> dict[str, str]:
    return tokens_for(server, "alice")


@pytest.fixture(autouse=True)
async def no_connections_left(server: Server, tokens: dict[str, str]) -> None:
    """Each test starts once the server has seen every earlier connection go (the cap is 2)."""

    async def none_left() -> bool:
        return not (await get(server, tokens["admin"], "/api/v1/realtime/ws/stats")).json()["total_connections"]

    await eventually(none_left)


async def test_over_the_cap_a_connection_is_refused_with_1013(server: Server, tokens: dict[str, str]) -> None:
    first = await opened(server, tokens["alice"])
    second = await opened(server, tokens["alice"])
    async with connect(ws_url(server, tokens["alice"])) as third:
        with pytest.raises(ConnectionClosed) as refused:
            await receive(third)
    assert refused.value.rcvd is not None and refused.value.rcvd.code == 1013
    await first.close()
    async with asyncio.timeout(5):  # a freed place is taken again
        while True:
            async with connect(ws_url(server, tokens["alice"])) as retry:
                if (await receive(retry))["type"] == "connection_established":
                    break
            await asyncio.sleep(0.05)
    await second.close()
    stats = (await get(server, tokens["admin"], "/api/v1/realtime/ws/stats")).json()
    assert stats["refused_over_capacity"] >= 1


async def test_a_slow_consumer_is_dropped_and_does_not_delay_a_fast_one(server: Server,
                                                                         tokens: dict[str, str]) -> None:
    tiny = socket.socket()
    tiny.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # and it will stop reading altogether
    tiny.connect(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
    slow = await opened(server, tokens["alice"], sock=tiny, max_queue=1)
    fast = await opened(server, tokens["alice"])
    admin, pad = tokens["admin"], "x" * 50_000
    lateness: list[float] = []

    async def read_fast() -> list[int]:
        numbers: list[int] = []
        while len(numbers) < 120:
            frame = await until(fast, on("broadcast", "bulk"), seconds=10)
            lateness.append(time.time() - frame["data"]["sent"])
            numbers.append(frame["data"]["n"])
        return numbers

    reader = asyncio.create_task(read_fast())
    for n in range(120):  # 6 MB: far more than the slow client's socket and 8 messages of buffer hold
        await broadcast(server, admin, "broadcast", "bulk", {"n": n, "sent": time.time(), "pad": pad})
    assert await reader == list(range(120))
    assert max(lateness) < 1.0
    stats = (await get(server, admin, "/api/v1/realtime/ws/stats")).json()
    assert stats["dropped_slow_clients"] == 1
    assert stats["total_connections"] == 1
    with pytest.raises(ConnectionClosed):
        while True:  # what reached the slow client before it was cut off, then the end
            await receive(slow)
    await fast.close()
