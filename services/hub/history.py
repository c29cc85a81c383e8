"""Per-channel sequence numbers and bounded recent history, so a reconnecting client can replay what it missed.

Each channel has an `epoch` (a random token, new whenever its numbering restarts) and a `seq` that grows by one
per message. History keeps the last `size` messages that are younger than `max_age` seconds. In memory it lives in
this process; `ws_history_redis.RedisHistory` keeps it in Redis so every process numbers and replays alike.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from services.hub.protocol import join_envelope


@dataclass(slots=True, frozen=True)
class Replay:
    """The answer to "what came after `since`": `recovered` is False when the gap can no longer be filled."""

    recovered: bool
    seq: int
    """The channel's latest seq."""
    epoch: str | None
    payloads: tuple[bytes, ...] = ()
    """The serialised envelopes after `since`, oldest first (empty when not recovered)."""


class HistoryUnavailable(Exception):
    """The shared history cannot be reached; the message goes out without a seq."""


class History(Protocol):
    backend: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    async def append(self, channel: str, head: bytes, tail: bytes) -> tuple[int, str, bytes]:
        """Number the next message of `channel` and keep it; returns seq, epoch and the serialised envelope."""
        ...

    async def replay(self, channel: str, since: int, epoch: str | None = None) -> Replay: ...

    async def position(self, channel: str) -> int:
        """The channel's latest seq (0 before its first message)."""
        ...

    async def head(self, channel: str) -> tuple[int, str | None]:
        """The channel's latest seq and its epoch (0 and None before its first message)."""
        ...

    def prune(self) -> int:
        """Drop expired entries now; how many were dropped."""
        ...

    def health(self) -> dict[str, Any]: ...


def new_epoch() -> str:
    return uuid.uuid4().hex[:12]


def decide(since: int, epoch: str | None, current: int, current_epoch: str | None,
           available: list[bytes]) -> Replay:
    """The replay for a client that saw up to `since`, given the `available` newest entries (oldest first)."""
    if epoch is not None and current_epoch is not None and epoch != current_epoch:
        return Replay(False, current, current_epoch)  # numbering restarted since the client last listened
    if since > current:
        return Replay(False, current, current_epoch)  # the client saw numbers this channel has not reached: a reset
    missing = current - since
    if len(available) < missing:
        return Replay(False, current, current_epoch)
    return Replay(True, current, current_epoch, tuple(available[len(available) - missing:]) if missing else ())


class _Log:
    __slots__ = ("entries", "epoch", "seq")

    def __init__(self, size: int) -> None:
        self.epoch = new_epoch()
        self.seq = 0
        self.entries: deque[tuple[float, bytes]] = deque(maxlen=size or 1)


class MemoryHistory:
    """History for one process. Bounded four ways: entries per channel, their age, channels remembered, and the
    bytes of every entry together (the oldest entries of the least recently used channels go first)."""

    backend = "memory"

    def __init__(self, size: int, max_age: float, *, clock: Callable[[], float] = time.monotonic,
                 max_channels: int = 100_000, max_logged_channels: int = 1000,
                 max_bytes: int = 64 * 1024 * 1024) -> None:
        self.size = size
        self.max_age = max_age
        self.max_bytes = max_bytes
        self.bytes = 0
        self.clock = clock
        self.max_channels = max_channels
        self.max_logged_channels = max_logged_channels
        self._logs: OrderedDict[str, _Log] = OrderedDict()
        # Channels that hold entries, least recently appended first: the entries of the oldest are dropped first.
        self._logged: OrderedDict[str, None] = OrderedDict()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def append(self, channel: str, head: bytes, tail: bytes) -> tuple[int, str, bytes]:
        log = self._logs.get(channel)
        if log is None:
            log = self._logs[channel] = _Log(self.size)
            if len(self._logs) > self.max_channels:
                forgotten, old = self._logs.popitem(last=False)
                self._logged.pop(forgotten, None)
                self.bytes -= sum(len(payload) for _, payload in old.entries)
        else:
            self._logs.move_to_end(channel)
        log.seq += 1
        payload = join_envelope(head, log.seq, tail)
        if self.size:
            now = self.clock()
            if len(log.entries) == log.entries.maxlen:
                self.bytes -= len(log.entries[0][1])  # about to fall off the front
            log.entries.append((now, payload))
            self.bytes += len(payload)
            self._expire(log, now)
            self._logged[channel] = None
            self._logged.move_to_end(channel)
            if len(self._logged) > self.max_logged_channels:
                oldest, _ = self._logged.popitem(last=False)
                self._clear(self._logs[oldest])
            self._within_budget()
        return log.seq, log.epoch, payload

    async def replay(self, channel: str, since: int, epoch: str | None = None) -> Replay:
        log = self._logs.get(channel)
        if log is None:
            return decide(since, epoch, 0, None, [])
        self._expire(log, self.clock())
        missing = log.seq - since
        available = [payload for _, payload in log.entries][-missing:] if 0 < missing <= len(log.entries) else []
        return decide(since, epoch, log.seq, log.epoch, available)

    async def position(self, channel: str) -> int:
        log = self._logs.get(channel)
        return log.seq if log is not None else 0

    async def head(self, channel: str) -> tuple[int, str | None]:
        log = self._logs.get(channel)
        return (log.seq, log.epoch) if log is not None else (0, None)

    def prune(self) -> int:
        now = self.clock()
        dropped = 0
        for channel in list(self._logged):
            log = self._logs[channel]
            dropped += self._expire(log, now)
            if not log.entries:
                del self._logged[channel]
        return dropped

    def health(self) -> dict[str, Any]:
        return {"backend": self.backend, "status": "ok", "channels": len(self._logs),
                "channels_with_history": len(self._logged), "bytes": self.bytes, "max_bytes": self.max_bytes}

    def _expire(self, log: _Log, now: float) -> int:
        entries, horizon, dropped = log.entries, now - self.max_age, 0
        while entries and entries[0][0] < horizon:
            self.bytes -= len(entries.popleft()[1])
            dropped += 1
        return dropped

    def _clear(self, log: _Log) -> None:
        self.bytes -= sum(len(payload) for _, payload in log.entries)
        log.entries.clear()

    def _within_budget(self) -> None:
        """Drop the oldest entries of the least recently appended channels until the bytes fit."""
        while self.bytes > self.max_bytes and self._logged:
            channel = next(iter(self._logged))
            entries = self._logs[channel].entries
            while entries and self.bytes > self.max_bytes:
                self.bytes -= len(entries.popleft()[1])
            if not entries:
                del self._logged[channel]
