"""The notification record, the checks every send passes, and time-ordered ids."""

from __future__ import annotations

import math
import os
import random
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from services.delivery import BROADCAST, role_channel, user_channel
from services.models import Role, as_utc
from services.notification_templates import NotificationType

MAX_TITLE = 200
MAX_MESSAGE = 2000
MAX_ACTIONS = 3
MAX_LABEL = 40
MAX_ACTION_ID = 64
MAX_URL = 2000
MAX_DATA_BYTES = 16 * 1024
MAX_USER_ID = 64
MAX_TTL_SECONDS = 10 * 365 * 86400
ROLES = frozenset(role.value for role in Role)
_ACTION_ID = re.compile(r"[A-Za-z0-9_.:-]+")
_CHANNEL = re.compile(r"[A-Za-z0-9_.:@-]{1,64}")
_TYPES: dict[str, NotificationType] = {member.value: member for member in NotificationType}


class NotificationError(ValueError):
    """A send or query the service refuses; the message names the field and says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


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
        read_at, dismissed_at = mapping.get("read_at"), mapping.get("dismissed_at")
        return cls(
            row.id, row.type, row.priority, row.title, row.message, orjson.loads(row.data), orjson.loads(row.actions),
            row.user_id, row.role, bool(row.broadcast), row.channel, row.correlation_id, as_utc(row.created_at),
            as_utc(row.expires_at) if row.expires_at else None,
            as_utc(read_at) if read_at else None, as_utc(dismissed_at) if dismissed_at else None,
        )


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def check_type(value: object) -> NotificationType:
    kind = _TYPES.get(value) if isinstance(value, str) else None
    if kind is None:
        raise NotificationError("notification_type", f"unknown type {value!r}; expected one of {', '.join(_TYPES)}")
    return kind


def check_priority(value: object, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise NotificationError("priority", f"must be an integer from 1 (low) to 5 (emergency), got {value!r}")
    return int(value)


def check_target(user_id: object, role: object, broadcast: object) -> None:
    """Exactly one of a user id, a known role or broadcast."""
    given = sum((user_id is not None, role is not None, broadcast is True))
    if given != 1:
        raise NotificationError("target", "give exactly one of user_id, role or broadcast=true")
    if user_id is not None and (not isinstance(user_id, str) or not 1 <= len(user_id) <= MAX_USER_ID
                                or "\x00" in user_id):
        raise NotificationError("user_id", f"must be a username of 1-{MAX_USER_ID} characters")
    if role is not None and role not in ROLES:
        raise NotificationError("role", f"unknown role {role!r}; expected one of {', '.join(sorted(ROLES))}")


def check_text(name: str, value: object, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise NotificationError(name, "must not be empty")
    if len(value) > limit:
        raise NotificationError(name, f"is {len(value)} characters, longer than {limit}")
    if "\x00" in value:
        raise NotificationError(name, "must not contain NUL characters")
    return value


def check_actions(actions: object) -> list[dict[str, str]]:
    """Up to three `{label, action, url?}` buttons; a url must be http(s) or a path on this site."""
    if not isinstance(actions, list | tuple):
        raise NotificationError("actions", "must be a list of {label, action, url?} objects")
    if len(actions) > MAX_ACTIONS:
        raise NotificationError("actions", f"at most {MAX_ACTIONS} actions, got {len(actions)}")
    checked: list[dict[str, str]] = []
    for n, action in enumerate(actions):
        where = f"actions[{n}]"
        if not isinstance(action, dict):
            raise NotificationError(where, "must be an object with label, action and optional url")
        unknown = set(action) - {"label", "action", "url"}
        if unknown:
            raise NotificationError(where, f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
        label = check_text(f"{where}.label", action.get("label"), MAX_LABEL)
        action_id = action.get("action")
        if not isinstance(action_id, str) or not _ACTION_ID.fullmatch(action_id) or len(action_id) > MAX_ACTION_ID:
            raise NotificationError(f"{where}.action", f"must be 1-{MAX_ACTION_ID} letters, digits or _ . : -")
        item = {"label": label, "action": action_id}
        url = action.get("url")
        if url is not None:
            item["url"] = _check_url(f"{where}.url", url)
        checked.append(item)
    if len({item["action"] for item in checked}) != len(checked):
        raise NotificationError("actions", "action ids must be distinct")
    return checked


def check_data(data: object) -> tuple[dict[str, Any], str]:
    """The data object and its JSON text."""
    if data is None:
        return {}, "{}"
    if not isinstance(data, dict):
        raise NotificationError("data", f"must be a JSON object, got {type(data).__name__}")
    try:
        encoded = dumps(data)
    except TypeError as error:
        raise NotificationError("data", f"is not JSON-serialisable: {error}") from None
    if len(encoded) > MAX_DATA_BYTES:
        raise NotificationError("data", f"JSON is {len(encoded)} bytes, over the {MAX_DATA_BYTES}-byte limit")
    return data, encoded


def check_channel(channel: object, name: str = "channel") -> str | None:
    if channel is None:
        return None
    if not isinstance(channel, str) or not _CHANNEL.fullmatch(channel):
        raise NotificationError(name, "must be 1-64 letters, digits or _ . : @ -")
    return channel


def check_correlation_id(value: object) -> str | None:
    if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= 36):
        raise NotificationError("correlation_id", "must be a string of at most 36 characters")
    return value


def resolve_expiry(expires_at: object, ttl_seconds: object, now: datetime) -> datetime | None:
    """The absolute expiry from `expires_at` (naive means UTC) or `ttl_seconds`; never in the past."""
    if expires_at is not None and ttl_seconds is not None:
        raise NotificationError("expires_at", "give expires_at or ttl_seconds, not both")
    if ttl_seconds is not None:
        if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int | float) or not math.isfinite(ttl_seconds):
            raise NotificationError("ttl_seconds", "must be a number of seconds")
        if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
            raise NotificationError("ttl_seconds", f"must be more than 0 and at most {MAX_TTL_SECONDS}")
        return now + timedelta(seconds=float(ttl_seconds))
    if expires_at is None:
        return None
    if not isinstance(expires_at, datetime):
        raise NotificationError("expires_at", "must be a datetime")
    expiry = as_utc(expires_at)
    if expiry <= now:
        raise NotificationError("expires_at", f"{expiry.isoformat()} is in the past")
    return expiry


def parse_since(since: str | datetime | None) -> tuple[str | None, datetime | None]:
    """A catch-up point: (after this notification id, after this time); naive times are UTC."""
    if since is None or since == "":
        return None, None
    if isinstance(since, datetime):
        return None, as_utc(since)
    if is_notification_id(since):
        return since, None
    try:
        return None, as_utc(datetime.fromisoformat(since))
    except ValueError:
        raise NotificationError("since", "must be a notification id or an ISO-8601 time") from None


def _check_url(name: str, url: object) -> str:
    if not isinstance(url, str) or not 1 <= len(url) <= MAX_URL or any(c in url for c in "\x00\r\n\t "):
        raise NotificationError(name, f"must be a URL of at most {MAX_URL} characters without spaces")
    if not (url.startswith(("https://", "http://")) or (url.startswith("/") and not url.startswith("//"))):
        raise NotificationError(name, "must start with https://, http:// or / (a path on this site)")
    return url


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
