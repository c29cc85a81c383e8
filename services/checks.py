"""Checks every package shares for input from outside: text a database can store, times safe to compute with.

Each package raises its own error type (`NotificationError`, `EventValidationError`, ...): pass it as `error`, a
callable taking (field, reason) like their constructors do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

NUL = "\x00"
NUL_REASON = "must not contain NUL characters"
EDGE_MARGIN = timedelta(days=1)
"""Room an expiry or other stored time keeps from the ends of the calendar: read back in any time zone (a database
session's, a browser's), or moved by up to a day, it stays a representable datetime."""
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)

ErrorType = Callable[[str, str], Exception]


class InputError(ValueError):
    """Input a check refused; the message names the field and says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def text_problem(value: str) -> str | None:
    """Why a database cannot store `value` as text (a NUL character, a lone surrogate), or None."""
    if NUL in value:
        return NUL_REASON
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            return "must be valid Unicode text (it holds a lone surrogate)"
    return None


def check_text(value: str, field: str, error: ErrorType = InputError) -> str:
    """`value` when a database can store it as text, else `error(field, reason)`."""
    problem = text_problem(value)
    if problem is not None:
        raise error(field, problem)
    return value


def json_problem(value: object, field: str) -> tuple[str, str] | None:
    """The first (path, reason) of a JSON-like value whose keys or strings a database cannot store as text.

    Paths read like `data.items[2].name`."""
    pending: list[tuple[object, str]] = [(value, field)]
    while pending:
        item, path = pending.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                return path, problem
        elif isinstance(item, dict):
            for key, child in item.items():
                problem = text_problem(key) if isinstance(key, str) else None
                if problem is not None:
                    return path, f"keys {problem}"
                pending.append((child, f"{path}.{key}"))
        elif isinstance(item, list | tuple):
            pending.extend((child, f"{path}[{n}]") for n, child in enumerate(item))
    return None


def check_json(value: object, field: str, error: ErrorType = InputError) -> None:
    """Nothing when every key and string in `value` can be stored as text, else `error(path, reason)`."""
    found = json_problem(value, field)
    if found is not None:
        raise error(*found)


def safe_time(value: datetime, field: str, error: ErrorType = InputError, *,
              margin: timedelta = timedelta(0)) -> datetime:
    """`value` in UTC (naive means UTC), provided it and `margin` either side of it are representable datetimes.

    Times near year 1 or 9999 with a large UTC offset ("0001-01-01T00:00:00+14:00") have no UTC equivalent; a time
    that is stored and read back elsewhere needs `margin` (EDGE_MARGIN) as well."""
    first, last = EARLIEST + margin, LATEST - margin
    try:
        utc: datetime | None = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not first <= utc <= last:
        raise error(field, f"{value.isoformat()} is out of range: in UTC it must lie between {first.isoformat()} "
                           f"and {last.isoformat()}")
    return utc
