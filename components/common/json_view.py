"""Pretty JSON in the terminal font, wrapped so that no value, however long, widens the page."""

from __future__ import annotations

import json
from typing import Any

from nicegui import ui


def json_view(value: Any) -> ui.label:
    """The value as indented JSON: shown as text (never as markup), long strings broken anywhere, scrolled past
    22 rem."""
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return ui.label(text).classes("json-block text-technical w-full").props('role=region aria-label="JSON"') \
        .props("tabindex=0")
