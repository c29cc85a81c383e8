"""Who may open which kind of connection and join which channel: the one place these rules live."""

from __future__ import annotations

from services.hub.protocol import ConnectionType, ErrorCode
from services.models import Role

EVERYONE = frozenset({Role.USER.value, Role.ADMIN.value, Role.SYSTEM.value})
STAFF = frozenset({Role.ADMIN.value, Role.SYSTEM.value})
ADMINS = frozenset({Role.ADMIN.value})

CHANNELS: dict[str, frozenset[str]] = {
    "broadcast": EVERYONE,
    "dashboard": EVERYONE,
    "mobile": EVERYONE,
    "resources": EVERYONE,
    "system": EVERYONE,
    "truth": EVERYONE,
    "mesh": EVERYONE,
    "humans": EVERYONE,
    "communities": EVERYONE,
    "metrics": EVERYONE,
    "users": STAFF,  # who connects and disconnects: not for other users
    "notifications": STAFF,  # notification.* events name their recipients
    "events": STAFF,  # events of families without a channel of their own
    "admin": ADMINS,
}
"""Topic channels and the roles that may join them. `user:<name>` belongs to that account, `role:<r>` to the
accounts of that role; an admin may join any channel, including names not listed here."""

CONNECTION_ROLES: dict[ConnectionType, frozenset[str]] = {
    ConnectionType.DASHBOARD: EVERYONE,
    ConnectionType.MOBILE: EVERYONE,
    ConnectionType.ADMIN: ADMINS,
    ConnectionType.SYSTEM: STAFF,
}


def connection_refusal(connection_type: ConnectionType, role: str) -> str | None:
    """Why a `role` may not open a connection of this type, or None when it may."""
    allowed = CONNECTION_ROLES[connection_type]
    if role in allowed:
        return None
    return f"connection_type '{connection_type}' needs a token of role {' or '.join(sorted(allowed))}"


def join_refusal(username: str, role: str, channel: str) -> tuple[ErrorCode, str] | None:
    """Why this account may not join `channel` (an error code and a message), or None when it may."""
    if role == Role.ADMIN.value:
        return None
    owner = _suffix(channel, "user:")
    if owner is not None:
        return None if owner == username else (ErrorCode.FORBIDDEN, "a user channel belongs to its own account")
    member_of = _suffix(channel, "role:")
    if member_of is not None:
        return None if member_of == role else (ErrorCode.FORBIDDEN, f"only {member_of} accounts may join {channel}")
    allowed = CHANNELS.get(channel)
    if allowed is None:
        return ErrorCode.UNKNOWN_CHANNEL, f"no such channel {channel!r}"
    if role not in allowed:
        return ErrorCode.FORBIDDEN, f"channel {channel!r} is for {' or '.join(sorted(allowed))} accounts"
    return None


def _suffix(channel: str, prefix: str) -> str | None:
    return channel[len(prefix):] if channel.startswith(prefix) else None
