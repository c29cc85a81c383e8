"""Keeps full garbage collections short while many pages are open: what has lived a while is frozen out of them.

Every open page keeps its NiceGUI client, elements, socket and storage objects alive, and CPython's full
collection walks every tracked object: with a thousand dashboards open, each full collection took about 0.7 s, and
the live updates of every view waited behind it. `gc.freeze()` moves every object that exists at that moment into
a permanent generation that no collection walks, and costs next to nothing (the generations' lists are spliced).

So every FREEZE_SECONDS a `Collector` first collects what is not frozen yet (only the objects made since the last
freeze: a short pause) and then freezes the survivors. What is frozen is never collected, though, and a page that
closes leaves reference cycles (its elements and their slots) that only a collection frees. The collector counts
the frozen clients that have gone since; once they are worth it (UNFREEZE_AFTER, or a quarter of the open pages,
whichever is more), everything is unfrozen, collected in one full collection (the long pause, now once per that
many closed pages instead of every few seconds), and frozen again. Memory held by closed pages is thus bounded to
about a quarter of what the open pages hold; other cycles that lived past a tick wait at most FULL_AT_LEAST_EVERY.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

FREEZE_SECONDS = 5.0
UNFREEZE_AFTER = 100
"""Frozen page clients gone since the last full collection that are worth one (about 0.3 MiB each)."""
UNFREEZE_SHARE = 0.25
"""...or this share of the open page clients, whichever is more (the rule CPython itself uses for full ones)."""
FULL_AT_LEAST_EVERY = 3600.0
"""Seconds after which a full collection runs anyway, for cycles that are not pages (frozen once they lived a tick)."""


class Collecting(Protocol):
    """The parts of the `gc` module the collector uses (a fake in the unit tests)."""

    def collect(self, generation: int = 2) -> int: ...

    def freeze(self) -> None: ...

    def unfreeze(self) -> None: ...

    def get_freeze_count(self) -> int: ...


@dataclass(slots=True)
class Pass:
    """What one tick did: `full` when it unfroze everything for a full collection."""

    full: bool
    collected: int
    pause_ms: float
    frozen: int


class Collector:
    """Freezes survivors every tick; unfreezes for one full collection once enough frozen page clients are gone."""

    def __init__(self, clients: Callable[[], Collection[Any]], *, collector: Collecting | None = None,
                 unfreeze_after: int = UNFREEZE_AFTER, share: float = UNFREEZE_SHARE,
                 full_every: float = FULL_AT_LEAST_EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        self._clients = clients
        self._gc: Collecting = collector if collector is not None else gc
        self.unfreeze_after = unfreeze_after
        self.share = share
        self.full_every = full_every
        self._clock = clock
        self._last_full = clock()
        self._frozen_clients: set[Any] = set()
        self.gone = 0
        """Frozen page clients that have gone since the last full collection (their cycles wait for it)."""
        self.full_collections = 0
        self.longest_full_ms = 0.0

    def tick(self) -> Pass:
        """Count the frozen clients that have gone, then collect and freeze (fully, when they are worth it)."""
        current = set(self._clients())
        gone = self._frozen_clients - current
        if gone:
            self.gone += len(gone)
            self._frozen_clients -= gone
        full = (self.gone >= max(self.unfreeze_after, int(self.share * len(current)))
                or self._clock() - self._last_full >= self.full_every)
        started = time.perf_counter()
        if full:
            self._gc.unfreeze()
        collected = self._gc.collect()
        self._gc.freeze()
        pause_ms = (time.perf_counter() - started) * 1000
        self._frozen_clients |= current
        if full:
            log.info("full collection after %d closed pages: %d objects freed in %.0f ms", self.gone, collected,
                     pause_ms)
            self.gone = 0
            self._last_full = self._clock()
            self.full_collections += 1
            self.longest_full_ms = max(self.longest_full_ms, pause_ms)
        return Pass(full=full, collected=collected, pause_ms=pause_ms, frozen=self._gc.get_freeze_count())
