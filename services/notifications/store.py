"""Blocking SQL on the notification tables: call every method through `asyncio.to_thread`."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from services.delivery import BROADCAST, role_channel, user_channel
from services.notifications.models import NotificationDigestItem, NotificationReceipt, NotificationRecord
from services.notifications.preferences import EMERGENCY, UNMUTABLE_PRIORITY
from services.notifications.types import Notification

N = NotificationRecord.metadata.tables["notifications"]
R = NotificationReceipt.metadata.tables["notification_receipts"]
HELD = NotificationDigestItem.metadata.tables["notification_digest_items"]
Row = dict[str, Any]
P = ParamSpec("P")
T = TypeVar("T")
CHUNK = 500  # ids per IN (...) list, well under SQLite's bound-parameter limit
SWEEP_BATCH = 5000


@dataclass(slots=True, frozen=True)
class Reader:
    """Who is asking: a username and the role whose notifications they also see."""

    user_id: str
    role: str | None
    muted: frozenset[str] = frozenset()
    """Types the reader switched off, and the lowest priority they want to be told of: such notifications stay
    in the inbox but do not count as unread on the bell (critical and emergency system alerts always count)."""
    min_priority: int = 1
    digesting: bool = False
    """Whether the reader collects some type into digests: what is held for one counts once it collapses."""

    def counted(self) -> ColumnElement[bool]:
        """What counts on the reader's bell."""
        held = ~exists().where(HELD.c.notification_id == N.c.id)
        if not self.muted and self.min_priority <= 1:
            return held if self.digesting else true()
        unmutable = and_(N.c.type == "system_alert", N.c.priority >= UNMUTABLE_PRIORITY)
        wanted = [N.c.priority >= self.min_priority]
        if self.muted:
            wanted.append(N.c.type.notin_(sorted(self.muted)))
        if self.digesting:
            wanted.append(held)
        return or_(and_(*wanted), unmutable)

    def sees(self) -> ColumnElement[bool]:
        targets = [N.c.user_id == self.user_id, N.c.broadcast == true()]
        if self.role:
            targets.append(N.c.role == self.role)
        return or_(*targets)

    def receipts(self) -> Any:
        """The notifications joined with this reader's receipts (a receipt exists only once they acted)."""
        return N.outerjoin(R, and_(R.c.notification_id == N.c.id, R.c.user_id == self.user_id))


@dataclass(slots=True, frozen=True)
class Expired:
    id: str
    recipients: str  # delivery channel of its recipients


