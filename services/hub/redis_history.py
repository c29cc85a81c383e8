"""Channel numbering and recent history in Redis: every process agrees on `seq` and can replay any channel.

Numbering and storing happen in one Lua script, so a message's seq and its place in the history list are decided
atomically; the list therefore holds consecutive seqs and the entry for seq `s` is found by its distance from the
newest. Entries carry their time, so the age limit holds even when the list is not full.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.hub.history import HistoryUnavailable, Replay, decide, new_epoch
from services.hub.protocol import join_envelope

log = logging.getLogger(__name__)
T = TypeVar("T")

META_TTL = 7 * 24 * 3600  # an idle channel's numbering is forgotten after a week; its next message starts an epoch
RETRY_AFTER = 1.0  # after a failure, messages go out unnumbered for this long before Redis is tried again

_APPEND = """
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[7]
  redis.call('HSET', KEYS[1], 'epoch', epoch)
  redis.call('DEL', KEYS[2])
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
local size = tonumber(ARGV[4])
if size > 0 then
  local entry = ARGV[3] .. ' ' .. ARGV[1] .. seq .. ARGV[2]
  if redis.call('EXISTS', KEYS[2]) == 0 then
    redis.call('HSET', KEYS[1], 'bytes', 0)
  end
  redis.call('RPUSH', KEYS[2], entry)
  local bytes = redis.call('HINCRBY', KEYS[1], 'bytes', string.len(entry))
  local budget = tonumber(ARGV[8])
  local length = redis.call('LLEN', KEYS[2])
  while length > 1 and (length > size or bytes > budget) do
    local dropped = redis.call('LPOP', KEYS[2])
    bytes = redis.call('HINCRBY', KEYS[1], 'bytes', -string.len(dropped))
    length = length - 1
  end
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[5]))
end
return {seq, epoch}
"""

_REPLAY = """
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local missing = seq - tonumber(ARGV[1])
if missing <= 0 or missing > tonumber(ARGV[2]) then
  return {seq, epoch, {}}
end
return {seq, epoch, redis.call('LRANGE', KEYS[2], -missing, -1)}
"""


class RedisHistory:
    """The shared history; a Redis outage makes `append` raise HistoryUnavailable instead of waiting."""

    backend = "redis"

    def __init__(self, url: str, size: int, max_age: float, *, prefix: str = "liberation",
                 max_bytes: int = 16 * 1024 * 1024) -> None:
        self.url = url
        self.size = size
        self.max_bytes = max_bytes
        """Bytes of history per channel (the oldest entries go first past it)."""
        self.max_age = max_age
        self.prefix = f"{prefix}:ws"
        self._client: aioredis.Redis | None = None
        self._append: Any = None
        self._replay: Any = None
        self._down_until = 0.0
        self._error: str | None = None
        self.failures = 0

    async def start(self) -> None:
        if self._client is not None:
            return
        self._client = aioredis.Redis.from_url(self.url, socket_connect_timeout=1.0, socket_timeout=2.0,
                                               retry=Retry(NoBackoff(), 0))
        self._append = self._client.register_script(_APPEND)
        self._replay = self._client.register_script(_REPLAY)

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def append(self, channel: str, head: bytes, tail: bytes) -> tuple[int, str, bytes]:
        if self._append is None or time.monotonic() < self._down_until:
            raise HistoryUnavailable(self._error or "not started")
        args = [head, tail, int(time.time() * 1000), self.size, max(1, int(self.max_age * 1000)), META_TTL,
                new_epoch(), self.max_bytes]
        try:
            seq, epoch = await self._fresh_on_reset(lambda: self._append(keys=self._keys(channel), args=args))
        except RedisError as error:
            raise self._failed(error) from None
        self._error = None
        seq = int(seq)
        return seq, epoch.decode(), join_envelope(head, seq, tail)

    async def replay(self, channel: str, since: int, epoch: str | None = None) -> Replay:
        if self._replay is None:
            raise HistoryUnavailable("not started")
        try:
            seq, current_epoch, entries = await self._fresh_on_reset(
                lambda: self._replay(keys=self._keys(channel), args=[since, self.size]))
        except RedisError as error:
            raise self._failed(error) from None
        horizon = int((time.time() - self.max_age) * 1000)
        available: list[bytes] = []
        for entry in entries:
            stamp, _, payload = entry.partition(b" ")
            if int(stamp) >= horizon:
                available.append(payload)
            else:
                available.clear()  # older than the age limit: a gap the client cannot fill from here
        return decide(since, epoch, int(seq), current_epoch.decode() if current_epoch else None, available)

    async def position(self, channel: str) -> int:
        if self._client is None:
            raise HistoryUnavailable("not started")
        try:
            seq = await self._client.hget(self._keys(channel)[0], "seq")
        except RedisError as error:
            raise self._failed(error) from None
        return int(seq) if seq is not None else 0

    async def head(self, channel: str) -> tuple[int, str | None]:
        if self._client is None:
            raise HistoryUnavailable("not started")
        try:
            seq, epoch = await self._client.hmget(self._keys(channel)[0], ["seq", "epoch"])
        except RedisError as error:
            raise self._failed(error) from None
        if isinstance(epoch, bytes):
            epoch = epoch.decode()
        return (int(seq) if seq is not None else 0), epoch

    async def _fresh_on_reset(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run `call`; when it meets a connection a restarted Redis closed, drop every pooled connection (they
        are all stale) and try once more on a fresh one, instead of failing once per stale connection."""
        try:
            return await call()
        except (RedisConnectionError, RedisTimeoutError):
            if self._client is None:
                raise
            await self._client.connection_pool.disconnect()
            return await call()

    def prune(self) -> int:
        return 0  # Redis expires idle lists itself; trimming happens on every append

    def health(self) -> dict[str, Any]:
        healthy = self._error is None
        return {"backend": self.backend, "status": "ok" if healthy else "degraded", "error": self._error,
                "failures": self.failures}

    def _keys(self, channel: str) -> list[str]:
        return [f"{self.prefix}:m:{channel}", f"{self.prefix}:h:{channel}"]

    def _failed(self, error: RedisError) -> HistoryUnavailable:
        self.failures += 1
        if self._error is None:
            log.warning("WebSocket history lost Redis (%s); messages go out without seq until it returns", error)
        self._error = f"{type(error).__name__}: {error}"
        self._down_until = time.monotonic() + RETRY_AFTER
        return HistoryUnavailable(self._error)
