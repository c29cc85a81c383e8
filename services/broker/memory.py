"""In-process broker: delivery reaches the subscribers of this process only."""

from __future__ import annotations

from services.broker.base import Broker, Message


class MemoryBroker(Broker):
    """The `memory://` backend; nothing to connect, so it is always healthy."""

    backend = "memory"

    async def start(self) -> None:
        self._stopped = False

    async def stop(self) -> None:
        self._stopped = True
        self._close_subscriptions()

    async def publish(self, channel: str, message: Message) -> None:
        self._published += 1
        self._deliver_local(channel, message)
