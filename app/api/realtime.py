"""The raw WebSocket endpoint `/api/v1/realtime/ws` and the hub's admin routes (DESIGN.md §5 and §6)."""

import asyncio
import contextlib
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Query, status
from nicegui import app as nicegui_app
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.deps import ADMIN, MAX_OFFSET, role_guard
from app.api.inputs import JsonObject, Text
from app.security import Auth
from services.delivery import user_channel
from services.events import EventSystem
from services.hub import CHANNEL_NAME, Transport, WebSocketHub, dumps
from services.users import Principal, UserStore

WS_PATH = "/api/v1/realtime/ws"
MAX_PUSH_BYTES = 1024 * 1024


class BroadcastRequest(BaseModel):
    channel: str = Field(pattern=f"^{CHANNEL_NAME.pattern}$", examples=["broadcast", "resources", "role:admin"])
    message_type: Text = Field(min_length=1, max_length=64, examples=["system_alert"])
    data: JsonObject = Field(default_factory=dict, examples=[{"title": "Maintenance at 22:00"}])


class NotifyRequest(BaseModel):
    message_type: Text = Field("notification", min_length=1, max_length=64)
    data: JsonObject = Field(default_factory=dict, examples=[{"title": "Hello", "message": "from the admin"}])


def router(auth: Auth, hub: WebSocketHub, events: EventSystem, users: UserStore) -> APIRouter:
    admin = Annotated[Principal, Depends(role_guard(auth, ADMIN))]
    api = APIRouter(prefix="/api/v1/realtime", tags=["websocket"])

    @api.get("/ws/stats")
    async def stats(_: admin) -> dict[str, Any]:
        """Hub counters of this process, and the event bus's under `event_bus`."""
        return {**hub.get_stats(), "event_bus": events.get_metrics()}

    @api.get("/ws/connections")
    async def connections(
        _: admin,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> dict[str, Any]:
        """Live connections of this process, oldest first."""
        return {"connections": hub.get_connections(limit, offset), "total": hub.connection_count}

    @api.post("/ws/broadcast")
    async def broadcast(body: BroadcastRequest, _: admin) -> dict[str, Any]:
        """Deliver `{channel, message_type, data}` to every subscriber of the channel in every process.

        `sent_count` counts the subscribed WebSocket connections of the process that answered this request that the
        message was queued for (the process writes it to them right away, in seq order); subscribers connected to other
        processes receive it as well but are not counted here.
        """
        _check_size(body.data)
        message, sent = await hub.publish(body.channel, body.message_type, body.data)
        return {"sent_count": sent, "channel": body.channel, "seq": message["seq"], "id": message["id"]}

    @api.post("/ws/notify/{user_id}")
    async def notify(user_id: Text, body: NotifyRequest, _: admin) -> dict[str, Any]:
        """Deliver a message to one account's own channel `user:<user_id>` (404 for an unknown account).

        `sent_count` counts that account's WebSocket connections on the process that answered this request that the
        message was queued for; its connections on other processes receive it too but are not counted here.
        """
        if await users.get(user_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no such user: {user_id}")
        _check_size(body.data)
        message, sent = await hub.publish(user_channel(user_id), body.message_type, body.data)
        return {"sent_count": sent, "channel": message["channel"], "seq": message["seq"], "id": message["id"]}

    return api


def _check_size(data: dict[str, Any]) -> None:
    """422 for data JSON cannot carry (an integer beyond 64 bits), 413 for data over MAX_PUSH_BYTES."""
    try:
        encoded = dumps(data)
    except TypeError as error:  # orjson.JSONEncodeError is a TypeError
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"data: is not JSON-serialisable: {error}") from None
    if len(encoded) > MAX_PUSH_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"data is over {MAX_PUSH_BYTES} bytes as JSON")


class WebSocketEndpoint:
    """Pure-ASGI layer that serves `WS_PATH` itself and passes everything else on.

    Installed outside every HTTP middleware (see `mount`): a connection lives for hours, and each layer it passes
    through (sessions, exception handlers, routing, timing) keeps a coroutine frame and some state alive for all that
    time, over 10 KB per connection together; here a connection costs only the server's protocol and the hub's own.
    """

    def __init__(self, app: ASGIApp, hub: WebSocketHub, path: str = WS_PATH) -> None:
        self.app = app
        self.hub = hub
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        if (await receive())["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        await self.hub.serve(_Socket(scope, receive, send), *_token_and_type(scope))


def mount(hub: WebSocketHub) -> None:
    """Serve `/api/v1/realtime/ws` from the outermost user middleware (WebSocket scopes only)."""
    nicegui_app.add_middleware(WebSocketEndpoint, hub=hub)

    def outermost() -> None:
        # Layers added after this one (sessions, gzip, ...) would wrap it; move it back in front of them.
        stack = nicegui_app.user_middleware
        stack[:] = sorted(stack, key=lambda entry: entry.cls is not WebSocketEndpoint)
        nicegui_app.middleware_stack = None  # rebuilt on the next request

    nicegui_app.on_startup(outermost)


class _Socket:
    """An accepted ASGI WebSocket as the hub's `Socket`, with direct access to uvicorn's transport where it exists."""

    __slots__ = ("_closed", "_protocol", "_receive", "_send", "client", "transport")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self._closed = False
        # Uvicorn hands its protocol's bound `receive` to the app, and no layer wraps it before this one, so its owner
        # is the protocol, whose transport accepts whole pre-encoded frames (see services/hub/connection.py).
        self._protocol = getattr(receive, "__self__", None)
        transport = getattr(self._protocol, "transport", None)
        self.transport: Transport | None = transport if _is_transport(transport) else None
        client = scope.get("client")
        self.client = f"{client[0]}:{client[1]}" if client else "unknown"

    async def receive(self) -> str | bytes | None:
        while True:
            message = await self._receive()
            kind = message["type"]
            if kind == "websocket.receive":
                text = message.get("text")
                return text if text is not None else message.get("bytes") or b""
            if kind == "websocket.disconnect":
                self._closed = True
                return None

    async def send_text(self, text: str) -> None:
        await self._send({"type": "websocket.send", "text": text})

    async def close(self, code: int, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(RuntimeError, OSError):  # the client went away first
            await self._send({"type": "websocket.close", "code": code, "reason": reason})

    def unanswered_ping(self) -> float | None:
        if getattr(self._protocol, "pending_ping_payload", None) is None:
            return None
        sent_at = getattr(self._protocol, "ping_sent_at", None)
        return asyncio.get_running_loop().time() - sent_at if isinstance(sent_at, float) else None


def _token_and_type(scope: Scope) -> tuple[str | None, str | None]:
    params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return params.get("token", [None])[0], params.get("connection_type", [None])[0]


def _is_transport(candidate: object) -> bool:
    return all(callable(getattr(candidate, name, None))
               for name in ("write", "get_write_buffer_size", "is_closing", "abort"))
