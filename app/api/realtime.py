"""The raw WebSocket endpoint `/api/v1/realtime/ws` and the hub's admin routes (DESIGN.md §5 and §6)."""

import asyncio
import contextlib
import json
from base64 import b64decode
from typing import Annotated, Any
from urllib.parse import parse_qs

import itsdangerous
from fastapi import APIRouter, Body, Depends, HTTPException, Query, status
from nicegui import app as nicegui_app
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.deps import ADMIN, MAX_OFFSET, role_guard
from app.api.inputs import JsonObject, Text
from app.api.legacy import both_forms, from_either_form, stamped
from app.headers import OriginPolicy
from app.pages.session import session_principal
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
        """Hub counters of this process, and the event bus's under `event_bus` (also under the original system's
        names: `websocket_stats` and `event_stats`)."""
        hub_stats, bus_stats = hub.get_stats(), events.get_metrics()
        return stamped({**hub_stats, "event_bus": bus_stats, "websocket_stats": hub_stats, "event_stats": bus_stats})

    @api.get("/ws/connections")
    async def connections(
        _: admin,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> dict[str, Any]:
        """Live connections of this process, oldest first."""
        return {"connections": hub.get_connections(limit, offset), "total": hub.connection_count}

    @api.post("/ws/broadcast", openapi_extra=both_forms(BroadcastRequest))
    async def broadcast(
        _: admin, raw: Annotated[dict[str, Any], Body()],
        channel: Annotated[str | None, Query(max_length=128, deprecated=True,
                                             description="original form: with the JSON body as the data")] = None,
        message_type: Annotated[str | None, Query(max_length=64, deprecated=True)] = None,
    ) -> dict[str, Any]:
        """Deliver `{channel, message_type, data}` to every subscriber of the channel in every process (or, in the
        original system's form, `?channel=…&message_type=…` with the JSON body as the data).

        `sent_count` counts the subscribed WebSocket connections of the process that answered this request that the
        message was queued for (the process writes it to them right away, in seq order); subscribers connected to other
        processes receive it as well but are not counted here.
        """
        body = from_either_form(BroadcastRequest, raw, {"channel": channel, "message_type": message_type})
        _check_size(body.data)
        message, sent = await hub.publish(body.channel, body.message_type, body.data)
        return stamped({"sent_count": sent, "channel": body.channel, "seq": message["seq"], "id": message["id"]})

    @api.post("/ws/notify/{user_id}", openapi_extra=both_forms(NotifyRequest))
    async def notify(
        user_id: Text, _: admin, raw: Annotated[dict[str, Any], Body()],
        message_type: Annotated[str | None, Query(max_length=64, deprecated=True,
                                                  description="original form: with the JSON body as the data")] = None,
    ) -> dict[str, Any]:
        """Deliver a message to one account's own channel `user:<user_id>` (404 for an unknown account); or, in the
        original system's form, `?message_type=…` with the JSON body as the data.

        `sent_count` counts that account's WebSocket connections on the process that answered this request that the
        message was queued for; its connections on other processes receive it too but are not counted here.
        """
        body = from_either_form(NotifyRequest, raw, {"message_type": message_type})
        if await users.get(user_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no such user: {user_id}")
        _check_size(body.data)
        message, sent = await hub.publish(user_channel(user_id), body.message_type, body.data)
        return stamped({"sent_count": sent, "channel": message["channel"], "seq": message["seq"],
                        "id": message["id"]})

    return api


def _check_size(data: dict[str, Any]) -> None:
    """422 for data JSON cannot carry (an integer beyond 64 bits), 413 for data over MAX_PUSH_BYTES."""
    try:
        encoded = dumps(data)
    except TypeError as error:  # orjson.JSONEncodeError is a TypeError
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"data: is not JSON-serialisable: {error}") from None
    if len(encoded) > MAX_PUSH_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"data is over {MAX_PUSH_BYTES} bytes as JSON")


class CookieSessions:
    """Recognises a signed-in browser from its session cookie, as NiceGUI's session middleware signed it."""

    def __init__(self, auth: Auth, secret: str, max_age: int, origins: OriginPolicy) -> None:
        self.auth = auth
        self.signer = itsdangerous.TimestampSigner(secret)
        self.max_age = max_age
        self.origins = origins

    def cookie(self, scope: Scope) -> str | None:
        for name, value in scope.get("headers", ()):
            if name == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    key, _, found = part.strip().partition("=")
                    if key == "session" and found:
                        return found
        return None

    async def principal(self, scope: Scope) -> Principal | None:
        cookie = self.cookie(scope)
        if cookie is None:
            return None
        try:
            session = json.loads(b64decode(self.signer.unsign(cookie, max_age=self.max_age)))
        except (itsdangerous.BadSignature, ValueError, TypeError):
            return None
        session_id = session.get("id") if isinstance(session, dict) else None
        return await session_principal(self.auth, session_id) if isinstance(session_id, str) else None


class WebSocketEndpoint:
    """Pure-ASGI layer that serves `WS_PATH` itself and passes everything else on.

    Installed outside every HTTP middleware (see `mount`): a connection lives for hours, and each layer it passes
    through (sessions, exception handlers, routing, timing) keeps a coroutine frame and some state alive for all that
    time, over 10 KB per connection together; here a connection costs only the server's protocol and the hub's own.
    """

    def __init__(self, app: ASGIApp, hub: WebSocketHub, path: str = WS_PATH,
                 sessions: CookieSessions | None = None) -> None:
        self.app = app
        self.hub = hub
        self.path = path
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        if (await receive())["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        socket = _Socket(scope, receive, send)
        token, kind = _token_and_type(scope)
        principal = None
        if not token and self.sessions is not None and self.sessions.cookie(scope) is not None:
            # The original system's `new WebSocket(".../ws?connection_type=dashboard")` from a signed-in page: the
            # browser's session cookie is the credential, but only from this site's own pages (or ALLOWED_ORIGINS),
            # or any site could open the socket in a visitor's name.
            if not self.sessions.origins.allows_scope(scope):
                await socket.close(1008, "a signed-in browser may connect without a token only from this site's "
                                         "pages; other sites must send ?token=")
                return
            principal = await self.sessions.principal(scope)
        await self.hub.serve(socket, token, kind, principal)


def mount(hub: WebSocketHub, sessions: CookieSessions | None = None) -> None:
    """Serve `/api/v1/realtime/ws` from the outermost user middleware (WebSocket scopes only)."""
    nicegui_app.add_middleware(WebSocketEndpoint, hub=hub, sessions=sessions)

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
