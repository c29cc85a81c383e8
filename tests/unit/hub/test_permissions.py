"""Who may open which connection type and join which channel."""

import pytest

from services.hub.permissions import CHANNELS, connection_refusal, join_refusal
from services.hub.protocol import DEFAULT_CHANNELS, ConnectionType, ErrorCode


@pytest.mark.parametrize(("kind", "role", "allowed"), [
    (ConnectionType.DASHBOARD, "user", True),
    (ConnectionType.MOBILE, "user", True),
    (ConnectionType.ADMIN, "user", False),
    (ConnectionType.ADMIN, "system", False),
    (ConnectionType.ADMIN, "admin", True),
    (ConnectionType.SYSTEM, "user", False),
    (ConnectionType.SYSTEM, "system", True),
    (ConnectionType.SYSTEM, "admin", True),
])
def test_connection_types_need_the_right_token(kind: ConnectionType, role: str, allowed: bool) -> None:
    refusal = connection_refusal(kind, role)
    assert (refusal is None) is allowed
    if refusal:
        assert kind.value in refusal


@pytest.mark.parametrize(("role", "channel", "error"), [
    ("user", "resources", None),
    ("user", "broadcast", None),
    ("user", "user:alice", None),
    ("user", "user:bob", ErrorCode.FORBIDDEN),
    ("user", "role:user", None),
    ("user", "role:admin", ErrorCode.FORBIDDEN),
    ("user", "admin", ErrorCode.FORBIDDEN),
    ("user", "users", ErrorCode.FORBIDDEN),
    ("user", "made-up", ErrorCode.UNKNOWN_CHANNEL),
    ("system", "admin", ErrorCode.FORBIDDEN),
    ("system", "users", None),
    ("system", "user:bob", ErrorCode.FORBIDDEN),
    ("admin", "admin", None),
    ("admin", "user:bob", None),
    ("admin", "role:system", None),
    ("admin", "made-up", None),
])
def test_channel_permissions(role: str, channel: str, error: ErrorCode | None) -> None:
    refusal = join_refusal("alice", role, channel)
    assert (refusal[0] if refusal else None) == error


def test_every_default_channel_is_listed_and_open_to_the_types_that_get_it() -> None:
    for kind, channels in DEFAULT_CHANNELS.items():
        for channel in channels:
            assert channel in CHANNELS
            role = {ConnectionType.ADMIN: "admin", ConnectionType.SYSTEM: "system"}.get(kind, "user")
            assert join_refusal("someone", role, channel) is None, (kind, channel)
