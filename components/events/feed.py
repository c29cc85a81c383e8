"""The live event feed: newest first, bounded, in words, with relative times, pause and channel filters.

One element per view: the browser draws the rows (feed.js). Each event is described once per process and viewer
kind (`Describer`) and sent to each view as data."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from nicegui import ui

from components.events.describe import Describer
from services.events import channel_for

CHANNELS = ("resources", "humans", "truth", "mesh", "communities", "system", "users", "notifications", "metrics",
            "events")
SIZE = 50


class EventFeed(ui.element, component="feed.js", dependencies=["../common/neon_time.js"]):
    """Shows event dicts (the REST/WS event shape); events of `excluded` channels never reach the browser."""

    def __init__(self, events: Iterable[dict[str, Any]] = (), *, describer: Describer, size: int = SIZE,
                 excluded: frozenset[str] = frozenset(), admin: bool = False) -> None:
        super().__init__()
        self.describer = describer
        self.excluded = excluded
        self.admin = admin
        shown = [describer.item(e, raw=admin) for e in events if self.shows(e)][:size]
        self._texts: deque[tuple[str, str]] = deque(((i["label"], i["text"]) for i in reversed(shown)), maxlen=size)
        self._props.update(events0=shown, channels=[c for c in CHANNELS if c not in excluded], admin=admin,
                           size=size)

    def shows(self, event: dict[str, Any]) -> bool:
        """Whether this viewer may see the event at all (channel filters only hide it)."""
        return channel_for(str(event.get("type", ""))) not in self.excluded

    def add(self, event: dict[str, Any]) -> None:
        if not self.shows(event):
            return
        item = self.describer.item(event, raw=self.admin)
        self._texts.append((item["label"], item["text"]))
        self.run_method("add", item)

    @property
    def count(self) -> int:
        return len(self._texts)

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        return [text for pair in self._texts for text in pair]
