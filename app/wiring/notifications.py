"""Wiring of the notifications feature (see app/wiring/__init__.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.container import Services
    from app.live import LiveBridge


def build(services: Services) -> None:
    """Construct this feature's services and attach them to `services` (no I/O)."""


def register(services: Services, live: LiveBridge) -> None:
    """Add this feature's REST routers, dashboard sections and jobs."""
