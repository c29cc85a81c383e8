"""The hub without a server: fake sockets on a memory broker, so interleavings can be forced exactly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest

from services.broker import MemoryBroker
from services.broker.base import Message
from services.events.bus import EventSystem
from services.hub.history import History, MemoryHistory, Replay
from services.hub.hub import HubConfig, WebSocketHub
from services.users import Principal

TOKENS = {"t-alice": Principal("alice", "user"), "t-admin": Principal("root", "admin")}


class FakeTransport:
    def __init__(self, client: FakeClient) -> None:
        self.client = client
        self.buffered = 0
        self.aborted = False

    def write(self, data: bytes) -> None:
        if self.aborted:
            raise RuntimeError("handler is closed")
        while data:  # one write may carry several frames
            length, header = data[1] & 0x7F, 2
            if length >= 126:
                header += 2 if length == 126 else 8
                length = int.from_bytes(data[2:header], "big")
            self.client.frames.append(orjson.loads(data[header:header + length]))
            data = data[header + length:]
        self.client.arrived.set()

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.aborted

    def abort(self) -> None:
        self.aborted = True
        self.client.inbox.put_nowait(None)


class FakeClient:
    """Both ends of an in-memory WebSocket: the hub's `Socket`, and what the client saw."""

    client = "fake:1"

    def __init__(self) -> None:
        self.transport = FakeTransport(self)
        self.inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self.frames: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()
        self.closed: tuple[int, str] | None = None

    async def receive(self) -> str | bytes | None:
        return await self.inbox.get()

    async def send_text(self, text: str) -> None:
        raise AssertionError("direct writes expected")

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)
        self.inbox.put_nowait(None)

    def unanswered_ping(self) -> float | None:
        return None

    def say(self, **command: Any) -> None:
        self.inbox.put_nowait(orjson.dumps(command).decode())

    async def wait_for(self, check: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
        async with asyncio.timeout(2):
            while not check(self.frames):
                self.arrived.clear()
                await self.arrived.wait()
        return self.frames

    def of(self, message_type: str, channel: str | None = None) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == message_type and (channel is None or f["channel"] == channel)]


async def authenticate(token: str) -> Principal | None:
    return TOKENS.get(token)


@pytest.fixture
async def broker() -> AsyncIterator[MemoryBroker]:
    broker = MemoryBroker()
    await broker.start()
    yield broker
    await broker.stop()


async def started(broker: MemoryBroker, history: History | None = None, **config: Any) -> WebSocketHub:
    hub = WebSocketHub(broker, history or MemoryHistory(100, 60), authenticate, config=HubConfig(**config))
    await hub.start()
    return hub


async def connect(hub: WebSocketHub, token: str = "t-alice",
                  kind: str = "dashboard") -> tuple[FakeClient, asyncio.Task[None]]:
    client = FakeClient()
    task = asyncio.create_task(hub.serve(client, token, kind))
    await client.wait_for(lambda frames: len(frames) >= 1 and frames[-1]["data"].get("channel") == "broadcast")
    return client, task


async def test_refusals_close_the_connection_with_a_code_and_reason(broker: MemoryBroker) -> None:
    hub = await started(broker, max_connections=1)
    for token, kind, code, words in [("t-alice", "spaceship", 1008, "connection_type"), (None, "dashboard", 1008,
                                     "missing token"), ("forged", "dashboard", 1008, "invalid"),
                                     ("t-alice", "admin", 1008, "admin")]:
        client = FakeClient()
        await hub.serve(client, token, kind)
        assert client.closed is not None and client.closed[0] == code and words in client.closed[1]
    first, task = await connect(hub)
    over = FakeClient()
    await hub.serve(over, "t-alice", "dashboard")
    assert over.closed is not None and over.closed[0] == 1013
    first.inbox.put_nowait(None)
    await task
    assert hub.get_stats()["total_connections"] == 0


async def test_a_message_reaches_a_connection_once_however_it_is_subscribed(broker: MemoryBroker) -> None:
    hub = await started(broker)
    client, task = await connect(hub)
    client.say(type="subscribe", channel="resources")  # a default channel, joined again
    client.say(type="subscribe", channel="resources")
    await client.wait_for(lambda frames: len([f for f in frames if f["data"].get("already_subscribed")]) == 2)
    message = await hub.deliver("resources", "event", {"n": 1})
    broker._deliver_local("resources", message)  # a broker delivering the same message twice
    await hub.deliver("resources", "event", {"n": 2})
    await client.wait_for(lambda frames: len(client.of("event")) >= 2)
    await hub.deliver("resources", "marker", {})
    await client.wait_for(lambda frames: len(client.of("marker")) == 1)
    assert [f["data"]["n"] for f in client.of("event")] == [1, 2]
    client.inbox.put_nowait(None)
    await task


