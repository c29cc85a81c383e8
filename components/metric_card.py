"""Live metric cards: value with unit, hourly average and trend, updated from `metrics_update` payloads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nicegui import ui
from nicegui.binding import BindableProperty

from theme.tokens import CYAN, DANGER, MAGENTA, MUTED, SUCCESS, YELLOW

TITLES = {
    "system_cpu_usage": "CPU",
    "system_memory_usage": "Memory",
    "system_disk_usage": "Disk",
    "system_uptime": "Uptime",
    "resources_distributed_total": "Resources distributed",
    "active_humans": "Active humans",
    "truth_messages_sent": "Truth messages",
    "mesh_nodes_active": "Mesh nodes",
    "websocket_connections": "WebSocket connections",
}
ARROWS = {"up": "▲", "down": "▼", "stable": "■"}
HEALTH_COLORS = {"healthy": SUCCESS, "degraded": YELLOW, "unhealthy": MAGENTA, "critical": DANGER}


class MetricCard:
    """One metric; `update(entry)` takes an entry of `get_dashboard_metrics()` and the labels follow by binding."""

    text = BindableProperty()
    detail = BindableProperty()

    def __init__(self, name: str, entry: dict[str, Any] | None = None) -> None:
        self.name = name
        self.text = "—"
        self.detail = "waiting for data"
        with ui.card().classes("neon-card gap-1 min-w-[11rem]").mark(f"metric-{name}"):
            ui.label(TITLES.get(name, name.replace("_", " ").capitalize())).classes("text-sm muted")
            ui.label().bind_text_from(self, "text").classes("mono text-2xl font-bold").style(
                f"color: {CYAN}").mark(f"metric-{name}-value")
            ui.label().bind_text_from(self, "detail").classes("mono text-xs muted").mark(f"metric-{name}-detail")
        if entry is not None:
            self.update(entry)

    def update(self, entry: dict[str, Any]) -> None:
        unit = entry.get("unit", "")
        self.text = format_value(entry.get("value"), unit)
        trend = entry.get("trend") or {}
        direction = trend.get("direction", "stable")
        average = entry.get("average")
        change = trend.get("change_percent") or 0.0
        self.detail = (f"avg {format_value(average, unit)} · {ARROWS.get(direction, '')} {change:+.1f} %"
                       if average is not None else "no data in the last hour")


class MetricPanel:
    """The cards of the dashboard plus the derived system health, fed whole payloads."""

    health = BindableProperty()

    def __init__(self, names: Iterable[str], payload: dict[str, Any]) -> None:
        self.health = ""
        with ui.row().classes("items-baseline gap-3"):
            ui.label("System health").classes("muted")
            self._health = ui.label().bind_text_from(self, "health").classes("mono font-bold").mark("system-health")
        entries = _entries(payload)
        with ui.element("div").classes("grid gap-3 w-full").style(
                "grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr))").mark("metric-cards"):
            self.cards = {name: MetricCard(name, entries.get(name)) for name in names}
        self._show_health(payload)

    def update(self, payload: dict[str, Any]) -> None:
        entries = _entries(payload)
        for name, card in self.cards.items():
            if name in entries:
                card.update(entries[name])
        self._show_health(payload)

    def _show_health(self, payload: dict[str, Any]) -> None:
        status = (payload.get("summary") or {}).get("system_health")
        if status:
            self.health = status
            self._health.style(f"color: {HEALTH_COLORS.get(status, MUTED)}")


def format_value(value: Any, unit: str) -> str:
    """A value as people read it: 42.5 %, $1,600.00, 12.3 ms, 1h 02m, 3.20 /s."""
    if not isinstance(value, int | float):
        return "—"
    if unit == "percent":
        return f"{value:.1f} %"
    if unit == "dollars":
        return f"${value:,.2f}"
    if unit == "milliseconds":
        return f"{value:,.1f} ms"
    if unit == "seconds":
        minutes, seconds = divmod(int(value), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"
    if unit.endswith("/second"):
        return f"{value:,.2f} /s"
    if unit == "count" or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _entries(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for key in ("key_metrics", "system") for entry in payload.get(key) or ()}
