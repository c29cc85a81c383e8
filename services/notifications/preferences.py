"""Per-person preferences and the one pure decision: push this notification live now, or keep it in the inbox only.

Kept out of the store and the service so every edge (midnight, a DST change) is tested with a plain clock value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.notifications.templates import NotificationPriority, NotificationType
from services.notifications.types import NotificationError

TYPES = tuple(kind.value for kind in NotificationType)
UNMUTABLE_PRIORITY = int(NotificationPriority.CRITICAL)
"""A system alert at this priority or above reaches the person whatever they switched off."""
EMERGENCY = int(NotificationPriority.EMERGENCY)
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")
MAX_TIMEZONE = 64
DIGEST_MIN, DIGEST_MAX = 60, 86_400
"""Bounds of a digest window in seconds (a minute to a day)."""
UNDIGESTED = frozenset({NotificationType.SYSTEM_ALERT.value})


class Decision(StrEnum):
    """What happens to one notification for one person."""

    PUSHED = "pushed"
    MUTED = "muted"
    BELOW_MIN_PRIORITY = "below_min_priority"
    QUIET_HOURS = "held_for_quiet_hours"
    DIGESTED = "digested"


@dataclass(slots=True, frozen=True)
class QuietHours:
    """A daily window of wall-clock time in `timezone`; `end` before `start` means it runs across midnight."""

    start: time
    end: time
    timezone: str
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", ZoneInfo(self.timezone))  # looked up once, not on every send

    def active(self, now: datetime) -> bool:
        """Whether `now` (aware) falls inside the window, read on the person's wall clock (so DST is theirs)."""
        local = now.astimezone(self.zone).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def last_window(self, now: datetime) -> tuple[datetime, datetime]:
        """The most recent window that ended at or before `now`: (start, end) in UTC."""
        zone = self.zone
        today = now.astimezone(zone).date()
        for day in (today, today - timedelta(days=1)):
            end = _at(day, self.end, zone)
            if end <= now:
                start_day = day if self.start < self.end else day - timedelta(days=1)
                return _at(start_day, self.start, zone), end
        raise AssertionError("a daily window ended within the last two days")  # pragma: no cover

    def to_dict(self) -> dict[str, str]:
        return {"start": _clock_text(self.start), "end": _clock_text(self.end), "timezone": self.timezone}


@dataclass(slots=True, frozen=True)
class Preferences:
    """One person's choices; the default pushes everything."""

    muted: frozenset[str] = frozenset()
    min_priority: int = 1
    quiet_hours: QuietHours | None = None
    updated_at: datetime | None = field(default=None, compare=False)
    digest: tuple[tuple[str, int], ...] = ()
    """(type, window seconds) for each type collected into a digest, sorted by type."""

    @property
    def is_default(self) -> bool:
        return not self.muted and self.min_priority <= 1 and self.quiet_hours is None and not self.digest

    def digest_seconds(self, kind: str) -> int | None:
        return next((seconds for name, seconds in self.digest if name == kind), None)

    def counted(self, kind: str, priority: int) -> bool:
        """Whether a notification counts on the bell: not muted and at or above the minimum (quiet hours aside;
        one held for a digest counts once the digest collapses, which the store knows)."""
        return decide(self, kind, priority, None, digestible=False) is Decision.PUSHED

    def to_dict(self) -> dict[str, Any]:
        return {"types": {kind: kind not in self.muted for kind in TYPES}, "min_priority": self.min_priority,
                "digest_seconds": dict(self.digest),
                "quiet_hours": self.quiet_hours.to_dict() if self.quiet_hours else None,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None}


DEFAULT = Preferences()


def decide(preferences: Preferences, kind: str, priority: int, now: datetime | None, *,
           digestible: bool = True) -> Decision:
    """Push live, or why not. Critical and emergency system alerts cannot be muted or held below a minimum;
    during quiet hours only emergencies are pushed. `now` None leaves quiet hours out (the bell count).
    A type the person collects into a digest is held for it unless critical or above, or not `digestible`
    (an admin's `digest: false`, or the digest entry itself)."""
    unmutable = kind == NotificationType.SYSTEM_ALERT.value and priority >= UNMUTABLE_PRIORITY
    if kind in preferences.muted and not unmutable:
        return Decision.MUTED
    if priority < preferences.min_priority and not unmutable:
        return Decision.BELOW_MIN_PRIORITY
    if digestible and priority < UNMUTABLE_PRIORITY and preferences.digest and preferences.digest_seconds(kind):
        return Decision.DIGESTED
    quiet = preferences.quiet_hours
    if now is not None and quiet is not None and priority < EMERGENCY and quiet.active(now):
        return Decision.QUIET_HOURS
    return Decision.PUSHED


