"""Alert rules for admins: a create form with errors beside the fields, every rule with its live state, delete."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from nicegui import ui

from components.common.guard import Authorize, always
from services.metrics import CONDITIONS, SEVERITIES, AlertRule, AlertRuleError, MetricsService
from theme import confirm, toast
from theme.tokens import LEVEL_COLORS, MUTED, STATE_COLORS

SEVERITY_COLORS = {severity: LEVEL_COLORS[severity] for severity in SEVERITIES}
"""The inbox's colours: "critical" is the same red here as on a critical notification."""
FIELD = "dense outlined stack-label"


class AlertRulesPanel:
    """`refresh()` redraws the states in place; call it on pushes and on fired/resolved events."""

    def __init__(self, metrics: MetricsService, authorize: Authorize = always) -> None:
        self.metrics = metrics
        self.authorize = authorize
        self._rows: dict[str, tuple[ui.element, ui.label]] = {}
        with ui.column().classes("w-full gap-3") as self.root:  # outlives the rows: dialogs and toasts live here
            with ui.element("div").classes("w-full grid gap-2 grid-cols-2 sm:grid-cols-3 lg:grid-cols-7 items-start"):
                self.metric = ui.select(self.names(), label="Metric", with_input=True) \
                    .props(f"{FIELD} options-dense").classes("col-span-2 min-w-0").mark("rule-metric")
                self.condition = ui.select(list(CONDITIONS), value=">", label="Condition").props(FIELD) \
                    .classes("min-w-0").mark("rule-condition")
                self.threshold = ui.number("Threshold").props(FIELD).classes("min-w-0").mark("rule-threshold")
                self.for_seconds = ui.number("For (s)", value=0).props(f'{FIELD} hint="0: fire at once"') \
                    .classes("min-w-0").mark("rule-for")
                self.cooldown = ui.number("Cooldown (s)", value=300).props(FIELD).classes("min-w-0") \
                    .mark("rule-cooldown")
                self.severity = ui.select(list(SEVERITIES), value="warning", label="Severity").props(FIELD) \
                    .classes("min-w-0").mark("rule-severity")
            for field in (self.threshold, self.for_seconds, self.cooldown):
                field.on("keydown.enter", self.create)
            ui.button("Add rule", icon="add_alert", on_click=self.create).props("unelevated color=primary") \
                .mark("rule-create")
            self.summary = ui.label().classes("muted text-body").props("role=status").mark("rule-summary")
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
        count = "1 rule" if len(rules) == 1 else f"{len(rules)} rules"
        self.summary.set_text(f"{count} · {firing} firing · system {self.metrics.system_health}")

    async def create(self) -> None:
        if not await self.authorize():
            return
        for field in (self.metric, self.threshold, self.for_seconds, self.cooldown, self.condition, self.severity):
            field.props(remove="error error-message")
        name = self.metric.value
        if not name:
            self._error(self.metric, "Pick the metric to watch.")
            return
        if name not in self.metrics.metrics:
            self._error(self.metric, f"There is no metric named {name}.")
            return
        numbers = self._numbers()
        if numbers is None:
            return
        try:
            rule = await self.metrics.create_alert_rule(name, numbers["threshold"], self.condition.value,
                                                        self.severity.value, numbers["for"], numbers["cooldown"])
        except AlertRuleError as error:  # the form checked the fields; what is left is the number of rules
            message = str(error)
            limit = message.removeprefix("at most ").removesuffix(" alert rules")
            self._error(self.metric, f"There are already {limit} rules, the most allowed: delete one first."
                        if message.startswith("at most") else f"This rule cannot be added: {message}.")
            return
        with self.root:
            toast(f"Rule added: {_describe(rule)}")
        self.refresh()

    def _numbers(self) -> dict[str, float] | None:
        """Threshold, for and cooldown as numbers; None when one is missing or out of range (its field says so)."""
        numbers: dict[str, float] = {}
        for field, key in ((self.threshold, "threshold"), (self.for_seconds, "for"), (self.cooldown, "cooldown")):
            value = field.value
            if value is None or not math.isfinite(value):
                self._error(field, "Enter the value that sets the alert off." if key == "threshold"
                            else "Enter a number of seconds (0 or more).")
                return None
            if key != "threshold" and value < 0:
                self._error(field, "Can't be negative: 0 fires at once." if key == "for"
                            else "Can't be negative: 0 repeats the alert at every check.")
                return None
            numbers[key] = float(value)
        return numbers

    async def confirm_delete(self, rule_id: str) -> None:
        rule = self.metrics.alerts.get(rule_id)
        if rule is None:
            self.refresh()
            return
        detail = "Its history stays; the metric is no longer watched for this condition."
        if rule.state == "firing":
            detail = "It is firing now: deleting it announces it as resolved. " + detail
        with self.root:  # not the row: a push that redraws the rows would take the dialog and its answer with it
            if not await confirm(f"Delete the rule {_describe(rule)}?", detail, "Delete", marker="rule-confirm"):
                return
            if not await self.authorize():
                return
            if await self.metrics.delete_alert_rule(rule_id):
                toast("Rule deleted")
            else:
                toast("That rule was already gone", "warning")
        self.refresh()

    def _row(self, rule: AlertRule) -> tuple[ui.element, ui.label]:
        unit = self.metrics.metrics[rule.metric_name].unit if rule.metric_name in self.metrics.metrics else ""
        with ui.element("div").classes("w-full flex flex-wrap items-center gap-x-4 gap-y-1 event-row py-1") \
                .mark(f"rule-{rule.id}") as row:
            ui.label(rule.metric_name).classes("text-technical neon-subtitle wrap-anywhere")
            ui.label(f"{rule.condition} {rule.threshold:g} {unit}".rstrip()).classes("text-technical wrap-anywhere")
            ui.label(f"for {rule.for_seconds:g} s · cooldown {rule.cooldown_seconds:g} s") \
                .classes("text-technical muted")
            ui.label(rule.severity).classes("priority-chip").style(f"--priority: {SEVERITY_COLORS[rule.severity]}")
            state = ui.label().classes("text-technical font-bold px-1 rounded").props("role=status") \
                .mark(f"rule-state-{rule.id}")
            ui.space()
            delete = ui.button(icon="delete", on_click=lambda rule_id=rule.id: self.confirm_delete(rule_id)) \
                .props("flat round dense color=negative").tooltip("Delete rule").mark(f"rule-delete-{rule.id}")
            delete.props["aria-label"] = f"Delete the rule on {rule.metric_name}"
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
        label.classes(replace="text-technical font-bold px-1 rounded" + (" pulse" if rule.state == "firing" else ""))

    @staticmethod
    def _error(field: Any, message: str) -> None:
        """The message beside the field, and only there."""
        field.props.update({"error": True, "error-message": message})
        field.update()


def _describe(rule: AlertRule) -> str:
    return f"{rule.metric_name} {rule.condition} {rule.threshold:g} ({rule.severity})"


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
