"""The WebSocket hub: authenticated connections, commands, permissions, numbered delivery and recovery.

`deliver(channel, type, data)` numbers a message in the channel's history and publishes it on the broker channel
of the same name; every process's hub (`ws_channels.ChannelRouter`) fans it out to its own connections in seq
order. Frames are written without waiting (see `ws_connection.Connection.send`); a client that falls too far
behind is disconnected, reconnects, and recovers with `subscribe` + `since`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from services.broker import Broker
from services.delivery import envelope
from services.events import Event, EventSystem, EventType, channel_for
from services.hub.channels import ChannelRouter, NotificationGate, NotificationObserver
from services.hub.commands import Commands, Limits
from services.hub.connection import Connection, RateLimiter, Socket, Verdict
from services.hub.history import History, HistoryUnavailable
from services.hub.permissions import connection_refusal
from services.hub.protocol import (
    GOING_AWAY,
    POLICY_VIOLATION,
    TRY_AGAIN_LATER,
    ConnectionType,
    default_channels,
    join_envelope,
    split_envelope,
)
from services.models import utcnow
from services.users import Principal

log = logging.getLogger(__name__)

WRITE_MODE = "direct"
""""direct": frames go straight to the server's transport without waiting, written by one flusher task with a
high-water mark per connection; "queue": a bounded queue and one writer task per connection sending through ASGI
(the fallback when the server offers no transport). Measured with bench/ws_fanout.py at 10,000 clients and 100,000
deliveries/s offered on one core: direct kept up (~100,000/s, p99 ~125 ms; 0.45 s user + 1.5 s system CPU for
200,000 deliveries), the queue managed ~29,000/s (p99 ~1 s; 5 s user CPU) and cost ~3 KB more per connection."""

Authenticate = Callable[[str], Awaitable[Principal | None]]


ANNOUNCE_BURST = 10
"""user.connected / user.disconnected events one account may cause at once; then ANNOUNCE_RATE per second."""
ANNOUNCE_RATE = 0.2
MAX_ANNOUNCERS = 10_000


@dataclass(slots=True, frozen=True)
class HubConfig:
    max_connections: int = 10_000
    max_connections_per_user: int = 20
    ping_interval: float = 30
    send_queue: int = 1000
    max_message_bytes: int = 65536
    rate_limit: float = 20
    rate_burst: int = 60
    write_mode: str = WRITE_MODE


class WebSocketHub:
    """Serves raw WebSocket connections and implements `Delivery` for every service that pushes to clients."""

    def __init__(self, broker: Broker, history: History, authenticate: Authenticate,
                 events: EventSystem | None = None, config: HubConfig | None = None) -> None:
        self.config = config or HubConfig()
        self.history = history
        self.events = events
        self._authenticate = authenticate
        self._router = ChannelRouter(broker, history, send_queue=self.config.send_queue, on_slow=self._drop_slow)
        self.counters: Counter[str] = Counter()
        self._commands = Commands(self._router, Limits(self.config.max_message_bytes, self.config.rate_limit),
                                  self.counters, self._drop_slow)
        self._connections: dict[str, Connection] = {}
        self._by_user: dict[str, dict[str, Connection]] = {}
        self._announcers: OrderedDict[str, RateLimiter] = OrderedDict()
        self._admitting = 0
        self._running = False

    @property
    def notification_gate(self) -> NotificationGate | None:
        """`gate(username, channel, data)`: whether a `notification` on a shared channel goes to that person's
        connections (their preferences); None sends to all."""
        return self._router.gate

    @notification_gate.setter
    def notification_gate(self, gate: NotificationGate | None) -> None:
        self._router.gate = gate

    @property
    def notification_observer(self) -> NotificationObserver | None:
        """`observer(notification_id, channel, connections)`: told, in this process, how many connections each
        `notification` message was queued for (the delivery trace)."""
        return self._router.observer

    @notification_observer.setter
    def notification_observer(self, observer: NotificationObserver | None) -> None:
        self._router.observer = observer

    async def start(self) -> None:
        await self.history.start()
        self._router.start()
        self._running = True

    async def stop(self) -> None:
        self._running = False
        closing = [conn.close(GOING_AWAY, "server shutting down") for conn in self._connections.values()]
        if closing:
            await asyncio.gather(*closing, return_exceptions=True)
        self._router.stop()
        await self.history.stop()

    async def deliver(self, channel: str, message_type: str, data: dict[str, Any]) -> dict[str, Any]:
        """Number, keep and publish a message on `channel` (every process fans it out); returns the envelope."""
        message, _ = await self.publish(channel, message_type, data)
        return message

    async def publish(self, channel: str, message_type: str, data: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """`deliver`, also answering how many connections of this process the message was queued for."""
        message = envelope(channel, message_type, data)
        head, tail = split_envelope(message)
        epoch: str | None = None
        try:
            seq, epoch, payload = await self.history.append(channel, head, tail)
        except HistoryUnavailable:
            seq, payload = None, join_envelope(head, None, tail)
            self.counters["unnumbered"] += 1
        message["seq"] = seq
        if epoch is not None:
            message["epoch"] = epoch  # for the other processes' sequencers; not part of the client's frame
        self._router.publishing(message, payload)
        try:
            await self._router.broker.publish(channel, message)
        finally:
            sent = self._router.published()
        self.counters["published"] += 1
        return message, sent

    async def on_event(self, event: Event) -> None:
        """Event-bus handler ('*'): every event goes out as type `event` on its channel, once."""
        await self.deliver(channel_for(event.type), "event", event.to_dict())

    async def serve(self, socket: Socket, token: str | None, connection_type: str | None,
                    principal: Principal | None = None) -> None:
        """Run one accepted connection until it ends: admit or refuse, then answer its frames. `principal` is a
        caller the web layer already recognised (a signed-in browser's session) when there is no token."""
        if not self._running or len(self._connections) + self._admitting >= self.config.max_connections:
            self.counters["refused_capacity"] += 1
            await socket.close(TRY_AGAIN_LATER, "server is at its connection limit; retry later")
            return
        self._admitting += 1
        try:
            admitted = await self._admit(token, connection_type or ConnectionType.DASHBOARD.value, principal)
        finally:
            self._admitting -= 1
        token = None  # this frame lives as long as the connection: keep no more in it than needed
        if isinstance(admitted, str):
            self.counters["refused_policy"] += 1
            await socket.close(POLICY_VIOLATION, admitted)
            return
        principal, kind = admitted
        config = self.config
        mine = self._by_user.setdefault(principal.username, {})
        if len(mine) >= config.max_connections_per_user:
            self.counters["refused_per_user"] += 1
            if not mine:
                del self._by_user[principal.username]
            await socket.close(TRY_AGAIN_LATER, f"this account already has {len(mine)} connections here, "
                                                f"the most one account may hold; close one and retry")
            return
        conn = Connection(uuid.uuid4().hex, principal.username, principal.role, kind, socket,
                          send_queue=config.send_queue, limiter=RateLimiter(config.rate_limit, config.rate_burst),
                          direct=config.write_mode == "direct")
        self._connections[conn.id] = conn
        mine[conn.id] = conn
        try:
            await self._welcome(conn)
            while not conn.closed:
                raw = await socket.receive()
                if raw is None or not await self._commands.handle(conn, raw):
                    break
        finally:
            self._remove(conn)
            await self._announce(EventType.USER_DISCONNECTED, conn)

    def get_stats(self) -> dict[str, Any]:
        connections = self._connections.values()
        sizes = self._router.channel_sizes()
        largest = dict(sorted(sizes.items(), key=lambda item: -item[1])[:100])
        counters = self.counters
        return {
            "total_connections": len(self._connections),
            "total_channels": len(sizes),
            "total_users": len({conn.username for conn in connections}),
            "connection_types": dict(Counter(conn.type.value for conn in connections)),
            "channels": largest,
            "messages_sent": self._router.messages_sent + counters["direct_sent"],
            "messages_received": counters["received"],
            "messages_published": counters["published"],
            "dropped_slow_clients": counters["dropped_slow"],
            "rate_limited_frames": counters["rate_limited"],
            "closed_for_flooding": counters["flooding"],
            "refused_connections": counters["refused_capacity"] + counters["refused_policy"]
                                   + counters["refused_per_user"],
            "refused_over_capacity": counters["refused_capacity"],
            "refused_per_user": counters["refused_per_user"],
            "revoked_connections": counters["revoked"],
            "announcements_suppressed": counters["announce_suppressed"],
            "max_connections_per_user": self.config.max_connections_per_user,
            "swept_connections": counters["swept"],
            "unnumbered_messages": counters["unnumbered"],
            "reordered_duplicates": self._router.sequencer.duplicates,
            "skipped_gaps": self._router.sequencer.gaps_skipped,
            "max_connections": self.config.max_connections,
            "write_mode": self.config.write_mode,
            "history": self.history.health(),
        }

    async def revoke(self, username: str, *, active: bool, role: str) -> int:
        """End the connections of an account that was deactivated, or whose role changed (their channels and
        connection type were granted for the old role): closed with 1008 and a reason; a reconnect with a still
        valid token is admitted afresh for the new role. Returns how many were closed."""
        reason = "account deactivated" if active is False else f"account role changed to {role}; reconnect"
        doomed = [conn for conn in self._by_user.get(username, {}).values()
                  if not active or conn.role != role]
        for conn in doomed:
            self._remove(conn)
        if doomed:
            await asyncio.gather(*(conn.close(POLICY_VIOLATION, reason) for conn in doomed), return_exceptions=True)
            self.counters["revoked"] += len(doomed)
            log.info("closed %d WebSocket connections of %s: %s", len(doomed), username, reason)
        return len(doomed)

    def connections_of(self, username: str) -> int:
        return len(self._by_user.get(username, ()))

    def get_connections(self, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Live connections of this process, oldest first."""
        return [conn.info() for conn in list(self._connections.values())[offset:offset + limit]]

    async def sweep(self) -> int:
        """Drop connections whose transport is gone or whose keepalive ping went unanswered; prune history."""
        limit = 2 * self.config.ping_interval  # one interval to send the ping, one for the pong to come back
        stale = [conn for conn in self._connections.values() if conn.stale(limit)]
        for conn in stale:
            conn.abort()
            self._remove(conn)
        self.counters["swept"] += len(stale)
        self.history.prune()
        if stale:
            log.info("swept %d dead WebSocket connections", len(stale))
        return len(stale)

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    async def health(self) -> dict[str, Any]:
        """"ok" while the writer runs and the history answers; connection count and history backend."""
        history = self.history.health()
        delivery = self._router.health()
        writing = self._router.flusher.running or not self._running
        status = history["status"] if writing else "error: the writer task ended"
        if status == "ok" and delivery["status"] != "ok":
            status = "degraded: deliveries were lost in the last 30 s; clients were told to reload"
        return {"status": status, "connections": len(self._connections), "history": history, "delivery": delivery}

    async def _admit(self, token: str | None, connection_type: str,
                     known: Principal | None = None) -> tuple[Principal, ConnectionType] | str:
        """The caller and the connection type, or why the connection is refused."""
        try:
            kind = ConnectionType(connection_type)
        except ValueError:
            return f"unknown connection_type {connection_type[:32]!r}; use {', '.join(t.value for t in ConnectionType)}"
        if known is not None and not token:
            refusal = connection_refusal(kind, known.role)
            return refusal if refusal is not None else (known, kind)
        if not token:
            return "missing token: connect with ?token=<access_token from /api/v1/auth/token>, or from a signed-in page"
        principal = await self._authenticate(token)
        if principal is None:
            return "invalid or expired token"
        refusal = connection_refusal(kind, principal.role)
        return refusal if refusal is not None else (principal, kind)

    def _may_announce(self, username: str) -> bool:
        """A token bucket per account, so a reconnect storm does not flood the event history."""
        bucket = self._announcers.get(username)
        if bucket is None:
            bucket = self._announcers[username] = RateLimiter(ANNOUNCE_RATE, ANNOUNCE_BURST)
            while len(self._announcers) > MAX_ANNOUNCERS:
                self._announcers.popitem(last=False)
        self._announcers.move_to_end(username)
        return bucket.check() == Verdict.ALLOW

    async def _welcome(self, conn: Connection) -> None:
        channels = default_channels(conn.type, conn.username, conn.role)
        direct = self._commands.direct
        direct(conn, "connection_established", {
            "connection_id": conn.id, "connection_type": conn.type.value, "user": conn.username, "role": conn.role,
            "server_time": utcnow().isoformat(), "channels": list(channels),
            "limits": {"max_message_bytes": self.config.max_message_bytes, "rate_limit": self.config.rate_limit,
                       "rate_burst": self.config.rate_burst, "ping_interval": self.config.ping_interval},
        })
        for channel in channels:
            await self._router.join(conn, channel)
            direct(conn, "subscription_confirmed", {"channel": channel, "recovered": True, "replayed": 0})
        await self._announce(EventType.USER_CONNECTED, conn)

    def _drop_slow(self, conn: Connection) -> None:
        if conn.closed:
            return
        self.counters["dropped_slow"] += 1
        log.info("disconnecting %s (%s): too far behind", conn.id, conn.username)
        conn.abort()
        self._remove(conn)

    def _remove(self, conn: Connection) -> None:
        conn.detach()
        if self._connections.pop(conn.id, None) is not None:
            self._router.leave_all(conn)
        mine = self._by_user.get(conn.username)
        if mine is not None:
            mine.pop(conn.id, None)
            if not mine:
                del self._by_user[conn.username]

    async def _announce(self, kind: EventType, conn: Connection) -> None:
        if self.events is None:
            return
        if not self._may_announce(conn.username):
            self.counters["announce_suppressed"] += 1
            return
        data = {"user_id": conn.username, "connection_id": conn.id, "connection_type": conn.type.value}
        try:
            await self.events.publish(kind, data, source="websocket", user_id=conn.username)
        except Exception:  # an event-bus failure must not break the connection
            log.warning("publishing %s for %s failed", kind.value, conn.id, exc_info=True)
