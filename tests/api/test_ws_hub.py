"""The WebSocket hub against a real server (`python main.py`) with a real `websockets` client."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.api.test_ws_support import (
    Frame,
    broadcast,
    command,
    connections_of,
    drain,
    get,
    on,
    opened,
    post,
    receive,
    tokens_for,
    until,
    ws_url,
)
from tests.browser.conftest import Server, start_server, stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("ws-hub"), WS_PING_INTERVAL="1", WS_CLEANUP_INTERVAL="1",
                           WS_HISTORY_SIZE="5", WS_MAX_MESSAGE_BYTES="1024", WS_RATE_LIMIT="10",
                           WS_RATE_BURST="20")
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def tokens(server: Server) -> dict[str, str]:
    return tokens_for(server, "alice", "bob")


@pytest.mark.parametrize(("kind", "who", "channels"), [
    ("dashboard", "alice", ["dashboard", "resources", "system", "user:alice", "role:user", "broadcast"]),
    ("mobile", "alice", ["mobile", "resources", "user:alice", "role:user", "broadcast"]),
    ("admin", "admin", ["admin", "system", "resources", "truth", "mesh", "user:admin", "role:admin", "broadcast"]),
    ("system", "admin", ["user:admin", "role:admin", "broadcast"]),
])
async def test_connect_then_one_confirmation_per_default_channel(server: Server, tokens: dict[str, str], kind: str,
                                                                  who: str, channels: list[str]) -> None:
    async with connect(ws_url(server, tokens[who], kind)) as ws:
        welcome = await receive(ws)
        assert welcome["type"] == "connection_established"
        assert welcome["data"]["user"] == who and welcome["data"]["connection_type"] == kind
        assert welcome["data"]["channels"] == channels
        frames = [await receive(ws) for _ in channels]
        assert [(f["type"], f["data"]["channel"]) for f in frames] == [("subscription_confirmed", c) for c in channels]
        for frame in (welcome, *frames):
            assert list(frame) == ["id", "type", "channel", "seq", "data", "timestamp"]
            assert (frame["channel"], frame["seq"]) == ("direct", None)
            assert datetime.fromisoformat(frame["timestamp"]).utcoffset().total_seconds() == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(("kind", "who", "reason"), [
    ("spaceship", "alice", "unknown connection_type"),
    ("dashboard", None, "missing token"),
    ("dashboard", "forged", "invalid or expired token"),
    ("admin", "alice", "needs a token of role admin"),
    ("system", "alice", "needs a token of role admin or system"),
])
async def test_refused_connections_are_closed_with_1008_and_a_reason(server: Server, tokens: dict[str, str], kind: str,
                                                                    who: str | None, reason: str) -> None:
    token = tokens.get(who, who) if who else None
    async with connect(ws_url(server, token, kind)) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    assert reason in closed.value.rcvd.reason


async def test_channel_permissions_refuse_with_an_error_and_keep_the_connection(
        server: Server, tokens: dict[str, str]) -> None:
    alice = await opened(server, tokens["alice"])
    admin = await opened(server, tokens["admin"], "admin")
    try:
        for channel, code in [("admin", "forbidden"), ("user:bob", "forbidden"), ("role:admin", "forbidden"),
                              ("users", "forbidden"), ("nowhere", "unknown_channel")]:
            error = await command(alice, "error", type="subscribe", channel=channel)
            assert error["data"]["code"] == code, channel
        for channel in ("truth", "role:user", "user:alice"):
            confirmed = await command(alice, "subscription_confirmed", type="subscribe", channel=channel)
            assert confirmed["data"]["channel"] == channel
        for channel in ("user:alice", "anything-an-admin-likes"):
            assert (await command(admin, "subscription_confirmed", type="subscribe", channel=channel))["data"]
        response = await post(server, tokens["admin"], "/api/v1/realtime/ws/notify/alice",
                              {"data": {"title": "for alice"}})
        for ws in (alice, admin):
            notification = await until(ws, on("user:alice", "notification"))
            assert notification["data"] == {"title": "for alice"}
        assert response.json()["sent_count"] >= 2
    finally:
        await alice.close()
        await admin.close()


async def test_malformed_frames_get_error_codes_and_the_connection_stays_open(
        server: Server, tokens: dict[str, str]) -> None:
    bad: list[tuple[str | bytes, str]] = [
        ("not json", "invalid_json"),
        ("[1, 2, 3]", "invalid_message"),
        (b"\x00\x01binary", "invalid_message"),
        ('{"type": "shout"}', "unknown_type"),
        ('{"channel": "resources"}', "missing_field"),
        ('{"type": "subscribe"}', "missing_field"),
        ('{"type": "unsubscribe"}', "missing_field"),
        ('{"type": "subscribe", "channel": "resources", "since": "yesterday"}', "invalid_field"),
        ('{"type": "ping", "data": "' + "x" * 2000 + '"}', "message_too_large"),
    ]
    async with await opened(server, tokens["alice"]) as ws:
        for frame, code in bad:
            await ws.send(frame)
            error = await until(ws, lambda f: f["type"] == "error")
            assert error["data"]["code"] == code, frame
            assert error["channel"] == "direct" and error["data"]["message"]
        assert (await command(ws, "pong", type="ping", data={"still": "open"}))["data"]["data"] == {"still": "open"}


async def test_a_flooding_client_is_rate_limited_then_closed(server: Server, tokens: dict[str, str]) -> None:
    async with await opened(server, tokens["alice"]) as ws:
        for _ in range(100):
            await ws.send('{"type": "ping"}')
        frames: list[Frame] = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                frames.append(await receive(ws))
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "rate limit" in closed.value.rcvd.reason
    assert 20 <= [f["type"] for f in frames].count("pong") < 30  # the burst, and what refilled meanwhile
    assert [f["data"]["code"] for f in frames if f["type"] == "error"] == ["rate_limited"]


async def test_status_and_unsubscribe(server: Server, tokens: dict[str, str]) -> None:
    async with await opened(server, tokens["alice"]) as ws:
        status = await command(ws, "status", type="get_status")
        assert status["data"]["user"] == "alice"
        assert "user:alice" in status["data"]["channels"]
        left = await command(ws, "unsubscription_confirmed", type="unsubscribe", channel="resources")
        assert left["data"] == {"channel": "resources", "was_subscribed": True}
        await broadcast(server, tokens["admin"], "resources", "note", {"after": "unsubscribe"})
        await broadcast(server, tokens["admin"], "user:alice", "note", {"marker": True})
        seen: list[Frame] = []
        await until(ws, on("user:alice", "note"), seen)
        assert not [f for f in seen if f["channel"] == "resources"]


async def test_concurrent_broadcasts_reach_each_client_once_in_seq_order(server: Server,
                                                                         tokens: dict[str, str]) -> None:
    channel = f"c-{uuid.uuid4().hex[:8]}"
    clients = [await opened(server, tokens["admin"], "admin") for _ in range(2)]
    try:
        for ws in clients:
            for _ in range(2):  # subscribing twice still delivers once
                await command(ws, "subscription_confirmed", type="subscribe", channel=channel)
        answers = await asyncio.gather(*(broadcast(server, tokens["admin"], channel, "note", {"n": n})
                                         for n in range(30)))
        assert sorted(a["seq"] for a in answers) == list(range(1, 31))
        for ws in clients:
            got = [await until(ws, on(channel)) for _ in range(30)]
            assert [f["seq"] for f in got] == list(range(1, 31))
            assert sorted(f["data"]["n"] for f in got) == list(range(30))
            assert {f["data"]["n"]: f["seq"] for f in got} == {n: a["seq"] for n, a in enumerate(answers)}
            assert not [f for f in await drain(ws) if f["channel"] == channel]
    finally:
        for ws in clients:
            await ws.close()


async def test_published_events_reach_subscribed_clients_once(server: Server, tokens: dict[str, str]) -> None:
    async with await opened(server, tokens["alice"]) as ws:
        response = await post(server, tokens["admin"], "/api/v1/realtime/events/publish",
                              {"event_type": "resource.distributed", "source": "ledger",
                               "data": {"human_id": "nobody", "amount": 800}})
        assert response.status_code == 201
        event = await until(ws, on("resources", "event"))
        assert event["data"]["id"] == response.json()["id"]
        assert event["data"]["data"] == {"human_id": "nobody", "amount": 800}
        assert isinstance(event["seq"], int)
        again = [f for f in await drain(ws) if f["type"] == "event" and f["data"]["id"] == event["data"]["id"]]
        assert again == []


async def test_connects_and_disconnects_are_published_as_events(server: Server, tokens: dict[str, str]) -> None:
    async with await opened(server, tokens["admin"], "admin") as watcher:
        await command(watcher, "subscription_confirmed", type="subscribe", channel="users")
        async with await opened(server, tokens["bob"], "mobile") as bob:
            status = await command(bob, "status", type="get_status")
        for kind in ("user.connected", "user.disconnected"):

            def about_bob(frame: Frame, kind: str = kind) -> bool:
                return (frame["type"] == "event" and frame["data"]["type"] == kind
                        and frame["data"]["data"]["connection_id"] == status["data"]["id"])

            event = await until(watcher, about_bob)
            assert event["channel"] == "users"
            assert event["data"]["data"] == {"user_id": "bob", "connection_id": status["data"]["id"],
                                             "connection_type": "mobile"}


async def test_notify_reaches_only_that_users_connections(server: Server, tokens: dict[str, str]) -> None:
    alice = await opened(server, tokens["alice"])
    bob = await opened(server, tokens["bob"])
    try:
        response = await post(server, tokens["admin"], "/api/v1/realtime/ws/notify/alice",
                              {"message_type": "notification", "data": {"title": "Hello Alice"}})
        assert response.status_code == 200 and response.json()["sent_count"] >= 1
        notification = await until(alice, on("user:alice", "notification"))
        assert notification["data"]["title"] == "Hello Alice"
        await post(server, tokens["admin"], "/api/v1/realtime/ws/notify/bob", {"data": {"title": "Hello Bob"}})
        first = await until(bob, lambda f: f["type"] == "notification")
        assert first["data"]["title"] == "Hello Bob"
    finally:
        await alice.close()
        await bob.close()
    unknown = await post(server, tokens["admin"], "/api/v1/realtime/ws/notify/nobody-here", {"data": {}})
    assert unknown.status_code == 404
    assert (await post(server, tokens["alice"], "/api/v1/realtime/ws/notify/bob", {"data": {}})).status_code == 403
    async with httpx.AsyncClient(base_url=server.url) as api:
        anonymous = await api.post("/api/v1/realtime/ws/broadcast", json={"channel": "x", "message_type": "y"})
    assert anonymous.status_code == 401


async def test_pushes_json_cannot_carry_or_too_large_are_refused(server: Server, tokens: dict[str, str]) -> None:
    admin = tokens["admin"]
    for path, body in (("/api/v1/realtime/ws/notify/alice", {}), ("/api/v1/realtime/ws/broadcast",
                                                                 {"channel": "big", "message_type": "note"})):
        huge_number = await post(server, admin, path, {**body, "data": {"n": 10**30}})  # found by fuzzing: was a 500
        assert huge_number.status_code == 422 and "not JSON-serialisable" in huge_number.json()["detail"]
        too_big = await post(server, admin, path, {**body, "data": {"text": "x" * (1024 * 1024 + 1)}})
        assert too_big.status_code == 413 and "bytes as JSON" in too_big.json()["detail"]
    fine = await post(server, admin, "/api/v1/realtime/ws/broadcast", {"channel": "big", "message_type": "note",
                                                                        "data": {"n": 2**63 - 1}})
    assert fine.status_code == 200


async def test_stats_and_connections_for_admins(server: Server, tokens: dict[str, str]) -> None:
    async with await opened(server, tokens["bob"], "mobile"):
        stats = (await get(server, tokens["admin"], "/api/v1/realtime/ws/stats")).json()
        for key in ("total_connections", "total_channels", "total_users", "connection_types", "channels",
                    "messages_sent", "messages_received", "dropped_slow_clients"):
            assert key in stats
        assert stats["total_connections"] >= 1 and stats["connection_types"]["mobile"] >= 1
        assert "events_published" in stats["event_bus"]
        (mine,) = await connections_of(server, tokens["admin"], "bob")
        assert mine["connection_type"] == "mobile" and "user:bob" in mine["channels"]
    assert (await get(server, tokens["alice"], "/api/v1/realtime/ws/stats")).status_code == 403
    health = (await get(server, tokens["alice"], "/api/v1/health")).json()["websocket"]
    assert health["status"] == "ok" and health["history"]["backend"] == "memory"


async def test_recovery_after_a_drop_replays_what_was_missed_without_gap_or_repeat(
        server: Server, tokens: dict[str, str]) -> None:
    channel, admin = f"r-{uuid.uuid4().hex[:8]}", tokens["admin"]
    async with await opened(server, admin, "admin") as ws:
        await command(ws, "subscription_confirmed", type="subscribe", channel=channel)
        for n in range(2):
            await broadcast(server, admin, channel, "note", {"n": n})
        seen = [await until(ws, on(channel)) for _ in range(2)]
    last = seen[-1]["seq"]
    for n in range(2, 5):  # while the client is away
        await broadcast(server, admin, channel, "note", {"n": n})
    async with await opened(server, admin, "admin") as ws:
        confirmed = await command(ws, "subscription_confirmed", type="subscribe", channel=channel, since=last)
        assert confirmed["data"]["recovered"] is True and confirmed["data"]["replayed"] == 3
        replayed = [await until(ws, on(channel)) for _ in range(3)]
        assert [(f["seq"], f["data"]["n"]) for f in replayed] == [(last + 1, 2), (last + 2, 3), (last + 3, 4)]
        await broadcast(server, admin, channel, "note", {"n": 5})
        assert (await until(ws, on(channel)))["seq"] == last + 4
        assert not [f for f in await drain(ws) if f["channel"] == channel]


async def test_a_gap_older_than_the_history_answers_recovered_false(server: Server, tokens: dict[str, str]) -> None:
    channel, admin = f"o-{uuid.uuid4().hex[:8]}", tokens["admin"]
    for n in range(7):  # the server keeps 5 per channel
        await broadcast(server, admin, channel, "note", {"n": n})
    async with await opened(server, admin, "admin") as ws:
        confirmed = await command(ws, "subscription_confirmed", type="subscribe", channel=channel, since=1)
        answer = confirmed["data"]
        assert (answer["recovered"], answer["replayed"], answer["seq"]) == (False, 0, 7)
        await broadcast(server, admin, channel, "note", {"n": 7})
        assert (await until(ws, on(channel)))["seq"] == 8  # live delivery goes on; the client reloads the rest
        reset = await command(ws, "subscription_confirmed", type="subscribe", channel=channel, since=99)
        assert reset["data"]["recovered"] is False


async def test_a_quiet_client_stays_connected_and_a_dead_one_is_removed(server: Server,
                                                                        tokens: dict[str, str]) -> None:
    dead = socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
    path = ws_url(server, tokens["bob"]).split("/", 3)[3]
    dead.sendall(f"GET /{path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    assert dead.recv(4096).startswith(b"HTTP/1.1 101")  # accepted; from now on it never answers a ping
    try:
        async with await opened(server, tokens["alice"]) as quiet:
            assert await connections_of(server, tokens["admin"], "bob")
            await asyncio.sleep(3.5)  # three ping intervals, three sweeps
            assert await connections_of(server, tokens["admin"], "bob") == []
            assert len(await connections_of(server, tokens["admin"], "alice")) >= 1
            await post(server, tokens["admin"], "/api/v1/realtime/ws/notify/alice", {"data": {"still": "here"}})
            assert (await until(quiet, on("user:alice", "notification")))["data"] == {"still": "here"}
    finally:
        dead.close()
