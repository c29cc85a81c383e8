"""Live delivery to connected clients: one envelope, addressed by channel, fanned out through the broker.

Services that push to clients (notifications, metrics) call `deliver(channel, type, data)`. The default
`BrokerDelivery` publishes the envelope on the broker channel of the same name; the WebSocket hub replaces it with
an implementation that also numbers messages per channel (`seq`) and keeps recovery history. Every process's hub and
browser views listen on the broker channels they serve.

Channel names: `user:<username>` (one account), `role:<role>` (every account of a role), `broadcast` (everyone),
and topic channels such as `dashboard`, `admin`, `system`, `resources`, `truth`, `mesh` (DESIGN.md §3, §6).
"""

from __future__ import annotations

from typing import Any, Protocol

from services.broker import Broker
from services.events.types import new_event_id
from services.models import utcnow


def user_channel(username: str) -> str:
    return f"user:{username}"


def role_channel(role: str) -> str:
    return f"role:{role}"


BROADCAST = "broadcast"


def envelope(channel: str, message_type: str, data: dict[str, Any], seq: int | None = None) -> dict[str, Any]:
    """The one shape of every server-to-client message (DESIGN.md §6)."""
    return {"id": new_event_id(), "type": message_type, "channel": channel, "seq": seq, "data": data,
            "timestamp": utcnow().isoformat()}


class Delivery(Protocol):
    async def deliver(self, channel: str, message_type: str, data: dict[str, Any]) -> dict[str, Any]:
        """Push a message to every live view of `channel` in every process; returns the envelope sent."""
        ...


class BrokerDelivery:
    """Delivery straight through the broker, without sequence numbers or history."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    async def deliver(self, channel: str, message_type: str, data: dict[str, Any]) -> dict[str, Any]:
        message = envelope(channel, message_type, data)
        await self.broker.publish(channel, message)
        return message
