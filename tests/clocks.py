"""Clocks the tests move by hand, for code that takes an injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta


class SecondsClock:
    """Stands in for `time.time` / `time.monotonic`."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class DateClock:
    """Stands in for `utcnow()`; `advance(minutes=5)` moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