def _retry_on_conflict(attempts: int = 3) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Run again when a concurrent writer inserted the same receipt first (the second run sees it)."""

    def decorate(fn: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            for _ in range(attempts - 1):
                try:
                    return fn(*args, **kwargs)
                except IntegrityError:
                    continue
            return fn(*args, **kwargs)

        return run

    return decorate


class NotificationStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._insert = insert(N)
        # Bulk paths that skip SQLAlchemy's per-value processing (most of a batch's cost): the driver's executemany
        # with tuples on SQLite (values written exactly as SQLAlchemy's SQLite types write them), COPY on PostgreSQL.
        self._dialect = engine.dialect.name
        self._sqlite_insert = f"INSERT INTO {N.name} ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * 14)})"
        self._copy = f"COPY {N.name} ({', '.join(_COLUMNS)}) FROM STDIN"
        # One shared connection (in-memory SQLite): a reader's rollback-on-return would undo a concurrent write.
        shared = isinstance(engine.pool, StaticPool | SingletonThreadPool)
        self._lock: contextlib.AbstractContextManager[Any] = threading.Lock() if shared else contextlib.nullcontext()

    @property
    def guard(self) -> contextlib.AbstractContextManager[Any]:
        """The lock around each use of a shared connection (in-memory SQLite), for another store on these tables."""
        return self._lock

    def insert(self, rows: list[Row]) -> None:
        """Insert rows in one transaction with a single executemany."""
        with self._begin() as connection:
            if self._dialect == "sqlite":
                connection.exec_driver_sql(self._sqlite_insert, [_sqlite_values(row) for row in rows])
            elif self._dialect == "postgresql" and self._engine.dialect.driver == "psycopg":
                self._copy_rows(connection, rows)
            else:
                connection.execute(self._insert, rows)

    def _copy_rows(self, connection: Connection, rows: list[Row]) -> None:
        dbapi_error = self._engine.dialect.loaded_dbapi.Error
        cursor = connection.connection.cursor()
        try:
            with cursor.copy(self._copy) as copy:  # psycopg 3 cursor
                for row in rows:
                    copy.write_row(_values(row))
        except dbapi_error as error:  # the same exception types as a Core insert, so callers handle one kind
            raise DBAPIError.instance(self._copy, None, error, dbapi_error) from error
        finally:
            cursor.close()

    def inbox(self, reader: Reader, now: datetime, *, limit: int, unread_only: bool = False,
              after_id: str | None = None, after_time: datetime | None = None, before_id: str | None = None,
              types: Sequence[str] = (), min_priority: int | None = None,
              text: str | None = None) -> list[Notification]:
        """Visible, unexpired, undismissed notifications, newest first; `limit` applies after the filters.

        `before_id` pages back (ids are time-ordered); `types`, `min_priority` and `text` (in title or message,
        case-insensitive) narrow it down."""
        where = [reader.sees(), unexpired(now), R.c.dismissed_at.is_(None)]
        if unread_only:
            where.append(R.c.read_at.is_(None))
        if after_id is not None:
            where.append(N.c.id > after_id)
        if after_time is not None:
            where.append(N.c.created_at > after_time)
        if before_id is not None:
            where.append(N.c.id < before_id)
        if types:
            where.append(N.c.type.in_(list(types)))
        if min_priority is not None:
            where.append(N.c.priority >= min_priority)
        if text:
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append(or_(N.c.title.ilike(pattern, escape="\\"), N.c.message.ilike(pattern, escape="\\")))
        statement = (select(N, R.c.read_at, R.c.dismissed_at, R.c.action).select_from(reader.receipts())
                     .where(*where).order_by(N.c.id.desc()).limit(max(0, limit)))
        with self._connect() as connection:
            return [Notification.from_row(row) for row in connection.execute(statement)]

    def page(self, reader: Reader, now: datetime, **options: Any) -> tuple[list[Notification], int, int]:
        """`inbox(...)` plus (unread, total) of the whole inbox, in one call (one thread hop for the caller)."""
        return self.inbox(reader, now, **options), *self.counts(reader, now)

    def get(self, notification_id: str, reader: Reader, now: datetime) -> Notification | None:
        """One unexpired notification the reader may see, with their receipt (dismissed ones included)."""
        statement = (select(N, R.c.read_at, R.c.dismissed_at, R.c.action).select_from(reader.receipts())
                     .where(N.c.id == notification_id, reader.sees(), unexpired(now)))
        with self._connect() as connection:
            row = connection.execute(statement).first()
        return Notification.from_row(row) if row is not None else None

    def counts(self, reader: Reader, now: datetime) -> tuple[int, int]:
        """(unread, total) of what the reader's inbox holds."""
        with self._connect() as connection:
            return _counts(connection, reader, now)

    @_retry_on_conflict()
    def act(self, notification_id: str, reader: Reader, now: datetime, column: str) -> tuple[bool, bool, int]:
        """Stamp `read_at` or `dismissed_at` for the reader: (found, changed, unread count after)."""
        with self._begin() as connection:
            found = connection.execute(
                select(R.c.read_at, R.c.dismissed_at, R.c.user_id).select_from(reader.receipts())
                .where(N.c.id == notification_id, reader.sees(), unexpired(now))
            ).first()
            if found is None or found.dismissed_at is not None:
                return False, False, _counts(connection, reader, now)[0]
            changed = getattr(found, column) is None
            if changed and found.user_id is None:
                connection.execute(insert(R).values(notification_id=notification_id, user_id=reader.user_id,
                                                    **{column: now}))
            elif changed:
                connection.execute(update(R).where(R.c.notification_id == notification_id,
                                                   R.c.user_id == reader.user_id).values({column: now}))
            return True, changed, _counts(connection, reader, now)[0]

    @_retry_on_conflict()
    def take_action(self, notification_id: str, reader: Reader, now: datetime,
                    action: str) -> tuple[bool, str | None, int]:
        """Record the reader's one action (and read it): (found, the action taken before if any, unread after).
        A second action, the same or another, changes nothing and answers the first."""
        with self._begin() as connection:
            found = connection.execute(
                select(R.c.action, R.c.dismissed_at, R.c.user_id).select_from(reader.receipts())
                .where(N.c.id == notification_id, reader.sees(), unexpired(now))
            ).first()
            if found is None or found.dismissed_at is not None:
                return False, None, _counts(connection, reader, now)[0]
            if found.action is not None:
                return True, str(found.action), _counts(connection, reader, now)[0]
            if found.user_id is None:
                connection.execute(insert(R).values(notification_id=notification_id, user_id=reader.user_id,
                                                    read_at=now, action=action, acted_at=now))
            else:
                taken = connection.execute(
                    update(R).where(R.c.notification_id == notification_id, R.c.user_id == reader.user_id,
                                    R.c.action.is_(None))
                    .values(action=action, acted_at=now, read_at=func.coalesce(R.c.read_at, now)))
                if not taken.rowcount:  # another device answered between our look and our write
                    first = connection.scalar(select(R.c.action).where(R.c.notification_id == notification_id,
                                                                       R.c.user_id == reader.user_id))
                    return True, str(first), _counts(connection, reader, now)[0]
            return True, None, _counts(connection, reader, now)[0]

    @_retry_on_conflict()
    def read_all(self, reader: Reader, now: datetime) -> list[str]:
        """Mark every unread notification of the reader read; their ids."""
        with self._begin() as connection:
            ids = list(connection.scalars(
                select(N.c.id).select_from(reader.receipts())
                .where(reader.sees(), unexpired(now), R.c.read_at.is_(None), R.c.dismissed_at.is_(None))
            ))
            rows = [{"notification_id": i, "user_id": reader.user_id, "read_at": now} for i in ids]
            for chunk in _chunks(rows):
                connection.execute(insert(R), chunk)
        return ids

    def expired(self, now: datetime) -> list[Expired]:
        """Delete notifications whose expiry has passed (with their receipts); what was deleted."""
        gone: list[Expired] = []
        while True:
            with self._begin() as connection:
                found = connection.execute(
                    select(N.c.id, N.c.user_id, N.c.role, N.c.broadcast)
                    .where(N.c.expires_at <= now).order_by(N.c.id).limit(SWEEP_BATCH)
                ).all()
                _delete(connection, [row.id for row in found])
            gone.extend(Expired(row.id, _recipients(row)) for row in found)
            if len(found) < SWEEP_BATCH:
                return gone

    def prune(self, history_size: int) -> int:
        """Keep each user's newest `history_size` read-or-dismissed personal notifications, and the newest
        `history_size` of each role and of broadcasts; the number deleted."""
        acted = or_(R.c.read_at.is_not(None), R.c.dismissed_at.is_not(None))
        personal = (
            select(N.c.id, func.row_number().over(partition_by=N.c.user_id, order_by=N.c.id.desc()).label("rank"))
            .select_from(N.join(R, and_(R.c.notification_id == N.c.id, R.c.user_id == N.c.user_id)))
            .where(N.c.user_id.is_not(None), acted).subquery()
        )
        shared = (
            select(N.c.id, func.row_number().over(partition_by=(N.c.role, N.c.broadcast),
                                                  order_by=N.c.id.desc()).label("rank"))
            .where(N.c.user_id.is_(None)).subquery()
        )
        deleted = 0
        for ranked in (personal, shared):
            with self._begin() as connection:
                doomed = list(connection.scalars(select(ranked.c.id).where(ranked.c.rank > history_size)))
                _delete(connection, doomed)
            deleted += len(doomed)
        return deleted

    def recipients_of(self, correlation_id: str) -> set[str]:
        """The recipients (`user:x`, `role:r`, `broadcast`) of the notifications an event caused."""
        query = select(N.c.user_id, N.c.role, N.c.broadcast).where(N.c.correlation_id == correlation_id)
        with self._connect() as connection:
            return {_recipients(row) for row in connection.execute(query)}

    def caused_by(self, correlation_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """The first notifications an event caused (rules give them its id as their correlation id)."""
        query = (select(N.c.id, N.c.title, N.c.user_id, N.c.role, N.c.broadcast)
                 .where(N.c.correlation_id == correlation_id).order_by(N.c.id).limit(limit))
        with self._connect() as connection:
            return [{"id": row.id, "title": row.title, "recipients": _recipients(row)}
                    for row in connection.execute(query)]

    def exists(self, notification_id: str) -> bool:
        with self._connect() as connection:
            return connection.scalar(select(N.c.id).where(N.c.id == notification_id)) is not None

    def arrived_between(self, reader: Reader, start: datetime, end: datetime) -> int:
        """Unread notifications the reader would have been told of live, created in [start, end), below emergency
        (those were pushed anyway): what quiet hours held back."""
        query = (select(func.count()).select_from(reader.receipts())
                 .where(reader.sees(), unexpired(end), R.c.dismissed_at.is_(None), R.c.read_at.is_(None),
                        reader.counted(), N.c.created_at >= start, N.c.created_at < end, N.c.priority < EMERGENCY))
        with self._connect() as connection:
            return int(connection.execute(query).scalar_one())

    def read(self, query: Callable[[Connection], T]) -> T:
        """Run `query(connection)` on a connection of the store (for read-only reports such as stats)."""
        with self._connect() as connection:
            return query(connection)

    @contextlib.contextmanager
    def _begin(self) -> Iterator[Connection]:
        with self._lock, self._engine.begin() as connection:
            yield connection

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Connection]:
        with self._lock, self._engine.connect() as connection:
            yield connection


