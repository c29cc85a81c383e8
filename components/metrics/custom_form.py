"""Custom metric creation for admins: name, type, category, description, unit; errors beside the field."""

from __future__ import annotations

import logging
from collections.abc import Callable

from nicegui import ui

from components.common.guard import Authorize, always
from services.metrics import TYPES, MetricCategory, MetricError, MetricsService
from theme import toast

log = logging.getLogger(__name__)
CATEGORIES = [c.value for c in MetricCategory]
FIELD = "dense outlined stack-label"  # the label stays above, so it never sits on the example placeholder


class CustomMetricForm:
    """Creates the metric and waits until it is stored; `on_created(name)` lets other views list it at once."""

    def __init__(self, metrics: MetricsService, on_created: Callable[[str], None],
                 authorize: Authorize = always) -> None:
        self.metrics = metrics
        self.authorize = authorize
        self.on_created = on_created
        with ui.column().classes("w-full gap-3") as self.root:
            with ui.element("div").classes("w-full grid gap-2 grid-cols-1 sm:grid-cols-2 lg:grid-cols-4 items-start"):
                self.name = ui.input("Name", placeholder="e.g. housing_units_built").props(f"{FIELD} maxlength=100") \
                    .classes("min-w-0").mark("metric-name")
                self.type = ui.select(list(TYPES), value="gauge", label="Type").props(FIELD).classes("min-w-0") \
                    .mark("metric-type")
                self.category = ui.select(CATEGORIES, value="system", label="Category").props(FIELD) \
                    .classes("min-w-0").mark("metric-category")
                self.unit = ui.input("Unit", placeholder="e.g. count").props(f"{FIELD} maxlength=50") \
                    .classes("min-w-0").mark("metric-unit")
            self.description = ui.input("Description", placeholder="What it counts, for the people who read it") \
                .props(f"{FIELD} maxlength=500").classes("w-full").mark("metric-description")
            for field in (self.name, self.unit, self.description):
                field.on("keydown.enter", self.create)
            with ui.row().classes("items-center gap-3 w-full"):
                ui.button("Create metric", icon="add_chart", on_click=self.create) \
                    .props("unelevated color=primary").mark("metric-create")
                self.result = ui.label().classes("text-technical wrap-anywhere min-w-0").props("role=status") \
                    .mark("metric-result")

    async def create(self) -> None:
        if not await self.authorize():
            return
        for field in (self.name, self.type, self.category, self.unit, self.description):
            field.props(remove="error error-message")
        self.result.set_text("")
        name = (self.name.value or "").strip()
        if not name:
            self._error(self.name, "Give the metric a name.")
            return
        try:
            await self.metrics.define_metric(name, self.type.value, self.category.value,
                                             (self.description.value or "").strip(), (self.unit.value or "").strip())
        except MetricError as error:
            target, message = self._explain(str(error), name)
            self._error(target, message)
            return
        except Exception:  # the definition stands in memory; only storing it failed, which the admin must know
            log.warning("storing custom metric %s failed", name, exc_info=True)
            self.result.set_text(f"{name} was created but could not be stored: it will be gone after a restart.")
            self.on_created(name)
            return
        self.result.set_text(f"created {name}")
        with self.root:
            toast(f"Created metric {name}")
        self.name.set_value("")
        self.description.set_value("")
        self.unit.set_value("")
        self.on_created(name)

    def _explain(self, message: str, name: str) -> tuple[ui.element, str]:
        """The field a service error is about, and what it means in the form's words."""
        if message.startswith("name must"):
            return self.name, "Use letters, digits and underscores, not a digit first; at most 100 characters."
        if "already exists" in message:
            return self.name, f"There is already a metric named {name}."
        if message.startswith("metric_type"):
            return self.type, "Pick one of the types in the list."
        if message.startswith("category"):
            return self.category, "Pick one of the categories in the list."
        if message.startswith("description is limited"):
            return self.description, "Keep the description to 500 characters and the unit to 50."
        if message.startswith(("description:", "unit:")):
            field, _, reason = message.partition(": ")
            return (self.unit if field == "unit" else self.description), f"This text {reason}."
        if message.startswith("at most"):
            return self.name, f"No room for another metric: the limit is {message.removeprefix('at most ')}."
        return self.name, message

    @staticmethod
    def _error(field: ui.element, message: str) -> None:
        """The message beside the field, and only there."""
        field.props.update({"error": True, "error-message": message})
        field.update()
