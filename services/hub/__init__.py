"""The raw WebSocket hub: connections, channels with per-channel sequence numbers and recovery history,
permissions, the JSON protocol, and one flusher that writes every connection's frames."""

from __future__ import annotations

from services.hub.connection import Transport
from services.hub.history import History, MemoryHistory
from services.hub.hub import HubConfig, WebSocketHub
from services.hub.permissions import CHANNELS, connection_refusal, join_refusal
from services.hub.protocol import CHANNEL_NAME, DEFAULT_CHANNELS, ConnectionType, ErrorCode, dumps

__all__ = [
    "CHANNELS",
    "CHANNEL_NAME",
    "DEFAULT_CHANNELS",
    "ConnectionType",
    "ErrorCode",
    "History",
    "HubConfig",
    "MemoryHistory",
    "Transport",
    "WebSocketHub",
    "connection_refusal",
    "dumps",
    "join_refusal",
]
