"""The batch writer on SQLite and PostgreSQL: durable writes, a bad row loses only itself, stop drains the queue."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

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
