"""Live metric cards: value, trend arrow, sparkline and hourly average, updated from `metrics_update` payloads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from nicegui import ui
from nicegui.binding import BindableProperty

from components.common.sparkline import Sparkline
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
WORDS = {"up": "rising", "down": "falling", "stable": "stable"}
HEALTH_COLORS = {"healthy": SUCCESS, "degraded": YELLOW, "unhealthy": MAGENTA, "critical": DANGER}
HEALTH_ICONS = {"healthy": "check_circle", "degraded": "warning", "unhealthy": "error", "critical": "dangerous"}
SPARK_WINDOW = 1800.0  # the sparkline shows the last 30 minutes
SPARK_MINUTES = int(SPARK_WINDOW // 60)


class MetricCard:
    """One metric; `update(entry, now)` takes an entry of `get_dashboard_metrics()` and the labels follow."""

    text = BindableProperty()
    detail = BindableProperty()
    spark = BindableProperty()

    def __init__(self, name: str, entry: dict[str, Any] | None = None,
                 history: Iterable[Mapping[str, Any]] = (), now: float | None = None) -> None:
        self.name = name
        self.title = TITLES.get(name, name.replace("_", " ").capitalize())
        self.text = "—"
        self.detail = "waiting for data"
        self.sparkline = Sparkline(SPARK_WINDOW)
        self.sparkline.seed((epoch(p["timestamp"]), float(p["value"])) for p in history)
        self.spark = ""
        with ui.card().classes("neon-card gap-1 min-w-0").mark(f"metric-{name}"):
            ui.label(self.title).classes("text-sm muted leading-tight")
            with ui.row().classes("items-baseline gap-x-2 gap-y-0"):
                ui.label().bind_text_from(self, "text").classes("mono text-xl sm:text-2xl font-bold break-all").style(
                    f"color: {CYAN}").mark(f"metric-{name}-value")
                self.arrow = ui.label(ARROWS["stable"]).classes("mono text-lg trend-stable") \
                    .props('role=img aria-label="trend stable"').mark(f"metric-{name}-trend")
            ui.html(sanitize=False).bind_content_from(self, "spark").classes("w-full leading-none") \
                .mark(f"metric-{name}-spark")
            ui.label().bind_text_from(self, "detail").classes("mono text-xs muted").mark(f"metric-{name}-detail")
        if entry is not None:
            self.update(entry, now)
        elif now is not None:
            self._draw(now, "")

    def update(self, entry: dict[str, Any], now: float | None = None) -> None:
        unit = entry.get("unit", "")
        value = entry.get("value")
        self.text = format_value(value, unit)
        trend = entry.get("trend") or {}
        direction = trend.get("direction", "stable")
        direction = direction if direction in ARROWS else "stable"
        average = entry.get("average")
        change = trend.get("change_percent") or 0.0
        self.detail = (f"avg {format_value(average, unit)} · {ARROWS[direction]} {change:+.1f} %"
                       if average is not None else "no data in the last hour")
        self.arrow.set_text(ARROWS[direction])
        self.arrow.classes(replace=f"mono text-lg trend-{direction}")
        self.arrow.props(f'aria-label="trend {WORDS[direction]} {change:+.1f} %"')
        if now is not None:
            if isinstance(value, int | float):
                self.sparkline.add(now, float(value))
            self._draw(now, unit)

    def _draw(self, now: float, unit: str) -> None:
        shown = [v for _, v in self.sparkline.visible(now)]
        about = (f"from {format_value(min(shown), unit)} to {format_value(max(shown), unit)}" if shown
                 else "no data")
        self.spark = self.sparkline.svg(now, f"{self.title} over the last {SPARK_MINUTES} minutes: {about}")


class MetricPanel:
    """The cards of the dashboard plus the derived system health, fed whole payloads."""

    health = BindableProperty()

    def __init__(self, names: Iterable[str], payload: dict[str, Any],
                 history: Mapping[str, Iterable[Mapping[str, Any]]] | None = None) -> None:
        self.health = ""
        history = history or {}
        with ui.row().classes("items-center gap-3 px-4 py-2 rounded-lg").props("role=status aria-live=polite") \
                .mark("system-health-box") as self._health_box:
            self._health_icon = ui.icon("check_circle").classes("text-4xl")
            with ui.column().classes("gap-0"):
                ui.label("System health").classes("text-xs muted uppercase tracking-wider")
                self._health = ui.label().bind_text_from(self, "health") \
                    .classes("mono text-2xl font-bold uppercase tracking-wider").mark("system-health")
            self._alerts = ui.label().classes("mono text-sm").mark("active-alerts")
        entries = _entries(payload)
        now = _now(payload)
        # Two columns on a phone, four from tablet width: the eight cards fill whole rows.
        with ui.element("div").classes("grid gap-3 w-full grid-cols-2 md:grid-cols-4").mark("metric-cards"):
            self.cards = {name: MetricCard(name, entries.get(name), history.get(name, ()), now) for name in names}
        self._show_health(payload)

    def update(self, payload: dict[str, Any]) -> None:
        entries = _entries(payload)
        now = _now(payload)
        for name, card in self.cards.items():
            if name in entries:
                card.update(entries[name], now)
        self._show_health(payload)

    def _show_health(self, payload: dict[str, Any]) -> None:
        summary = payload.get("summary") or {}
        status = summary.get("system_health")
        if not status:
            return
        color = HEALTH_COLORS.get(status, MUTED)
        self.health = status
        self._health.style(replace=f"color: {color}; text-shadow: 0 0 8px {color}")
        self._health_icon.props(f'name={HEALTH_ICONS.get(status, "help")}').style(replace=f"color: {color}")
        self._health_box.style(replace=f"border: 1px solid {color}; box-shadow: 0 0 14px -2px {color}; "
                                       "background: rgba(0,0,0,.55); transition: box-shadow .3s, border-color .3s")
        firing = int(summary.get("active_alerts") or 0)
        self._alerts.set_text(f"{firing} alert{'s' if firing != 1 else ''} firing" if firing else "no alerts firing")
        self._alerts.classes(replace="mono text-sm" + ("" if firing else " muted"))


def format_value(value: Any, unit: str) -> str:
    """A value as people read it: 42.5 %, $1,600.00, 12.3 ms, 1h 02m, 3.20 /s, 150 jobs."""
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
    number = _number(value)
    return number if unit in ("", "count") else f"{number} {unit}"


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 0.01 else f"{value:,.2f}"


def _entries(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for key in ("key_metrics", "system") for entry in payload.get(key) or ()}


def epoch(timestamp: str | float) -> float:
    """Epoch seconds from an ISO-8601 timestamp of the payloads (or a number already)."""
    return float(timestamp) if isinstance(timestamp, int | float) else datetime.fromisoformat(timestamp).timestamp()


def _now(payload: Mapping[str, Any]) -> float | None:
    stamp = payload.get("timestamp")
    return epoch(stamp) if isinstance(stamp, str | int | float) else None
