"""The metric retention button: prune stored history past the retention now and say how much went."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from nicegui import ui

from components.common.guard import Authorize, always
from theme import toast

log = logging.getLogger(__name__)


class MetricCleanup:
    """Runs `prune()` (the hourly retention job) on demand and reports the number of points it removed."""

    def __init__(self, prune: Callable[[], Awaitable[int]], retention_days: float,
                 authorize: Authorize = always) -> None:
        self.prune = prune
        self.authorize = authorize
        self.retention_days = retention_days
        ui.label(f"Stored minute points older than {retention_days:g} days are removed every hour.") \
            .classes("text-body muted")
        with ui.row().classes("items-center gap-3"):
            self.button = ui.button("Prune old points now", icon="cleaning_services", on_click=self.run) \
                .props("outline color=secondary").mark("metrics-prune")
            self.result = ui.label().classes("text-technical").props("role=status").mark("metrics-prune-result")

    async def run(self) -> None:
        if not await self.authorize():
            return
        self.button.disable()
        self.result.classes(remove="danger-text")
        try:
            removed = await self.prune()
        except Exception:  # the database is away: tell the admin instead of failing silently
            log.warning("pruning metric history failed", exc_info=True)
            self.result.set_text("Pruning failed: the database did not answer; nothing was removed.")
            self.result.classes(add="danger-text")
            return
        finally:
            self.button.enable()
        points = "point" if removed == 1 else "points"
        self.result.set_text(f"removed {removed:,} stored {points} older than {self.retention_days:g} days")
        toast(f"Metric cleanup removed {removed:,} {points}")