class HeldHistory(MemoryHistory):
    """A history whose replies take until the test lets them go (as a slow Redis would)."""

    def __init__(self) -> None:
        super().__init__(100, 60)
        self.release = asyncio.Event()

    async def replay(self, channel: str, since: int, epoch: str | None = None) -> Replay:
        snapshot = await super().replay(channel, since, epoch)
        await self.release.wait()
        return snapshot


async def test_recovery_joins_the_replay_and_messages_sent_meanwhile_without_gap_or_repeat(
        broker: MemoryBroker) -> None:
    history = HeldHistory()
    hub = await started(broker, history)
    for n in range(1, 4):
        await hub.deliver("truth", "event", {"n": n})
    client, task = await connect(hub)
    client.say(type="subscribe", channel="truth", since=1)  # saw 1, missed 2 and 3
    await asyncio.sleep(0)
    await hub.deliver("truth", "event", {"n": 4})  # published while the replay is being read
    await hub.deliver("truth", "event", {"n": 5})
    history.release.set()
    frames = await client.wait_for(lambda frames: len([f for f in frames if f["type"] == "event"]) == 4)
    confirmation = next(f for f in frames if f["type"] == "subscription_confirmed" and f["data"]["channel"] == "truth")
    assert confirmation["data"]["recovered"] and confirmation["data"]["replayed"] == 2
    assert [(f["seq"], f["data"]["n"]) for f in client.of("event")] == [(2, 2), (3, 3), (4, 4), (5, 5)]
    assert frames.index(confirmation) < frames.index(client.of("event")[0])
    await hub.deliver("truth", "event", {"n": 6})
    await client.wait_for(lambda frames: len(client.of("event")) == 5)
    assert client.of("event")[-1]["seq"] == 6
    client.inbox.put_nowait(None)
    await task


async def test_recovering_a_channel_already_live_never_sends_older_after_newer(broker: MemoryBroker) -> None:
    hub = await started(broker)
    for n in range(1, 4):
        await hub.deliver("truth", "event", {"n": n})
    client, task = await connect(hub)
    client.say(type="subscribe", channel="truth")  # live from here on, without asking for the past
    await client.wait_for(lambda frames: any(f["type"] == "subscription_confirmed" and f["data"]["channel"] == "truth"
                                             for f in frames))
    for n in (4, 5):
        await hub.deliver("truth", "event", {"n": n})
    await client.wait_for(lambda frames: len(client.of("event")) == 2)

    client.say(type="subscribe", channel="truth", since=1)  # 2 and 3 could now only come after 4 and 5
    await client.wait_for(lambda frames: any(f["type"] == "subscription_confirmed" and f["data"]["recovered"] is False
                                             and f["data"]["replayed"] == 0 for f in frames))  # so it reloads
    client.say(type="subscribe", channel="truth", since=4)  # nothing older than what it has: in order, recovered
    await client.wait_for(lambda frames: any(f["type"] == "subscription_confirmed" and f["data"].get("recovered")
                                             and f["data"].get("seq") == 5 for f in frames))
    await hub.deliver("truth", "event", {"n": 6})
    await client.wait_for(lambda frames: len(client.of("event")) == 3)
    assert [f["seq"] for f in client.of("event")] == [4, 5, 6]
    client.inbox.put_nowait(None)
    await task