def parse_preferences(body: object, *, now: datetime | None = None) -> Preferences:
    """Validate a REST / page body `{types?, min_priority?, quiet_hours?}` (absent: the default); raises
    NotificationError naming the field."""
    if not isinstance(body, dict):
        raise NotificationError("preferences", "must be an object with types, min_priority and quiet_hours")
    unknown = set(body) - {"types", "min_priority", "quiet_hours", "digest_seconds", "updated_at"}
    if unknown:
        raise NotificationError("preferences", f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    types = body.get("types") or {}
    if not isinstance(types, dict):
        raise NotificationError("types", "must be an object of {notification_type: true|false}")
    muted: set[str] = set()
    for kind, enabled in types.items():
        if kind not in TYPES:
            raise NotificationError(f"types.{str(kind)[:40]}", f"unknown type; expected one of {', '.join(TYPES)}")
        if not isinstance(enabled, bool):
            raise NotificationError(f"types.{kind}", "must be true or false")
        if not enabled:
            muted.add(kind)
    min_priority = body.get("min_priority", 1)
    if isinstance(min_priority, bool) or not isinstance(min_priority, int) or not 1 <= min_priority <= 5:
        raise NotificationError("min_priority", f"must be an integer from 1 (low) to 5 (emergency), "
                                                f"got {min_priority!r}")
    return Preferences(frozenset(muted), min_priority, parse_quiet_hours(body.get("quiet_hours")), now,
                       parse_digest(body.get("digest_seconds")))


def parse_digest(value: object) -> tuple[tuple[str, int], ...]:
    """`{type: seconds | null}`: each type collected into one inbox entry per window (null or 0: not)."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise NotificationError("digest_seconds", "must be an object of {notification_type: seconds or null}")
    found: dict[str, int] = {}
    for kind, seconds in value.items():
        name = f"digest_seconds.{str(kind)[:40]}"
        if kind not in TYPES:
            raise NotificationError(name, f"unknown type; expected one of {', '.join(TYPES)}")
        if seconds is None or seconds == 0:
            continue
        if kind in UNDIGESTED:
            raise NotificationError(name, "system alerts are never collected into a digest")
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not DIGEST_MIN <= seconds <= DIGEST_MAX:
            raise NotificationError(name, f"must be null (off) or whole seconds from {DIGEST_MIN} to {DIGEST_MAX}, "
                                          f"got {seconds!r}")
        found[kind] = seconds
    return tuple(sorted(found.items()))


def parse_quiet_hours(value: object) -> QuietHours | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise NotificationError("quiet_hours", "must be null or {start: 'HH:MM', end: 'HH:MM', timezone}")
    unknown = set(value) - {"start", "end", "timezone"}
    if unknown:
        raise NotificationError("quiet_hours", f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    start, end = (_parse_clock(f"quiet_hours.{name}", value.get(name)) for name in ("start", "end"))
    if start == end:
        raise NotificationError("quiet_hours.end", "must differ from start (an empty or whole-day window)")
    zone = value.get("timezone", "UTC")
    if not isinstance(zone, str) or not 1 <= len(zone) <= MAX_TIMEZONE:
        raise NotificationError("quiet_hours.timezone", "must be an IANA time zone such as Europe/Berlin")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise NotificationError("quiet_hours.timezone",
                                f"unknown time zone {zone[:MAX_TIMEZONE]!r}; use an IANA name such as "
                                f"Europe/Berlin") from None
    return QuietHours(start, end, zone)


def _parse_clock(name: str, value: object) -> time:
    found = _CLOCK.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        raise NotificationError(name, "must be a time of day as HH:MM (or HH:MM:SS), 00:00 to 23:59")
    return time(int(found[1]), int(found[2]), int(found[3] or 0))


def _clock_text(value: time) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time on a day in `zone`, in UTC (a time skipped by DST lands just after the jump)."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)
