"""The page shell: colours, CSS, header with product name, navigation and the user menu."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from nicegui import ui

from theme.css import CSS
from theme.tokens import CYAN, MAGENTA, SURFACE, YELLOW

PRODUCT = "Liberation System"


def apply() -> None:
    """Colours and CSS for the current page."""
    ui.colors(primary=CYAN, secondary=MAGENTA, accent=YELLOW, dark=SURFACE, dark_page="#000000")
    ui.add_css(CSS)
    ui.dark_mode(True)


@contextmanager
def frame(title: str, *, username: str | None = None, role: str | None = None,
          on_logout: Callable[[], None] | None = None) -> Iterator[ui.column]:
    """Draw the header and yield the page's content column."""
    apply()
    ui.page_title(f"{title} · {PRODUCT}")
    with ui.header().classes("items-center justify-between px-4 py-2"):
        with ui.row().classes("items-center gap-3"):
            ui.icon("bolt", color=CYAN).classes("text-2xl")
            ui.label(PRODUCT).classes("neon-title text-lg font-bold")
            ui.link("Dashboard", "/").classes("text-white no-underline")
            if role == "admin":
                ui.link("Admin", "/admin").classes("text-white no-underline")
        if username:
            with ui.row().classes("items-center gap-2"):
                ui.label(f"{username} · {role}").classes("mono text-sm").mark("current-user")
                if on_logout:
                    ui.button("Log out", on_click=on_logout).props("flat color=secondary").mark("logout")
    with ui.column().classes("w-full max-w-6xl mx-auto p-4 gap-4") as content:
        yield content
