"""The page shell: colours, CSS, header with product name, live connection dot, navigation and the user menu."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nicegui import app as nicegui_app
from nicegui import ui

from theme.css import CONNECTION_JS, CSS, FONTS_URL, LANGUAGE_JS
from theme.tokens import CYAN, DANGER, MAGENTA, SUCCESS, SURFACE, YELLOW

PRODUCT = "Liberation System"
FONTS = Path(__file__).parent / "fonts"


def register_assets() -> None:
    """Serve the theme's fonts from the app itself (the UI needs no internet)."""
    nicegui_app.add_static_files(FONTS_URL, FONTS, max_cache_age=86400)


def apply() -> None:
    """Colours and CSS for the current page."""
    # Quasar's default negative red is 2.7:1 on the dark surface; the theme's danger red passes WCAG AA. Text on
    # these fills is black (theme/css.py), which passes on every one of them.
    ui.colors(primary=CYAN, secondary=MAGENTA, accent=YELLOW, dark=SURFACE, dark_page="#000000",
              negative=DANGER, positive=SUCCESS, warning=YELLOW, info=CYAN)
    ui.add_head_html(LANGUAGE_JS)
    ui.add_css(CSS)
    ui.add_body_html(CONNECTION_JS)
    ui.dark_mode(True)


@dataclass(slots=True)
class PageFrame:
    content: ui.column
    """The page body; the `with frame(...)` block already draws into it."""
    extras: ui.row
    """Header slot for widgets such as the notification bell: `with page.extras: ...`."""


@contextmanager
def frame(title: str, *, username: str | None = None, role: str | None = None,
          on_logout: Callable[[], None] | None = None, current: str | None = None) -> Iterator[PageFrame]:
    """Draw the header and yield the page frame; the block draws into the content column."""
    apply()
    ui.page_title(f"{title} · {PRODUCT}")
    with ui.header().classes("items-center justify-between px-4 py-2 gap-2"):
        with ui.row().classes("items-center gap-3 no-wrap"):
            ui.icon("bolt", color=CYAN).classes("text-2xl")
            ui.label(PRODUCT).classes("neon-title text-lg font-bold hide-narrow")
            if username:  # signed out, there is nowhere to go but the login
                _nav("Dashboard", "/", current).mark("nav-dashboard")
                if role == "admin":
                    _nav("Admin", "/admin", current).mark("nav-admin")
        with ui.row().classes("items-center gap-3 no-wrap"):
            with ui.row().classes("items-center gap-1 no-wrap").props('role=status aria-live=polite') \
                    .tooltip("Connection to the server"):
                ui.element("span").classes("conn-dot").mark("connection-indicator")
                ui.label().classes("conn-label mono text-xs muted hide-narrow")
            extras = ui.row().classes("items-center gap-2 no-wrap")
            if username:
                menu_button = ui.button(icon="account_circle").props("flat round color=primary").mark("user-menu")
                menu_button.props["aria-label"] = f"Account menu for {username}"
                with menu_button, ui.menu():
                    ui.label(f"{username} · {role}").classes("mono text-sm px-4 py-2").mark("current-user")
                    ui.menu_item("Preferences", on_click=lambda: ui.navigate.to("/preferences")) \
                        .mark("menu-preferences")
                    if on_logout:
                        ui.menu_item("Log out", on_click=on_logout).mark("logout")
    with ui.column().classes("w-full max-w-[1600px] mx-auto p-2 sm:p-4 gap-4") as content:
        yield PageFrame(content, extras)


def _nav(text: str, target: str, current: str | None) -> ui.link:
    here = target == current
    link = ui.link(text, target).classes("nav-link" + (" nav-current" if here else ""))
    if here:
        link.props('aria-current="page"')
    return link
