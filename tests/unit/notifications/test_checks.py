"""field_errors: every bad field of a send reported at once, with the same reasons the send itself gives."""

from datetime import UTC, datetime, timedelta

import pytest

from services.notifications.checks import compose, field_errors
from services.notifications.types import NotificationError

NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def test_a_good_send_has_no_errors() -> None:
    assert field_errors(NOW, notification_type="info", user_id="alice") == {}
    assert field_errors(NOW, notification_type="welcome", broadcast=True, title="Hi", message="there", priority=5,
                        actions=[{"label": "Go", "action": "go", "url": "/"}], ttl_seconds=60) == {}


def test_every_bad_field_is_named_at_once() -> None:
    errors = field_errors(NOW, notification_type="info", user_id="alice", title="  ", message="x" * 2001,
                          priority=7, actions=[{"label": f"L{n}", "action": f"a{n}"} for n in range(4)],
                          expires_at=NOW - timedelta(minutes=1))
    assert set(errors) == {"title", "message", "priority", "actions", "expires_at"}
    assert errors["title"] == "must not be empty"
    assert errors["message"] == "is 2001 characters, longer than 2000"
    assert errors["actions"] == "at most 3 actions, got 4"
    assert errors["expires_at"].endswith("is in the past")


def test_the_reasons_are_those_a_send_gives() -> None:
    bad = {"notification_type": "info", "role": "pilot", "priority": 0}
    errors = field_errors(NOW, **bad)
    with pytest.raises(NotificationError) as raised:
        compose(NOW, None, "info", None, None, None, 0, None, None, None, "pilot", False, None, None)
    assert errors[raised.value.field] == raised.value.reason
    assert set(errors) == {"role", "priority"}


def test_unknown_type_and_missing_target_and_bad_action() -> None:
    errors = field_errors(NOW, notification_type="gossip", actions=[{"label": "", "action": "x"}], ttl_seconds=-5)
    assert set(errors) == {"notification_type", "target", "actions[0].label", "ttl_seconds"}


@pytest.mark.reliability
@pytest.mark.parametrize(("send", "field"), [
    ({"title": "a\x00b"}, "title"),
    ({"message": "lone \ud800 surrogate"}, "message"),
    ({"data": {"note": "a\x00b"}}, "data.note"),
    ({"data": {"items": [{"ok": 1}, {"name": "a\x00"}]}}, "data.items[1].name"),
    ({"data": {"k\x00": 1}}, "data"),
    ({"expires_at": datetime.fromisoformat("9999-12-31T23:59:59-14:00")}, "expires_at"),
    ({"expires_at": datetime.fromisoformat("9999-12-31T23:59:59+00:00")}, "expires_at"),  # no day to spare
])
def test_what_a_database_cannot_store_is_refused_naming_the_field(send: dict[str, object], field: str) -> None:
    assert field in field_errors(NOW, notification_type="info", user_id="alice", **send)


@pytest.mark.reliability
def test_text_that_merely_spells_an_escape_is_kept() -> None:
    assert field_errors(NOW, notification_type="info", user_id="alice", data={"path": "C:\\u0000"}) == {}
