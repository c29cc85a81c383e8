"""The notification record, its error type, catch-up points and time-ordered ids."""

from __future__ import annotations

import os
import random
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from services.checks import safe_time
from services.delivery import BROADCAST, role_channel, user_channel
from services.models import as_utc


class NotificationError(ValueError):
    """A send or query the service refuses; the message names the field and says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ActionTaken(Exception):
    """The recipient already took an action on this notification (a choice is made once)."""

    def __init__(self, action: str) -> None:
        super().__init__(f"already answered with {action!r}")
        self.action = action


@dataclass(slots=True)
class Notification:
    """One notification as one recipient sees it (`read_at` / `dismissed_at` are that recipient's)."""

    id: str
    type: str
    priority: int
    title: str
    message: str
    data: dict[str, Any]
    actions: list[dict[str, str]]
    user_id: str | None
    role: str | None
    broadcast: bool
    channel: str | None
    correlation_id: str | None
    created_at: datetime
    expires_at: datetime | None = None
    read_at: datetime | None = None
    dismissed_at: datetime | None = None
    action_taken: str | None = None
    data_json: str = field(default="", repr=False)

    @property
    def recipients(self) -> str:
        """The delivery channel of its recipients: `user:<name>`, `role:<role>` or `broadcast`."""
        if self.user_id is not None:
            return user_channel(self.user_id)
        if self.role is not None:
            return role_channel(self.role)
        return BROADCAST

    def to_dict(self) -> dict[str, Any]:
        """The REST / WebSocket shape (DESIGN.md §5), times as ISO-8601 UTC."""
        return {
            "id": self.id,
            "type": self.type,
            "priority": self.priority,
            "title": self.title,
            "message": self.message,
            "data": self.data,
            "actions": self.actions,
            "user_id": self.user_id,
            "role": self.role,
            "broadcast": self.broadcast,
            "channel": self.channel,
            "correlation_id": self.correlation_id,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "read_at": self.read_at.isoformat() if self.read_at else None,
            "dismissed_at": self.dismissed_at.isoformat() if self.dismissed_at else None,
            "action_taken": self.action_taken,
        }

    def to_row(self) -> dict[str, Any]:
        """The notifications-table row."""
        return {
            "id": self.id,
            "type": self.type,
            "priority": self.priority,
            "title": self.title,
            "message": self.message,
            "data": self.data_json or dumps(self.data),
            "actions": dumps(self.actions),
            "user_id": self.user_id,
            "role": self.role,
            "broadcast": self.broadcast,
            "channel": self.channel,
            "correlation_id": self.correlation_id,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_row(cls, row: Any) -> Notification:
        """From a Core row of the notifications table, optionally joined with the reader's receipt."""
        mapping = row._mapping
        read_at, dismissed_at, taken = mapping.get("read_at"), mapping.get("dismissed_at"), mapping.get("action")
        return cls(
            row.id, row.type, row.priority, row.title, row.message, orjson.loads(row.data), orjson.loads(row.actions),
            row.user_id, row.role, bool(row.broadcast), row.channel, row.correlation_id, as_utc(row.created_at),
            as_utc(row.expires_at) if row.expires_at else None,
            as_utc(read_at) if read_at else None, as_utc(dismissed_at) if dismissed_at else None, taken,
        )


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def parse_since(since: str | datetime | None) -> tuple[str | None, datetime | None]:
    """A catch-up point: (after this notification id, after this time); naive times are UTC."""
    if since is None or since == "":
        return None, None
    if isinstance(since, datetime):
        return None, safe_time(since, "since", NotificationError)
    if is_notification_id(since):
        return since, None
    try:
        parsed = datetime.fromisoformat(since)
    except ValueError:
        raise NotificationError("since", "must be a notification id or an ISO-8601 time") from None
    return None, safe_time(parsed, "since", NotificationError)


def new_notification_id() -> str:
    """A UUIDv7 that is strictly increasing within the process (a 12-bit counter orders ids of one millisecond)."""
    with _id_lock:
        global _last_ms, _counter
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms, _counter = ms, _rng.getrandbits(10)  # random start, headroom for 3000+ ids in this ms
        else:
            _counter += 1
            if _counter > 0xFFF:  # over 3000 ids in one millisecond: borrow the next one
                _last_ms, _counter = _last_ms + 1, 0
        value = _last_ms << 80 | 0x7 << 76 | _counter << 64 | 0x2 << 62 | _rng.getrandbits(62)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def is_notification_id(value: str) -> bool:
    return bool(_ID.fullmatch(value))


_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_id_lock = threading.Lock()
_last_ms = 0
_counter = 0
_rng = random.Random()
if hasattr(os, "register_at_fork"):  # a forked worker must not repeat the parent's ids
    os.register_at_fork(after_in_child=_rng.seed)
