"""Event vocabulary: types, live channels, the `Event` record and payload validation."""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError, model_validator

from services.checks import json_problem
from services.models import EventRecord, as_utc, utcnow

MAX_TYPE_LENGTH = 100
MAX_DATA_BYTES = 64 * 1024
# Column widths of the events table: a longer value would make the whole batch insert fail on PostgreSQL.
MAX_SOURCE_LENGTH = 100
MAX_ID_LENGTH = 36
MAX_USER_ID_LENGTH = 64


class EventType(StrEnum):
    RESOURCE_DISTRIBUTED = "resource.distributed"
    RESOURCE_POOL_UPDATED = "resource.pool.updated"
    HUMAN_REGISTERED = "human.registered"
    HUMAN_STATUS_CHANGED = "human.status.changed"
    TRUTH_MESSAGE_SENT = "truth.message.sent"
    TRUTH_CHANNEL_CONVERTED = "truth.channel.converted"
    MESH_NODE_CONNECTED = "mesh.node.connected"
    MESH_NODE_DISCONNECTED = "mesh.node.disconnected"
    MESH_NETWORK_UPDATED = "mesh.network.updated"
    COMMUNITY_CREATED = "community.created"
    HOUSING_ALLOCATED = "housing.allocated"
    SYSTEM_HEALTH_CHANGED = "system.health.changed"
    SYSTEM_METRICS_UPDATED = "system.metrics.updated"
    USER_CONNECTED = "user.connected"
    USER_DISCONNECTED = "user.disconnected"
    NOTIFICATION_SENT = "notification.sent"
    NOTIFICATION_READ = "notification.read"
    NOTIFICATION_DISMISSED = "notification.dismissed"
    NOTIFICATION_EXPIRED = "notification.expired"
    METRIC_ALERT_FIRED = "metric.alert.fired"
    METRIC_ALERT_RESOLVED = "metric.alert.resolved"
    USER_ACTION = "user.action"


