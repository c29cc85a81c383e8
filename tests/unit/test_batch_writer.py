"""The batch writer on SQLite and PostgreSQL: durable writes, a bad row loses only itself, stop drains the queue."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from services.batch_writer import BatchWriter
from services.notifications.models import NotificationRecord
from services.notifications.store import NotificationStore
from services.notifications.types import Notification, new_notification_id

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def row(notification_id: str | None = None, **changes: object) -> dict[str, object]:
    notification = Notification(notification_id or new_notification_id(), "info", 2, "Title", "Message {x} %s",
                                {"amount": 800}, [{"label": "Open", "action": "open"}], "alice", None, False,
                                "user:alice", None, NOW)
    return {**notification.to_row(), **changes}


def stored(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(NotificationRecord)).scalar_one())


def writer(engine: Engine, **options: float) -> BatchWriter:
    store = NotificationStore(engine)
    return BatchWriter(store.insert, name="notification", **options)  # type: ignore[arg-type]


async def test_a_durable_write_is_committed_when_its_future_resolves(engine: Engine) -> None:
    batch = writer(engine, flush_interval=10)
    batch.start()
    committed = await batch.write(row(), durable=True)
    assert committed is not None
    await committed
    assert stored(engine) == 1
    await batch.stop()


async def test_a_bad_row_loses_only_itself_not_its_batch(engine: Engine) -> None:
    batch = writer(engine)
    batch.start()
    first = row()
    await batch.write(first)
    await batch.flush()
    futures = [await batch.write(row(), durable=True), await batch.write(row(str(first["id"])), durable=True),
               await batch.write(row(), durable=True)]
    good, duplicate, other = futures
    assert good is not None and duplicate is not None and other is not None
    await good
    await other
    with pytest.raises(IntegrityError):
        await duplicate
    assert stored(engine) == 3
    assert (batch.persisted, batch.lost) == (3, 1)
    await batch.stop()


async def test_stop_writes_everything_queued(engine: Engine) -> None:
    batch = writer(engine, flush_interval=10, batch_size=100)
    batch.start()
    for _ in range(250):
        await batch.write(row())
    await batch.stop()
    await batch.stop()  # idempotent
    assert stored(engine) == 250 and batch.pending == 0


async def test_rows_written_without_a_running_task_are_written_at_once(engine: Engine) -> None:
    batch = writer(engine)
    assert await batch.write(row()) is None
    assert stored(engine) == 1
    with pytest.raises(IntegrityError):
        await batch.write(row(notification_id=None, id=None), durable=True)


async def test_times_and_flags_read_back_exactly(engine: Engine) -> None:
    batch = writer(engine)
    written = row(broadcast=True, user_id=None, role=None, expires_at=NOW.replace(microsecond=123456))
    await batch.write(written)
    with engine.connect() as connection:
        back = Notification.from_row(connection.execute(select(NotificationRecord)).one())
    assert back.created_at == NOW and back.expires_at == NOW.replace(microsecond=123456)
    assert back.broadcast is True and back.data == {"amount": 800} and back.message == "Message {x} %s"


class RefusesOneRow:
    """A store insert that refuses any batch holding the row titled `poison`, the way a driver refuses a value it
    cannot encode (not an error of the database, so not worth a retry), and counts its calls."""

    def __init__(self, engine: Engine) -> None:
        self.insert = NotificationStore(engine).insert
        self.calls: list[int] = []

    def __call__(self, rows: list[dict[str, object]]) -> None:
        self.calls.append(len(rows))
        if any(r["title"] == "poison" for r in rows):
            raise UnicodeEncodeError("utf-8", "poison", 0, 1, "surrogates not allowed")
        self.insert(rows)


@pytest.mark.reliability
async def test_a_row_refused_for_an_unforeseen_reason_fails_alone_and_at_once(engine: Engine) -> None:
    insert = RefusesOneRow(engine)
    batch = BatchWriter(insert, name="notification")  # type: ignore[arg-type]
    batch.start()
    # Queued before the writer task runs again, so all ten share one batch.
    futures = [await batch.write(row(title="poison" if n == 3 else f"good {n}"), durable=True) for n in range(10)]
    outcomes = await asyncio.gather(*(f for f in futures if f is not None), return_exceptions=True)
    await batch.stop()

    assert [type(o).__name__ for o in outcomes].count("UnicodeEncodeError") == 1
    assert isinstance(outcomes[3], UnicodeEncodeError), "only the poisoned row's sender hears of it"
    assert stored(engine) == 9 and (batch.persisted, batch.lost) == (9, 1)
    assert insert.calls == [10] + [1] * 10, "no retries of a refused batch: straight to one by one"


@pytest.mark.reliability
async def test_a_failing_database_is_still_retried(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("services.batch_writer.RETRY_DELAY", 0.001)
    calls: list[int] = []
    insert = NotificationStore(engine).insert

    def flaky(rows: list[dict[str, object]]) -> None:
        calls.append(len(rows))
        if len(calls) < 3:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        insert(rows)

    batch = BatchWriter(flaky, name="notification")
    assert await batch.write(row(), durable=True) is None  # no task: written at once, after two retries
    assert calls == [1, 1, 1] and stored(engine) == 1
