"""Alert silences (Alertmanager's idea): a rule, or every rule on a metric, keeps evaluating and shows as firing,
but its fired and resolved announcements carry the silence, so no notification is sent. A silence ends by itself
at `ends_at`, or early when an admin ends it. Stored, so it holds across restarts and every process."""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine, insert, select, update

from services.broker import Broker
from services.checks import text_problem
from services.metrics.models import MetricSilence
from services.models import as_utc, utcnow

log = logging.getLogger(__name__)

T = MetricSilence.metadata.tables["metric_silences"]
SILENCES_CHANNEL = "#silences"
MIN_SECONDS = 60
MAX_SECONDS = 30 * 86400
MAX_REASON = 500
REFRESH_SECONDS = 5.0
"""A process re-reads the active silences at most this often (a change on any process also says so at once)."""
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,100}")


class SilenceError(ValueError):
    """A silence the service refuses; the message names the field."""


class RuleLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def metric_name(self) -> str: ...


@dataclass(slots=True, frozen=True)
class Silence:
    id: str
    rule_id: str | None
    metric_name: str | None
    reason: str
    created_by: str
    starts_at: datetime
    ends_at: datetime
    ended_at: datetime | None = None
    ended_by: str | None = None

    def covers(self, rule: RuleLike) -> bool:
        return rule.id == self.rule_id if self.rule_id is not None else rule.metric_name == self.metric_name

    def active(self, now: datetime) -> bool:
        return self.ended_at is None and self.starts_at <= now < self.ends_at

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {"id": self.id, "rule_id": self.rule_id, "metric_name": self.metric_name, "reason": self.reason,
                "created_by": self.created_by, "starts_at": when(self.starts_at), "ends_at": when(self.ends_at),
                "ended_at": when(self.ended_at), "ended_by": self.ended_by,
                "active": self.active(now) if now is not None else None}

    @classmethod
    def from_row(cls, row: Any) -> Silence:
        return cls(row.id, row.rule_id, row.metric_name, row.reason, row.created_by, as_utc(row.starts_at),
                   as_utc(row.ends_at), as_utc(row.ended_at) if row.ended_at else None, row.ended_by)


class Silences:
    """Create, list and end silences; `silence_for(rule)` answers the active one covering a rule."""

    def __init__(self, engine: Engine, broker: Broker | None = None, *, clock: Callable[[], datetime] = utcnow,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._broker = broker
        self._clock = clock
        self._monotonic = monotonic
        self._active: list[Silence] = []
        self._loaded_at = -math.inf
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        if self._broker is not None and self._unsubscribe is None:
            self._unsubscribe = self._broker.add_listener(SILENCES_CHANNEL, self._changed)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def create(self, *, rule_id: str | None = None, metric_name: str | None = None, duration_seconds: float,
                     reason: str, created_by: str) -> Silence:
        """Validate and store (SilenceError names a bad field); the caller checks that the rule or metric exists."""
        if (rule_id is None) == (metric_name is None):
            raise SilenceError("target: give exactly one of rule_id or metric_name")
        for field, value in (("rule_id", rule_id), ("metric_name", metric_name)):
            if value is not None and not _NAME.fullmatch(value):
                raise SilenceError(f"{field}: must be 1-100 letters, digits or _ . : -")
        if isinstance(duration_seconds, bool) or not isinstance(duration_seconds, int | float) \
                or not math.isfinite(duration_seconds) or not MIN_SECONDS <= duration_seconds <= MAX_SECONDS:
            raise SilenceError(f"duration_seconds: must be from {MIN_SECONDS} (a minute) to {MAX_SECONDS} (30 days)")
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason:
            raise SilenceError("reason: say why (it is shown to every admin)")
        if len(reason) > MAX_REASON or text_problem(reason) is not None:
            raise SilenceError(f"reason: at most {MAX_REASON} characters of text")
        now = as_utc(self._clock())
        silence = Silence(uuid.uuid4().hex, rule_id, metric_name, reason, created_by[:64], now,
                          now + timedelta(seconds=float(duration_seconds)))
        await asyncio.to_thread(self._insert, silence)
        await self._announce()
        return silence

    async def listing(self, *, include_ended: bool = False, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first; by default only silences still in force."""
        now = as_utc(self._clock())
        query = select(T).order_by(T.c.starts_at.desc()).limit(max(1, min(limit, 1000)))
        if not include_ended:
            query = query.where(T.c.ended_at.is_(None), T.c.ends_at > now)
        found = await asyncio.to_thread(self._rows, query)
        return [silence.to_dict(now) for silence in found]

    async def end(self, silence_id: str, ended_by: str) -> Silence | None:
        """End a silence now; None when there is no such silence still in force."""
        now = as_utc(self._clock())
        ended = await asyncio.to_thread(self._end, silence_id, now, ended_by[:64])
        if ended is not None:
            await self._announce()
        return ended

    async def silence_for(self, rule: RuleLike) -> dict[str, Any] | None:
        """The active silence covering `rule`, as announced with its alert; None when it is not silenced."""
        if self._monotonic() - self._loaded_at >= REFRESH_SECONDS:
            try:
                await self.refresh()
            except Exception:  # the last known silences stand until the database answers again
                log.warning("reading alert silences failed", exc_info=True)
        now = as_utc(self._clock())
        for silence in self._active:
            if silence.active(now) and silence.covers(rule):
                return {"id": silence.id, "reason": silence.reason, "ends_at": silence.ends_at.isoformat(),
                        "created_by": silence.created_by}
        return None

    def silenced_now(self, rule: RuleLike) -> bool:
        """From the silences last read (synchronous): whether one in force covers `rule`."""
        now = as_utc(self._clock())
        return any(silence.active(now) and silence.covers(rule) for silence in self._active)

    async def refresh(self) -> None:
        now = as_utc(self._clock())
        self._active = await asyncio.to_thread(
            self._rows, select(T).where(T.c.ended_at.is_(None), T.c.ends_at > now))
        self._loaded_at = self._monotonic()

    def _insert(self, silence: Silence) -> None:
        with self._engine.begin() as connection:
            connection.execute(insert(T).values(
                id=silence.id, rule_id=silence.rule_id, metric_name=silence.metric_name, reason=silence.reason,
                created_by=silence.created_by, starts_at=silence.starts_at, ends_at=silence.ends_at))

    def _rows(self, query: Any) -> list[Silence]:
        with self._engine.connect() as connection:
            return [Silence.from_row(row) for row in connection.execute(query)]

    def _end(self, silence_id: str, now: datetime, ended_by: str) -> Silence | None:
        with self._engine.begin() as connection:
            done = connection.execute(update(T).where(T.c.id == silence_id, T.c.ended_at.is_(None), T.c.ends_at > now)
                                      .values(ended_at=now, ended_by=ended_by))
            if not done.rowcount:
                return None
            row = connection.execute(select(T).where(T.c.id == silence_id)).one()
        return Silence.from_row(row)

    async def _announce(self) -> None:
        self._loaded_at = -math.inf
        if self._broker is not None:
            await self._broker.publish(SILENCES_CHANNEL, {"changed": True})

    def _changed(self, _channel: str, _message: Any) -> None:
        self._loaded_at = -math.inf  # the next look reads them again
