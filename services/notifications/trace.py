"""Delivery traces: the path of each notification (cause, rule or sender, decisions, live deliveries, reads), kept
for a few days.

Recording never waits: a step goes into a bounded buffer that a BatchWriter commits in batches; when the buffer is
full the step is dropped and counted. Per-recipient steps (decisions, reads, actions, dismissals) are listed for the
first MAX_LISTED recipients of a notification; the rest are only counted. Each process records its own live
deliveries, so a trace shows one delivery row per replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import Engine, delete, insert, select

from services.batch_writer import BatchWriter
from services.models import as_utc, utcnow
from services.notifications.models import NotificationTraceStep
from services.notifications.types import new_notification_id

log = logging.getLogger(__name__)

T = NotificationTraceStep.metadata.tables["notification_trace"]
MAX_LISTED = 100
"""Recipients of one notification whose own steps are kept; beyond them only a count."""
MAX_REMEMBERED = 10_000
"""Notifications whose listed recipients this process remembers (the cap is kept from memory)."""
MAX_STEPS_SHOWN = 2000
TALLY_SECONDS = 0.1
"""How long a process gathers the counts of one live delivery (its WebSocket hub and its browser views hear the
same message separately) before recording them as one step."""
TEXT_LIMIT = 500
PER_RECIPIENT = frozenset({"decision", "read", "acted", "dismissed"})


class Step(StrEnum):
    """Stable machine words of a trace step (add, never rename)."""

    EVENT = "event"
    RULE = "rule"
    SENT_BY = "sent_by"
    SCHEDULED = "scheduled"
    DECISION = "decision"
    DELIVERED = "delivered"
    READ = "read"
    ACTED = "acted"
    DISMISSED = "dismissed"
    NOT_LISTED = "recipients_not_listed"


@dataclass(slots=True)
class _Seen:
    listed: set[str] = field(default_factory=set)
    decided: set[str] = field(default_factory=set)
    """Listed recipients whose decision is recorded: a person's browser views and connections each ask again."""
    overflow: Counter[str] = field(default_factory=Counter)
    flushing: bool = False


