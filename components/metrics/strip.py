"""The dashboard's strip: system health and the key metrics, each with its value, a change a reader can interpret,
and a sparkline. `StripModel` turns each push into card data once for every view; `MetricStrip` is one view's
element (strip.js draws it)."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from nicegui import ui

TITLES = {
    "resources_distributed_total": "Resources distributed",
    "active_humans": "Active humans",
    "truth_messages_sent": "Truth messages",
    "mesh_nodes_active": "Mesh nodes",
    "websocket_connections": "WebSocket clients",
    "system_cpu_usage": "CPU",
    "system_memory_usage": "Memory",
    "system_disk_usage": "Disk",
}
DETAILS: dict[str, str] = {}
WORDS = {"up": "rising", "down": "falling", "stable": "steady"}
SPARK_SECONDS = 1800.0
SPARK_POINTS = 40
NEAR_ZERO = 1e-9


def format_number(value: float) -> str:
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 0.01 else f"{value:,.2f}"


def value_and_unit(value: Any, unit: str) -> tuple[str, str]:
    """The number and the unit shown beside it: ("42.5", "%"), ("$1,600.00", ""), ("3.20", "/s")."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "—", ""
    if unit == "percent":
        return f"{value:.1f}", "%"
    if unit == "dollars":
        return f"${value:,.2f}", ""
    if unit == "milliseconds":
        return f"{value:,.1f}", "ms"
    if unit == "seconds":
        minutes, seconds = divmod(int(value), 60)
        hours, minutes = divmod(minutes, 60)
        return (f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"), ""
    if unit.endswith("/second"):
        return f"{value:,.2f}", "/s"
    return format_number(value), ("" if unit in ("", "count") else unit)


def change_text(entry: Mapping[str, Any]) -> tuple[str, str]:
    """The change over the last hour as a reader can take it, and the trend direction.

    Percent gauges change in percentage points (not percent of a percent); a series that starts from (near) zero
    says so instead of showing a percentage nobody can interpret."""
    trend = entry.get("trend") or {}
    direction = str(trend.get("direction")) if trend.get("direction") in WORDS else "stable"
    relative, points = trend.get("change"), int(trend.get("points") or 0)
    average, value = entry.get("average"), entry.get("value")
    if points < 2 or not isinstance(relative, int | float) or not isinstance(average, int | float):
        return "no trend yet", "stable"
    if entry.get("unit") == "percent":
        points_change = relative * abs(average)
        return ("steady" if abs(points_change) < 0.05 else f"{points_change:+.1f} pp this hour"), \
            ("stable" if abs(points_change) < 0.05 else direction)
    if abs(average) < NEAR_ZERO:
        moved = isinstance(value, int | float) and abs(value) >= NEAR_ZERO
        return ("up from zero" if moved else "steady at zero"), ("up" if moved else "stable")
    if direction == "stable":
        return "steady", "stable"
    if abs(relative) > 10:
        return ("more than ten-fold" if relative > 0 else "down to near zero"), direction
    return f"{relative * 100:+.1f} % this hour", direction


class StripModel:
    """Card data built once per push for every view, with a shared sparkline window per metric."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = tuple(keys)
        self._points: dict[str, deque[tuple[float, float]]] = {k: deque(maxlen=720) for k in self.keys}
        self._built: tuple[Any, list[dict[str, Any]], dict[str, str]] | None = None
        self.latest: Mapping[str, Any] | None = None
        """The last payload built (a page drawn between pushes starts from it)."""

    def seed(self, history: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
        """Start the sparklines from stored history (once, before the first push)."""
        for key, points in history.items():
            if key in self._points and not self._points[key]:
                for point in points:
                    if isinstance(point.get("value"), int | float):
                        self._points[key].append((epoch(point["timestamp"]), float(point["value"])))

    def build(self, payload: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """(cards, health) for a dashboard payload; the same payload is built once, however many views ask."""
        stamp = payload.get("timestamp")
        if self._built is not None and self._built[0] == stamp and stamp is not None:
            return self._built[1], self._built[2]
        entries = {e["name"]: e for part in ("key_metrics", "system") for e in payload.get(part) or ()}
        now = epoch(stamp) if isinstance(stamp, str | int | float) else None
        cards = [self._card(key, entries.get(key), now) for key in self.keys]
        views = (payload.get("summary") or {}).get("browser_views")
        for card in cards:
            if card["key"] == "websocket_connections" and isinstance(views, int):
                card["detail"] = f"raw WebSocket clients; {views} browser view{'' if views == 1 else 's'} open"
        health = _health(payload.get("summary") or {})
        self._built = (stamp, cards, health)
        self.latest = payload
        return cards, health

    def _card(self, key: str, entry: Mapping[str, Any] | None, now: float | None) -> dict[str, Any]:
        entry = entry or {}
        unit = str(entry.get("unit") or "")
        value = entry.get("value")
        points = self._points[key]
        if now is not None and isinstance(value, int | float) and math.isfinite(value) and \
                (not points or points[-1][0] < now):
            points.append((now, float(value)))
        while points and now is not None and points[0][0] < now - SPARK_SECONDS:
            points.popleft()
        spark = _downsample([v for _, v in points], SPARK_POINTS)
        number, shown_unit = value_and_unit(value, unit)
        change, direction = change_text(entry) if entry else ("no data yet", "stable")
        average = entry.get("average")
        detail = DETAILS.get(key) or (f"hour average {' '.join(value_and_unit(average, unit)).strip()}"
                                      if isinstance(average, int | float) else "no data in the last hour")
        low, high = (min(spark), max(spark)) if spark else (None, None)
        return {"key": key, "title": TITLES.get(key, key.replace("_", " ").capitalize()), "value": number,
                "unit": shown_unit, "change": change, "trend": direction, "words": WORDS[direction],
                "detail": detail, "spark": [round(v, 4) for v in spark],
                "range": (f"from {' '.join(value_and_unit(low, unit)).strip()} to "
                          f"{' '.join(value_and_unit(high, unit)).strip()}") if spark else "no data"}


class MetricStrip(ui.element, component="strip.js"):
    """One view of the strip; `show(payload)` follows the pushes."""

    def __init__(self, model: StripModel, payload: Mapping[str, Any]) -> None:
        super().__init__()
        self.model = model
        cards, health = model.build(payload)
        self._props.update(cards0=cards, health0=health)
        self.cards, self.health = cards, health
        self._texts = _texts(cards, health)

    def show(self, payload: Mapping[str, Any]) -> None:
        cards, health = self.model.build(payload)
        if cards is self.cards:
            return  # this push was shown already
        self.cards, self.health = cards, health
        self._texts = _texts(cards, health)
        self.run_method("set", cards, health)

    def card(self, key: str) -> dict[str, Any]:
        return next(c for c in self.cards if c["key"] == key)

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        return self._texts


def epoch(timestamp: str | float) -> float:
    return float(timestamp) if isinstance(timestamp, int | float) else datetime.fromisoformat(timestamp).timestamp()


def _health(summary: Mapping[str, Any]) -> dict[str, str]:
    firing = int(summary.get("active_alerts") or 0)
    return {"status": str(summary.get("system_health") or "unknown"),
            "alerts": f"{firing} alert{'s' if firing != 1 else ''} firing" if firing else "no alerts firing"}


def _texts(cards: list[dict[str, Any]], health: dict[str, str]) -> list[str]:
    return [health["status"], health["alerts"],
            *(f"{c['title']} {c['value']} {c['unit']}".strip() for c in cards), *(c["change"] for c in cards)]


def _downsample(values: list[float], size: int) -> list[float]:
    if len(values) <= size:
        return values
    step = len(values) / size
    return [values[min(len(values) - 1, int(i * step))] for i in range(size - 1)] + [values[-1]]
