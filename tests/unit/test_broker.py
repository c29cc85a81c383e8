"""The broker contract on both backends, plus Redis fan-out between processes, outage and recovery."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from services.broker import Broker, MemoryBroker, Message, Subscription, Unsubscribed, create_broker
from services.broker.redis import RedisBroker

MakeBroker = Callable[..., Awaitable[Broker]]
UNREACHABLE_REDIS = "redis://127.0.0.1:6390/0"  # nothing listens here


@pytest.fixture
async def make_broker(unique: str) -> AsyncIterator[Callable[..., Awaitable[Broker]]]:
    """Started brokers on one URL and prefix (like processes sharing a deployment), stopped at teardown."""
    brokers: list[Broker] = []

    async def make(url: str, queue_size: int = 100, prefix: str = f"test-{unique}") -> Broker:
        broker = create_broker(url, queue_size=queue_size, prefix=prefix)
        await broker.start()
        brokers.append(broker)
        return broker

    yield make
    for broker in brokers:
        await broker.stop()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def broker_url(request: pytest.FixtureRequest) -> str:
    return "memory://" if request.param == "memory" else str(request.getfixturevalue("redis_url"))


@pytest.fixture
async def broker(make_broker: MakeBroker, broker_url: str) -> Broker:
    return await make_broker(broker_url)


def drain(subscription: Subscription) -> list[Message]:
    """Everything already queued, without waiting."""
    messages = []
    while not subscription._queue.empty():
        messages.append(subscription._queue.get_nowait())
    return messages


async def eventually(condition: Callable[[], bool], seconds: float = 3.0) -> None:
    """Poll `condition` (health is a snapshot, nothing signals it) until true, failing after `seconds`."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not true within {seconds} s")


# --- the contract, on every backend -----------------------------------------------------------------------------


async def test_a_subscriber_gets_every_message_in_publish_order(broker: Broker) -> None:
    async with broker.subscribe("events") as sub:
        for n in range(50):
            await broker.publish("events", {"n": n})
        assert [await sub.get(timeout=1) for _ in range(50)] == [{"n": n} for n in range(50)]


async def test_delivery_is_done_when_publish_returns(broker: Broker) -> None:
    async with broker.subscribe("events") as sub:
        await broker.publish("events", {"n": 1})
        assert drain(sub) == [{"n": 1}]


async def test_every_subscriber_gets_its_own_copy_of_the_stream(broker: Broker) -> None:
    async with broker.subscribe("events") as first, broker.subscribe("events") as second:
        await broker.publish("events", {"n": 1})
        await broker.publish("events", {"n": 2})
        assert drain(first) == drain(second) == [{"n": 1}, {"n": 2}]


async def test_channels_are_isolated(broker: Broker) -> None:
    async with broker.subscribe("resources") as resources, broker.subscribe("truth") as truth:
        await broker.publish("resources", {"amount": 800})
        assert drain(resources) == [{"amount": 800}]
        assert drain(truth) == []
        with pytest.raises(TimeoutError):
            await truth.get(timeout=0.01)


async def test_leaving_the_context_unsubscribes(broker: Broker) -> None:
    async with broker.subscribe("events") as sub:
        assert broker.health()["subscribers"] == 1
    assert broker.health()["subscribers"] == 0
    delivered = broker.health()["delivered"]
    await broker.publish("events", {"n": 1})
    assert broker.health()["delivered"] == delivered
    with pytest.raises(Unsubscribed):
        await sub.get(timeout=1)


async def test_a_listener_is_called_on_delivery_until_removed(broker: Broker) -> None:
    calls: list[tuple[str, Message]] = []
    remove = broker.add_listener("events", lambda channel, message: calls.append((channel, message)))
    await broker.publish("events", {"n": 1})
    await broker.publish("other", {"n": 2})
    assert calls == [("events", {"n": 1})]
    remove()
    remove()  # removing twice is harmless
    await broker.publish("events", {"n": 3})
    assert calls == [("events", {"n": 1})]
    assert broker.health()["subscribers"] == 0


