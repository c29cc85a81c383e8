"""Admin view of live delivery: the browser views and the WebSocket API clients of this process, with the hub's and
the event bus's figures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from theme import section_heading

COLUMNS: list[dict[str, Any]] = [
    {"name": "user", "label": "User", "field": "user", "sortable": True, "align": "left",
     "classes": "wrap-anywhere"},
    {"name": "connection_type", "label": "Type", "field": "connection_type", "sortable": True, "align": "left"},
    {"name": "client", "label": "Client", "field": "client", "align": "left", "classes": "mono"},
    {"name": "connected_at", "label": "Connected (UTC)", "field": "connected_at", "sortable": True, "align": "left",
     "classes": "mono"},
    {"name": "channels", "label": "Channels", "field": "channels", "align": "left", "classes": "wrap-anywhere"},
    {"name": "messages_sent", "label": "Sent", "field": "messages_sent", "sortable": True, "align": "right",
     "classes": "mono"},
    {"name": "messages_received", "label": "Received", "field": "messages_received", "sortable": True,
     "align": "right", "classes": "mono"},
    {"name": "buffered", "label": "Buffered", "field": "buffered", "sortable": True, "align": "right",
     "classes": "mono"},
]
VIEW_COLUMNS: list[dict[str, Any]] = [
    {"name": "user", "label": "User", "field": "user", "sortable": True, "align": "left",
     "classes": "wrap-anywhere"},
    {"name": "page", "label": "Page", "field": "page", "sortable": True, "align": "left", "classes": "mono"},
    {"name": "open_for", "label": "Open for", "field": "open_for", "align": "left", "classes": "mono"},
    {"name": "opened_at", "label": "Opened (UTC)", "field": "opened_at", "sortable": True, "align": "left",
     "classes": "mono"},
]

REPLICA_COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "Replica", "field": "name", "sortable": True, "align": "left",
     "classes": "wrap-anywhere mono"},
    {"name": "role", "label": "Role", "field": "role", "sortable": True, "align": "left"},
    {"name": "websocket_clients", "label": "WebSocket clients", "field": "websocket_clients", "sortable": True,
     "align": "right", "classes": "mono"},
    {"name": "browser_views", "label": "Browser views", "field": "browser_views", "sortable": True,
     "align": "right", "classes": "mono"},
    {"name": "cpu", "label": "Host CPU", "field": "cpu", "align": "right", "classes": "mono"},
    {"name": "memory", "label": "Memory (RSS)", "field": "memory", "align": "right", "classes": "mono"},
    {"name": "heartbeat", "label": "Last report", "field": "heartbeat", "align": "left", "classes": "mono"},
]
REPLICAS_ABOUT = ("Every process of this deployment reports its clients and load every few seconds; one that stops "
                  "reporting leaves the list after 30 s.")

HUB_FIGURES = ("total_connections", "total_users", "total_channels", "messages_sent", "messages_received",
               "dropped_slow_clients", "closed_for_flooding", "refused_connections", "swept_connections")
BUS_FIGURES = ("events_published", "events_handled", "handler_failures", "events_rejected", "handlers", "middleware",
               "history_size", "pending_writes", "events_lost")

VIEWS_ABOUT = ("Pages open in a browser: the dashboard and this control panel. Each tab talks to the server over "
               "the page's own connection; yours is among them.")
CLIENTS_ABOUT = ("Programs connected to the WebSocket API (/api/v1/realtime/ws): mobile apps, other systems' "
                 "dashboards, services. Browser pages are not counted here.")

ROLES = {
    "sole": "Single process: it runs every scheduled job.",
    "leader": "This process leads: it runs the deployment's scheduled jobs (sweeps, alert rules, dashboard pushes).",
    "follower": "This process follows: another process runs the deployment's scheduled jobs.",
    "alone": "Redis is unreachable: this process runs the deployment's scheduled jobs on its own until it answers.",
}

Rows = Callable[[], list[dict[str, Any]]]


def role_text(leadership: dict[str, Any]) -> str:
    """What `Leadership.describe()` means for an admin."""
    role = "sole" if leadership.get("backend") == "memory" else str(leadership.get("role"))
    return ROLES.get(role, f"Role: {role}")


def duration(seconds: float) -> str:
    """How long something has been open, as people say it: 12 s, 4 min, 2 h 05 min, 3 d 4 h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours = seconds // 60, seconds // 3600
    if hours == 0:
        return f"{minutes} min"
    if hours < 24:
        return f"{hours} h {minutes % 60:02d} min"
    return f"{hours // 24} d {hours % 24} h"


