"""Batched inserts: one task drains a bounded queue and writes each batch with one INSERT off the event loop.

Used by the event history and the notification store, for any table whose rows carry an `id`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)

Row = dict[str, Any]
RETRIES = 4
RETRY_DELAY = 0.05  # seconds before the second attempt; times 4 for each further one
TRANSIENT = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout, ConnectionError, TimeoutError)
"""Failures of the database or the way to it (down, locked, a dropped connection), which a retry may cure."""


def is_transient(error: BaseException) -> bool:
    """Whether a failed write may succeed if tried again; False when the rows themselves are refused (a value the
    database cannot store, a broken constraint, a driver that cannot encode a value)."""
    return isinstance(error, TRANSIENT) or (isinstance(error, DBAPIError) and error.connection_invalidated)


def refusal(error: BaseException) -> str:
    """A short, safe description of why the database refused a row: the driver's first line, without SQL."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return (lines[0] if lines else type(cause).__name__)[:200]


@dataclass(slots=True)
class _Waiter:
    """A row (or, with row None, a flush marker) whose future resolves once it is committed."""

    row: Row | None
    future: asyncio.Future[None]


@dataclass(slots=True)
class _Batch:
    rows: list[Row] = field(default_factory=list)
    waiters: list[_Waiter] = field(default_factory=list)
    stop: bool = False


_STOP = object()


class BatchWriter:
    """Writes rows through `insert(rows)` (blocking, run in a thread) in batches of up to `batch_size`."""

    def __init__(self, insert: Callable[[list[Row]], None], *, name: str, batch_size: int = 1000,
                 flush_interval: float = 0.005, queue_size: int = 20000) -> None:
        self._insert_rows = insert
        self.name = name
        self._batch_size = max(1, batch_size)
        self._flush_interval = flush_interval
        self._napping: asyncio.Future[None] | None = None
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
            self._task = asyncio.create_task(self._run(), name=f"{self.name}-writer")

    async def stop(self) -> None:
        """Write everything queued, then end the task."""
        task, self._task = self._task, None
        if task is None:
            return
        await self._queue.put(_STOP)
        if self._napping is not None:
            _wake(self._napping)
        await task
        while not self._queue.empty():  # writers that were blocked on a full queue when stop() began
            batch = _Batch()
            self._drain(batch)
            await self._write(batch)

    async def write(self, row: Row, *, durable: bool = False) -> asyncio.Future[None] | None:
        """Queue a row (waiting while the queue is full); for `durable`, the future of its commit.

        Without a running task (before start or after stop) the row is written at once."""
        if self._task is None:
            failed = await self._insert([row])
            if durable and failed:
                raise next(iter(failed.values()))
            return None
        if durable:
            waiter = _Waiter(row, asyncio.get_running_loop().create_future())
            await self._queue.put(waiter)
            return waiter.future
        try:
            self._queue.put_nowait(row)
        except asyncio.QueueFull:
            await self._queue.put(row)
        return None

    def offer(self, row: Row) -> bool:
        """Queue a row without waiting; False (nothing queued) when the queue is full. Written once started."""
        try:
            self._queue.put_nowait(row)
        except asyncio.QueueFull:
            return False
        return True

    async def flush(self) -> None:
        """Wait until everything queued before this call has been written (or given up)."""
        if self._task is None:
            return
        waiter = _Waiter(None, asyncio.get_running_loop().create_future())
        await self._queue.put(waiter)
        await waiter.future

    async def _run(self) -> None:
        stopping = False
        while not (stopping and self._queue.empty()):
            batch = _Batch()
            self._take(await self._queue.get(), batch)
            self._drain(batch)
            if len(batch.rows) < self._batch_size and not batch.waiters and not batch.stop:
                # Nobody is waiting: give a trickle of rows a moment to share one transaction (stop() cuts it short).
                await self._nap()
                self._drain(batch)
            stopping = stopping or batch.stop
            await self._write(batch)

    async def _nap(self) -> None:
        """`asyncio.sleep(flush_interval)` (built the same way), which `stop()` can end at once."""
        loop = asyncio.get_running_loop()
        self._napping = nap = loop.create_future()
        handle = loop.call_later(self._flush_interval, _wake, nap)
        try:
            await nap
        finally:
            handle.cancel()
            self._napping = None

    def _drain(self, batch: _Batch) -> None:
        get = self._queue.get_nowait
        while len(batch.rows) < self._batch_size:
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
                failed = await self._insert(batch.rows)
            except Exception as exc:  # a bug here must not kill the writer and strand every sender
                log.exception("%s writer failed on a batch of %d rows", self.name, len(batch.rows))
                failed = {row["id"]: exc for row in batch.rows}
        for waiter in batch.waiters:
            if waiter.future.done():  # the sender was cancelled
                continue
            error = failed.get(waiter.row["id"]) if waiter.row is not None else None
            if error is not None:
                waiter.future.set_exception(error)
            else:
                waiter.future.set_result(None)

    async def _insert(self, rows: list[Row]) -> dict[str, Exception]:
        """Insert, retrying failures of the database with backoff; the rows that could not be stored, by id."""
        error: Exception | None = None
        for attempt in range(RETRIES):
            if attempt:
                await asyncio.sleep(RETRY_DELAY * 4 ** (attempt - 1))
            try:
                await asyncio.to_thread(self._insert_rows, rows)
            except Exception as exc:
                if not is_transient(exc):
                    # A row the database refuses fails the same way every time, and takes its whole batch with it:
                    # store the rows one by one at once, so only the bad one fails (and only its sender hears).
                    if len(rows) == 1:
                        return self._count({rows[0]["id"]: exc}, 1)
                    log.warning("writing %d %s rows failed (%s); writing them one by one", len(rows), self.name,
                                refusal(exc))
                    return self._count(await asyncio.to_thread(self._insert_each, rows), len(rows))
                error = exc
                log.warning("writing %d %s rows failed (attempt %d of %d): %s", len(rows), self.name, attempt + 1,
                            RETRIES, exc)
            else:
                self.persisted += len(rows)
                return {}
        assert error is not None
        return self._count(dict.fromkeys((row["id"] for row in rows), error), len(rows))

    def _count(self, failed: dict[str, Exception], total: int) -> dict[str, Exception]:
        self.persisted += total - len(failed)
        self.lost += len(failed)
        if failed:
            log.warning("%d of %d %s rows could not be stored and are lost", len(failed), total, self.name)
        return failed

    def _insert_each(self, rows: list[Row]) -> dict[str, Exception]:
        """Insert rows one transaction at a time (blocking), so one bad row loses only itself; failures by id."""
        failed: dict[str, Exception] = {}
        for row in rows:
            try:
                self._insert_rows([row])
            except Exception as exc:
                failed[row["id"]] = exc
        return failed


def _wake(nap: asyncio.Future[None]) -> None:
    if not nap.done():
        nap.set_result(None)