async def test_a_raising_listener_is_logged_and_does_not_stop_delivery(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(channel: str, message: Message) -> None:
        raise RuntimeError("listener bug")

    calls: list[Message] = []
    broker.add_listener("events", broken)
    broker.add_listener("events", lambda channel, message: calls.append(message))
    async with broker.subscribe("events") as sub:
        with caplog.at_level(logging.WARNING, logger="services.broker"):
            await broker.publish("events", {"n": 1})
        assert drain(sub) == [{"n": 1}]
    assert calls == [{"n": 1}]
    failures = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(failures) == 1
    assert failures[0].exc_info is not None and "listener bug" in str(failures[0].exc_info[1])


async def test_a_full_queue_drops_the_oldest_and_counts_it(make_broker: MakeBroker, broker_url: str) -> None:
    broker = await make_broker(broker_url, queue_size=3)
    async with broker.subscribe("events") as slow, broker.subscribe("events") as fast:
        for n in range(5):
            await broker.publish("events", {"n": n})  # never waits for the slow reader
            if n == 1:
                assert drain(fast) == [{"n": 0}, {"n": 1}]
        assert drain(slow) == [{"n": 2}, {"n": 3}, {"n": 4}]
        assert drain(fast) == [{"n": 2}, {"n": 3}, {"n": 4}]
        assert (slow.dropped, fast.dropped) == (2, 0)
        assert broker.health()["dropped"] == 2


async def test_health_reports_the_backend_and_its_counters(broker: Broker, broker_url: str) -> None:
    remove = broker.add_listener("events", lambda channel, message: None)
    async with broker.subscribe("events"):
        await broker.publish("events", {"n": 1})
        health = broker.health()
    remove()
    assert health["backend"] == ("memory" if broker_url == "memory://" else "redis")
    assert health["status"] == "ok" and broker.healthy
    assert health["connected"] is True
    assert health["error"] is None
    assert (health["published"], health["delivered"], health["dropped"], health["subscribers"]) == (1, 2, 0, 2)


async def test_stop_ends_iteration_and_is_idempotent(broker: Broker) -> None:
    async with broker.subscribe("events") as sub:

        async def consume() -> list[Message]:
            return [message async for message in sub]

        consumer = asyncio.create_task(consume())
        await broker.publish("events", {"n": 1})
        await asyncio.sleep(0)
        await broker.stop()
        await broker.stop()
        assert await asyncio.wait_for(consumer, 1) == [{"n": 1}]


def test_the_url_chooses_the_backend() -> None:
    assert isinstance(create_broker(""), MemoryBroker)
    assert isinstance(create_broker("memory://"), MemoryBroker)
    redis_broker = create_broker("redis://127.0.0.1:6379/0")  # no I/O before start()
    assert redis_broker.health()["backend"] == "redis"
    assert redis_broker.health()["error"] == "not started"
    assert not redis_broker.healthy
    with pytest.raises(ValueError, match="unsupported broker URL"):
        create_broker("kafka://localhost")


# --- Redis: several processes, outage, recovery --------------------------------------------------------------------


async def make_redis(make_broker: MakeBroker, url: str, **options: Any) -> RedisBroker:
    broker = await make_broker(url, **options)
    assert isinstance(broker, RedisBroker)
    return broker


async def kill_connections(redis_url: str, broker: RedisBroker, kind: str) -> int:
    """Make Redis drop `broker`'s connections of one kind ("pubsub" or "normal"), as a restart or failover would."""
    import redis.asyncio as aioredis

    admin = aioredis.Redis.from_url(redis_url)
    try:
        ids = [c["id"] for c in await admin.client_list(_type=kind) if c["name"] == broker.client_name]
        for client_id in ids:
            await admin.client_kill_filter(_id=client_id)
        return len(ids)
    finally:
        await admin.aclose()


@pytest.mark.redis
async def test_a_message_reaches_every_process_exactly_once(make_broker: MakeBroker, redis_url: str) -> None:
    one, two = await make_broker(redis_url), await make_broker(redis_url)
    heard: list[tuple[str, Message]] = []
    two.add_listener("events", lambda channel, message: heard.append((channel, message)))
    async with one.subscribe("events") as at_one, two.subscribe("events") as at_two:
        await one.publish("events", {"n": 1, "text": "ünïcode"})
        assert await at_two.get(timeout=2) == {"n": 1, "text": "ünïcode"}
        # Redis keeps publish order, so once `two`'s reply reaches `one`, any echo of message 1 would have too.
        await two.publish("events", {"n": 2})
        assert await at_one.get(timeout=2) == {"n": 1, "text": "ünïcode"}
        assert await at_one.get(timeout=2) == {"n": 2}
        await one.publish("events", {"n": 3})
        assert await at_two.get(timeout=2) == {"n": 2}
        assert await at_two.get(timeout=2) == {"n": 3}
        assert drain(at_one) == [{"n": 3}]
        assert drain(at_two) == []
    assert heard == [("events", {"n": 1, "text": "ünïcode"}), ("events", {"n": 2}), ("events", {"n": 3})]
    assert (one.health()["remote_received"], two.health()["remote_received"]) == (1, 2)


@pytest.mark.redis
async def test_a_different_prefix_is_a_different_deployment(
    make_broker: MakeBroker, redis_url: str, unique: str
) -> None:
    ours, also_ours = await make_broker(redis_url), await make_broker(redis_url)
    theirs = await make_broker(redis_url, prefix=f"test-{unique}-other")
    async with ours.subscribe("events") as sub:
        await theirs.publish("events", {"from": "elsewhere"})
        await theirs.stop()  # flushes, so their message is in Redis before ours below
        await also_ours.publish("events", {"from": "us"})
        assert await sub.get(timeout=2) == {"from": "us"}
        assert drain(sub) == []


@pytest.mark.redis
async def test_an_unreachable_redis_degrades_to_local_delivery(
    make_broker: MakeBroker, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="services.broker"):
        async with asyncio.timeout(2):  # start() does not fail or hang
            broker = await make_redis(make_broker, UNREACHABLE_REDIS, queue_size=2)
        assert broker.health()["status"] == "degraded"
        async with broker.subscribe("events") as sub:
            for n in range(5):
                await broker.publish("events", {"n": n})
            assert drain(sub) == [{"n": 3}, {"n": 4}]
        await eventually(lambda: "writer" in str(broker.health()["error"]))
        await asyncio.sleep(0.4)  # retries at 0.1 s, 0.2 s ... add no further warnings
    health = broker.health()
    assert health["status"] == "degraded" and not broker.healthy
    assert health["connected"] is False
    assert "listener" in health["error"] and "Connect" in health["error"]
    assert (health["published"], health["pending"], health["remote_dropped"]) == (5, 2, 3)
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    async with asyncio.timeout(1):
        await broker.stop()


@pytest.mark.redis
async def test_delivery_resumes_after_redis_drops_the_subscription(
    make_broker: MakeBroker, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    one, two = await make_redis(make_broker, redis_url), await make_redis(make_broker, redis_url)
    with caplog.at_level(logging.INFO, logger="services.broker"):
        assert await kill_connections(redis_url, two, "pubsub") == 1
        await eventually(lambda: two.health()["reconnects"] == 1 and two.healthy)
    async with two.subscribe("events") as sub:
        await one.publish("events", {"after": "outage"})
        assert await sub.get(timeout=2) == {"after": "outage"}
    logged = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in logged] == [logging.WARNING, logging.INFO]
    assert "lost Redis" in logged[0][1] and "reconnected" in logged[1][1]
    assert two.health()["error"] is None


@pytest.mark.redis
async def test_a_dropped_publishing_connection_loses_no_message(
    make_broker: MakeBroker, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    one, two = await make_redis(make_broker, redis_url), await make_redis(make_broker, redis_url)
    async with two.subscribe("events") as sub:
        await one.publish("events", {"n": 1})
        assert await sub.get(timeout=2) == {"n": 1}
        with caplog.at_level(logging.INFO, logger="services.broker"):
            assert await kill_connections(redis_url, one, "normal") == 1
            await one.publish("events", {"n": 2})
            assert await sub.get(timeout=2) == {"n": 2}
            await eventually(lambda: one.health()["remote_published"] == 2)
    assert one.healthy
    assert caplog.records == []  # a stale connection is replaced at once, not reported as an outage