class ShuffledBroker(MemoryBroker):
    """Stands for Redis between two processes: holds messages and delivers them in an order the test picks."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[tuple[str, Message]] = []

    async def publish(self, channel: str, message: Message) -> None:
        self.held.append((channel, message))

    def deliver(self, order: list[int]) -> None:
        for index in order:
            self._deliver_local(*self.held[index])


async def test_a_process_fans_out_in_seq_order_whatever_order_messages_arrive_in() -> None:
    shared = MemoryHistory(100, 60)  # one numbering for both processes, as Redis provides
    publisher, receiver = ShuffledBroker(), ShuffledBroker()
    sender, hub = await started(publisher, shared), await started(receiver, shared)
    client, task = await connect(hub)
    for n in range(1, 5):
        await sender.deliver("broadcast", "note", {"n": n})
    receiver.held = publisher.held
    receiver.deliver([2, 0, 3, 0, 1])  # 3, 1, 4, 1 again, 2
    await client.wait_for(lambda frames: len(client.of("note")) >= 4)
    await sender.deliver("broadcast", "marker", {})
    receiver.deliver([4])
    await client.wait_for(lambda frames: len(client.of("marker")) == 1)
    assert [f["seq"] for f in client.of("note")] == [1, 2, 3, 4]
    client.inbox.put_nowait(None)
    await task


async def test_a_client_too_far_behind_is_dropped_and_counted_while_others_get_everything(
        broker: MemoryBroker) -> None:
    hub = await started(broker, send_queue=4)
    slow, slow_task = await connect(hub)
    fast, fast_task = await connect(hub)
    slow.transport.buffered = 10**6  # the slow client stopped reading long ago
    await hub.deliver("broadcast", "note", {"n": 1})
    await fast.wait_for(lambda frames: len(fast.of("note")) == 1)
    await slow_task
    assert slow.transport.aborted
    assert fast.of("note")[0]["data"]["n"] == 1
    assert hub.get_stats()["dropped_slow_clients"] == 1
    assert hub.get_stats()["total_connections"] == 1
    fast.inbox.put_nowait(None)
    await fast_task


async def test_events_go_out_once_on_their_channel(broker: MemoryBroker) -> None:
    events = EventSystem(None, broker)
    hub = WebSocketHub(broker, MemoryHistory(100, 60), authenticate, events)
    events.register_handler("*", hub.on_event)
    await hub.start()
    client, task = await connect(hub)
    await events.publish("resource.distributed", {"human_id": "alice", "amount": 800}, source="ledger")
    await events.publish("mesh.node.connected", {"node_id": "n1"})  # not a dashboard channel
    await hub.deliver("broadcast", "marker", {})
    await client.wait_for(lambda frames: len(client.of("marker")) == 1)
    (event,) = client.of("event")
    assert (event["channel"], event["data"]["type"], event["seq"]) == ("resources", "resource.distributed", 1)
    client.inbox.put_nowait(None)
    await task


async def test_the_sweep_removes_connections_whose_transport_is_gone(broker: MemoryBroker) -> None:
    hub = await started(broker)
    client, task = await connect(hub)
    client.transport.aborted = True  # gone without the hub hearing about it
    assert await hub.sweep() == 1
    assert hub.get_stats()["total_connections"] == 0
    await task


async def test_a_default_channel_recovers_when_the_client_asks_right_after_connecting(broker: MemoryBroker) -> None:
    hub = await started(broker)
    for n in range(1, 4):
        await hub.deliver("user:alice", "notification", {"n": n})
    client, task = await connect(hub)  # joined user:alice by default; saw 1 on its previous connection
    client.say(type="subscribe", channel="user:alice", since=1)
    await client.wait_for(lambda frames: len(client.of("notification")) == 2)
    await hub.deliver("user:alice", "notification", {"n": 4})
    await client.wait_for(lambda frames: len(client.of("notification")) == 3)
    assert [f["seq"] for f in client.of("notification")] == [2, 3, 4]
    client.inbox.put_nowait(None)
    await task


class QueuedClient(FakeClient):
    """A server that offers no transport: frames go through `send_text` from one writer task."""

    def __init__(self) -> None:
        super().__init__()
        self.transport = None  # type: ignore[assignment]

    async def send_text(self, text: str) -> None:
        await asyncio.sleep(0)  # a real send yields to the loop
        self.frames.append(orjson.loads(text))
        self.arrived.set()


async def test_without_a_transport_frames_go_through_a_bounded_queue_in_order(broker: MemoryBroker) -> None:
    hub = await started(broker, send_queue=50)
    client = QueuedClient()
    task = asyncio.create_task(hub.serve(client, "t-alice", "dashboard"))
    await client.wait_for(lambda frames: len(frames) == 7)  # established + six confirmations
    for n in range(20):
        await hub.deliver("broadcast", "note", {"n": n})
    await client.wait_for(lambda frames: len(client.of("note")) == 20)
    assert [f["seq"] for f in client.of("note")] == list(range(1, 21))
    assert hub.get_connections()[0]["write_mode"] == "queue"
    for n in range(60):  # more than the queue holds, with nothing written meanwhile
        await hub.deliver("broadcast", "burst", {"n": n})
    await task
    assert hub.get_stats()["dropped_slow_clients"] == 1
