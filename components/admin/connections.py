"""Admin view of live delivery: WebSocket connections, hub statistics and event-bus statistics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

COLUMNS: list[dict[str, Any]] = [
    {"name": "user", "label": "User", "field": "user", "sortable": True, "align": "left"},
    {"name": "connection_type", "label": "Type", "field": "connection_type", "sortable": True, "align": "left"},
    {"name": "client", "label": "Client", "field": "client", "align": "left", "classes": "mono"},
    {"name": "connected_at", "label": "Connected (UTC)", "field": "connected_at", "sortable": True, "align": "left",
     "classes": "mono"},
    {"name": "channels", "label": "Channels", "field": "channels", "align": "left"},
    {"name": "messages_sent", "label": "Sent", "field": "messages_sent", "sortable": True, "classes": "mono"},
    {"name": "messages_received", "label": "Received", "field": "messages_received", "sortable": True,
     "classes": "mono"},
    {"name": "buffered", "label": "Buffered", "field": "buffered", "sortable": True, "classes": "mono"},
]

HUB_FIGURES = ("total_connections", "total_users", "total_channels", "messages_sent", "messages_received",
               "dropped_slow_clients", "closed_for_flooding", "refused_connections", "swept_connections")
BUS_FIGURES = ("events_published", "events_handled", "handler_failures", "events_rejected", "handlers", "middleware",
               "history_size", "pending_writes", "events_lost")


ROLES = {
    "sole": "Single process: it runs every scheduled job.",
    "leader": "This process leads: it runs the deployment's scheduled jobs (sweeps, alert rules, dashboard pushes).",
    "follower": "This process follows: another process runs the deployment's scheduled jobs.",
    "alone": "Redis is unreachable: this process runs the deployment's scheduled jobs on its own until it answers.",
}


def role_text(leadership: dict[str, Any]) -> str:
    """What `Leadership.describe()` means for an admin."""
    role = "sole" if leadership.get("backend") == "memory" else str(leadership.get("role"))
    return ROLES.get(role, f"Role: {role}")


class HubAdmin:
    """Connections table and statistics; `refresh()` redraws from the live sources (called on pushes)."""

    def __init__(self, stats: Callable[[], dict[str, Any]], connections: Callable[[], list[dict[str, Any]]],
                 bus: Callable[[], dict[str, Any]], leadership: Callable[[], dict[str, Any]]) -> None:
        self._stats, self._connections, self._bus, self._leadership = stats, connections, bus, leadership
        self.role = ui.label().classes("muted text-sm").mark("process-role")
        with ui.row().classes("w-full gap-4"):
            with ui.card().classes("neon-card grow"):
                ui.label("WebSocket hub").classes("neon-subtitle text-lg")
                self.hub = {name: self._figure(name) for name in HUB_FIGURES}
            with ui.card().classes("neon-card grow"):
                ui.label("Event bus").classes("neon-subtitle text-lg")
                self.bus = {name: self._figure(name) for name in BUS_FIGURES}
        with ui.card().classes("neon-card w-full"):
            ui.label("Live connections (this process)").classes("neon-subtitle text-lg")
            self.table = ui.table(columns=COLUMNS, rows=[], row_key="id", pagination=20) \
                .props("flat dense dark wrap-cells").classes("w-full bg-transparent").mark("connections-table")
            self.empty = ui.label("No WebSocket clients are connected.").classes("muted").mark("no-connections")
        self.refresh()

    def refresh(self) -> None:
        stats, bus = self._stats(), self._bus()
        self.role.set_text(role_text(self._leadership()))
        for name, label in self.hub.items():
            label.set_text(f"{stats.get(name, 0):,}")
        for name, label in self.bus.items():
            label.set_text(f"{bus.get(name, 0):,}")
        rows = [{**c, "channels": ", ".join(c["channels"]), "connected_at": c["connected_at"][:19].replace("T", " ")}
                for c in self._connections()]
        self.table.rows = rows
        self.table.update()
        self.empty.set_visibility(not rows)
        self.table.set_visibility(bool(rows))

    @staticmethod
    def _figure(name: str) -> ui.label:
        with ui.row().classes("w-full justify-between gap-4"):
            ui.label(name.replace("_", " ")).classes("muted text-sm")
            return ui.label("0").classes("mono").mark(f"figure-{name}")
