"""Themed building blocks every page shares: real headings, toasts that cover nothing important, and a
confirmation dialog for actions that cannot be taken back."""

from __future__ import annotations

from typing import Literal

from nicegui import ui

ToastKind = Literal["positive", "negative", "warning", "info", "ongoing"]
TOAST_POSITION: Literal["bottom-right"] = "bottom-right"
"""Forms sit at the top and left of every page; the lower right corner holds nothing anyone is typing into."""


class Heading(ui.label):
    """A label drawn as `<h1>`…`<h3>`, so screen readers can list and jump between the page's sections."""

    def __init__(self, text: str, level: int) -> None:
        if level not in (1, 2, 3):
            raise ValueError(f"heading level must be 1, 2 or 3, got {level}")
        super().__init__(text)
        self.tag = f"h{level}"


def page_heading(text: str) -> Heading:
    """The page's one h1, in the title size of the type scale."""
    return Heading(text, 1).classes("text-title neon-title")


def section_heading(text: str, level: int = 2) -> Heading:
    """A card or dialog title (h2) in the section size of the type scale; a group inside a card (h3) in bold body
    text."""
    return Heading(text, level).classes("text-section neon-subtitle" if level < 3 else "text-body font-semibold")


def toast(message: str, kind: ToastKind = "positive") -> None:
    """A short message in the lower right corner; the same message again counts up on the first one's badge
    instead of stacking a second toast on top of it."""
    ui.notify(message, type=kind, position=TOAST_POSITION, timeout=4000 if kind != "negative" else 6000)


async def confirm(question: str, detail: str, action: str, *, marker: str, danger: bool = True) -> bool:
    """Ask before an action that cannot be undone; True only when the person pressed `action`.

    The dialog belongs to the current context: enter a container that outlives the page's redraws first (a
    redrawn row would take its dialog with it)."""
    with ui.dialog() as dialog, ui.card().classes("neon-card gap-3 w-[28rem] max-w-full").mark(marker) \
            .props('role=alertdialog aria-modal=true'):
        section_heading(question)
        ui.label(detail).classes("text-body wrap-anywhere")
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat color=primary") \
                .mark(f"{marker}-cancel")
            ui.button(action, on_click=lambda: dialog.submit(True)) \
                .props(f"unelevated color={'negative' if danger else 'primary'}").mark(f"{marker}-ok")
    try:
        return bool(await dialog)
    finally:
        dialog.delete()
