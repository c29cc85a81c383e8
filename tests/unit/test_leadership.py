"""Leadership: exactly one process leads while Redis answers; it hands over on stop and on death; alone it acts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from services.leadership import RedisLeadership, SoleLeader, create_leadership

pytestmark = pytest.mark.redis


@pytest.fixture
async def contenders(redis_url: str, unique: str) -> AsyncIterator[Callable[..., RedisLeadership]]:
    made: list[RedisLeadership] = []

    def make(**options: float) -> RedisLeadership:
        made.append(RedisLeadership(redis_url, prefix=f"test-{unique}", **options))
        return made[-1]

    yield make
    for one in made:
        await one.stop()


async def test_of_several_processes_exactly_one_leads(contenders: Callable[..., RedisLeadership]) -> None:
    processes = [contenders() for _ in range(3)]
    for process in processes:
        await process.start()
    assert [p.leader for p in processes] == [True, False, False]
    for process in processes:  # renewing keeps it so
        await process.campaign()
    assert [p.describe()["role"] for p in processes] == ["leader", "follower", "follower"]
    assert all(p.describe()["status"] == "ok" for p in processes)


async def test_a_leader_that_stops_hands_over_at_once(contenders: Callable[..., RedisLeadership]) -> None:
    first, second = contenders(), contenders()
    await first.start()
    await second.start()
    await first.stop()
    assert await second.campaign() is True
    assert first.leader is False


async def test_a_leader_that_dies_is_replaced_once_its_lease_runs_out(
        contenders: Callable[..., RedisLeadership]) -> None:
    dead = contenders(lease_seconds=0.4, renew_every=60)  # never renews: as if its process had been killed
    heir = contenders(lease_seconds=0.4, renew_every=60)
    await dead.start()
    await heir.start()
    assert (dead.leader, heir.leader) == (True, False)
    await asyncio.sleep(0.5)
    assert await heir.campaign() is True
    assert await dead.campaign() is False  # it comes back as a follower: the lease is not its own any more


async def test_a_stalled_leader_stops_leading_when_its_lease_runs_out_not_at_its_next_renewal(
        contenders: Callable[..., RedisLeadership]) -> None:
    stalled = contenders(lease_seconds=0.4, renew_every=60)  # its renewal is far off, as if its loop were stuck
    heir = contenders(lease_seconds=0.4, renew_every=60)
    await stalled.start()
    await heir.start()
    await asyncio.sleep(0.5)
    assert await heir.campaign() is True
    assert (stalled.leader, heir.leader) == (False, True)  # never two leaders, even before the stalled one asks
    assert stalled.describe()["role"] == "follower"


async def test_a_leader_that_stalled_but_still_holds_the_key_renews_it(
        contenders: Callable[..., RedisLeadership]) -> None:
    leader = contenders(lease_seconds=0.4, renew_every=60)
    await leader.start()
    leader._held_until = 0  # its own clock says the lease ran out; Redis has not expired the key yet
    assert leader.leader is False
    assert await leader.campaign() is True  # the key is still its own: it extends it rather than waiting it out


async def test_renewal_keeps_the_lease_beyond_its_length(contenders: Callable[..., RedisLeadership]) -> None:
    holder = contenders(lease_seconds=1.0, renew_every=0.2)  # room for a renewal that runs late on a busy machine
    other = contenders(lease_seconds=1.0, renew_every=0.2)
    await holder.start()
    await other.start()
    await asyncio.sleep(1.6)
    assert (holder.leader, other.leader) == (True, False)


async def test_without_redis_a_process_acts_alone_and_says_so(unique: str) -> None:
    alone = RedisLeadership("redis://127.0.0.1:6390/0", prefix=f"test-{unique}")  # nothing listens there
    await alone.start()
    try:
        assert alone.leader is True
        assert alone.describe() | {"changes": 0, "for_seconds": 0} == {
            "status": "degraded", "role": "alone", "backend": "redis", "changes": 0, "for_seconds": 0}
    finally:
        await alone.stop()


def test_one_process_without_redis_always_leads() -> None:
    assert isinstance(create_leadership("memory://"), SoleLeader)
    assert create_leadership("memory://").leader is True
    assert isinstance(create_leadership("redis://127.0.0.1:6379/0"), RedisLeadership)
