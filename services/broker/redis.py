"""Redis broker: local delivery at once, cross-process fan-out through Redis pub/sub in the background."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from collections import deque
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from services.broker.base import Broker, Message

logger = logging.getLogger(__name__)

BACKOFF_START = 0.1
BACKOFF_CAP = 5.0
BATCH_SIZE = 500  # PUBLISH commands per pipeline round trip
CONNECT_TIMEOUT = 1.0
SOCKET_TIMEOUT = 2.0
FLUSH_TIMEOUT = 1.0  # how long stop() lets the writer send what is still queued


class RedisBroker(Broker):
    """The `redis://` backend; keeps serving local subscribers while Redis is away."""

    backend = "redis"

    def __init__(self, url: str, *, queue_size: int = 1000, prefix: str = "liberation") -> None:
        super().__init__(queue_size=queue_size)
        self.url = url
        self.prefix = prefix
        self.origin = uuid.uuid4().hex  # tells our own messages apart when Redis echoes them back
        self._channel_prefix = f"{prefix}:"
        self._client: aioredis.Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._outbox: deque[tuple[str, str]] = deque()
        self._in_flight = 0  # messages the writer has taken from the outbox and not yet seen Redis accept
        self._wakeup = asyncio.Event()
        self._settled = asyncio.Event()  # the writer is idle with an empty outbox, or waiting out a failure
        self._ready = asyncio.Event()
        self._listening = False
        self._faults: dict[str, str] = {}  # part ("listener" / "writer") -> error text while it is failing
        self._outage = False
        self._remote_published = 0
        self._remote_received = 0
        self._remote_dropped = 0
        self._reconnects = 0

    async def start(self) -> None:
        if self._tasks:
            return
        self._stopped = False
        self._ready.clear()
        self._client = aioredis.Redis.from_url(
            self.url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=SOCKET_TIMEOUT,
            # Our loops own retrying with backoff and outage reporting; hidden client retries would mask both.
            retry=Retry(NoBackoff(), 0),
            client_name=self.client_name,
        )
        self._tasks = [
            asyncio.create_task(self._listen(self._client), name=f"broker-listen-{self.origin}"),
            asyncio.create_task(self._write(self._client), name=f"broker-write-{self.origin}"),
        ]
        # Wait for the first subscribe attempt so a message from another process right after start() is not
        # missed; an unreachable Redis answers this attempt with an error, which also ends the wait.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), CONNECT_TIMEOUT + SOCKET_TIMEOUT)

    async def stop(self) -> None:
        self._stopped = True
        self._close_subscriptions()
        if not self._tasks:
            return
        if not self._settled.is_set() and not self._faults:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._settled.wait(), FLUSH_TIMEOUT)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._listening = False
        self._in_flight = 0
        self._faults.clear()  # a later start() reports and logs its own outages
        self._outage = False
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def publish(self, channel: str, message: Message) -> None:
        self._published += 1
        self._deliver_local(channel, message)
        if self._stopped:
            return
        try:
            body = json.dumps(message, separators=(",", ":"), default=str)
        except (TypeError, ValueError):  # circular, or a non-string key; local subscribers already have it
            logger.warning("broker message on %r is not JSON-serialisable; delivered locally only", channel)
            self._remote_dropped += 1
            return
        # Built by hand so the message is serialised once; the origin is hex, so it needs no escaping.
        self._enqueue(self._channel_prefix + channel, f'{{"o":"{self.origin}","m":{body}}}')

    @property
    def client_name(self) -> str:
        """The name this broker's connections carry in Redis `CLIENT LIST`."""
        return re.sub(r"[^\w:.-]", "_", f"{self.prefix}-broker-{self.origin}")

    def health(self) -> dict[str, Any]:
        report = super().health()
        connected = self._listening and not self._faults
        error = "; ".join(f"{part}: {text}" for part, text in sorted(self._faults.items()))
        if not connected and not error:
            error = "stopped" if self._stopped else "not started" if not self._tasks else "connecting"
        report.update(
            status="ok" if connected else "degraded",
            connected=connected,
            error=error or None,
            pending=len(self._outbox) + self._in_flight,
            remote_published=self._remote_published,
            remote_received=self._remote_received,
            remote_dropped=self._remote_dropped,
            reconnects=self._reconnects,
        )
        return report

    def _enqueue(self, redis_channel: str, envelope: str) -> None:
        # While Redis is away the newest messages are the ones worth sending when it returns.
        if len(self._outbox) >= self.queue_size:
            self._outbox.popleft()
            self._remote_dropped += 1
        self._outbox.append((redis_channel, envelope))
        self._settled.clear()
        self._wakeup.set()

    def _requeue(self, batch: list[tuple[str, str]]) -> None:
        """Put a failed batch back in front of newer messages, dropping its oldest entries past the bound."""
        room = self.queue_size - len(self._outbox)
        keep = batch[len(batch) - room :] if room > 0 else []
        self._remote_dropped += len(batch) - len(keep)
        self._outbox.extendleft(reversed(keep))

    async def _write(self, client: aioredis.Redis) -> None:
        """Drain the outbox in pipelined batches of PUBLISH, retrying with backoff while Redis is away."""
        delay = BACKOFF_START
        fresh_retry = True
        while True:
            if not self._outbox:
                self._settled.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = [self._outbox.popleft() for _ in range(min(len(self._outbox), BATCH_SIZE))]
            self._in_flight = len(batch)
            try:
                async with client.pipeline(transaction=False) as pipe:
                    for redis_channel, envelope in batch:
                        pipe.publish(redis_channel, envelope)
                    await pipe.execute()
            except Exception as exc:
                self._in_flight = 0
                self._requeue(batch)
                if fresh_retry and "writer" not in self._faults:
                    # A pooled connection Redis closed while idle (restart, timeout) fails once; a new one may not.
                    fresh_retry = False
                    continue
                self._mark_down("writer", exc)
                self._settled.set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_CAP)
                continue
            self._in_flight = 0
            self._remote_published += len(batch)
            delay = BACKOFF_START
            fresh_retry = True
            self._mark_up("writer")

    async def _listen(self, client: aioredis.Redis) -> None:
        """Keep one pattern subscription open and fan incoming messages out to local subscribers."""
        delay = BACKOFF_START
        pattern = _glob_escape(self._channel_prefix) + "*"
        while True:
            pubsub = client.pubsub()
            try:
                await pubsub.psubscribe(pattern)
                await self._read(pubsub)
            except Exception as exc:
                self._listening = False
                self._mark_down("listener", exc)
                self._ready.set()
            finally:
                await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_CAP)

    async def _read(self, pubsub: PubSub) -> None:
        while True:
            response = await pubsub.get_message(timeout=None)
            if response is None:
                continue
            kind = response["type"]
            if kind == "pmessage":
                self._receive(response["channel"], response["data"])
            elif kind == "psubscribe":
                # Confirmed by Redis: from here on no message published elsewhere can slip past us.
                reconnected = bool(self._faults.get("listener"))
                self._listening = True
                self._mark_up("listener")
                self._ready.set()
                if reconnected:
                    self._reconnects += 1
                    self._reconnected()

    def _receive(self, redis_channel: bytes, data: bytes) -> None:
        try:
            envelope = json.loads(data)
            origin, message = envelope["o"], envelope["m"]
            channel = redis_channel.decode()[len(self._channel_prefix) :]
        except (ValueError, TypeError, KeyError, UnicodeDecodeError):
            logger.warning("broker ignored a malformed message on %r", redis_channel)
            return
        if origin == self.origin:
            return  # delivered locally when it was published
        self._remote_received += 1
        self._deliver_local(channel, message)

    def _mark_down(self, part: str, exc: BaseException) -> None:
        self._faults[part] = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if not self._outage:
            self._outage = True
            logger.warning(
                "broker lost Redis at %s (%s); delivering locally only and retrying",
                _redact(self.url),
                self._faults[part],
            )

    def _mark_up(self, part: str) -> None:
        self._faults.pop(part, None)
        if self._outage and not self._faults and self._listening:
            self._outage = False
            logger.info("broker reconnected to Redis at %s", _redact(self.url))


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def _redact(url: str) -> str:
    """The URL without its password, for logs."""
    return re.sub(r"//([^:@/]*):[^@/]*@", r"//\1:***@", url)