class EventValidationError(ValueError):
    """A published event is malformed; the message names the field and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class EventRejected(Exception):
    """A middleware vetoed the event; nothing was persisted, handled or broadcast."""

    def __init__(self, reason: str, event: Event | None = None) -> None:
        super().__init__(f"event rejected: {reason}")
        self.reason = reason
        self.event = event


_CHANNELS = {
    "resource": "resources",
    "human": "humans",
    "truth": "truth",
    "mesh": "mesh",
    "community": "communities",
    "housing": "communities",
    "system": "system",
    "user": "users",
    "notification": "notifications",
    "metric": "metrics",
}


def channel_for(event_type: str) -> str:
    """The live channel an event type belongs to (DESIGN.md §3); unknown families go to `events`."""
    return _CHANNELS.get(event_type.partition(".")[0], "events")


@dataclass(slots=True)
class Event:
    """One published event; `timestamp` is an aware UTC datetime."""

    id: str
    type: str
    source: str
    timestamp: datetime
    data: dict[str, Any]
    correlation_id: str | None = None
    causation_id: str | None = None
    user_id: str | None = None

    @classmethod
    def create(cls, event_type: str, data: dict[str, Any] | None = None, source: str = "system", **ids: Any) -> Event:
        """A new event with a fresh id and the current time (for tests and direct handler calls)."""
        event_id = new_event_id()
        ids.setdefault("correlation_id", event_id)
        return cls(event_id, str(event_type), source, utcnow(), data or {}, **ids)

    def to_dict(self) -> dict[str, Any]:
        """The REST / WebSocket shape, with an ISO-8601 UTC timestamp."""
        return {
            "id": self.id,
            "type": self.type,
            "source": self.source,
            "timestamp": self.timestamp.isoformat(),
            "data": self.data,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "user_id": self.user_id,
        }

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Event:
        """Rebuild an event from `to_dict()` output (e.g. a message received from the broker)."""
        return cls(
            payload["id"],
            payload["type"],
            payload["source"],
            as_utc(datetime.fromisoformat(payload["timestamp"])),
            payload.get("data") or {},
            payload.get("correlation_id"),
            payload.get("causation_id"),
            payload.get("user_id"),
        )

    @classmethod
    def from_record(cls, record: Any) -> Event:
        """Rebuild an event from an `EventRecord` or a Core row of the events table."""
        return cls(
            record.id,
            record.type,
            record.source,
            as_utc(record.timestamp),
            json.loads(record.data),
            record.correlation_id,
            record.causation_id,
            record.user_id,
        )

    def to_record(self) -> EventRecord:
        return EventRecord(**self.to_row(encode_data(self.data)))

    def to_row(self, data_json: str) -> dict[str, Any]:
        """The events-table row, with the data already serialised."""
        return {
            "id": self.id,
            "type": self.type,
            "source": self.source,
            "timestamp": self.timestamp,
            "data": data_json,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "user_id": self.user_id,
            "reactions_pending": False,
        }


def new_event_id() -> str:
    """A UUIDv7 string: time-ordered, so inserts append to the primary-key index instead of scattering."""
    value = (time.time_ns() // 1_000_000) << 80 | _rng.getrandbits(80) & _RANDOM_MASK | _VERSION_BITS
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# A private generator: cheaper than uuid4() (no syscall) and immune to someone calling random.seed().
_rng = random.Random()
if hasattr(os, "register_at_fork"):  # forked workers must not replay the parent's sequence
    os.register_at_fork(after_in_child=_rng.seed)
_RANDOM_MASK = ~(0xF << 76 | 0x3 << 62) & ((1 << 80) - 1)
_VERSION_BITS = 0x7 << 76 | 0x2 << 62

_TYPE_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")
_KNOWN_TYPES: dict[str, str] = {member.value: member.value for member in EventType}


def check_type(event_type: object) -> str:
    """The event type as a plain string, or EventValidationError."""
    known = _KNOWN_TYPES.get(event_type) if isinstance(event_type, str) else None
    if known is not None:
        return known
    if not isinstance(event_type, str):
        raise EventValidationError("event_type", f"must be a string, got {type(event_type).__name__}")
    if len(event_type) > MAX_TYPE_LENGTH:
        raise EventValidationError("event_type", f"longer than {MAX_TYPE_LENGTH} characters")
    if not _TYPE_PATTERN.fullmatch(event_type):
        raise EventValidationError(
            "event_type", f"{event_type!r} is not a dotted lowercase name like 'resource.distributed'"
        )
    return event_type


def check_meta(source: object, correlation_id: object, causation_id: object, user_id: object) -> None:
    """Refuse envelope values the events table cannot hold."""
    if not isinstance(source, str) or not source or len(source) > MAX_SOURCE_LENGTH or "\x00" in source:
        raise EventValidationError("source", f"must be a non-empty string of at most {MAX_SOURCE_LENGTH} characters")
    for name, value, limit in (
        ("correlation_id", correlation_id, MAX_ID_LENGTH),
        ("causation_id", causation_id, MAX_ID_LENGTH),
        ("user_id", user_id, MAX_USER_ID_LENGTH),
    ):
        if value is not None and (not isinstance(value, str) or len(value) > limit or "\x00" in value):
            raise EventValidationError(name, f"must be a string of at most {limit} characters or None")


def validate_data(event_type: str, data: object) -> None:
    """Check `data` against the schema of a known type (extra fields are allowed)."""
    if not isinstance(data, dict):
        raise EventValidationError("data", f"must be a JSON object (dict), got {type(data).__name__}")
    validate = _VALIDATORS.get(event_type)
    if validate is None:
        return
    try:
        validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in ("data", *error["loc"]))
        raise EventValidationError(field, f"{error['msg']} (for {event_type})") from None


def encode_data(data: dict[str, Any]) -> str:
    """Serialise `data` once (for the row and the size check), or EventValidationError."""
    try:
        encoded = _dumps(data)
    except (TypeError, ValueError) as exc:
        raise EventValidationError("data", f"is not JSON-serialisable: {exc}") from None
    if len(encoded) > MAX_DATA_BYTES:
        raise EventValidationError("data", f"JSON is {len(encoded)} bytes, over the {MAX_DATA_BYTES}-byte limit")
    if b"\\u0000" in encoded and (found := json_problem(data, "data")) is not None:  # JSON writes NUL as \u0000
        raise EventValidationError(*found)
    return encoded.decode()


def _json_dumps(value: Any) -> bytes:
    return _encoder.encode(value).encode()


_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_dumps: Callable[[Any], bytes] = _json_dumps
try:  # orjson (a NiceGUI dependency) is ~10x faster; datetimes are refused as with json, NaN becomes null
    import orjson

    _ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def _orjson_dumps(value: Any) -> bytes:
        return orjson.dumps(value, option=_ORJSON_OPTIONS)

    _dumps = _orjson_dumps
except ImportError:  # pragma: no cover - json stays correct, only slower
    pass


NonEmpty = Annotated[str, StringConstraints(min_length=1, strict=True)]
Amount = Annotated[float, Field(ge=0, strict=True, allow_inf_nan=False)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


class _ResourceDistributed(_Payload):
    human_id: NonEmpty
    amount: Amount


class _ResourcePoolUpdated(_Payload):
    total: Amount | None = None
    available: Amount | None = None

    @model_validator(mode="after")
    def _one_figure(self) -> _ResourcePoolUpdated:
        if self.total is None and self.available is None:
            raise ValueError("needs 'total' or 'available'")
        return self


class _Human(_Payload):
    human_id: NonEmpty


class _HumanStatus(_Payload):
    human_id: NonEmpty
    status: NonEmpty


class _TruthMessage(_Payload):
    message: Annotated[str, Field(strict=True)]
    channel: NonEmpty | None = None
    reach: Amount | None = None


class _TruthChannel(_Payload):
    channel: NonEmpty


class _MeshNode(_Payload):
    node_id: NonEmpty


class _MeshNetwork(_Payload):
    change_type: NonEmpty


class _Community(_Payload):
    community_id: NonEmpty
    members: Annotated[list[str], Field(strict=True)] | None = None


class _SystemHealth(_Payload):
    status: Literal["healthy", "degraded", "unhealthy", "critical"]


class _User(_Payload):
    user_id: NonEmpty


class _UserAction(_Payload):
    user_id: NonEmpty
    action: NonEmpty


SCHEMAS: dict[str, type[BaseModel]] = {
    EventType.RESOURCE_DISTRIBUTED: _ResourceDistributed,
    EventType.RESOURCE_POOL_UPDATED: _ResourcePoolUpdated,
    EventType.HUMAN_REGISTERED: _Human,
    EventType.HUMAN_STATUS_CHANGED: _HumanStatus,
    EventType.TRUTH_MESSAGE_SENT: _TruthMessage,
    EventType.TRUTH_CHANNEL_CONVERTED: _TruthChannel,
    EventType.MESH_NODE_CONNECTED: _MeshNode,
    EventType.MESH_NODE_DISCONNECTED: _MeshNode,
    EventType.MESH_NETWORK_UPDATED: _MeshNetwork,
    EventType.COMMUNITY_CREATED: _Community,
    EventType.HOUSING_ALLOCATED: _Human,
    EventType.SYSTEM_HEALTH_CHANGED: _SystemHealth,
    EventType.USER_CONNECTED: _User,
    EventType.USER_DISCONNECTED: _User,
    EventType.USER_ACTION: _UserAction,
}

# Built once at import; calling the compiled pydantic-core validator directly skips TypeAdapter's wrapper.
_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    str(event_type): TypeAdapter(model).validator.validate_python for event_type, model in SCHEMAS.items()
}
