"""Metrics explorer for admins: pick a metric and a window, see its time series and the window's statistics live."""

from __future__ import annotations

import time
from typing import Any

from nicegui import ui

from components.metrics.formatting import ARROWS, WORDS, epoch, format_value
from services.metrics import MetricsService, iso
from theme.tokens import CYAN, MONO, MUTED, SURFACE, TEXT

WINDOWS: dict[str, tuple[float, float]] = {  # label: (window seconds, step seconds: 60 to 170 buckets)
    "15 min": (900.0, 15.0),
    "1 h": (3600.0, 60.0),
    "6 h": (21600.0, 300.0),
    "24 h": (86400.0, 900.0),
    "7 d": (604800.0, 3600.0),
}
STATS = ("count", "min", "max", "mean", "p50", "p95", "p99", "latest")
TAIL = 2  # buckets re-read from memory on every push: the open one and the one that may just have closed


class MetricsExplorer:
    """A metric picker with search, a window selector, an ECharts time series and the summary beside it."""

    def __init__(self, metrics: MetricsService, name: str = "system_cpu_usage", window: str = "1 h") -> None:
        self.metrics = metrics
        self.series: dict[str, float] = {}  # bucket start (ISO) -> value, oldest first
        self._generation = 0
        with ui.row().classes("w-full items-end gap-3"):
            self.picker = ui.select(self.names(), value=name if name in metrics.metrics else None, label="Metric",
                                    with_input=True, on_change=self.show) \
                .props("dense outlined stack-label options-dense").classes("w-full sm:w-80 min-w-0") \
                .mark("explorer-metric")
            self.window = ui.toggle(list(WINDOWS), value=window, on_change=self.show) \
                .props("dense no-caps unelevated toggle-color=primary toggle-text-color=black color=dark "
                       "text-color=white") \
                .mark("explorer-window")
        self.about = ui.label().classes("muted text-body wrap-anywhere").mark("explorer-about")
        with ui.element("div").classes("w-full grid gap-4 grid-cols-1 lg:grid-cols-[minmax(0,1fr)_15rem]"):
            self.chart = ui.echart(_chart_options()).classes("w-full h-72 min-w-0").mark("explorer-chart")
            with ui.element("div").classes("grid grid-cols-[auto_minmax(0,1fr)] gap-x-4 gap-y-1 content-start "
                                           "text-technical min-w-0").mark("explorer-summary"):
                self.stats = {key: _stat(key) for key in STATS}
                ui.label("trend").classes("muted")
                self.trend = ui.label("—").classes("trend-stable text-right").mark("summary-trend")
            self.note = ui.label().classes("muted text-caption lg:col-start-2").mark("explorer-note")

    def names(self) -> dict[str, str]:
        """Every registered metric, searchable by name and category."""
        return {name: f"{name} · {metric.category}" for name, metric in sorted(self.metrics.metrics.items())}

    def refresh_names(self, select: str | None = None) -> None:
        """Take in metrics created since the page opened; `select` one of them."""
        self.picker.set_options(self.names(), value=select if select is not None else self.picker.value)

    async def show(self) -> None:
        """Load the chosen metric over the chosen window (stored minutes included) and redraw everything."""
        self._generation += 1
        generation = self._generation
        name, (window, step) = self.picker.value, WINDOWS[self.window.value]
        if not name or name not in self.metrics.metrics:
            self.series = {}
            self.about.set_text("Pick a metric.")
            self._draw("", "", time.time(), window)
            return
        points = await self.metrics.fetch_metric_history(name, window=window, limit=2000, step=step)
        if generation != self._generation:  # another choice was made while this one loaded
            return
        self.series = {p["timestamp"]: p["value"] for p in points or ()}
        metric = self.metrics.metrics[name]
        about = f"{metric.type} · {metric.category} · unit {metric.unit or 'none'}"
        self.about.set_text(f"{about} · {metric.description}" if metric.description else about)
        self._draw(name, metric.unit, time.time(), window)
        self._summarize(name, window, metric.unit)

    def on_push(self, now: float) -> None:
        """A push arrived (`admin_metrics`): merge the newest buckets from memory and refresh the statistics."""
        name, (window, step) = self.picker.value, WINDOWS[self.window.value]
        metric = self.metrics.metrics.get(name or "")
        if metric is None:
            return
        start = now - now % step - (TAIL - 1) * step
        # A second of margin before `start`, then only buckets from `start` on: each is whole, none cut by the window.
        for point in self.metrics.get_metric_history(metric.name, window=now - start + 1.0, step=step):
            if epoch(point["timestamp"]) >= start:
                self.series[point["timestamp"]] = point["value"]
        oldest = iso(now - window)
        for stamp in [s for s in self.series if s < oldest]:
            del self.series[stamp]
        self._draw(metric.name, metric.unit, now, window)
        self._summarize(metric.name, window, metric.unit)

    def _draw(self, name: str, unit: str, now: float, window: float) -> None:
        data = [[stamp, value] for stamp, value in sorted(self.series.items())]
        series = self.chart.options["series"][0]
        series.update(name=name, data=data, showSymbol=len(data) < 40)
        self.chart.options["xAxis"].update(min=iso(now - window), max=iso(now))  # the whole window, even if empty
        self.chart.options["yAxis"]["name"] = unit
        self.chart.update()

    def _summarize(self, name: str, window: float, unit: str) -> None:
        found = self.metrics.get_metric_summary(name, window) or {}
        for key, label in self.stats.items():
            value = found.get(key)
            label.set_text(f"{value:,}" if key == "count" and value is not None else format_value(value, unit))
        trend = found.get("trend") or {}
        direction = trend.get("direction", "stable") if trend.get("direction") in ARROWS else "stable"
        change = float(trend.get("change_percent") or 0.0)
        self.trend.set_text(f"{ARROWS[direction]} {change:+.1f} %")
        self.trend.classes(replace=f"trend-{direction} text-right")
        self.trend.props(f'aria-label="trend {WORDS[direction]} {change:+.1f} %"')
        complete = found.get("complete", True)
        self.note.set_text("" if complete else
                           "Statistics cover the most recent points kept in memory; the chart covers the window.")