class HubAdmin:
    """Views, connections and statistics; `refresh()` redraws from the live sources (called on pushes)."""

    def __init__(self, stats: Callable[[], dict[str, Any]], connections: Rows, bus: Callable[[], dict[str, Any]],
                 leadership: Callable[[], dict[str, Any]], views: Rows = list, replicas: Rows = list) -> None:
        self._stats, self._connections, self._bus, self._leadership = stats, connections, bus, leadership
        self._views, self._replicas = views, replicas
        self.role = ui.label().classes("muted text-body").mark("process-role")
        with ui.card().classes("neon-card w-full"):
            section_heading("Replicas")
            ui.label(REPLICAS_ABOUT).classes("text-caption muted")
            self.replica_count = ui.label().classes("text-body").props("role=status").mark("replica-count")
            self.replicas_table = _table(REPLICA_COLUMNS, "replicas-table")
            self.no_replicas = ui.label("No replica has reported yet.").classes("muted text-body") \
                .mark("no-replicas")
        with ui.card().classes("neon-card w-full"):
            section_heading("Browser views (this process)")
            ui.label(VIEWS_ABOUT).classes("text-caption muted")
            self.view_count = ui.label().classes("text-body").props("role=status").mark("view-count")
            self.views_table = _table(VIEW_COLUMNS, "views-table")
            self.no_views = ui.label("No browser views are open.").classes("muted text-body").mark("no-views")
        with ui.card().classes("neon-card w-full"):
            section_heading("WebSocket API clients (this process)")
            ui.label(CLIENTS_ABOUT).classes("text-caption muted")
            self.client_count = ui.label().classes("text-body").props("role=status").mark("client-count")
            self.table = _table(COLUMNS, "connections-table")
            self.empty = ui.label("No program is connected to the WebSocket API right now.") \
                .classes("muted text-body").mark("no-connections")
        with ui.element("div").classes("w-full grid gap-4 grid-cols-1 md:grid-cols-2"):
            with ui.card().classes("neon-card w-full"):
                section_heading("WebSocket hub")
                self.hub = {name: self._figure(name) for name in HUB_FIGURES}
            with ui.card().classes("neon-card w-full"):
                section_heading("Event bus")
                self.bus = {name: self._figure(name) for name in BUS_FIGURES}
        self.refresh()

    def refresh(self) -> None:
        stats, bus = self._stats(), self._bus()
        self.role.set_text(role_text(self._leadership()))
        for name, label in self.hub.items():
            label.set_text(f"{stats.get(name, 0):,}")
        for name, label in self.bus.items():
            label.set_text(f"{bus.get(name, 0):,}")
        replicas = self._replicas()
        self.replica_count.set_text(_count(len(replicas), "replica", "replicas"))
        _show(self.replicas_table, self.no_replicas, replicas)
        views = self._views()
        self.view_count.set_text(_count(len(views), "browser view", "browser views"))
        _show(self.views_table, self.no_views, views)
        rows = [{**c, "channels": ", ".join(c["channels"]), "connected_at": c["connected_at"][:19].replace("T", " ")}
                for c in self._connections()]
        self.client_count.set_text(_count(len(rows), "WebSocket client", "WebSocket clients"))
        _show(self.table, self.empty, rows)

    @staticmethod
    def _figure(name: str) -> ui.label:
        with ui.row().classes("w-full justify-between gap-4 no-wrap"):
            ui.label(name.replace("_", " ")).classes("muted text-body")
            return ui.label("0").classes("text-technical").mark(f"figure-{name}")


def _table(columns: list[dict[str, Any]], marker: str) -> ui.table:
    """A table that scrolls sideways inside its card on a narrow screen instead of widening the page."""
    return ui.table(columns=columns, rows=[], row_key="id", pagination=20) \
        .props("flat dense dark wrap-cells").classes("w-full max-w-full bg-transparent").mark(marker)


def _show(table: ui.table, empty: ui.label, rows: list[dict[str, Any]]) -> None:
    table.rows = rows
    table.update()
    empty.set_visibility(not rows)
    table.set_visibility(bool(rows))


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"
