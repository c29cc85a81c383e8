"""Host readings with psutil: CPU, memory and disk use, and the server's uptime (one sampler per process)."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

import psutil

MIN_CPU_INTERVAL = 0.1  # psutil's CPU percentage over a shorter span is noise (often a fake 0.0)
PRIME_INTERVAL = 0.2


@dataclass(slots=True, frozen=True)
class HostSample:
    cpu_percent: float
    memory_percent: float
    disk_percent: float
    uptime_seconds: float


class HostSampler:
    """Blocking psutil readings; call `sample_async` from the event loop (it runs them in a worker thread)."""

    def __init__(self, disk_path: str = "/") -> None:
        self.disk_path = disk_path
        self._started: float | None = None  # this process's start, read at the first sample (no I/O here)
        self._cpu_at: float | None = None
        self._cpu = 0.0

    def sample(self) -> HostSample:
        """One reading of everything (blocking; the very first CPU reading measures over PRIME_INTERVAL)."""
        if self._started is None:
            self._started = psutil.Process().create_time()
            if not os.path.exists(self.disk_path):
                self.disk_path = os.path.abspath(os.sep)
        return HostSample(self._cpu_percent(), psutil.virtual_memory().percent,
                          psutil.disk_usage(self.disk_path).percent, max(0.0, time.time() - self._started))

    async def sample_async(self) -> HostSample:
        return await asyncio.to_thread(self.sample)

    def _cpu_percent(self) -> float:
        now = time.monotonic()
        if self._cpu_at is None:
            # psutil compares with the previous call; without one the answer is meaningless, so measure a span.
            self._cpu = psutil.cpu_percent(interval=PRIME_INTERVAL)
        elif now - self._cpu_at >= MIN_CPU_INTERVAL:
            self._cpu = psutil.cpu_percent(interval=None)
        else:
            return self._cpu  # asked again too soon: the last reading is the honest answer
        self._cpu_at = time.monotonic()
        return self._cpu
