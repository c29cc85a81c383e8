"""Publish/subscribe delivery: `memory://` inside one process, `redis://` across processes."""

from __future__ import annotations

from services.broker.base import Broker, Listener, Message, Subscription, Unsubscribed
from services.broker.memory import MemoryBroker

__all__ = ["Broker", "Listener", "MemoryBroker", "Message", "Subscription", "Unsubscribed", "create_broker"]


def create_broker(url: str, *, queue_size: int = 1000, prefix: str = "liberation") -> Broker:
    """The broker the URL names: "" or `memory://` in-process, `redis://` / `rediss://` shared through Redis."""
    scheme = url.partition("://")[0].lower() if url else "memory"
    if scheme == "memory":
        return MemoryBroker(queue_size=queue_size)
    if scheme in ("redis", "rediss"):
        # Imported here so a memory-only deployment never loads the redis client.
        from services.broker.redis import RedisBroker

        return RedisBroker(url, queue_size=queue_size, prefix=prefix)
    raise ValueError(f"unsupported broker URL {url!r}: use '', 'memory://', 'redis://' or 'rediss://'")
