"""The preference decision with a plain clock: types, minimum priority, quiet hours at midnight and across DST."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from services.notifications import NotificationError
from services.notifications.preferences import (
    DEFAULT,
    Decision,
    Preferences,
    QuietHours,
    decide,
    parse_preferences,
)

BERLIN = "Europe/Berlin"
NIGHT = QuietHours(time(22, 0), time(7, 0), BERLIN)
"""22:00 to 07:00 Berlin time: across midnight."""


def at(text: str) -> datetime:
    """An instant written in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_default_pushes_everything() -> None:
    assert decide(DEFAULT, "info", 1, at("2026-03-01T03:00")) is Decision.PUSHED


def test_a_muted_type_is_kept_but_critical_system_alerts_cannot_be_switched_off() -> None:
    muted = Preferences(muted=frozenset({"truth_update", "system_alert"}))
    assert decide(muted, "truth_update", 5, None) is Decision.MUTED
    assert decide(muted, "system_alert", 3, None) is Decision.MUTED
    assert decide(muted, "system_alert", 4, None) is Decision.PUSHED
    assert decide(muted, "system_alert", 5, None) is Decision.PUSHED
    assert decide(muted, "info", 1, None) is Decision.PUSHED


def test_below_the_minimum_priority_is_not_pushed() -> None:
    high = Preferences(min_priority=3)
    assert decide(high, "info", 2, None) is Decision.BELOW_MIN_PRIORITY
    assert decide(high, "info", 3, None) is Decision.PUSHED
    assert decide(Preferences(min_priority=5), "system_alert", 4, None) is Decision.PUSHED


@pytest.mark.parametrize(("utc", "quiet"), [
    ("2026-01-15T20:59:59", False),  # 21:59:59 in Berlin (CET, UTC+1)
    ("2026-01-15T21:00:00", True),   # 22:00 starts it
    ("2026-01-15T22:59:59", True),   # 23:59:59
    ("2026-01-15T23:00:00", True),   # midnight: still quiet
    ("2026-01-16T05:59:59", True),   # 06:59:59
    ("2026-01-16T06:00:00", False),  # 07:00 ends it
])
def test_quiet_hours_run_across_midnight_on_the_persons_wall_clock(utc: str, quiet: bool) -> None:
    preferences = Preferences(quiet_hours=NIGHT)
    assert decide(preferences, "info", 2, at(utc)) is (Decision.QUIET_HOURS if quiet else Decision.PUSHED)


def test_emergencies_are_pushed_during_quiet_hours() -> None:
    preferences = Preferences(quiet_hours=NIGHT)
    assert decide(preferences, "warning", 5, at("2026-01-15T23:30")) is Decision.PUSHED
    assert decide(preferences, "system_alert", 4, at("2026-01-15T23:30")) is Decision.QUIET_HOURS


def test_a_same_day_window() -> None:
    lunch = Preferences(quiet_hours=QuietHours(time(12, 0), time(13, 0), "UTC"))
    assert decide(lunch, "info", 2, at("2026-01-15T11:59:59")) is Decision.PUSHED
    assert decide(lunch, "info", 2, at("2026-01-15T12:00")) is Decision.QUIET_HOURS
    assert decide(lunch, "info", 2, at("2026-01-15T13:00")) is Decision.PUSHED


@pytest.mark.parametrize(("utc", "quiet"), [
    # Spring forward in Berlin: 2026-03-29 02:00 CET becomes 03:00 CEST (UTC+2 from 01:00 UTC).
    ("2026-03-28T21:00:00", True),   # 22:00 CET the night before
    ("2026-03-29T00:59:59", True),   # 01:59:59 CET
    ("2026-03-29T01:00:00", True),   # 03:00 CEST: the hour that did not exist is skipped, still quiet
    ("2026-03-29T04:59:59", True),   # 06:59:59 CEST
    ("2026-03-29T05:00:00", False),  # 07:00 CEST: the end is on the wall clock, an hour earlier in UTC than in winter
    # Fall back: 2026-10-25 03:00 CEST becomes 02:00 CET (UTC+1 from 01:00 UTC).
    ("2026-10-24T19:59:59", False),  # 21:59:59 CEST
    ("2026-10-24T20:00:00", True),   # 22:00 CEST
    ("2026-10-25T00:30:00", True),   # 02:30 CEST, the first time round
    ("2026-10-25T01:30:00", True),   # 02:30 CET, the second time round
    ("2026-10-25T05:59:59", True),   # 06:59:59 CET
    ("2026-10-25T06:00:00", False),  # 07:00 CET
])
def test_quiet_hours_across_a_dst_change(utc: str, quiet: bool) -> None:
    preferences = Preferences(quiet_hours=NIGHT)
    assert decide(preferences, "info", 2, at(utc)) is (Decision.QUIET_HOURS if quiet else Decision.PUSHED)


def test_a_start_inside_the_skipped_hour_begins_when_the_clock_jumps() -> None:
    skipped = Preferences(quiet_hours=QuietHours(time(2, 30), time(5, 0), BERLIN))
    assert decide(skipped, "info", 2, at("2026-03-29T00:59:59")) is Decision.PUSHED  # 01:59:59 CET
    assert decide(skipped, "info", 2, at("2026-03-29T01:00:00")) is Decision.QUIET_HOURS  # 03:00 CEST


def test_the_last_window_that_ended_is_found_across_midnight_and_dst() -> None:
    assert NIGHT.last_window(at("2026-01-16T06:00")) == (at("2026-01-15T21:00"), at("2026-01-16T06:00"))
    assert NIGHT.last_window(at("2026-01-16T05:59")) == (at("2026-01-14T21:00"), at("2026-01-15T06:00"))
    # The spring-forward night is an hour shorter: 22:00 CET to 07:00 CEST is 8 hours.
    assert NIGHT.last_window(at("2026-03-29T05:00")) == (at("2026-03-28T21:00"), at("2026-03-29T05:00"))
    # The fall-back night is an hour longer: 22:00 CEST to 07:00 CET is 10 hours.
    assert NIGHT.last_window(at("2026-10-25T06:00")) == (at("2026-10-24T20:00"), at("2026-10-25T06:00"))


def test_a_body_round_trips_and_types_left_out_stay_on() -> None:
    parsed = parse_preferences({"types": {"info": False}, "min_priority": 2,
                                "quiet_hours": {"start": "22:00", "end": "07:00:30", "timezone": BERLIN}})
    shown = parsed.to_dict()
    assert shown["types"]["info"] is False and shown["types"]["warning"] is True
    assert shown["quiet_hours"] == {"start": "22:00", "end": "07:00:30", "timezone": BERLIN}
    assert parse_preferences(shown) == parsed


@pytest.mark.parametrize(("body", "field"), [
    ({"types": {"nope": False}}, "types.nope"),
    ({"types": {"info": "no"}}, "types.info"),
    ({"min_priority": 0}, "min_priority"),
    ({"min_priority": True}, "min_priority"),
    ({"quiet_hours": {"start": "24:00", "end": "07:00"}}, "quiet_hours.start"),
    ({"quiet_hours": {"start": "7", "end": "07:00"}}, "quiet_hours.start"),
    ({"quiet_hours": {"start": "07:00", "end": "07:00"}}, "quiet_hours.end"),
    ({"quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Mars/Olympus"}}, "quiet_hours.timezone"),
    ({"quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "../../etc/passwd"}}, "quiet_hours.timezone"),
    ({"colour": "red"}, "preferences"),
])
def test_a_bad_body_names_its_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(NotificationError) as refused:
        parse_preferences(body)
    assert refused.value.field == field
