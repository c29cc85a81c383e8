"""Pretty JSON in the terminal font."""

from __future__ import annotations

import json
from typing import Any

from nicegui import ui


def json_view(value: Any) -> ui.code:
    return ui.code(json.dumps(value, indent=2, ensure_ascii=False, default=str), language="json") \
        .classes("w-full mono text-sm")
