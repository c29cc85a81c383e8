"""Deliveries are never lost in silence: a restarted numbering, a skipped gap, a backlog too large to replay and a
broker outage each tell the affected clients `recovered: false`; history is bounded in bytes."""

from __future__ import annotations

import pytest

from services.broker import MemoryBroker
from services.hub.history import MemoryHistory
from services.hub.sequencer import Sequencer
from tests.unit.hub.test_hub import broker as broker  # the fixture
from tests.unit.hub.test_hub import connect, started

pytestmark = pytest.mark.reliability


def test_a_new_epoch_starts_the_channel_afresh_instead_of_dropping_its_low_numbers() -> None:
    seq: Sequencer[str] = Sequencer()
    for n in range(1, 220):
        seq.push("user:alice", n, f"old-{n}", "epoch-a")
    released, restarted = seq.push("user:alice", 2, "new-2", "epoch-b")  # Redis came back empty; 1 was missed
    assert (released, restarted) == ([], True)  # held: 1 may still be on its way
    assert seq.push("user:alice", 3, "new-3", "epoch-b") == ([], False)
    assert seq.skip_gap("user:alice") == ["new-2", "new-3"]  # the gap timer gives up on 1, nothing is dropped
    assert seq.push("user:alice", 4, "new-4", "epoch-b") == (["new-4"], False)
    assert seq.push("user:alice", 4, "new-4", "epoch-b") == ([], False)  # a true duplicate still is one
    assert seq.duplicates == 1 and seq.epoch_changes == 1


def test_without_epochs_a_one_after_higher_numbers_is_still_a_restart() -> None:
    seq: Sequencer[str] = Sequencer()
    for n in range(1, 5):
        seq.push("c", n, str(n))
    assert seq.push("c", 1, "again") == (["again"], True)


async def test_a_restarted_numbering_tells_members_to_reload_and_keeps_delivering(broker: MemoryBroker) -> None:
    hub = await started(broker)
    client, task = await connect(hub)
    for n in range(1, 6):
        broker._deliver_local("resources", {"id": f"m{n}", "type": "event", "channel": "resources", "seq": n,
                                            "data": {"n": n}, "timestamp": "t", "epoch": "a"})
    for n in (1, 2):  # what another process numbers after Redis lost everything
        broker._deliver_local("resources", {"id": f"x{n}", "type": "event", "channel": "resources", "seq": n,
                                            "data": {"n": 100 + n}, "timestamp": "t", "epoch": "b"})
    await client.wait_for(lambda frames: len(client.of("event", "resources")) == 7)
    assert [f["data"]["n"] for f in client.of("event", "resources")] == [1, 2, 3, 4, 5, 101, 102]
    assert all("epoch" not in f for f in client.frames)  # the epoch travels between processes only
    [notice] = [f for f in client.of("subscription_confirmed") if f["data"].get("reason")]
    assert notice["data"]["channel"] == "resources" and notice["data"]["recovered"] is False
    health = await hub.health()
    assert health["status"] != "ok" and health["delivery"]["losses"]["restarted"] == 1
    client.inbox.put_nowait(None)
    await task


async def test_a_backlog_too_large_to_replay_answers_recovered_false_and_keeps_the_connection(
        broker: MemoryBroker) -> None:
    hub = await started(broker, MemoryHistory(1000, 300), send_queue=1000)
    for n in range(1000):
        await hub.deliver("mesh", "event", {"n": n, "blob": "x" * 60_000})
    client, task = await connect(hub)
    client.say(type="subscribe", channel="mesh", since=0)
    frames = await client.wait_for(lambda frames: any(f["data"].get("channel") == "mesh" and "recovered" in f["data"]
                                                      for f in frames))
    [answer] = [f for f in frames if f["data"].get("channel") == "mesh" and "recovered" in f["data"]]
    assert answer["data"]["recovered"] is False and answer["data"]["replayed"] == 0
    client.say(type="ping")
    await client.wait_for(lambda frames: bool(client.of("pong")))
    assert hub.get_stats()["dropped_slow_clients"] == 0
    client.inbox.put_nowait(None)
    await task


async def test_a_small_backlog_is_still_replayed(broker: MemoryBroker) -> None:
    hub = await started(broker)
    for n in range(1, 11):
        await hub.deliver("mesh", "event", {"n": n})
    client, task = await connect(hub)
    client.say(type="subscribe", channel="mesh", since=4)
    await client.wait_for(lambda frames: len(client.of("event", "mesh")) == 6)
    assert [f["data"]["n"] for f in client.of("event", "mesh")] == [5, 6, 7, 8, 9, 10]
    client.inbox.put_nowait(None)
    await task


async def test_history_keeps_to_its_byte_budget_dropping_the_oldest_first() -> None:
    history = MemoryHistory(1000, 300, max_bytes=100_000)
    for _ in range(100):
        await history.append("big", b'{"seq":', b',"data":"' + b"x" * 5_000 + b'"}')
    await history.append("small", b'{"seq":', b"}")
    assert history.bytes <= 100_000
    assert (await history.replay("small", 0)).recovered
    assert not (await history.replay("big", 0)).recovered  # its oldest entries went
    assert (await history.replay("big", 95)).recovered
    assert history.bytes == sum(len(p) for log in history._logs.values() for _, p in log.entries)
