"""Alert rules for admins: a create form with errors beside the fields, every rule with its live state, delete."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from nicegui import ui

from components.common.guard import Authorize, always
from services.metrics import CONDITIONS, SEVERITIES, AlertRule, AlertRuleError, MetricsService
from theme.tokens import DANGER, MAGENTA, MUTED, SUCCESS, YELLOW

SEVERITY_COLORS = {"info": MUTED, "warning": YELLOW, "error": MAGENTA, "critical": DANGER}
STATE_COLORS = {"firing": DANGER, "pending": YELLOW, "ok": SUCCESS}


class AlertRulesPanel:
    """`refresh()` redraws the states in place; call it on pushes and on fired/resolved events."""

    def __init__(self, metrics: MetricsService, authorize: Authorize = always) -> None:
        self.metrics = metrics
        self.authorize = authorize
        self._rows: dict[str, tuple[ui.element, ui.label]] = {}
        with ui.element("div").classes("w-full grid gap-2 grid-cols-2 sm:grid-cols-3 lg:grid-cols-7 items-start"):
            self.metric = ui.select(self.names(), label="Metric", with_input=True) \
                .props("dense outlined options-dense").classes("col-span-2").mark("rule-metric")
            self.condition = ui.select(list(CONDITIONS), value=">", label="Condition").props("dense outlined") \
                .mark("rule-condition")
            self.threshold = ui.number("Threshold").props("dense outlined").mark("rule-threshold")
            self.for_seconds = ui.number("For (s)", value=0, min=0).props("dense outlined").mark("rule-for")
            self.cooldown = ui.number("Cooldown (s)", value=300, min=0).props("dense outlined").mark("rule-cooldown")
            self.severity = ui.select(list(SEVERITIES), value="warning", label="Severity").props("dense outlined") \
                .mark("rule-severity")
        ui.button("Add rule", icon="add_alert", on_click=self.create).props("color=primary text-color=black") \
            .mark("rule-create")
        self.summary = ui.label().classes("muted text-sm").mark("rule-summary")
        self.list = ui.column().classes("w-full gap-2").mark("rule-rows")
        self.refresh()

    def names(self) -> list[str]:
        return sorted(self.metrics.metrics)

    def refresh_names(self) -> None:
        self.metric.set_options(self.names(), value=self.metric.value)

    def refresh(self) -> None:
        """Add rows for new rules, drop rows of deleted ones, and show every rule's current state."""
        rules = {rule.id: rule for rule in self.metrics.alerts.all()}
        for rule_id in [r for r in self._rows if r not in rules]:
            self._rows.pop(rule_id)[0].delete()
        for rule in rules.values():
            if rule.id not in self._rows:
                with self.list:
                    self._rows[rule.id] = self._row(rule)
            self._show_state(rule, self._rows[rule.id][1])
        firing = sum(rule.state == "firing" for rule in rules.values())
        self.summary.set_text(f"{len(rules)} rules · {firing} firing · system {self.metrics.system_health}")

    async def create(self) -> None:
        if not await self.authorize():
            return
        fields = (self.metric, self.threshold, self.for_seconds, self.cooldown, self.condition, self.severity)
        for field in fields:
            field.props(remove="error error-message")
        name = self.metric.value
        if not name or name not in self.metrics.metrics:
            self._error(self.metric, f"unknown metric: {name}" if name else "pick a metric")
            return
        numbers = {}
        for field, label in ((self.threshold, "threshold"), (self.for_seconds, "for"),
                             (self.cooldown, "cooldown")):
            value = field.value
            if value is None or not math.isfinite(value):
                self._error(field, f"{label} must be a number")
                return
            numbers[label] = float(value)
        try:
            rule = await self.metrics.create_alert_rule(name, numbers["threshold"], self.condition.value,
                                                        self.severity.value, numbers["for"], numbers["cooldown"])
        except AlertRuleError as error:
            message = str(error)
            target = next((f for f, word in ((self.for_seconds, "for_seconds"), (self.cooldown, "cooldown"),
                                             (self.threshold, "threshold"), (self.condition, "condition"),
                                             (self.severity, "severity")) if word in message), self.metric)
            self._error(target, message)
            return
        ui.notify(f"Rule added: {_describe(rule)}", type="positive")
        self.refresh()

    def confirm_delete(self, rule_id: str) -> None:
        rule = self.metrics.alerts.get(rule_id)
        if rule is None:
            self.refresh()
            return
        with ui.dialog(value=True) as dialog, ui.card().classes("neon-card").mark("rule-confirm"):
            ui.label("Delete this alert rule?").classes("neon-subtitle text-lg")
            ui.label(_describe(rule)).classes("mono")
            if rule.state == "firing":
                ui.label("It is firing now: deleting it announces it as resolved.").classes("text-sm")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat").mark("rule-confirm-cancel")
                ui.button("Delete", icon="delete", on_click=lambda: self._delete(rule_id, dialog)) \
                    .props("color=negative").mark("rule-confirm-delete")

    async def _delete(self, rule_id: str, dialog: ui.dialog) -> None:
        dialog.close()
        if not await self.authorize():
            return
        if await self.metrics.delete_alert_rule(rule_id):
            ui.notify("Rule deleted", type="positive")
        else:
            ui.notify("That rule was already gone", type="warning")
        self.refresh()

    def _row(self, rule: AlertRule) -> tuple[ui.element, ui.label]:
        unit = self.metrics.metrics[rule.metric_name].unit if rule.metric_name in self.metrics.metrics else ""
        with ui.element("div").classes("w-full flex flex-wrap items-center gap-x-4 gap-y-1 event-row py-1") \
                .mark(f"rule-{rule.id}") as row:
            ui.label(rule.metric_name).classes("mono neon-subtitle break-all")
            ui.label(f"{rule.condition} {rule.threshold:g} {unit}".rstrip()).classes("mono")
            ui.label(f"for {rule.for_seconds:g} s · cooldown {rule.cooldown_seconds:g} s").classes("mono text-sm muted")
            ui.label(rule.severity).classes("priority-chip").style(f"--priority: {SEVERITY_COLORS[rule.severity]}")
            state = ui.label().classes("mono text-sm font-bold px-1 rounded").props("role=status") \
                .mark(f"rule-state-{rule.id}")
            ui.space()
            ui.button(icon="delete", color=None, on_click=lambda rule_id=rule.id: self.confirm_delete(rule_id)) \
                .props(f'flat round dense aria-label="Delete rule on {rule.metric_name}"').style(f"color: {DANGER}") \
                .tooltip("Delete rule").mark(f"rule-delete-{rule.id}")
        return row, state

    @staticmethod
    def _show_state(rule: AlertRule, label: ui.label) -> None:
        since = {"firing": rule.fired_at, "pending": rule.pending_since, "ok": rule.resolved_at}.get(rule.state)
        text = rule.state if since is None else f"{rule.state} since {_clock(since)}"
        if rule.state != "ok" and rule.last_value is not None:
            text += f" (value {rule.last_value:g})"
        label.set_text(text)
        color = STATE_COLORS.get(rule.state, MUTED)
        glow = f"; text-shadow: 0 0 8px {color}; --priority: {color}" if rule.state == "firing" else ""
        label.style(replace=f"color: {color}{glow}")
        label.classes(replace="mono text-sm font-bold px-1 rounded" + (" pulse" if rule.state == "firing" else ""))

    @staticmethod
    def _error(field: Any, message: str) -> None:
        field.props(f"error error-message={json.dumps(message)}")
        ui.notify(message, type="negative")


def _describe(rule: AlertRule) -> str:
    return f"{rule.metric_name} {rule.condition} {rule.threshold:g} ({rule.severity})"


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
