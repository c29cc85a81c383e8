"""What a page shows while the database cannot be reached: a clear message where the data would be."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from nicegui import ui

from app.asgi import database_unavailable
from theme import frame

MESSAGE = "The data is unavailable right now: the database cannot be reached. This page will work again as soon " \
          "as it is back; reload in a moment."


def unavailable_card() -> None:
    with ui.card().classes("neon-card w-full").props("role=alert").mark("data-unavailable"):
        ui.label("Data unavailable").classes("neon-subtitle text-lg")
        ui.label(MESSAGE).classes("text-sm")


def unavailable_page(title: str) -> None:
    """The whole page, when not even the session could be checked."""
    with frame(title):
        unavailable_card()


async def unless_unavailable(draw: Awaitable[Any], *, explain: bool = True) -> None:
    """Draw a part of a page; while the database is away, show the message there instead (or nothing)."""
    try:
        await draw
    except Exception as error:
        if not database_unavailable(error):
            raise
        if explain:
            unavailable_card()
