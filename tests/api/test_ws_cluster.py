"""Two server processes on one Redis: delivery, ordering and recovery across them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from tests.api.test_ws_support import broadcast, command, drain, on, opened, post, tokens_for, two_processes, until
from tests.browser.conftest import Server

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """Two processes sharing Redis, one SQLite database and one secret."""
    with two_processes(tmp_path_factory.mktemp) as servers:
        yield servers


@pytest.fixture(scope="module")
def tokens(cluster: tuple[Server, Server]) -> dict[str, str]:
    user = f"u{uuid.uuid4().hex[:10]}"  # Redis is shared with other runs: names of this run only
    return {**tokens_for(cluster[0], user), "user": user}


def fresh_channel() -> str:
    return f"k-{uuid.uuid4().hex[:10]}"


async def test_a_broadcast_or_notification_accepted_by_one_process_reaches_clients_of_the_other(
        cluster: tuple[Server, Server], tokens: dict[str, str]) -> None:
    one, two = cluster
    channel, user = fresh_channel(), tokens["user"]
    on_one, on_two = await opened(one, tokens["admin"], "admin"), await opened(two, tokens["admin"], "admin")
    user_on_one = await opened(one, tokens[user])
    try:
        for ws in (on_one, on_two):
            await command(ws, "subscription_confirmed", type="subscribe", channel=channel)
        await broadcast(one, tokens["admin"], channel, "note", {"from": "one"})
        frames = [await until(ws, on(channel)) for ws in (on_one, on_two)]
        assert [(f["data"], f["seq"]) for f in frames] == [({"from": "one"}, 1)] * 2
        response = await post(two, tokens["admin"], f"/api/v1/realtime/ws/notify/{user}", {"data": {"title": "hi"}})
        assert response.status_code == 200
        assert (await until(user_on_one, on(f"user:{user}", "notification")))["data"] == {"title": "hi"}
    finally:
        for ws in (on_one, on_two, user_on_one):
            await ws.close()


async def test_concurrent_broadcasts_through_both_processes_arrive_once_in_one_order(
        cluster: tuple[Server, Server], tokens: dict[str, str]) -> None:
    channel, admin = fresh_channel(), tokens["admin"]
    clients = [await opened(server, admin, "admin") for server in cluster]
    try:
        for ws in clients:
            await command(ws, "subscription_confirmed", type="subscribe", channel=channel)
        await asyncio.gather(*(broadcast(cluster[n % 2], admin, channel, "note", {"n": n}) for n in range(30)))
        for ws in clients:
            got = [await until(ws, on(channel)) for _ in range(30)]
            assert [f["seq"] for f in got] == list(range(1, 31))
            assert sorted(f["data"]["n"] for f in got) == list(range(30))
            assert not [f for f in await drain(ws) if f["channel"] == channel]
    finally:
        for ws in clients:
            await ws.close()


async def test_a_client_recovers_on_the_other_process(cluster: tuple[Server, Server],
                                                      tokens: dict[str, str]) -> None:
    one, two = cluster
    channel, admin = fresh_channel(), tokens["admin"]
    async with await opened(one, admin, "admin") as ws:
        await command(ws, "subscription_confirmed", type="subscribe", channel=channel)
        await broadcast(one, admin, channel, "note", {"n": 0})
        last = (await until(ws, on(channel)))["seq"]
    for n in range(1, 4):  # while the client is away, through either process
        await broadcast(cluster[n % 2], admin, channel, "note", {"n": n})
    async with await opened(two, admin, "admin") as ws:
        confirmed = await command(ws, "subscription_confirmed", type="subscribe", channel=channel, since=last)
        assert (confirmed["data"]["recovered"], confirmed["data"]["replayed"]) == (True, 3)
        replayed = [await until(ws, on(channel)) for _ in range(3)]
        assert [(f["seq"], f["data"]["n"]) for f in replayed] == [(last + 1, 1), (last + 2, 2), (last + 3, 3)]
        await broadcast(one, admin, channel, "note", {"n": 4})
        assert (await until(ws, on(channel)))["seq"] == last + 4
