"""Digests: a person's notifications of one type, held while a window is open and then collapsed into one inbox
entry ("5 resource distributions, $4,000.00 in total") that keeps the items.

Blocking SQL: call every method of `DigestStore` through `asyncio.to_thread`. Each collapse happens once however
many processes try: the conditional UPDATE that sets `collapsed_at` picks one winner, and an item is attached with
an UPDATE of the same (still open) digest row, so an attach and a collapse never interleave.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from numbers import Real
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from services.models import as_utc
from services.notifications.models import NotificationDigest, NotificationDigestItem
from services.notifications.store import N, R, unexpired
from services.notifications.templates import NotificationType
from services.notifications.types import Notification, dumps, new_notification_id

D = NotificationDigest.metadata.tables["notification_digests"]
I = NotificationDigestItem.metadata.tables["notification_digest_items"]  # noqa: E741 (the table's short name)
MAX_ITEMS_SHOWN = 200
"""Items a digest entry keeps in full; beyond that it keeps the count and the total."""

NOUNS: dict[str, tuple[str, str]] = {
    NotificationType.RESOURCE_DISTRIBUTION.value: ("resource distribution", "resource distributions"),
    NotificationType.TRUTH_UPDATE.value: ("truth update", "truth updates"),
    NotificationType.MESH_NETWORK_CHANGE.value: ("mesh network change", "mesh network changes"),
    NotificationType.USER_ACTION.value: ("user action", "user actions"),
    NotificationType.WELCOME.value: ("welcome", "welcomes"),
    NotificationType.WARNING.value: ("warning", "warnings"),
    NotificationType.ERROR.value: ("error", "errors"),
    NotificationType.SUCCESS.value: ("success", "successes"),
    NotificationType.INFO.value: ("notice", "notices"),
}
ICONS = {NotificationType.RESOURCE_DISTRIBUTION.value: "💰", NotificationType.TRUTH_UPDATE.value: "🌐",
         NotificationType.MESH_NETWORK_CHANGE.value: "🔗"}


@dataclass(slots=True, frozen=True)
class Collapsed:
    """A digest that this call collapsed: its entry (None when nothing was left in it) and the items it replaced."""

    digest_id: str
    username: str
    entry: Notification | None
    replaced: list[str]


def summary(kind: str, items: Sequence[Notification]) -> str:
    """'5 resource distributions, $4,000.00 in total' (a total only where the items carry an amount)."""
    one, many = NOUNS.get(kind, ("notification", "notifications"))
    text = f"{len(items)} {one if len(items) == 1 else many}"
    amounts = [item.data.get("amount") for item in items]
    if kind == NotificationType.RESOURCE_DISTRIBUTION.value:
        total = sum(a for a in amounts if isinstance(a, Real) and not isinstance(a, bool))
        text += f", ${total:,.2f} in total"
    return text


class DigestStore:
    def __init__(self, engine: Engine, guard: contextlib.AbstractContextManager[Any] | None = None) -> None:
        self._engine = engine
        self._guard = guard or contextlib.nullcontext()  # the notification store's, on a shared connection

    @contextlib.contextmanager
    def _begin(self) -> Iterator[Connection]:
        with self._guard, self._engine.begin() as connection:
            yield connection

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Connection]:
        with self._guard, self._engine.connect() as connection:
            yield connection

    def attach(self, notification_id: str, username: str, kind: str, now: datetime,
               seconds: int) -> tuple[str, datetime]:
        """Hold a stored notification in the person's open digest of this type (opening one for `seconds`);
        the digest's id and when it closes."""
        for _ in range(3):
            with self._begin() as connection:
                found = connection.execute(select(D.c.id, D.c.closes_at).where(
                    D.c.username == username, D.c.type == kind, D.c.collapsed_at.is_(None))).first()
                open_id = found.id if found is not None else None
                # The UPDATE takes the row before the item is added: a collapse either ran before (0 rows: the
                # digest is closed, open another) or waits for this transaction (and then sees the item).
                if found is not None and connection.execute(
                        update(D).where(D.c.id == open_id, D.c.collapsed_at.is_(None))
                        .values(item_count=D.c.item_count + 1)).rowcount:
                    connection.execute(insert(I).values(notification_id=notification_id, digest_id=open_id))
                    return str(open_id), as_utc(found.closes_at)
            try:
                with self._begin() as connection:
                    digest_id, closes_at = str(uuid.uuid4()), now + timedelta(seconds=seconds)
                    connection.execute(insert(D).values(id=digest_id, username=username, type=kind, opened_at=now,
                                                        closes_at=closes_at, item_count=1))
                    connection.execute(insert(I).values(notification_id=notification_id, digest_id=digest_id))
                    return digest_id, closes_at
            except IntegrityError:  # another process opened this person's digest of this type first: join it
                continue
        raise RuntimeError(f"could not open a digest of {kind} for {username}")

    def due(self, now: datetime) -> list[str]:
        """Ids of open digests whose window has closed."""
        with self._connect() as connection:
            return list(connection.scalars(select(D.c.id).where(D.c.collapsed_at.is_(None), D.c.closes_at <= now)
                                           .order_by(D.c.closes_at)))

    def open_of(self, username: str) -> list[str]:
        """Ids of the person's open digests."""
        with self._connect() as connection:
            return list(connection.scalars(select(D.c.id).where(D.c.username == username,
                                                                D.c.collapsed_at.is_(None))))

    def pending_of(self, notification_id: str, username: str) -> str | None:
        """The open digest holding this notification of this person, if any."""
        with self._connect() as connection:
            return connection.scalar(select(D.c.id).join(I, I.c.digest_id == D.c.id)
                                     .where(I.c.notification_id == notification_id, D.c.username == username,
                                            D.c.collapsed_at.is_(None)))

    def collapse(self, digest_id: str, now: datetime) -> Collapsed | None:
        """Collapse an open digest into one entry, once: None when it was collapsed already (here or elsewhere)."""
        entry_id = new_notification_id()
        with self._begin() as connection:
            claimed = connection.execute(update(D).where(D.c.id == digest_id, D.c.collapsed_at.is_(None))
                                         .values(collapsed_at=now, entry_id=entry_id))
            if not claimed.rowcount:
                return None
            row = connection.execute(select(D.c.username, D.c.type, D.c.opened_at).where(D.c.id == digest_id)).one()
            ids = list(connection.scalars(select(I.c.notification_id).where(I.c.digest_id == digest_id)))
            items = _items(connection, row.username, ids, now)
            entry = _entry(entry_id, digest_id, row.username, row.type, items, now) if items else None
            if entry is None:
                connection.execute(update(D).where(D.c.id == digest_id).values(entry_id=None))
            else:
                connection.execute(insert(N).values(entry.to_row()))
                if all(item.read_at is not None for item in items):  # e.g. "mark all read" before the collapse
                    entry.read_at = now
                    connection.execute(insert(R).values(notification_id=entry.id, user_id=row.username, read_at=now))
            for chunk in _chunks(ids):  # the items live on inside the entry
                connection.execute(delete(R).where(R.c.notification_id.in_(chunk)))
                connection.execute(delete(N).where(N.c.id.in_(chunk)))
            connection.execute(delete(I).where(I.c.digest_id == digest_id))
        return Collapsed(digest_id, row.username, entry, ids)