class Tracer:
    """Records steps without waiting and answers a notification's trace; `expire()` is the retention job."""

    def __init__(self, engine: Engine, *, replica: str, days: float = 7, clock: Callable[[], datetime] = utcnow,
                 buffer_size: int = 20_000, batch_size: int = 2000, flush_interval: float = 0.02,
                 enabled: bool = True, tally_seconds: float = TALLY_SECONDS) -> None:
        self._engine = engine
        self.replica = replica[:64]
        self.days = days
        self.enabled = enabled
        self._clock = clock
        self._tally_seconds = tally_seconds
        self._writer = BatchWriter(self._insert, name="trace", batch_size=batch_size,
                                   flush_interval=flush_interval, queue_size=buffer_size)
        self._seen: OrderedDict[str, _Seen] = OrderedDict()
        self._tally: dict[tuple[str, str], dict[str, Any]] = {}
        self._overflowing: dict[str, _Seen] = {}
        self._timer: asyncio.TimerHandle | None = None
        self.recorded = 0
        self.dropped = 0

    def start(self) -> None:
        self._writer.start()

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._settle_all()
        await self._writer.stop()

    async def flush(self) -> None:
        """Wait until every step recorded so far (and every delivery being tallied) is committed."""
        self._settle_all()
        await self._writer.flush()

    def _settle_all(self) -> None:
        for key in list(self._tally):
            self._settle(key)
        for notification_id, seen in list(self._overflowing.items()):
            self._overflow(notification_id, seen)

    @property
    def stats(self) -> dict[str, int]:
        return {"recorded": self.recorded, "dropped": self.dropped, "pending": self._writer.pending,
                "lost": self._writer.lost}

    def record(self, notification_id: str, step: Step, text: str, *, recipient: str | None = None,
               detail: dict[str, Any] | None = None, count: int = 0, at: datetime | None = None,
               step_id: str | None = None, capped: bool = True) -> None:
        """Queue one step; never waits (a full buffer drops it and counts the drop). `capped` False: the
        notification has one recipient (a personal one), so the recipient cap need not be kept."""
        if not self.enabled:
            return
        if capped and recipient is not None and step in PER_RECIPIENT \
                and not self._listed(notification_id, recipient, step):
            return
        row = {"id": step_id or new_notification_id(), "notification_id": notification_id,
               "at": at or as_utc(self._clock()), "replica": self.replica, "step": step.value, "recipient": recipient,
               "text": text[:TEXT_LIMIT], "detail": orjson.dumps(detail).decode() if detail else "{}", "count": count}
        if self._writer.offer(row):
            self.recorded += 1
        else:
            self.dropped += 1

    def decided(self, notification_id: str, recipient: str, decision: str, *, capped: bool = True) -> None:
        """A preference decision for one recipient (pushed, muted, held for quiet hours, below min priority, ...)."""
        if not self.enabled or (capped and not self._listed(notification_id, recipient, Step.DECISION)):
            return  # checked before the text is built: a broadcast asks this for every connection and view
        self.record(notification_id, Step.DECISION, f"{recipient}: {_DECISIONS.get(decision, decision)}",
                    recipient=recipient, detail={"decision": decision}, capped=False)

    def delivered(self, notification_id: str, channel: str, *, connections: int = 0, views: int = 0) -> None:
        """Count a live delivery on this process; the counts heard within TALLY_SECONDS make one step."""
        if not self.enabled:
            return
        key = (notification_id, channel)
        tally = self._tally.get(key)
        if tally is None:
            tally = self._tally[key] = {"at": as_utc(self._clock()), "id": new_notification_id(), "connections": 0,
                                        "views": 0, "due": time.monotonic() + self._tally_seconds}
            if self._timer is None:  # one timer for all tallies, not one per notification (cheap on the send path)
                try:
                    self._timer = asyncio.get_running_loop().call_later(self._tally_seconds, self._settle_due)
                except RuntimeError:  # no loop (a plain call): record at once
                    tally["connections"], tally["views"] = connections, views
                    self._settle(key)
                    return
        tally["connections"] += connections
        tally["views"] += views

    def _settle_due(self) -> None:
        self._timer = None
        now = time.monotonic()
        for key, tally in list(self._tally.items()):  # insertion order is the order they became due
            if tally["due"] > now:
                self._timer = asyncio.get_running_loop().call_later(tally["due"] - now, self._settle_due)
                return
            self._settle(key)

    async def trace(self, notification_id: str, *, viewer: str | None = None) -> dict[str, Any]:
        """The steps in time order; `viewer` (a non-admin) sees only their own per-recipient steps."""
        await self.flush()
        rows = await asyncio.to_thread(self._steps, notification_id)
        return shape(notification_id, rows, viewer=viewer)

    async def expire(self) -> int:
        """Delete steps older than `days`; how many."""
        cutoff = as_utc(self._clock()) - timedelta(days=self.days)
        return await asyncio.to_thread(self._expire, cutoff)

    def _listed(self, notification_id: str, recipient: str, step: Step) -> bool:
        seen = self._seen.get(notification_id)
        if seen is None:
            seen = self._seen[notification_id] = _Seen()
            while len(self._seen) > MAX_REMEMBERED:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(notification_id)
        if recipient in seen.listed or len(seen.listed) < MAX_LISTED:
            seen.listed.add(recipient)
            if step is Step.DECISION:
                if recipient in seen.decided:
                    return False
                seen.decided.add(recipient)
            return True
        seen.overflow[step.value] += 1
        if not seen.flushing:
            seen.flushing = True
            self._overflowing[notification_id] = seen
            try:
                asyncio.get_running_loop().call_later(self._tally_seconds, self._overflow, notification_id, seen)
            except RuntimeError:
                self._overflow(notification_id, seen)
        return False

    def _overflow(self, notification_id: str, seen: _Seen) -> None:
        counts, seen.overflow, seen.flushing = dict(seen.overflow), Counter(), False
        self._overflowing.pop(notification_id, None)
        total = sum(counts.values())
        if total:
            words = ", ".join(f"{n} {step}" for step, n in sorted(counts.items()))
            self.record(notification_id, Step.NOT_LISTED, f"{total} more recipient steps not listed ({words})",
                        detail=counts, count=total)

    def _settle(self, key: tuple[str, str]) -> None:
        tally = self._tally.pop(key, None)
        if tally is None:
            return
        notification_id, channel = key
        connections, views = tally["connections"], tally["views"]
        text = (f"live on {channel}: {connections} WebSocket connection{'s' if connections != 1 else ''}, "
                f"{views} browser view{'s' if views != 1 else ''} on {self.replica}")
        self.record(notification_id, Step.DELIVERED, text, at=tally["at"], step_id=tally["id"],
                    detail={"channel": channel, "connections": connections, "views": views})

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        with self._engine.begin() as connection:
            if self._engine.dialect.name == "sqlite":  # the driver's executemany: skips SQLAlchemy's per-value work
                connection.exec_driver_sql(_SQLITE_INSERT, [(
                    row["id"], row["notification_id"], row["at"].isoformat(sep=" ", timespec="microseconds")[:26],
                    row["replica"], row["step"], row["recipient"], row["text"], row["detail"], row["count"])
                    for row in rows])
            else:
                connection.execute(insert(T), rows)

    def _steps(self, notification_id: str) -> list[Any]:
        query = (select(T).where(T.c.notification_id == notification_id).order_by(T.c.at, T.c.id)
                 .limit(MAX_STEPS_SHOWN))
        with self._engine.connect() as connection:
            return list(connection.execute(query).all())

    def _expire(self, cutoff: datetime) -> int:
        with self._engine.begin() as connection:
            return int(connection.execute(delete(T).where(T.c.at < cutoff)).rowcount or 0)


