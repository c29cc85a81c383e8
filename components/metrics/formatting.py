"""How metric values and trends read: units, arrows and words (the admin explorer; the strip has its own cards)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

ARROWS = {"up": "▲", "down": "▼", "stable": "■"}
WORDS = {"up": "rising", "down": "falling", "stable": "stable"}


def format_value(value: Any, unit: str) -> str:
    """A value as people read it: 42.5 %, $1,600.00, 12.3 ms, 1h 02m, 3.20 /s, 150 jobs."""
    if not isinstance(value, int | float):
        return "—"
    if unit == "percent":
        return f"{value:.1f} %"
    if unit == "dollars":
        return f"${value:,.2f}"
    if unit == "milliseconds":
        return f"{value:,.1f} ms"
    if unit == "seconds":
        minutes, seconds = divmod(int(value), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"
    if unit.endswith("/second"):
        return f"{value:,.2f} /s"
    number = _number(value)
    return number if unit in ("", "count") else f"{number} {unit}"


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 0.01 else f"{value:,.2f}"


def epoch(timestamp: str | float) -> float:
    """Epoch seconds from an ISO-8601 timestamp of the payloads (or a number already)."""
    return float(timestamp) if isinstance(timestamp, int | float) else datetime.fromisoformat(timestamp).timestamp()
