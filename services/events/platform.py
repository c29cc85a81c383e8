"""Which events only the platform itself may say, and what a publish caused (reported back to its caller)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

PLATFORM_FAMILIES = ("system.", "metric.", "notification.", "user.")
"""Event families the platform emits about itself: health and metric alerts, notification bookkeeping, who
connected and what a person did. Published from outside they would be forgeries that reach people (an alert in
every admin's inbox), so the API refuses them; the services publish them directly."""

_reactions: ContextVar[dict[str, Any] | None] = ContextVar("publish_reactions", default=None)


def emitted_by_platform(event_type: str) -> bool:
    return event_type.startswith(PLATFORM_FAMILIES)


@contextmanager
def reactions() -> Iterator[dict[str, Any]]:
    """Collect what handlers note about a publish made inside the block (for the publisher's response)."""
    report: dict[str, Any] = {}
    token = _reactions.set(report)
    try:
        yield report
    finally:
        _reactions.reset(token)


def note(key: str, value: Any) -> None:
    """Record something the publisher should hear about (a capped fan-out, say); a no-op outside `reactions()`."""
    report = _reactions.get()
    if report is not None:
        report[key] = value
