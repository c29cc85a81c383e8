"""Custom metric creation for admins: name, type, category, description, unit; errors beside the field."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from nicegui import ui

from components.common.guard import Authorize, always
from services.metrics import TYPES, MetricCategory, MetricError, MetricsService

log = logging.getLogger(__name__)
CATEGORIES = [c.value for c in MetricCategory]


class CustomMetricForm:
    """Creates the metric and waits until it is stored; `on_created(name)` lets other views list it at once."""

    def __init__(self, metrics: MetricsService, on_created: Callable[[str], None],
                 authorize: Authorize = always) -> None:
        self.metrics = metrics
        self.authorize = authorize
        self.on_created = on_created
        with ui.element("div").classes("w-full grid gap-2 grid-cols-1 sm:grid-cols-2 lg:grid-cols-4 items-start"):
            self.name = ui.input("Name", placeholder="housing_units_built").props("dense outlined") \
                .mark("metric-name")
            self.type = ui.select(list(TYPES), value="gauge", label="Type").props("dense outlined") \
                .mark("metric-type")
            self.category = ui.select(CATEGORIES, value="system", label="Category").props("dense outlined") \
                .mark("metric-category")
            self.unit = ui.input("Unit", placeholder="count").props("dense outlined maxlength=50").mark("metric-unit")
        self.description = ui.input("Description").props("dense outlined maxlength=500").classes("w-full") \
            .mark("metric-description")
        with ui.row().classes("items-center gap-3"):
            ui.button("Create metric", icon="add_chart", on_click=self.create) \
                .props("color=primary text-color=black").mark("metric-create")
            self.result = ui.label().classes("mono text-sm").mark("metric-result")

    async def create(self) -> None:
        if not await self.authorize():
            return
        fields = (self.name, self.type, self.category, self.unit, self.description)
        for field in fields:
            field.props(remove="error error-message")
        self.result.set_text("")
        name = (self.name.value or "").strip()
        try:
            await self.metrics.define_metric(name, self.type.value, self.category.value,
                                             (self.description.value or "").strip(), (self.unit.value or "").strip())
        except MetricError as error:
            message = str(error)
            target = next((field for prefix, field in (("metric_type", self.type), ("category", self.category),
                                                       ("description", self.description))
                           if message.startswith(prefix)), self.name)
            self._error(target, message)
            return
        except Exception:  # the definition stands in memory; only storing it failed, which the admin must know
            log.warning("storing custom metric %s failed", name, exc_info=True)
            self._error(self.name, f"{name} was created but could not be stored: it will be gone after a restart")
            self.on_created(name)
            return
        self.result.set_text(f"created {name}")
        ui.notify(f"Created metric {name}", type="positive")
        self.name.set_value("")
        self.description.set_value("")
        self.unit.set_value("")
        self.on_created(name)

    def _error(self, field: ui.element, message: str) -> None:
        field.props(f"error error-message={json.dumps(message)}")
        self.result.set_text(message)
        ui.notify(message, type="negative")
