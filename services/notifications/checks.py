"""The checks every send passes, and `compose`, which turns a send's arguments into a `Notification`."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from services.checks import EDGE_MARGIN, json_problem, safe_time, text_problem
from services.models import Role
from services.notifications.templates import TEMPLATES, NotificationType, render
from services.notifications.types import Notification, NotificationError, dumps, new_notification_id

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


def compose(now: datetime, user_id: str | None, notification_type: object, data: object, title: str | None,
            message: str | None, priority: object, channel: object, actions: object, expires_at: object,
            role: str | None, broadcast: bool, ttl_seconds: object, correlation_id: object) -> Notification:
    """Validate and render one notification; absent title, message, priority and actions come from the template."""
    kind = check_type(notification_type)
    check_target(user_id, role, broadcast)
    payload, data_json = check_data(data)
    template = TEMPLATES[kind]
    notification = Notification(
        new_notification_id(), kind.value, check_priority(priority, template.priority),
        check_text("title", render(template.title, payload) if title is None else title, MAX_TITLE),
        check_text("message", render(template.message, payload) if message is None else message, MAX_MESSAGE),
        payload, template.default_actions() if actions is None else check_actions(actions), user_id, role,
        broadcast is True, check_channel(channel), check_correlation_id(correlation_id), now,
        resolve_expiry(expires_at, ttl_seconds, now), data_json=data_json,
    )
    if notification.channel is None:
        notification.channel = notification.recipients
    return notification


def field_errors(now: datetime, *, notification_type: object, user_id: object = None, role: object = None,
                 broadcast: object = False, data: object = None, title: object = None, message: object = None,
                 priority: object = None, actions: object = None, expires_at: object = None,
                 ttl_seconds: object = None) -> dict[str, str]:
    """Every field's problem at once, `{field: reason}` (`compose` stops at the first); empty when all is well.

    Forms use it to mark each bad field; None title, message, priority and actions mean the template's."""
    errors: dict[str, str] = {}

    def run(check: Callable[..., Any], *args: object) -> Any:
        try:
            return check(*args)
        except NotificationError as error:
            errors.setdefault(error.field, error.reason)
            return None

    kind = run(check_type, notification_type)
    run(check_target, user_id, role, broadcast)
    run(check_data, data)
    run(check_priority, priority, TEMPLATES[kind].priority if kind else 1)
    for name, value, limit in (("title", title, MAX_TITLE), ("message", message, MAX_MESSAGE)):
        if value is not None:
            run(check_text, name, value, limit)
    if actions is not None:
        run(check_actions, actions)
    run(resolve_expiry, expires_at, ttl_seconds, now)
    return errors


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
                                or text_problem(user_id) is not None):
        raise NotificationError("user_id", f"must be a username of 1-{MAX_USER_ID} characters")
    if role is not None and role not in ROLES:
        raise NotificationError("role", f"unknown role {role!r}; expected one of {', '.join(sorted(ROLES))}")


def check_text(name: str, value: object, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise NotificationError(name, "must not be empty")
    if len(value) > limit:
        raise NotificationError(name, f"is {len(value)} characters, longer than {limit}")
    problem = text_problem(value)
    if problem is not None:
        raise NotificationError(name, problem)
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
    if "\\u0000" in encoded and (found := json_problem(data, "data")) is not None:  # JSON writes NUL as \u0000
        raise NotificationError(*found)
    return data, encoded


def check_channel(channel: object, name: str = "channel") -> str | None:
    if channel is None:
        return None
    if not isinstance(channel, str) or not _CHANNEL.fullmatch(channel):
        raise NotificationError(name, "must be 1-64 letters, digits or _ . : @ -")
    return channel


def check_correlation_id(value: object) -> str | None:
    if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= 36
                              or text_problem(value) is not None):
        raise NotificationError("correlation_id", "must be a string of at most 36 characters, without NUL")
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
    # Stored, then read back in other time zones (a database session's, a browser's): keep a day from the edges.
    expiry = safe_time(expires_at, "expires_at", NotificationError, margin=EDGE_MARGIN)
    if expiry <= now:
        raise NotificationError("expires_at", f"{expiry.isoformat()} is in the past")
    return expiry


def _check_url(name: str, url: object) -> str:
    if not isinstance(url, str) or not 1 <= len(url) <= MAX_URL or any(c in url for c in "\x00\r\n\t "):
        raise NotificationError(name, f"must be a URL of at most {MAX_URL} characters without spaces")
    if not (url.startswith(("https://", "http://")) or (url.startswith("/") and not url.startswith("//"))):
        raise NotificationError(name, "must start with https://, http:// or / (a path on this site)")
    return url
