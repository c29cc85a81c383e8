"""Event history in the database: blocking SQL (`EventStore`) and the batching writer task (`EventWriter`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, delete, func, insert, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from services.event_types import Event
from services.models import EventRecord, as_utc

log = logging.getLogger(__name__)

Row = dict[str, Any]
TABLE = EventRecord.metadata.tables["events"]
MAX_QUERY_LIMIT = 1000
RETRIES = 4  # attempts per batch before its rows count as lost
RETRY_DELAY = 0.05  # seconds before the second attempt; multiplied by 4 for each further one


@dataclass(slots=True, frozen=True)
class EventFilter:
    """History filters, all optional and combinable; `since` is inclusive, `until` exclusive."""

    event_type: str | None = None  # exact type, or a family such as "resource.*"
    source: str | None = None
    correlation_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None  # case-insensitive substring of the data JSON

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

    def insert_each(self, rows: list[Row]) -> dict[str, Exception]:
        """Insert rows one transaction at a time; the failures by event id."""
        failed: dict[str, Exception] = {}
        for row in rows:
            try:
                self.insert([row])
            except Exception as exc:
                failed[row["id"]] = exc
        return failed

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

    def _grow(self, delta: int) -> None:
        with self._size_lock:
            self.size = max(0, self.size + delta)


@dataclass(slots=True)
class _Waiter:
    """A durable row (or, with row None, a flush marker) whose future resolves once it is committed."""

    row: Row | None
    future: asyncio.Future[None]


@dataclass(slots=True)
class _Batch:
    rows: list[Row] = field(default_factory=list)
    waiters: list[_Waiter] = field(default_factory=list)
    stop: bool = False


_STOP = object()


class EventWriter:
    """One task drains a bounded queue and writes each batch with a single INSERT off the event loop."""

    def __init__(self, store: EventStore, *, batch_size: int, flush_interval: float, queue_size: int) -> None:
        self._store = store
        self._batch_size = max(1, batch_size)
        self._flush_interval = flush_interval
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=max(1, queue_size))
        self._task: asyncio.Task[None] | None = None
        self.persisted = 0
        self.lost = 0

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="event-writer")

    async def stop(self) -> None:
        """Write everything queued, then end the task."""
        task, self._task = self._task, None
        if task is None:
            return
        await self._queue.put(_STOP)
        await task
        # Publishers that were blocked on a full queue when stop() began may have added rows since.
        while not self._queue.empty():
            batch = _Batch()
            self._drain(batch, self._batch_size)
            await self._write(batch)

    def offer(self, row: Row) -> bool:
        """Queue a row without waiting; False when the queue is full."""
        try:
            self._queue.put_nowait(row)
        except asyncio.QueueFull:
            return False
        return True

    async def put(self, row: Row) -> None:
        await self._queue.put(row)

    async def put_durable(self, row: Row) -> asyncio.Future[None]:
        """Queue a row; the returned future resolves when it is committed (or carries the insert error)."""
        waiter = _Waiter(row, asyncio.get_running_loop().create_future())
        await self._queue.put(waiter)
        return waiter.future

    async def flush(self) -> None:
        """Wait until everything queued before this call has been written (or given up)."""
        if self._task is None:
            return
        waiter = _Waiter(None, asyncio.get_running_loop().create_future())
        await self._queue.put(waiter)
        await waiter.future

    async def write_now(self, row: Row, *, durable: bool) -> None:
        """Write one row at once (used while the writer task is not running)."""
        failed, error = await self._insert([row])
        if durable and failed and error is not None:
            raise error

    async def _run(self) -> None:
        stopping = False
        while not (stopping and self._queue.empty()):
            batch = _Batch()
            self._take(await self._queue.get(), batch)
            self._drain(batch, self._batch_size)
            if len(batch.rows) < self._batch_size and not batch.waiters and not batch.stop:
                # Nobody is waiting: give a trickle of events a moment to share one transaction.
                await asyncio.sleep(self._flush_interval)
                self._drain(batch, self._batch_size)
            stopping = stopping or batch.stop
            await self._write(batch)

    def _drain(self, batch: _Batch, limit: int) -> None:
        get = self._queue.get_nowait
        while len(batch.rows) < limit:
            try:
                item = get()
            except asyncio.QueueEmpty:
                return
            self._take(item, batch)

    @staticmethod
    def _take(item: Any, batch: _Batch) -> None:
        if type(item) is dict:
            batch.rows.append(item)
        elif item is _STOP:
            batch.stop = True
        else:
            batch.waiters.append(item)
            if item.row is not None:
                batch.rows.append(item.row)

    async def _write(self, batch: _Batch) -> None:
        failed: dict[str, Exception] = {}
        if batch.rows:
            try:
                failed, _ = await self._insert(batch.rows)
            except Exception as exc:  # a bug here must not kill the writer and strand every publisher
                log.exception("event writer failed on a batch of %d rows", len(batch.rows))
                failed = {row["id"]: exc for row in batch.rows}
        for waiter in batch.waiters:
            if waiter.future.done():  # the publisher was cancelled
                continue
            row_error = failed.get(waiter.row["id"]) if waiter.row is not None else None
            if row_error is not None:
                waiter.future.set_exception(row_error)
            else:
                waiter.future.set_result(None)

    async def _insert(self, rows: list[Row]) -> tuple[dict[str, Exception], Exception | None]:
        """Insert with retries and backoff; the rows that could not be stored, by id."""
        error: Exception | None = None
        for attempt in range(RETRIES):
            if attempt:
                await asyncio.sleep(RETRY_DELAY * 4 ** (attempt - 1))
            try:
                await asyncio.to_thread(self._store.insert, rows)
            except (IntegrityError, DataError) as exc:
                # A bad row fails the same way every time: store the others one by one instead.
                log.warning("writing %d events failed (%s); retrying them one by one", len(rows), exc)
                return self._count_lost(await asyncio.to_thread(self._store.insert_each, rows), len(rows)), exc
            except Exception as exc:
                error = exc
                log.warning("writing %d events failed (attempt %d of %d): %s", len(rows), attempt + 1, RETRIES, exc)
            else:
                self.persisted += len(rows)
                return {}, None
        assert error is not None
        return self._count_lost(dict.fromkeys((row["id"] for row in rows), error), len(rows)), error

    def _count_lost(self, failed: dict[str, Exception], total: int) -> dict[str, Exception]:
        self.persisted += total - len(failed)
        self.lost += len(failed)
        if failed:
            log.warning("%d of %d events could not be stored and are lost", len(failed), total)
        return failed


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
