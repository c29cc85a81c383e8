"""Events in words: a label and one sentence per event type, for people rather than for machines."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from services.events import channel_for
from services.notifications.templates import format_money, format_number

Describe = Callable[[dict[str, Any]], str]
LIMIT = 240
"""Characters of a sentence; the rest is cut with "…" (the details show everything to admins)."""
INTERNAL = frozenset({"rule_id", "notification_id", "notification_ids", "connection_id", "correlation_id",
                      "transaction_id", "causation_id"})
"""Keys that mean something to machines only: never part of the sentence."""


def label(event_type: str) -> str:
    """`resource.distributed` → "Resource distributed"."""
    words = event_type.replace("_", " ").replace(".", " ").strip()
    return words[:1].upper() + words[1:] if words else "Event"


def sentence(event: dict[str, Any]) -> str:
    """What the event says, in words; unknown types list their fields (without internal ids)."""
    found = event.get("data")
    data: dict[str, Any] = found if isinstance(found, dict) else {}
    describe = _SENTENCES.get(str(event.get("type", "")))
    try:
        text = describe(data) if describe is not None else _fields(data)
    except (TypeError, ValueError, KeyError):
        text = _fields(data)
    text = " ".join(text.split())
    return text if len(text) <= LIMIT else text[: LIMIT - 1] + "…"


def feed_item(event: dict[str, Any], *, raw: bool = False) -> dict[str, Any]:
    """The row the live feed draws: id, type, channel, source, time, label, sentence (and the data, for admins)."""
    kind = str(event.get("type", ""))
    item = {"id": event.get("id"), "type": kind, "channel": channel_for(kind), "source": event.get("source", ""),
            "timestamp": event.get("timestamp"), "label": label(kind), "text": sentence(event)}
    if raw:
        item["data"] = event.get("data")
    return item


class Describer:
    """Feed items computed once per event and viewer kind, however many views show them (a bounded cache)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, bool], dict[str, Any]] = OrderedDict()

    def item(self, event: dict[str, Any], *, raw: bool) -> dict[str, Any]:
        key = (event.get("id"), raw)
        found = self._items.get(key)
        if found is None:
            found = self._items[key] = feed_item(event, raw=raw)
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        return found


def _text(value: Any, fallback: str = "someone") -> str:
    if value is None or value == "":
        return fallback
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return format_number(value) or fallback
    return str(value)


def _money(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_money(value) or _text(value)
    return _text(value)


def _fields(data: dict[str, Any]) -> str:
    shown = [f"{key.replace('_', ' ')} {_text(value)}" for key, value in data.items()
             if key not in INTERNAL and not isinstance(value, dict | list)]
    return ", ".join(shown) if shown else "no details"


def _distributed(d: dict[str, Any]) -> str:
    kind = f" ({_text(d.get('distribution_type'))} distribution)" if d.get("distribution_type") else ""
    return f"{_money(d.get('amount'))} to {_text(d.get('human_id'))}{kind}"


def _pool(d: dict[str, Any]) -> str:
    parts = [f"{name} {_money(d[key])}" for key, name in (("available", "available"), ("total", "total"))
             if d.get(key) is not None]
    return "Pool " + ", ".join(parts)


def _truth(d: dict[str, Any]) -> str:
    where = f" on {_text(d.get('channel'))}" if d.get("channel") else ""
    reach = f", reach {_text(d.get('reach'))}" if d.get("reach") is not None else ""
    return f"“{_text(d.get('message'), '')}”{where}{reach}"


def _converted(d: dict[str, Any]) -> str:
    count = f": {_text(d.get('conversions'))} conversions" if d.get("conversions") is not None else ""
    return f"{_text(d.get('channel'))} channel converted{count}"


def _node(state: str) -> Describe:
    def describe(d: dict[str, Any]) -> str:
        where = f" at {_text(d.get('address'))}" if d.get("address") else ""
        return f"Node {_text(d.get('node_id'))} {state}{where}"

    return describe


def _network(d: dict[str, Any]) -> str:
    nodes = f", {_text(d.get('node_count'))} nodes" if d.get("node_count") is not None else ""
    return f"Topology change: {_text(d.get('change_type'))}{nodes}"


def _community(d: dict[str, Any]) -> str:
    members = d.get("members")
    count = (f" with {format_number(len(members))} member{'' if len(members) == 1 else 's'}"
             if isinstance(members, list) else "")
    return f"{_text(d.get('name') or d.get('community_id'), 'A community')} was founded{count}"


def _housing(d: dict[str, Any]) -> str:
    amount = f" ({_money(d.get('amount'))})" if d.get("amount") is not None else ""
    return f"Housing allocated to {_text(d.get('human_id'))}{amount}"


def _health(d: dict[str, Any]) -> str:
    before = f" (was {_text(d.get('previous'))})" if d.get("previous") else ""
    return f"System health is {_text(d.get('status'))}{before}"


def _alert(verb: str) -> Describe:
    def describe(d: dict[str, Any]) -> str:
        unit = f" {d['unit']}" if d.get("unit") else ""
        threshold = f" (threshold {_text(d.get('threshold'))})" if d.get("threshold") is not None else ""
        return f"{_text(d.get('metric_name'), 'A metric')} {verb} {_text(d.get('value'), '?')}{unit}{threshold}"

    return describe


_SENTENCES: dict[str, Describe] = {
    "resource.distributed": _distributed,
    "resource.pool.updated": _pool,
    "human.registered": lambda d: f"{_text(d.get('name') or d.get('human_id'))} joined",
    "human.status.changed": lambda d: f"{_text(d.get('human_id'))} is now {_text(d.get('status'))}",
    "truth.message.sent": _truth,
    "truth.channel.converted": _converted,
    "mesh.node.connected": _node("connected"),
    "mesh.node.disconnected": _node("disconnected"),
    "mesh.network.updated": _network,
    "community.created": _community,
    "housing.allocated": _housing,
    "system.health.changed": _health,
    "system.metrics.updated": lambda d: "System metrics were updated",
    "user.connected": lambda d: f"{_text(d.get('user_id'))} connected ({_text(d.get('connection_type'), 'a')})",
    "user.disconnected": lambda d: f"{_text(d.get('user_id'))} disconnected",
    "user.action": lambda d: f"{_text(d.get('user_id'))} chose “{_text(d.get('action'))}”",
    "metric.alert.fired": _alert("is"),
    "metric.alert.resolved": _alert("is back to"),
    "notification.sent": lambda d: f"{label(str(d.get('type', 'notification')))} sent to "
                                   f"{_text(d.get('target'), 'recipients')}",
    "notification.read": lambda d: f"{_text(d.get('user_id'))} read "
                                   f"{'everything' if d.get('all') else 'a notification'}",
    "notification.dismissed": lambda d: f"{_text(d.get('user_id'))} dismissed a notification",
    "notification.expired": lambda d: f"{_text(d.get('count'), 'Some')} notifications expired",
}
