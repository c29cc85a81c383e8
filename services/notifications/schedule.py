"""Scheduled sends: checked and stored at once, delivered at `deliver_at` by the leader's job, exactly once.

A delivery is claimed with a conditional UPDATE (`status = 'scheduled'` → `'delivering'`) that also picks the
notification's id, so two processes running the job deliver it once, and a delivery cut short by a crash is
finished later without a second notification (the id is looked up first)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson
from sqlalchemy import Engine, and_, insert, or_, select, update

from services.batch_writer import is_transient
from services.models import as_utc, utcnow
from services.notifications.checks import compose
from services.notifications.models import ScheduledNotification
from services.notifications.types import NotificationError, new_notification_id

log = logging.getLogger(__name__)

S = ScheduledNotification.metadata.tables["scheduled_notifications"]
MAX_AHEAD = timedelta(days=366)
STALE_CLAIM = timedelta(seconds=60)
"""A delivery claimed this long ago and not finished was cut short (a crash): another run finishes it."""
DUE_BATCH = 100
STATUSES = ("scheduled", "delivering", "delivered", "cancelled", "failed")


class Sender(Protocol):
    @property
    def send(self) -> Callable[..., Awaitable[dict[str, Any]]]:
        """NotificationService.send (keyword arguments)."""

    def notification_exists(self, notification_id: str) -> bool: ...


@dataclass(slots=True, frozen=True)
class Due:
    id: str
    request: dict[str, Any]
    notification_id: str
    created_by: str = ""


class ScheduledSends:
    """Schedule, list, cancel and deliver (`deliver_due`, the leader's job)."""

    def __init__(self, engine: Engine, sender: Sender, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._sender = sender
        self._clock = clock

    async def schedule(self, request: dict[str, Any], deliver_at: datetime, created_by: str) -> dict[str, Any]:
        """Check the send as if it went now (NotificationError names a bad field) and store it."""
        now = as_utc(self._clock())
        when = as_utc(deliver_at)
        if when <= now:
            raise NotificationError("deliver_at", f"{when.isoformat()} is in the past")
        if when > now + MAX_AHEAD:
            raise NotificationError("deliver_at", "must be within a year")
        notification = _compose(now, request)
        expiry = request.get("expires_at")
        if isinstance(expiry, datetime) and as_utc(expiry) <= when:
            raise NotificationError("expires_at", "would expire before it is delivered")
        row = {"id": new_notification_id(), "request": orjson.dumps(_encode(request)).decode(),
               "title": notification.title, "target": notification.recipients[:80], "deliver_at": when,
               "status": "scheduled", "created_by": created_by[:64], "created_at": now}
        await asyncio.to_thread(self._insert, row)
        return _shown(row)

    async def listing(self, *, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Newest delivery time first; `status` narrows it (e.g. "scheduled")."""
        if status is not None and status not in STATUSES:
            raise NotificationError("status", f"expected one of {', '.join(STATUSES)}")
        query = select(S).order_by(S.c.deliver_at.desc()).limit(max(1, min(limit, 1000)))
        if status is not None:
            query = query.where(S.c.status == status)
        rows = await asyncio.to_thread(self._all, query)
        return [_shown(row._mapping) for row in rows]

    async def cancel(self, scheduled_id: str) -> str | None:
        """Cancel a send not yet delivered: None when done, else its status ("missing" when unknown)."""
        return await asyncio.to_thread(self._cancel, scheduled_id)

    async def deliver_due(self) -> int:
        """Deliver what is due (the job); how many were delivered by this call."""
        delivered = 0
        for due in await asyncio.to_thread(self._claim_due, as_utc(self._clock())):
            if await self._deliver(due):
                delivered += 1
        return delivered

    async def _deliver(self, due: Due) -> bool:
        try:
            if await asyncio.to_thread(self._sender.notification_exists, due.notification_id):
                await asyncio.to_thread(self._finish, due.id, "delivered", None)
                return False  # a run cut short after the send: finished, not repeated
            await self._sender.send(**_decode(due.request), notification_id=due.notification_id, durable=True,
                                    scheduled_by=due.created_by or None)
        except NotificationError as error:  # e.g. the account is gone: say so in the list
            await asyncio.to_thread(self._finish, due.id, "failed", str(error)[:500])
            return False
        except Exception as error:
            if not is_transient(error):
                log.warning("scheduled send %s failed", due.id, exc_info=True)
                await asyncio.to_thread(self._finish, due.id, "failed", str(error)[:500])
            return False  # the database is away: the stale claim is picked up again
        await asyncio.to_thread(self._finish, due.id, "delivered", None)
        return True

    def _insert(self, row: dict[str, Any]) -> None:
        with self._engine.begin() as connection:
            connection.execute(insert(S).values(row))

    def _all(self, query: Any) -> list[Any]:
        with self._engine.connect() as connection:
            return list(connection.execute(query).all())

    def _cancel(self, scheduled_id: str) -> str | None:
        with self._engine.begin() as connection:
            done = connection.execute(update(S).where(S.c.id == scheduled_id, S.c.status == "scheduled")
                                      .values(status="cancelled", finished_at=as_utc(self._clock())))
            if done.rowcount:
                return None
            status = connection.scalar(select(S.c.status).where(S.c.id == scheduled_id))
        return str(status) if status is not None else "missing"

    def _claim_due(self, now: datetime) -> list[Due]:
        stale = now - STALE_CLAIM
        claimable = or_(and_(S.c.status == "scheduled", S.c.deliver_at <= now),
                        and_(S.c.status == "delivering", S.c.claimed_at < stale))
        with self._engine.connect() as connection:
            found = connection.execute(select(S.c.id, S.c.request, S.c.status, S.c.notification_id, S.c.created_by)
                                       .where(claimable).order_by(S.c.deliver_at).limit(DUE_BATCH)).all()
        claimed: list[Due] = []
        for row in found:
            notification_id = row.notification_id or new_notification_id()
            with self._engine.begin() as connection:
                same = (S.c.status == "scheduled") if row.status == "scheduled" else and_(
                    S.c.status == "delivering", S.c.claimed_at < stale)
                taken = connection.execute(update(S).where(S.c.id == row.id, same).values(
                    status="delivering", claimed_at=now, notification_id=notification_id))
            if taken.rowcount:
                claimed.append(Due(row.id, orjson.loads(row.request), notification_id, row.created_by))
        return claimed

    def _finish(self, scheduled_id: str, status: str, error: str | None) -> None:
        with self._engine.begin() as connection:
            connection.execute(update(S).where(S.c.id == scheduled_id).values(
                status=status, error=error, finished_at=as_utc(self._clock())))


def _compose(now: datetime, request: dict[str, Any]) -> Any:
    return compose(now, request.get("user_id"), request.get("notification_type"), request.get("data"),
                   request.get("title"), request.get("message"), request.get("priority"), request.get("channel"),
                   request.get("actions"), request.get("expires_at"), request.get("role"),
                   request.get("broadcast", False), request.get("ttl_seconds"), request.get("correlation_id"))


def _encode(request: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in request.items()}


def _decode(request: dict[str, Any]) -> dict[str, Any]:
    decoded = dict(request)
    if isinstance(decoded.get("expires_at"), str):
        decoded["expires_at"] = datetime.fromisoformat(decoded["expires_at"])
    return decoded


def _shown(row: Any) -> dict[str, Any]:
    def when(value: datetime | None) -> str | None:
        return as_utc(value).isoformat() if value is not None else None

    return {"scheduled_id": row["id"], "status": row["status"], "title": row["title"], "target": row["target"],
            "deliver_at": when(row["deliver_at"]), "created_by": row["created_by"],
            "created_at": when(row["created_at"]), "notification_id": row.get("notification_id"),
            "finished_at": when(row.get("finished_at")), "error": row.get("error")}
