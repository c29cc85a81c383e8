"""Garbage-collection pauses of a benchmarked server, written to a JSON file once a second (benchmarks only).

Loaded into the server by the bench before main.py runs, never by the app:

    python -c "<load bench/gc_probe.py>; gc_probe.install(); runpy.run_path('main.py', run_name='__main__')"

(`VIEWS_SERVER` in bench/views.py). With `GC_PROBE_PATH` set, a `gc.callbacks` hook times every collection
(automatic ones and explicit `gc.collect()` calls alike) and a daemon thread writes

    {"max_ms", "count", "total_ms", "max_ms_by_generation": [g0, g1, g2], "pauses": [[unix time, ms, generation]]}

to that path every second; `pauses` lists the collections of `GC_PROBE_MIN_MS` (default 1) or longer, the most
recent 10,000, so a reader can take the longest pause of any time window.
"""

from __future__ import annotations

import gc
import json
import os
import threading
import time
from collections import deque
from typing import Any

_started = 0.0
_state: dict[str, Any] = {"max_ms": 0.0, "count": 0, "total_ms": 0.0, "max_ms_by_generation": [0.0, 0.0, 0.0]}
_pauses: deque[tuple[float, float, int]] = deque(maxlen=10_000)
_min_ms = 1.0


def install() -> None:
    """Hook the collector and start the writer thread, when GC_PROBE_PATH names a file (else do nothing)."""
    global _min_ms
    path = os.environ.get("GC_PROBE_PATH")
    if not path or _on_gc in gc.callbacks:
        return
    _min_ms = float(os.environ.get("GC_PROBE_MIN_MS", "1"))
    gc.callbacks.append(_on_gc)
    threading.Thread(target=_write_forever, args=(path,), name="gc-probe", daemon=True).start()


def _on_gc(phase: str, info: dict[str, int]) -> None:
    # Runs inside the collector with the GIL held: nothing here may allocate much or take a lock.
    global _started
    if phase == "start":
        _started = time.perf_counter()
        return
    ms = (time.perf_counter() - _started) * 1000
    generation = info.get("generation", 2)
    _state["count"] += 1
    _state["total_ms"] += ms
    if ms > _state["max_ms"]:
        _state["max_ms"] = ms
    by_generation = _state["max_ms_by_generation"]
    if ms > by_generation[generation]:
        by_generation[generation] = ms
    if ms >= _min_ms:
        _pauses.append((time.time(), ms, generation))


def _write_forever(path: str) -> None:
    temporary = f"{path}.tmp"
    while True:
        try:
            pauses = list(_pauses)
        except RuntimeError:  # a collection inside list() appended to the deque: try again next second
            time.sleep(0.1)
            continue
        snapshot = {**_state, "max_ms_by_generation": list(_state["max_ms_by_generation"]),
                    "pauses": [[round(t, 3), round(ms, 3), g] for t, ms, g in pauses]}
        with open(temporary, "w") as file:
            json.dump(snapshot, file)
        os.replace(temporary, path)  # readers never see half a file
        time.sleep(1.0)
