"""Channel numbering and recovery history, in memory (injected clock) and in Redis (a unique key prefix)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import orjson
import pytest

from services.delivery import envelope
from services.hub.history import History, MemoryHistory
from services.hub.protocol import split_envelope
from services.hub.redis_history import RedisHistory
from tests.clocks import SecondsClock


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def history(request: pytest.FixtureRequest, unique: str) -> AsyncIterator[History]:
    """A history of 5 entries younger than 60 s."""
    store: History
    if request.param == "memory":
        store = MemoryHistory(5, 60)
    else:
        store = RedisHistory(request.getfixturevalue("redis_url"), 5, 60, prefix=f"test-{unique}")
    await store.start()
    yield store
    await store.stop()


async def append(store: History, channel: str, n: int) -> tuple[int, str, bytes]:
    head, tail = split_envelope(envelope(channel, "note", {"n": n}))
    return await store.append(channel, head, tail)


def numbers(payloads: tuple[bytes, ...]) -> list[int]:
    return [orjson.loads(payload)["data"]["n"] for payload in payloads]


async def test_messages_are_numbered_from_one_per_channel(history: History) -> None:
    assert [(await append(history, "a", n))[0] for n in range(3)] == [1, 2, 3]
    assert (await append(history, "b", 0))[0] == 1
    assert await history.position("a") == 3
    assert await history.position("never-used") == 0


async def test_the_stored_envelope_carries_its_seq(history: History) -> None:
    seq, _, payload = await append(history, "a", 7)
    message = orjson.loads(payload)
    assert (message["seq"], message["channel"], message["data"]) == (seq, "a", {"n": 7})


async def test_replay_returns_what_followed_since_in_order(history: History) -> None:
    for n in range(4):
        _, epoch, _ = await append(history, "a", n)
    replay = await history.replay("a", 1, epoch)
    assert replay.recovered
    assert (replay.seq, replay.epoch) == (4, epoch)
    assert numbers(replay.payloads) == [1, 2, 3]
    nothing_missed = await history.replay("a", 4)
    assert nothing_missed.recovered and nothing_missed.payloads == ()


async def test_a_gap_older_than_the_history_is_not_recovered(history: History) -> None:
    for n in range(8):  # the history keeps the newest 5: seqs 4..8
        await append(history, "a", n)
    assert (await history.replay("a", 3)).recovered
    too_old = await history.replay("a", 2)
    assert not too_old.recovered
    assert too_old.payloads == ()
    assert too_old.seq == 8


async def test_a_client_from_another_numbering_is_not_recovered(history: History) -> None:
    await append(history, "a", 0)
    assert not (await history.replay("a", 0, "some-other-epoch")).recovered
    assert not (await history.replay("a", 9)).recovered  # saw numbers the channel has not reached: it restarted
    assert (await history.replay("new", 0)).recovered
    assert not (await history.replay("new", 3)).recovered


async def test_memory_history_forgets_by_age() -> None:
    clock = SecondsClock(1000.0)
    store = MemoryHistory(100, max_age=60, clock=clock)
    await append(store, "a", 0)
    clock.now += 30
    await append(store, "a", 1)
    assert numbers((await store.replay("a", 0)).payloads) == [0, 1]
    clock.now += 40  # the first is 70 s old
    assert not (await store.replay("a", 0)).recovered
    assert numbers((await store.replay("a", 1)).payloads) == [1]
    clock.now += 40
    assert store.prune() == 1
    assert (await store.replay("a", 2)).recovered  # nothing missed, nothing kept


async def test_memory_history_is_bounded_in_channels() -> None:
    store = MemoryHistory(10, 60, max_channels=3, max_logged_channels=2)
    _, first_epoch, _ = await append(store, "a", 0)
    for channel in ("b", "c"):
        await append(store, channel, 0)
    assert not (await store.replay("a", 0)).recovered  # its entries gave way to newer channels
    assert (await store.replay("a", 1)).recovered  # but its numbering is remembered
    await append(store, "d", 0)  # a fourth channel: "a" is forgotten altogether
    seq, epoch, _ = await append(store, "a", 1)
    assert (seq, epoch != first_epoch) == (1, True)


@pytest.mark.redis
async def test_redis_history_is_shared_and_ages_out(redis_url: str, unique: str) -> None:
    one = RedisHistory(redis_url, 5, 0.3, prefix=f"test-{unique}")
    two = RedisHistory(redis_url, 5, 0.3, prefix=f"test-{unique}")
    await one.start()
    await two.start()
    try:
        await append(one, "a", 0)
        seq, _, _ = await append(two, "a", 1)
        assert seq == 2
        assert numbers((await one.replay("a", 0)).payloads) == [0, 1]
        time.sleep(0.35)  # noqa: ASYNC251 - Redis keeps time itself; nothing on this loop needs to run
        assert not (await two.replay("a", 0)).recovered
        assert (await two.replay("a", 2)).recovered
    finally:
        await one.stop()
        await two.stop()