def _stat(key: str) -> ui.label:
    ui.label(key).classes("muted")
    return ui.label("—").classes("text-right wrap-anywhere").mark(f"summary-{key}")


def _chart_options() -> dict[str, Any]:
    axis_text = {"color": MUTED, "fontFamily": MONO}
    glow = "rgba(0,255,255,.35)"
    return {
        "backgroundColor": "transparent",
        "textStyle": {"color": TEXT},
        "grid": {"left": 8, "right": 16, "top": 36, "bottom": 8, "containLabel": True},
        "tooltip": {"trigger": "axis", "backgroundColor": SURFACE, "borderColor": CYAN,
                    "textStyle": {"color": TEXT, "fontFamily": MONO}},
        "xAxis": {"type": "time", "axisLabel": {**axis_text, "hideOverlap": True},
                  "axisLine": {"lineStyle": {"color": MUTED}}, "splitLine": {"show": False}},
        "yAxis": {"type": "value", "scale": True, "name": "", "nameTextStyle": axis_text, "axisLabel": axis_text,
                  "splitLine": {"lineStyle": {"color": "rgba(0,255,255,.12)"}}},
        "series": [{
            "type": "line", "name": "", "data": [], "showSymbol": False, "symbolSize": 6,
            "itemStyle": {"color": CYAN},
            "lineStyle": {"color": CYAN, "width": 2, "shadowColor": CYAN, "shadowBlur": 8},
            "areaStyle": {"color": {"type": "linear", "x": 0, "y": 0, "x2": 0, "y2": 1,
                                    "colorStops": [{"offset": 0, "color": glow},
                                                   {"offset": 1, "color": "rgba(0,255,255,0)"}]}},
        }],
    }
