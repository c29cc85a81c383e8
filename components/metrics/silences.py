"""Alert silences in the Metrics tab: silence a rule or a metric's rules for a while with a reason; end one now."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from nicegui import ui

from components.common.guard import Authorize, always
from services.metrics.silences import Silence, SilenceError
from theme import toast

log = logging.getLogger(__name__)

FIELD = "dense outlined stack-label"
DURATIONS = {900: "15 minutes", 3600: "1 hour", 4 * 3600: "4 hours", 86400: "1 day", 7 * 86400: "1 week"}
REFRESH_SECONDS = 15.0
"""Silences end by themselves, which signals nothing: look again now and then."""


class SilenceSource(Protocol):
    async def create(self, *, rule_id: str | None = ..., metric_name: str | None = ..., duration_seconds: float,
                     reason: str, created_by: str) -> Silence: ...
    async def listing(self, *, include_ended: bool = ..., limit: int = ...) -> list[dict[str, Any]]: ...
    async def end(self, silence_id: str, ended_by: str) -> Silence | None: ...


class SilencesPanel:
    """The form and the silences in force; `rules()` and `names()` give the current choices."""

    def __init__(self, source: SilenceSource, rules: Callable[[], dict[str, str]], names: Callable[[], list[str]],
                 username: str, authorize: Authorize = always) -> None:
        self.source = source
        self.rules = rules
        self.names = names
        self.username = username
        self.authorize = authorize
        with ui.column().classes("w-full gap-3") as self.root:
            ui.label("A silenced rule still evaluates and shows as firing; it sends no notification until the "
                     "silence ends.").classes("text-body muted")
            with ui.row().classes("w-full items-start gap-2"):
                self.kind = ui.toggle({"rule": "One rule", "metric": "Every rule on a metric"}, value="rule",
                                      on_change=self._show_kind) \
                    .props("no-caps dense unelevated toggle-color=primary toggle-text-color=black color=dark "
                           "text-color=white").mark("silence-kind")
                self.rule = ui.select(rules(), label="Rule").props(FIELD).classes("flex-1 min-w-[14rem]") \
                    .mark("silence-rule")
                self.metric = ui.select(names(), label="Metric", with_input=True).props(FIELD) \
                    .classes("flex-1 min-w-[14rem]").mark("silence-metric")
                self.duration = ui.select(DURATIONS, value=3600, label="For").props(FIELD).classes("w-36") \
                    .mark("silence-duration")
            self.reason = ui.input("Reason").props(f"{FIELD} counter maxlength=500").classes("w-full") \
                .mark("silence-reason")
            with ui.row().classes("w-full items-center gap-3"):
                ui.button("Silence", icon="notifications_off", on_click=self.create) \
                    .props("unelevated color=secondary").mark("silence-run")
                self.result = ui.label().classes("text-technical wrap-anywhere min-w-0 flex-1") \
                    .props("role=status").mark("silence-result")
            self.list = ui.column().classes("w-full gap-2").mark("silence-list")
        self._show_kind()
        ui.timer(REFRESH_SECONDS, self.refresh, immediate=False)

    async def create(self) -> None:
        if not await self.authorize():
            return
        self.result.classes(remove="danger-text")
        target: dict[str, str | None] = {"rule_id": self.rule.value} if self.kind.value == "rule" \
            else {"metric_name": self.metric.value}
        problem = None
        if not next(iter(target.values())):
            problem = "Choose the rule or metric to silence."
        elif self.kind.value == "rule" and self.rule.value not in self.rules():
            problem = "That rule no longer exists."
        elif self.kind.value == "metric" and self.metric.value not in self.names():
            problem = "There is no such metric."
        if problem is None:
            try:
                silence = await self.source.create(**target, duration_seconds=float(self.duration.value or 0),
                                                   reason=self.reason.value or "", created_by=self.username)
            except SilenceError as error:
                problem = str(error).split(": ", 1)[-1]
            else:
                self.result.set_text(f"silenced until {_when(silence.ends_at.isoformat())}")
                with self.root:
                    toast(f"Silenced: {silence.rule_id or silence.metric_name}")
                self.reason.set_value("")
                await self.refresh()
                return
        self.result.set_text(f"Not silenced: {problem}")
        self.result.classes(add="danger-text")

    async def refresh(self) -> None:
        self.rule.set_options(self.rules(), value=self.rule.value if self.rule.value in self.rules() else None)
        try:
            found = await self.source.listing()
        except Exception:  # the database is away: keep what is shown
            log.warning("listing alert silences failed", exc_info=True)
            return
        self.list.clear()
        with self.list:
            if not found:
                ui.label("No silences in force.").classes("text-body muted")
            for item in found:
                with ui.row().classes("w-full items-center gap-2 no-wrap").mark(f"silence-{item['id']}"):
                    with ui.column().classes("gap-0 min-w-0 flex-1"):
                        what = f"rule {item['rule_id']}" if item["rule_id"] else f"every rule on {item['metric_name']}"
                        ui.label(f"{what} · until {_when(item['ends_at'])}").classes("text-body wrap-anywhere")
                        ui.label(f"{item['reason']} — {item['created_by']}").classes("text-technical muted "
                                                                                     "wrap-anywhere")
                    ui.button("End now", on_click=lambda _, i=item: self.end(i)) \
                        .props("flat dense no-caps color=negative").mark(f"silence-end-{item['id']}")

    async def end(self, item: dict[str, Any]) -> None:
        if not await self.authorize():
            return
        ended = await self.source.end(item["id"], self.username)
        with self.root:
            toast("Silence ended" if ended is not None else "That silence had already ended",
                  "positive" if ended is not None else "warning")
        await self.refresh()

    def _show_kind(self) -> None:
        self.rule.set_visibility(self.kind.value == "rule")
        self.metric.set_visibility(self.kind.value == "metric")


def _when(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