_COLUMNS = ("id", "type", "priority", "title", "message", "data", "actions", "user_id", "role", "broadcast", "channel",
            "correlation_id", "created_at", "expires_at")  # the order of _sqlite_values
assert set(_COLUMNS) == set(N.c.keys()), "a new column must be added to _COLUMNS and _sqlite_values"


def _values(row: Row) -> tuple[Any, ...]:
    return tuple(row[column] for column in _COLUMNS)


def _sqlite_values(row: Row) -> tuple[Any, ...]:
    return (row["id"], row["type"], row["priority"], row["title"], row["message"], row["data"], row["actions"],
            row["user_id"], row["role"], 1 if row["broadcast"] else 0, row["channel"], row["correlation_id"],
            _sqlite_time(row["created_at"]), _sqlite_time(row["expires_at"]))


def _sqlite_time(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite DATETIME text ("2026-01-01 12:00:00.000000"), so queries compare like with like.

    Rows carry UTC times only (the service converts every input with `as_utc`)."""
    return value.isoformat(sep=" ", timespec="microseconds")[:26] if value is not None else None


def unexpired(now: datetime) -> ColumnElement[bool]:
    """Not expired at `now` (no expiry, or a later one)."""
    return or_(N.c.expires_at.is_(None), N.c.expires_at > now)


def _counts(connection: Connection, reader: Reader, now: datetime) -> tuple[int, int]:
    row = connection.execute(
        select(func.count(), func.sum(case((and_(R.c.read_at.is_(None), reader.counted()), 1), else_=0)))
        .select_from(reader.receipts()).where(reader.sees(), unexpired(now), R.c.dismissed_at.is_(None))
    ).one()
    return int(row[1] or 0), int(row[0])


def _delete(connection: Connection, ids: Sequence[str]) -> None:
    # Receipts first: SQLite enforces ON DELETE CASCADE only where the foreign_keys pragma is on.
    for chunk in _chunks(list(ids)):
        connection.execute(delete(R).where(R.c.notification_id.in_(chunk)))
        connection.execute(delete(N).where(N.c.id.in_(chunk)))


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def _recipients(row: Any) -> str:
    if row.user_id is not None:
        return user_channel(row.user_id)
    if row.role is not None:
        return role_channel(row.role)
    return BROADCAST