def _items(connection: Connection, username: str, ids: list[str], now: datetime) -> list[Notification]:
    """The held notifications the person still has (not dismissed, not expired), oldest first."""
    found: list[Notification] = []
    for chunk in _chunks(ids):
        rows = connection.execute(
            select(N, R.c.read_at, R.c.dismissed_at, R.c.action)
            .select_from(N.outerjoin(R, and_(R.c.notification_id == N.c.id, R.c.user_id == username)))
            .where(N.c.id.in_(chunk), R.c.dismissed_at.is_(None), unexpired(now)))
        found.extend(Notification.from_row(row) for row in rows)
    return sorted(found, key=lambda n: n.id)


def _entry(entry_id: str, digest_id: str, username: str, kind: str, items: list[Notification],
           now: datetime) -> Notification:
    text = summary(kind, items)
    shown = [{"id": n.id, "title": n.title, "message": n.message, "priority": n.priority, "data": n.data,
              "created_at": n.created_at.isoformat()} for n in items[-MAX_ITEMS_SHOWN:]]
    digest: dict[str, Any] = {"id": digest_id, "count": len(items), "summary": text,
                              "first_at": items[0].created_at.isoformat(), "last_at": items[-1].created_at.isoformat(),
                              "items": shown}
    if kind == NotificationType.RESOURCE_DISTRIBUTION.value:
        digest["total"] = sum(a for a in (n.data.get("amount") for n in items)
                              if isinstance(a, Real) and not isinstance(a, bool))
    newest = items[-1]
    data = {"digest": digest}
    icon = ICONS.get(kind, "🗂️")
    return Notification(entry_id, kind, max(n.priority for n in items), f"{icon} {text}"[:200],
                        f"Latest: {newest.title} — {newest.message}", data, [], username, None, False, None, None,
                        now, None, data_json=dumps(data))


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[start:start + size] for start in range(0, len(items), size)]
