"""What feeds the domain metrics: handlers for published events and collectors over other services' statistics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from services.events import Event, EventType
from services.metrics.defaults import TRUTH_CHANNEL_REACH
from services.metrics.types import Clock

log = logging.getLogger(__name__)

MAX_TRACKED = 100_000  # humans, truth channels and mesh nodes remembered by id


class Recorder(Protocol):
    def record_metric(self, name: str, value: float, tags: dict[str, Any] | None = None) -> bool: ...


class EventBus(Protocol):
    def register_handler(self, event_type: str, handler: Callable[[Event], Any]) -> None: ...


class EventStream(Protocol):
    def add_listener(self, channel: str, callback: Callable[[str, dict[str, Any]], None]) -> Callable[[], None]: ...


class DomainFeeds:
    """Resource, truth, mesh, user-action and notification metrics, moved by any published event of those types."""

    def __init__(self, metrics: Recorder, mesh_timeout: float = 90.0, clock: Clock = time.time) -> None:
        self._m = metrics
        self._mesh_timeout = mesh_timeout
        self._clock = clock
        self._humans: dict[str, bool] = {}  # human id -> active
        self._channels: set[str] = set()
        self._nodes: dict[str, float] = {}  # node id -> last heard (clock seconds)
        self._latency: dict[str, float] = {}
        self._messages = 0
        self._conversions = 0

    def _handlers(self) -> dict[str, Callable[[Event], None]]:
        return {
            EventType.RESOURCE_DISTRIBUTED: self.on_distributed,
            EventType.RESOURCE_POOL_UPDATED: self.on_pool_updated,
            EventType.HUMAN_REGISTERED: self.on_human,
            EventType.HUMAN_STATUS_CHANGED: self.on_human,
            EventType.TRUTH_MESSAGE_SENT: self.on_truth_message,
            EventType.TRUTH_CHANNEL_CONVERTED: self.on_truth_converted,
            EventType.MESH_NODE_CONNECTED: self.on_mesh_node,
            EventType.MESH_NODE_DISCONNECTED: self.on_mesh_node,
            EventType.MESH_NETWORK_UPDATED: self.on_mesh_network,
            EventType.USER_ACTION: self.on_user_action,
            EventType.NOTIFICATION_SENT: self.on_notification,
            EventType.NOTIFICATION_READ: self.on_notification,
            EventType.NOTIFICATION_DISMISSED: self.on_notification,
        }

    def register(self, events: EventBus) -> None:
        """Follow the events published in this process only (one process, or a test of one bus)."""
        for event_type, handler in self._handlers().items():
            events.register_handler(event_type, _awaitable(handler))

    def follow(self, stream: EventStream, channel: str) -> Callable[[], None]:
        """Follow every event published in any process, as the bus broadcasts them on the broker's `channel`:
        each replica counts each event exactly once, so every replica shows the same deployment-wide figures."""
        handlers = self._handlers()

        def on_message(_channel: str, message: dict[str, Any]) -> None:
            handler = handlers.get(str(message.get("type"))) if isinstance(message, dict) else None
            if handler is None:
                return
            try:
                handler(Event.from_dict(message))
            except Exception:  # one malformed event must not stop the figures
                log.warning("event %r could not move the metrics", message.get("id"), exc_info=True)

        return stream.add_listener(channel, on_message)

    def on_distributed(self, event: Event) -> None:
        amount = float(event.data.get("amount", 0.0))
        self._m.record_metric("resources_distributed_total", amount)
        self._m.record_metric("resources_distributed_rate", amount)
        self._m.record_metric("weekly_distributions", 1)
        self._human(str(event.data["human_id"]), active=True)

    def on_pool_updated(self, event: Event) -> None:
        humans = event.data.get("active_humans")
        if isinstance(humans, int | float) and humans >= 0:  # the ledger's own count wins over ours
            self._m.record_metric("active_humans", humans)

    def on_human(self, event: Event) -> None:
        status = str(event.data.get("status", "active")).lower()
        self._human(str(event.data["human_id"]), active=status in {"active", "registered", "verified"})

    def on_truth_message(self, event: Event) -> None:
        data = event.data
        channel = data.get("channel")
        reach = data.get("reach")
        if reach is None:
            reach = TRUTH_CHANNEL_REACH.get(str(channel), 0)
        self._messages += 1
        self._m.record_metric("truth_messages_sent", 1)
        self._m.record_metric("truth_reach_total", float(reach))
        if channel:
            self._channel(str(channel))
        self._effectiveness(data)

    def on_truth_converted(self, event: Event) -> None:
        self._conversions += 1
        self._channel(str(event.data["channel"]))
        self._effectiveness(event.data)

    def on_mesh_node(self, event: Event) -> None:
        node = str(event.data["node_id"])
        if event.type == EventType.MESH_NODE_DISCONNECTED:
            self._nodes.pop(node, None)
            self._latency.pop(node, None)
        else:
            if node not in self._nodes and len(self._nodes) >= MAX_TRACKED:
                return
            self._nodes[node] = self._clock()
            self._m.record_metric("mesh_connections_total", 1)
            self._mesh_figures(event.data, node)
        self._publish_mesh()

    def on_mesh_network(self, event: Event) -> None:
        node = event.data.get("node_id")
        if isinstance(node, str) and node in self._nodes:
            self._nodes[node] = self._clock()
        self._mesh_figures(event.data, node if isinstance(node, str) else None)
        self._publish_mesh()

    def on_user_action(self, event: Event) -> None:
        self._m.record_metric("user_actions_rate", 1)

    def on_notification(self, event: Event) -> None:
        kind = event.type.rpartition(".")[2]  # sent / read / dismissed
        count = event.data.get("count", 1)
        self._m.record_metric(f"notifications_{kind}_total", count if isinstance(count, int | float) else 1)

    def expire_mesh_nodes(self) -> int:
        """Forget nodes silent for longer than the timeout; the number forgotten."""
        cutoff = self._clock() - self._mesh_timeout
        gone = [node for node, seen in self._nodes.items() if seen < cutoff]
        for node in gone:
            del self._nodes[node]
            self._latency.pop(node, None)
        if gone:
            self._publish_mesh()
        return len(gone)

    def _human(self, human_id: str, active: bool) -> None:
        before = self._humans.get(human_id)
        if before is None and len(self._humans) >= MAX_TRACKED:
            return
        self._humans[human_id] = active
        if before != active:
            self._m.record_metric("active_humans", sum(self._humans.values()))

    def _channel(self, channel: str) -> None:
        if channel not in self._channels and len(self._channels) < MAX_TRACKED:
            self._channels.add(channel)
            self._m.record_metric("truth_channels_active", len(self._channels))

    def _effectiveness(self, data: dict[str, Any]) -> None:
        given = data.get("effectiveness")
        if isinstance(given, int | float) and 0 <= given <= 100:
            self._m.record_metric("truth_effectiveness", given)
        elif self._messages:
            self._m.record_metric("truth_effectiveness", min(100.0, 100.0 * self._conversions / self._messages))

    def _mesh_figures(self, data: dict[str, Any], node: str | None) -> None:
        latency = data.get("latency_ms", data.get("latency"))
        if isinstance(latency, int | float) and latency >= 0:
            if node is not None and node in self._nodes:
                self._latency[node] = float(latency)
            else:
                self._m.record_metric("mesh_latency_avg", latency)
        throughput = data.get("throughput", data.get("throughput_bps"))
        if isinstance(throughput, int | float) and throughput >= 0:
            self._m.record_metric("mesh_throughput", throughput)

    def _publish_mesh(self) -> None:
        self._m.record_metric("mesh_nodes_active", len(self._nodes))
        if self._latency:
            self._m.record_metric("mesh_latency_avg", sum(self._latency.values()) / len(self._latency))


class CumulativeFeed:
    """Turns cumulative figures from another service's statistics into counter increments and rate marks."""

    def __init__(self, metrics: Recorder) -> None:
        self._m = metrics
        self._last: dict[str, float] = {}

    def advance(self, name: str, cumulative: float, *, count_existing: bool = True) -> None:
        """Record the growth since the last call; the first call records everything unless `count_existing` is off."""
        last = self._last.get(name)
        self._last[name] = cumulative
        if last is None:
            delta = cumulative if count_existing else 0.0
        else:
            delta = cumulative - last if cumulative >= last else cumulative  # the source restarted
        if delta > 0:
            self._m.record_metric(name, delta)


def collect_event_system(feed: CumulativeFeed, metrics: Recorder, stats: dict[str, Any]) -> None:
    """Event-bus figures from `EventSystem.get_metrics()`."""
    feed.advance("events_published_total", stats.get("events_published", 0))
    feed.advance("event_handler_failures_total", stats.get("handler_failures", 0))
    feed.advance("events_lost_total", stats.get("events_lost", 0))
    metrics.record_metric("events_pending_writes", stats.get("pending_writes", 0))


def collect_websocket(feed: CumulativeFeed, metrics: Recorder, stats: dict[str, Any]) -> None:
    """Hub figures from `WebSocketManager.get_stats()` (`total_connections`, cumulative `messages_sent`)."""
    metrics.record_metric("websocket_connections", stats.get("total_connections", 0))
    sent = stats.get("messages_sent")
    if isinstance(sent, int | float):
        feed.advance("websocket_message_rate", sent, count_existing=False)  # a rate of what happens from now


def _awaitable(handler: Callable[[Event], None]) -> Callable[[Event], Any]:
    async def run(event: Event) -> None:
        handler(event)

    return run