_COLUMNS = ("id", "notification_id", "at", "replica", "step", "recipient", "text", "detail", "count")
assert set(_COLUMNS) == set(T.c.keys()), "a new column must be added to _COLUMNS and Tracer._insert"
_SQLITE_INSERT = f"INSERT INTO {T.name} ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
_DECISIONS = {"pushed": "pushed live", "held_for_quiet_hours": "held for quiet hours (in the inbox, no push)",
              "muted": "muted this type (in the inbox, no push)",
              "below_min_priority": "below their minimum priority (in the inbox, no push)",
              "digested": "kept for their digest"}


def shape(notification_id: str, rows: list[Any], *, viewer: str | None = None) -> dict[str, Any]:
    """The REST answer: steps in time order, at most MAX_LISTED recipients listed and the rest counted."""
    steps: list[dict[str, Any]] = []
    listed: set[str] = set()
    not_listed = 0
    for row in rows:
        recipient = row.recipient
        if row.step == Step.NOT_LISTED.value:
            not_listed += int(row.count or 0)
            if viewer is not None:
                continue
        elif recipient is not None and viewer is not None and recipient != viewer:
            continue
        elif recipient is not None and recipient not in listed:
            if len(listed) >= MAX_LISTED:  # several replicas each listed their first ones: keep the cap exact
                not_listed += 1
                continue
            listed.add(recipient)
        steps.append({"at": as_utc(row.at).isoformat(), "replica": row.replica, "step": row.step, "text": row.text,
                      "recipient": recipient, "detail": _detail(row.detail)})
    return {"notification_id": notification_id, "steps": steps, "recipients_listed": len(listed),
            "recipients_not_listed": not_listed if viewer is None else 0}


def _detail(text: str | None) -> dict[str, Any]:
    with contextlib.suppress(orjson.JSONDecodeError, TypeError):
        found = orjson.loads(text or "{}")
        if isinstance(found, dict):
            return found
    return {}
