"""The replicas of a deployment: each reports its own figures on the broker, every one keeps the table, and they
all check that they share one secret key.

A replica's report (`ReplicaReport`) carries what only it knows: its role, its clients, its process's CPU and
memory. The leader sums and averages these into the dashboard; the admin panel lists them."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from services.broker import Broker

log = logging.getLogger(__name__)

CHANNEL = "#replicas"
"""Broker channel of the reports ('#' is outside the hub's channel names: no client can publish there)."""
MAX_REPLICAS = 256
FINGERPRINT_TTL = 120
"""Seconds the deployment's key fingerprint lives in Redis unless a running replica renews it."""


@dataclass(slots=True)
class ReplicaReport:
    name: str
    role: str  # leader / follower / sole (no Redis: the only process)
    started_at: float
    websocket_clients: int = 0
    browser_views: int = 0
    cpu_percent: float | None = None
    memory_percent: float | None = None
    rss_bytes: int | None = None
    api_p50_ms: float | None = None
    sent_at: float = 0.0

    def as_message(self) -> dict[str, Any]:
        return asdict(self)


class Replicas:
    """The latest report of every replica that reported within `stale_after` seconds (this one included)."""

    def __init__(self, broker: Broker, name: str, *, stale_after: float = 30.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.broker = broker
        self.name = name
        self.stale_after = stale_after
        self.clock = clock
        self.started_at = clock()
        self._reports: dict[str, ReplicaReport] = {}
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = self.broker.add_listener(CHANNEL, self._on_report)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def report(self, **figures: Any) -> ReplicaReport:
        """Tell every replica (this one included) this replica's current figures."""
        report = ReplicaReport(self.name, started_at=self.started_at, sent_at=self.clock(), **figures)
        self._reports[self.name] = report  # known here at once, whatever the broker does
        await self.broker.publish(CHANNEL, report.as_message())
        return report

    def current(self) -> list[ReplicaReport]:
        """Fresh reports, by name; replicas silent for `stale_after` seconds are gone."""
        horizon = self.clock() - self.stale_after
        for name in [n for n, r in self._reports.items() if r.sent_at < horizon]:
            del self._reports[name]
        return sorted(self._reports.values(), key=lambda r: r.name)

    def _on_report(self, _channel: str, message: dict[str, Any]) -> None:
        try:
            report = ReplicaReport(**{key: message[key] for key in ReplicaReport.__slots__ if key in message})
        except (TypeError, KeyError):
            log.warning("ignoring a malformed replica report")
            return
        if report.name not in self._reports and len(self._reports) >= MAX_REPLICAS:
            return
        self._reports[report.name] = report


def deployment_figures(reports: list[ReplicaReport]) -> dict[str, float]:
    """What the deployment as a whole shows: clients summed over the replicas, CPU and memory averaged."""
    figures: dict[str, float] = {
        "websocket_connections": float(sum(r.websocket_clients for r in reports)),
        "browser_views": float(sum(r.browser_views for r in reports)),
    }
    for key, attribute in (("system_cpu_usage", "cpu_percent"), ("system_memory_usage", "memory_percent")):
        values = [v for r in reports if (v := getattr(r, attribute)) is not None]
        if values:
            figures[key] = sum(values) / len(values)
    return figures


def fingerprint(secret: str) -> str:
    """Names the key without revealing it (an HMAC of a fixed message)."""
    return hmac.new(secret.encode(), b"liberation-deployment-key", hashlib.sha256).hexdigest()[:32]


class SecretMismatch(RuntimeError):
    """This replica's SECRET_KEY differs from the one the rest of the deployment uses."""


class SharedSecret:
    """Keeps a fingerprint of the deployment's SECRET_KEY in Redis, so a replica started with another key refuses
    to start instead of refusing every token and session the others issued."""

    def __init__(self, url: str, prefix: str, secret: str) -> None:
        self.url = url
        self.key = f"{prefix}:secret-fingerprint"
        self.mine = fingerprint(secret)
        self._client: Any = None

    async def check(self) -> None:
        """Claim the fingerprint, or compare with the one claimed; SecretMismatch when they differ. A Redis that
        cannot be reached is not a reason to refuse: the broker reports that outage on its own."""
        import redis.asyncio as aioredis  # only deployments with Redis load the client
        from redis.exceptions import RedisError

        if self._client is None:
            self._client = aioredis.Redis.from_url(self.url, socket_connect_timeout=2.0, socket_timeout=2.0)
        try:
            claimed = await self._client.set(self.key, self.mine, nx=True, ex=FINGERPRINT_TTL)
            current = None if claimed else await self._client.get(self.key)
        except RedisError as error:
            log.warning("could not compare SECRET_KEY with the deployment's (%s); starting anyway", error)
            return
        if current is not None and current.decode() != self.mine:
            raise SecretMismatch(
                "SECRET_KEY differs from the one the other replicas of this deployment use (their key's fingerprint "
                "is kept in Redis): give every replica the same SECRET_KEY")

    async def renew(self) -> None:
        """Keep the fingerprint alive while this replica runs (a job)."""
        if self._client is None:
            return
        from redis.exceptions import RedisError

        try:
            if not await self._client.set(self.key, self.mine, xx=True, ex=FINGERPRINT_TTL):
                await self._client.set(self.key, self.mine, nx=True, ex=FINGERPRINT_TTL)
        except RedisError:
            log.debug("renewing the key fingerprint failed", exc_info=True)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
