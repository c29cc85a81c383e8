"""Templates: every type renders readable text, money reads $800.00, and data can never inject or look anything up."""

from __future__ import annotations

import pytest

from services.notifications.templates import (
    ALERT_LEVELS,
    TEMPLATES,
    NotificationPriority,
    NotificationType,
    format_money,
    render,
    render_template,
)

TYPICAL = {
    NotificationType.RESOURCE_DISTRIBUTION: {"amount": 800},
    NotificationType.TRUTH_UPDATE: {"message": "the pool is open"},
    NotificationType.MESH_NETWORK_CHANGE: {"change_type": "node_joined"},
    NotificationType.SYSTEM_ALERT: {"status": "degraded"},
    NotificationType.USER_ACTION: {"message": "Confirm your housing choice"},
    NotificationType.WELCOME: {},
    NotificationType.WARNING: {"message": "Disk almost full"},
    NotificationType.ERROR: {"message": "Payment failed"},
    NotificationType.SUCCESS: {"message": "Profile saved"},
    NotificationType.INFO: {"message": "Maintenance at noon"},
}


def test_all_ten_types_have_a_template() -> None:
    assert set(TEMPLATES) == set(NotificationType)
    assert len(NotificationType) == 10


@pytest.mark.parametrize("kind", list(NotificationType))
def test_every_type_renders_with_typical_data_and_with_none(kind: NotificationType) -> None:
    for data in (TYPICAL[kind], {}):
        title, message = render_template(kind, data)
        assert title.strip() and message.strip()
        assert "{" not in title + message, "no placeholder may leak into the text"
    template = TEMPLATES[kind]
    assert 1 <= template.priority <= 5
    assert len(template.actions) <= 3


def test_the_original_five_keep_their_words_priorities_and_actions() -> None:
    assert render_template(NotificationType.RESOURCE_DISTRIBUTION, {"amount": 800}) == (
        "💰 Resource Distribution", "You received $800.00 from the Liberation System")
    assert render_template(NotificationType.TRUTH_UPDATE, {"message": "hello"}) == (
        "🌐 Truth Network Update", "New truth message spreading: hello")
    assert render_template(NotificationType.MESH_NETWORK_CHANGE, {"change_type": "split"}) == (
        "🔗 Mesh Network Status", "Network topology changed: split")
    assert render_template(NotificationType.SYSTEM_ALERT, {"status": "down"}) == (
        "⚠️ System Alert", "System status: down")
    assert render_template(NotificationType.WELCOME, {}) == (
        "🎉 Welcome to Liberation System",
        "Your registration is complete. You're now part of the $19T transformation.")
    assert TEMPLATES[NotificationType.RESOURCE_DISTRIBUTION].default_actions() == [
        {"label": "View Details", "action": "view_transaction"}, {"label": "Thank You", "action": "acknowledge"}]
    assert TEMPLATES[NotificationType.MESH_NETWORK_CHANGE].priority == NotificationPriority.LOW
    assert TEMPLATES[NotificationType.SYSTEM_ALERT].priority == NotificationPriority.HIGH


@pytest.mark.parametrize(("amount", "text"), [
    (800, "$800.00"), (800.0, "$800.00"), (0, "$0.00"), (1234.5, "$1,234.50"), (104000, "$104,000.00"),
    (0.005, "$0.01"), (-5, "-$5.00"),
])
def test_money(amount: float, text: str) -> None:
    assert format_money(amount) == text
    assert render_template(NotificationType.RESOURCE_DISTRIBUTION, {"amount": amount})[1] == (
        f"You received {text} from the Liberation System")


@pytest.mark.parametrize("amount", ["800", None, True, float("nan"), float("inf"), [800], {"value": 800}])
def test_an_amount_that_is_not_a_number_reads_as_funds(amount: object) -> None:
    message = render_template(NotificationType.RESOURCE_DISTRIBUTION, {"amount": amount})[1]
    assert message == "You received funds from the Liberation System"


@pytest.mark.parametrize("attack", [
    "{data.__class__}", "{0.__init__}", "{0.__init__.__globals__}", "%s %d %(amount)s", "${amount}", "{amount}",
    "{amount:money}", "{{amount}}", "{message|x}", "}{", "{", "\\{amount\\}",
])
def test_user_text_is_inserted_verbatim_never_interpreted(attack: str) -> None:
    data = {"message": attack, "amount": 800, "change_type": attack, "status": attack}
    assert render_template(NotificationType.INFO, data)[1] == attack
    assert render_template(NotificationType.MESH_NETWORK_CHANGE, data)[1] == f"Network topology changed: {attack}"
    assert render_template(NotificationType.SYSTEM_ALERT, data)[1] == f"System status: {attack}"


def test_values_are_looked_up_by_key_only() -> None:
    class Sneaky(dict[str, object]):
        def __getattr__(self, name: str) -> object:
            raise AssertionError(f"attribute {name} was read")

    assert render("Network topology changed: {change_type}", Sneaky(change_type="ok")) == (
        "Network topology changed: ok")


def test_missing_or_empty_fields_leave_readable_text() -> None:
    assert render_template(NotificationType.TRUTH_UPDATE, {})[1] == "New truth message spreading: (no text)"
    assert render_template(NotificationType.MESH_NETWORK_CHANGE, {"change_type": "  "})[1] == (
        "Network topology changed: unknown change")
    assert render_template(NotificationType.SYSTEM_ALERT, {"status": None})[1] == "System status: unknown"
    assert render_template(NotificationType.INFO, {"message": ["a", "list"]})[1] == "There is news for you."
    assert render("Hello {name}!", {}) == "Hello (no name)!"


def test_long_text_is_shortened_with_dots_only_when_cut() -> None:
    short = "x" * 100
    assert render_template(NotificationType.TRUTH_UPDATE, {"message": short})[1].endswith(short)
    assert "..." not in render_template(NotificationType.TRUTH_UPDATE, {"message": short})[1]
    long = "y" * 150
    assert render_template(NotificationType.TRUTH_UPDATE, {"message": long})[1] == (
        "New truth message spreading: " + "y" * 100 + "...")
    assert len(render_template(NotificationType.INFO, {"message": "z" * 5000})[1]) <= 503


def test_numbers_and_booleans_read_naturally() -> None:
    assert render("Value {v}", {"v": 90.0}) == "Value 90"
    assert render("Value {v}", {"v": 91.456}) == "Value 91.46"
    assert render("Done {v}", {"v": True}) == "Done yes"


def test_a_template_with_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown placeholder format"):
        render("{amount:rocket}", {"amount": 1})


def test_alert_levels_map_to_priorities() -> None:
    assert {level: int(priority) for level, priority in ALERT_LEVELS.items()} == {
        "info": 1, "warning": 2, "error": 3, "critical": 4, "emergency": 5}
