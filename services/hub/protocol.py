"""The raw WebSocket protocol (DESIGN.md §6): connection types, commands, error codes and pre-encoded frames."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from services.delivery import BROADCAST, role_channel, user_channel

DIRECT = "direct"
"""The `channel` of frames addressed to one connection: control replies and errors."""

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
GOING_AWAY = 1001

CHANNEL_NAME = re.compile(r"[A-Za-z0-9_.:@-]{1,128}")
MAX_SUBSCRIPTIONS = 100


class ConnectionType(StrEnum):
    DASHBOARD = "dashboard"
    MOBILE = "mobile"
    ADMIN = "admin"
    SYSTEM = "system"


DEFAULT_CHANNELS: dict[ConnectionType, tuple[str, ...]] = {
    ConnectionType.DASHBOARD: ("dashboard", "resources", "system"),
    ConnectionType.MOBILE: ("mobile", "resources"),
    ConnectionType.ADMIN: ("admin", "system", "resources", "truth", "mesh"),
    ConnectionType.SYSTEM: (),
}


def default_channels(connection_type: ConnectionType, username: str, role: str) -> tuple[str, ...]:
    """The type's channels, then the caller's own channel, its role's channel and `broadcast`."""
    return (*DEFAULT_CHANNELS[connection_type], user_channel(username), role_channel(role), BROADCAST)


class ErrorCode(StrEnum):
    INVALID_JSON = "invalid_json"
    INVALID_MESSAGE = "invalid_message"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    MESSAGE_TOO_LARGE = "message_too_large"
    FORBIDDEN = "forbidden"
    UNKNOWN_CHANNEL = "unknown_channel"
    TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
    RATE_LIMITED = "rate_limited"


class ProtocolError(Exception):
    """A client frame the server refuses; answered with an `error` frame, the connection stays open."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


COMMANDS = ("subscribe", "unsubscribe", "ping", "get_status")


@dataclass(slots=True, frozen=True)
class Command:
    type: str
    channel: str | None = None
    since: int | None = None
    epoch: str | None = None
    data: Any = None


def parse_command(raw: str | bytes, max_bytes: int) -> Command:
    """Decode one client frame into a Command, or raise ProtocolError naming what is wrong."""
    if isinstance(raw, bytes):
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "binary frames are not accepted; send JSON text")
    # A character is at most 4 UTF-8 bytes, so short frames skip the encoding.
    if len(raw) * 4 > max_bytes and len(raw.encode("utf-8", "surrogatepass")) > max_bytes:
        raise ProtocolError(ErrorCode.MESSAGE_TOO_LARGE, f"frame is over the {max_bytes}-byte limit")
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ProtocolError(ErrorCode.INVALID_JSON, "frame is not valid JSON") from None
    if not isinstance(message, dict):
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "frame must be a JSON object")
    kind = message.get("type")
    if kind is None:
        raise ProtocolError(ErrorCode.MISSING_FIELD, "missing field 'type'")
    if kind not in COMMANDS:
        known = ", ".join(COMMANDS)
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown type {str(kind)[:64]!r}; use one of {known}")
    if kind in ("ping", "get_status"):
        return Command(kind, data=message.get("data"))
    channel = message.get("channel")
    if channel is None:
        raise ProtocolError(ErrorCode.MISSING_FIELD, f"missing field 'channel' for {kind}")
    if not isinstance(channel, str) or not CHANNEL_NAME.fullmatch(channel):
        raise ProtocolError(ErrorCode.INVALID_FIELD, "channel must be 1-128 characters: letters, digits, _ . : @ -")
    if kind == "unsubscribe":
        return Command(kind, channel)
    since = message.get("since")
    if since is not None and (not isinstance(since, int) or isinstance(since, bool) or since < 0):
        raise ProtocolError(ErrorCode.INVALID_FIELD, "since must be a non-negative integer (the last seq you saw)")
    epoch = message.get("epoch")
    if epoch is not None and not isinstance(epoch, str):
        raise ProtocolError(ErrorCode.INVALID_FIELD, "epoch must be a string")
    return Command(kind, channel, since, epoch)


def dumps(value: Any) -> bytes:
    """JSON as the server sends it: compact UTF-8; unknown types become strings rather than failing a push."""
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)


def split_envelope(message: dict[str, Any]) -> tuple[bytes, bytes]:
    """The envelope's JSON cut around the `seq` value, so whoever assigns `seq` need not serialise again."""
    head = b'{"id":%b,"type":%b,"channel":%b,"seq":' % (
        dumps(message["id"]), dumps(message["type"]), dumps(message["channel"]))
    tail = b',"data":%b,"timestamp":%b}' % (dumps(message["data"]), dumps(message["timestamp"]))
    return head, tail


def join_envelope(head: bytes, seq: int | None, tail: bytes) -> bytes:
    return head + (b"null" if seq is None else str(seq).encode()) + tail


def text_frame(payload: bytes) -> bytes:
    """A complete unmasked, unfragmented WebSocket text frame (RFC 6455 §5.2) carrying `payload`."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


class Outgoing:
    """One message on its way to many connections: serialised once, framed once, decoded once at most."""

    __slots__ = ("_frame", "_text", "payload", "seq")

    def __init__(self, payload: bytes, seq: int | None = None) -> None:
        self.payload = payload
        self.seq = seq
        self._frame: bytes | None = None
        self._text: str | None = None

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = text_frame(self.payload)
        return self._frame

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.payload.decode()
        return self._text
