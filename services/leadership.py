"""Which process acts for the whole deployment: alert rules, sweeps, pruning and dashboard pushes run there once.

With the in-process broker there is one process, and it leads. With Redis, processes hold a lease on one key
(`SET NX PX`, renewed by a compare-and-extend script), so exactly one process leads while Redis answers; when the
leader stops it lets go, and when it dies another process takes over once the lease runs out.

A leader also keeps its own clock on the lease: once the lease it last renewed has run out (its process stalled past
a renewal), it stops leading at once rather than at its next renewal, when another process may already lead.

If Redis cannot be reached, a process cannot know whether another one leads. It then acts on its own (fails open):
an alert evaluated twice beats an alert never evaluated, and during such an outage pushes reach local clients only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import redis.asyncio as aioredis

log = logging.getLogger(__name__)

LEASE_SECONDS = 15.0

# Extend the lease only while it is still ours; answers 1 when extended, 0 when someone else holds it.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class Leadership(Protocol):
    @property
    def leader(self) -> bool: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def describe(self) -> dict[str, Any]: ...


def create_leadership(broker_url: str, *, prefix: str = "liberation",
                      lease_seconds: float = LEASE_SECONDS) -> Leadership:
    """Shared with the broker's URL: a lease in Redis for `redis://`, sole leadership in one process otherwise."""
    if broker_url.partition("://")[0].lower() in ("redis", "rediss"):
        return RedisLeadership(broker_url, prefix=prefix, lease_seconds=lease_seconds)
    return SoleLeader()


class SoleLeader:
    """One process and nobody to share with: it always leads."""

    leader = True

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def describe(self) -> dict[str, Any]:
        return {"status": "ok", "role": "leader", "backend": "memory"}


class RedisLeadership:
    """A lease on `<prefix>:leader` in Redis, tried and renewed every `renew_every` seconds by one task."""

    def __init__(self, url: str, *, prefix: str = "liberation", lease_seconds: float = LEASE_SECONDS,
                 renew_every: float | None = None, identity: str | None = None) -> None:
        self.url = url
        self.key = f"{prefix}:leader"
        self.identity = identity or uuid.uuid4().hex
        self.lease_ms = int(lease_seconds * 1000)
        self.renew_every = renew_every if renew_every is not None else lease_seconds / 3
        self._client: aioredis.Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._holds = False
        self._held_until = 0.0  # monotonic time when the lease last taken or renewed runs out, counted from the ask
        self._reachable = True
        self._changes = 0
        self._since = time.monotonic()

    @property
    def leader(self) -> bool:
        """True while this process holds an unexpired lease, or while Redis cannot be asked (see the module doc)."""
        if self._holds and time.monotonic() >= self._held_until:
            self._set(holds=False, reachable=True)  # ran out unrenewed: someone else may lead by now
        return self._holds or not self._reachable

    async def start(self) -> None:
        if self._task is not None:
            return
        import redis.asyncio as aioredis  # here, so a memory-only deployment never loads the redis client
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self._client = aioredis.Redis.from_url(self.url, socket_connect_timeout=2.0, socket_timeout=2.0,
                                               retry=Retry(NoBackoff(), 0))
        await self.campaign()  # know the answer before the first job runs
        self._task = asyncio.create_task(self._run(), name="leadership")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            with contextlib.suppress(Exception):  # hand over at once rather than after the lease runs out
                await self._client.eval(_RELEASE, 1, self.key, self.identity)  # only if it is still ours
            self._set(holds=False, reachable=True)
            await self._client.aclose()
            self._client = None

    async def campaign(self) -> bool:
        """Renew the lease if it is ours, else take it if it is free; answers whether this process leads."""
        assert self._client is not None, "start() first"
        from redis.exceptions import RedisError

        asked = time.monotonic()  # the lease runs from no later than this, whatever the round trip took
        try:
            # Extend the lease if it is still ours (also after this process stalled and stopped counting on it),
            # else take it if it is free.
            renewed = await self._client.eval(_RENEW, 1, self.key, self.identity, str(self.lease_ms))
            holds = bool(renewed) or bool(await self._client.set(self.key, self.identity, nx=True,
                                                                 px=self.lease_ms))
        except (RedisError, OSError) as exc:
            if self._reachable:
                log.warning("leadership: Redis unreachable (%s); acting alone until it answers", exc)
            self._set(holds=False, reachable=False)
            return self.leader
        if not self._reachable:
            log.info("leadership: Redis answers again")
        if holds:
            self._held_until = asked + self.lease_ms / 1000
        self._set(holds=holds, reachable=True)
        return self.leader

    def describe(self) -> dict[str, Any]:
        role = "leader" if self.leader and self._reachable else "follower" if self._reachable else "alone"
        return {"status": "ok" if self._reachable else "degraded", "role": role, "backend": "redis",
                "changes": self._changes, "for_seconds": round(time.monotonic() - self._since, 1)}

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.renew_every)
            await self.campaign()

    def _set(self, *, holds: bool, reachable: bool) -> None:
        was = self._holds or not self._reachable, self._holds
        self._holds, self._reachable = holds, reachable
        if (holds or not reachable, holds) != was:
            self._changes += 1
            self._since = time.monotonic()
            if holds != was[1]:
                log.info("leadership: this process %s", "leads" if holds else "follows")
