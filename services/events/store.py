"""Event history in the database: the blocking SQL behind `EventSystem` (writes are batched by `BatchWriter`)."""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from services.checks import check_text, safe_time
from services.events.types import Event, EventValidationError
from services.models import EventRecord, as_utc

log = logging.getLogger(__name__)

Row = dict[str, Any]
TABLE = EventRecord.metadata.tables["events"]
MAX_QUERY_LIMIT = 1000


@dataclass(slots=True, frozen=True)
class EventFilter:
    """History filters, all optional and combinable; `since` is inclusive, `until` exclusive."""

    event_type: str | None = None  # exact type, or a family such as "resource.*"
    source: str | None = None
    correlation_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None  # case-insensitive substring of the data JSON

    def __post_init__(self) -> None:
        """Refuse what no database can compare (NUL, lone surrogates) and times with no UTC equivalent."""
        for name in ("event_type", "source", "correlation_id", "text"):
            value = getattr(self, name)
            if value is not None:
                check_text(value, name, EventValidationError)
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, safe_time(value, name, EventValidationError))

    def clauses(self) -> list[ColumnElement[bool]]:
        c = TABLE.c
        where: list[ColumnElement[bool]] = []
        if self.event_type:
            if self.event_type.endswith(".*"):
                where.append(c.type.like(_escape_like(self.event_type[:-1]) + "%", escape="\\"))
            else:
                where.append(c.type == self.event_type)
        if self.source:
            where.append(c.source == self.source)
        if self.correlation_id:
            where.append(c.correlation_id == self.correlation_id)
        if self.since is not None:
            where.append(c.timestamp >= as_utc(self.since))
        if self.until is not None:
            where.append(c.timestamp < as_utc(self.until))
        if self.text:
            where.append(c.data.ilike(f"%{_escape_like(self.text)}%", escape="\\"))
        return where


class EventStore:
    """Blocking SQL on the events table: call it through `asyncio.to_thread`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._insert = insert(TABLE)
        # One shared connection (in-memory SQLite): a reader's rollback-on-return would undo a concurrent write.
        shared = isinstance(engine.pool, StaticPool | SingletonThreadPool)
        self._lock: contextlib.AbstractContextManager[Any] = threading.Lock() if shared else contextlib.nullcontext()
        self._size_lock = threading.Lock()
        self.size = 0  # cached row count, kept current by writes and prunes

    def refresh_size(self) -> int:
        self.size = self.count(EventFilter())
        return self.size

    def insert(self, rows: list[Row]) -> None:
        """Insert rows in one transaction with a single executemany."""
        with self._lock, self._engine.begin() as connection:
            connection.execute(self._insert, rows)
        self._grow(len(rows))

    def query(self, where: EventFilter, limit: int, offset: int) -> list[Event]:
        statement = (
            select(TABLE)
            .where(*where.clauses())
            .order_by(TABLE.c.timestamp.desc(), TABLE.c.id.desc())
            .limit(max(0, min(limit, MAX_QUERY_LIMIT)))
            .offset(max(0, offset))
        )
        with self._lock, self._engine.connect() as connection:
            return [Event.from_record(row) for row in connection.execute(statement)]

    def count(self, where: EventFilter) -> int:
        statement = select(func.count()).select_from(TABLE).where(*where.clauses())
        with self._lock, self._engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def prune(self, older_than: datetime) -> int:
        statement = delete(TABLE).where(TABLE.c.timestamp < as_utc(older_than))
        with self._lock, self._engine.begin() as connection:
            deleted = int(connection.execute(statement).rowcount or 0)
        self._grow(-deleted)
        return deleted

    def unmark(self, ids: list[str]) -> int:
        """Clear `reactions_pending` of these events (their reactions are committed)."""
        statement = update(TABLE).where(TABLE.c.id.in_(bindparam("ids", expanding=True))).values(
            reactions_pending=False)
        done = 0
        with self._lock, self._engine.begin() as connection:
            for start in range(0, len(ids), 1000):
                done += int(connection.execute(statement, {"ids": ids[start:start + 1000]}).rowcount or 0)
        return done

    def pending(self, before: datetime, limit: int, max_attempts: int) -> list[Event]:
        """Events stored at or before `before` whose reactions never settled, oldest first; each one's attempt is
        counted here, so an event whose handlers keep failing is given up after `max_attempts`."""
        c = TABLE.c
        statement = (select(TABLE).where(c.reactions_pending.is_(True), c.timestamp <= as_utc(before),
                                          c.reaction_attempts < max_attempts)
                     .order_by(c.timestamp, c.id).limit(limit))
        with self._lock, self._engine.begin() as connection:
            found = [Event.from_record(row) for row in connection.execute(statement)]
            if found:
                connection.execute(update(TABLE).where(c.id.in_([e.id for e in found]))
                                   .values(reaction_attempts=c.reaction_attempts + 1))
        return found

    def _grow(self, delta: int) -> None:
        with self._size_lock:
            self.size = max(0, self.size + delta)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
