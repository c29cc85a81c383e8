"""Event → notification rules, in one registry: which events notify whom, and with what words.

Every notification made here carries the id of the event that caused it as its `correlation_id`. Values from the
event are placed into f-strings (never into a format template), so event text cannot inject placeholders.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from services.events import Event, EventType, note
from services.notifications.templates import NotificationType, format_money, format_number, shorten

if TYPE_CHECKING:
    from services.events import EventSystem
    from services.notifications.service import NotificationService

RuleAction = Callable[["NotificationService", Event], Awaitable[list[str]]]
MAX_MEMBERS = 1_000
"""Notifications one event may fan out to (community members); the publisher is told when more were named."""
MAX_NAMED = 20_000
"""Names one event may ask us to look up at all; beyond this they are ignored unread."""
SEVERITIES = ("info", "warning", "error", "critical", "emergency")
HEALTH_LEVELS = {"unhealthy": "warning", "critical": "critical"}


@dataclass(slots=True, frozen=True)
class Rule:
    event_type: str
    name: str
    apply: RuleAction  # returns the ids of the notifications it sent


_RULE: ContextVar[tuple[str, Event] | None] = ContextVar("notification_rule", default=None)


def current_rule() -> tuple[str, Event] | None:
    """The rule running in this task and the event it handles (for the trace), or None outside a rule."""
    return _RULE.get()


def register_rules(events: EventSystem, service: NotificationService, rules: Iterable[Rule]) -> Callable[[], None]:
    """Register one handler per rule; returns the function that unregisters them all."""
    registered: list[tuple[str, Callable[[Event], Awaitable[None]]]] = []
    for rule in rules:
        registered.append((rule.event_type, _handler(rule, service)))
        events.register_handler(*registered[-1], reliable=True)  # at least once, across a crash

    def unregister() -> None:
        for event_type, handler in registered:
            events.unregister_handler(event_type, handler)

    return unregister


def _handler(rule: Rule, service: NotificationService) -> Callable[[Event], Awaitable[None]]:
    async def handle(event: Event) -> None:
        token = _RULE.set((rule.name, event))
        try:
            await rule.apply(service, event)
        finally:
            _RULE.reset(token)

    handle.__qualname__ = f"notification_rule[{rule.name}]"
    return handle


async def resource_distributed(service: NotificationService, event: Event) -> list[str]:
    data = event.data  # validated by the event bus: human_id and a non-negative amount (0 still notifies)
    return [await service.send_notification(
        str(data["human_id"]), NotificationType.RESOURCE_DISTRIBUTION,
        _pick(data, "human_id", "amount", "currency", "transaction_id", "distribution_type"),
        correlation_id=event.id)]


async def human_registered(service: NotificationService, event: Event) -> list[str]:
    return [await service.send_notification(str(event.data["human_id"]), NotificationType.WELCOME,
                                            _pick(event.data, "human_id", "name"), correlation_id=event.id)]


async def truth_message_sent(service: NotificationService, event: Event) -> list[str]:
    text = str(event.data.get("message", "")).strip() or "(no text)"
    return [await service.send_system_alert(
        "🌐 Truth Network Update", f"New truth spreading: {shorten(text)}", "info",
        {"message": shorten(text, 500), **_pick(event.data, "channel", "reach")}, "truth", correlation_id=event.id)]


async def mesh_network_updated(service: NotificationService, event: Event) -> list[str]:
    change = _text(event.data.get("change_type"), "unknown change")
    return [await service.send_system_alert(
        "🔗 Mesh Network Update", f"Network change: {change}", "info",
        _pick(event.data, "change_type", "node_count", "node_id"), "mesh", correlation_id=event.id)]


async def mesh_node_disconnected(service: NotificationService, event: Event) -> list[str]:
    node = _text(event.data.get("node_id"), "unknown node")
    return [await service.send_system_alert(
        "🔗 Mesh Node Disconnected", f"Node {node} disconnected from the mesh", "warning",
        _pick(event.data, "node_id", "address", "reason"), "mesh", correlation_id=event.id)]


async def system_health_changed(service: NotificationService, event: Event) -> list[str]:
    status = str(event.data.get("status"))
    level = HEALTH_LEVELS.get(status)
    if level is None:  # healthy or degraded: nothing to alert about
        return []
    detail = event.data.get("message") or event.data.get("reason")
    message = f"System health is {status}" + (f": {_text(detail, '')}" if detail else "")
    return [await service.send_system_alert(
        "⚠️ System Health Alert", _clip(message, 2000), level, _pick(event.data, "status", "component", "reason"),
        "system", correlation_id=event.id)]


async def housing_allocated(service: NotificationService, event: Event) -> list[str]:
    amount = format_money(event.data.get("amount"))
    message = f"A housing credit of {amount} has been allocated to you." if amount else \
        "Your housing has been allocated."
    return [await service.send_notification(
        str(event.data["human_id"]), NotificationType.SUCCESS,
        _pick(event.data, "human_id", "amount", "housing_id", "community_id", "address"),
        "🏠 Housing Allocated", message, correlation_id=event.id)]


async def community_created(service: NotificationService, event: Event) -> list[str]:
    data = event.data
    name = _text(data.get("name") or data.get("community_id"), "a new community")
    listed = data.get("members")
    members: list[Any] = listed if isinstance(listed, list) else []
    people = [data.get("created_by"), data.get("founder"), *members[:MAX_NAMED]]
    named = list(dict.fromkeys(p for p in people if isinstance(p, str) and p))
    known = await service._users.existing(named)  # people without an account are not notified at all
    accounts = [p for p in named if p in known]
    recipients = accounts[:MAX_MEMBERS]
    note("community_members", {"named": len(named), "notified": len(recipients),
                               "skipped_unknown": len(named) - len(accounts), "capped": len(accounts) > MAX_MEMBERS,
                               "cap": MAX_MEMBERS})
    body = _pick(data, "community_id", "name", "governance")
    return [await service.send_notification(
        member, NotificationType.INFO, body, "🏘️ Community Created",
        f"You are a member of the new community {name}.", correlation_id=event.id) for member in recipients]


async def metric_alert_fired(service: NotificationService, event: Event) -> list[str]:
    data = event.data
    if data.get("silenced"):  # an admin silenced the rule or its metric: it fires, nobody is notified
        return []
    name = _text(data.get("metric_name"), "unknown metric")
    severity = str(data.get("severity", "warning")).lower()
    return [await service.send_system_alert(
        _clip(f"🚨 Metric Alert: {name}", 200), _metric_sentence(name, "is", data),
        severity if severity in SEVERITIES else "warning", _metric_data(data), "system", correlation_id=event.id)]


async def metric_alert_resolved(service: NotificationService, event: Event) -> list[str]:
    data = event.data
    if data.get("silenced"):
        return []
    name = _text(data.get("metric_name"), "unknown metric")
    return [await service.send_system_alert(
        _clip(f"✅ Metric Alert Resolved: {name}", 200), _metric_sentence(name, "is back to", data), "info",
        _metric_data(data), "system", correlation_id=event.id)]


RULES: tuple[Rule, ...] = (
    Rule(EventType.RESOURCE_DISTRIBUTED, "resource distributed → the human", resource_distributed),
    Rule(EventType.HUMAN_REGISTERED, "human registered → welcome", human_registered),
    Rule(EventType.TRUTH_MESSAGE_SENT, "truth message → alert on truth", truth_message_sent),
    Rule(EventType.MESH_NETWORK_UPDATED, "mesh network updated → alert on mesh", mesh_network_updated),
    Rule(EventType.MESH_NODE_DISCONNECTED, "mesh node disconnected → alert on mesh", mesh_node_disconnected),
    Rule(EventType.SYSTEM_HEALTH_CHANGED, "unhealthy or critical → alert on system", system_health_changed),
    Rule(EventType.HOUSING_ALLOCATED, "housing allocated → the human", housing_allocated),
    Rule(EventType.COMMUNITY_CREATED, "community created → its members", community_created),
    Rule(EventType.METRIC_ALERT_FIRED, "metric alert fired → alert on system", metric_alert_fired),
    Rule(EventType.METRIC_ALERT_RESOLVED, "metric alert resolved → info alert on system", metric_alert_resolved),
)


def _metric_sentence(name: str, verb: str, data: dict[str, Any]) -> str:
    value = _text(data.get("value"), "unknown")
    unit = _text(data.get("unit"), "")
    threshold = _text(data.get("threshold"), "unknown")
    reading = f"{value} {unit}" if unit else value
    return _clip(f"Metric {name} {verb} {reading} (threshold: {threshold})", 2000)


def _metric_data(data: dict[str, Any]) -> dict[str, Any]:
    return _pick(data, "rule_id", "metric_name", "value", "threshold", "condition", "severity", "unit")


def _pick(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The named fields only, so a large event cannot overflow the notification's data limit."""
    picked = {}
    for key in keys:
        value = data.get(key)
        if value is not None:
            picked[key] = shorten(value, 500) if isinstance(value, str) else value
    return picked


def _text(value: Any, fallback: str) -> str:
    if isinstance(value, bool) or value is None:
        return fallback
    if isinstance(value, int | float):
        return format_number(value) or fallback
    text = str(value).strip()
    return shorten(text, 200) if text else fallback


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
