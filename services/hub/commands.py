"""What a connection may say (DESIGN.md §6): rate limit, parse, then subscribe / unsubscribe / ping / get_status."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.delivery import envelope
from services.hub.channels import ChannelRouter
from services.hub.connection import Connection, Verdict
from services.hub.permissions import join_refusal
from services.hub.protocol import (
    DIRECT,
    MAX_SUBSCRIPTIONS,
    POLICY_VIOLATION,
    Command,
    ErrorCode,
    Outgoing,
    ProtocolError,
    dumps,
    parse_command,
)
from services.models import utcnow


@dataclass(slots=True, frozen=True)
class Limits:
    max_message_bytes: int
    rate_limit: float


class Commands:
    """Answers the frames of every connection; replies go out as `direct` frames through the connection's buffer."""

    def __init__(self, router: ChannelRouter, limits: Limits, counters: Counter[str],
                 on_slow: Callable[[Connection], None]) -> None:
        self.router = router
        self.limits = limits
        self.counters = counters
        self.on_slow = on_slow

    async def handle(self, conn: Connection, raw: str | bytes) -> bool:
        """Answer one client frame; False when the connection must end (it flooded and was closed)."""
        conn.received += 1
        self.counters["received"] += 1
        verdict = conn.limiter.check()
        if verdict is not Verdict.ALLOW:
            self.counters["rate_limited"] += 1
            if verdict is Verdict.CLOSE:
                self.counters["flooding"] += 1
                await conn.close(POLICY_VIOLATION, "rate limit exceeded")
                return False
            if verdict is Verdict.LIMITED:
                self.error(conn, ErrorCode.RATE_LIMITED, f"over {self.limits.rate_limit:g} frames/s; frames are "
                           "dropped until you slow down, and flooding closes the connection")
            return True
        try:
            await self._execute(conn, parse_command(raw, self.limits.max_message_bytes))
        except ProtocolError as error:
            self.error(conn, error.code, error.message)
        return True

    def direct(self, conn: Connection, message_type: str, data: dict[str, Any]) -> None:
        """Send a control frame to one connection (channel `direct`, no seq)."""
        if conn.send(Outgoing(dumps(envelope(DIRECT, message_type, data)))):
            self.counters["direct_sent"] += 1
        else:
            self.on_slow(conn)

    def error(self, conn: Connection, code: ErrorCode, message: str) -> None:
        self.direct(conn, "error", {"code": code.value, "message": message})

    async def _execute(self, conn: Connection, command: Command) -> None:
        if command.type == "ping":
            self.direct(conn, "pong", {"server_time": utcnow().isoformat(), "data": command.data})
        elif command.type == "get_status":
            self.direct(conn, "status", {**conn.info(), "server_time": utcnow().isoformat(),
                                         "last_seq": {channel: seq for channel, seq in conn.last.items() if seq}})
        elif command.type == "unsubscribe":
            assert command.channel is not None
            was = self.router.leave(conn, command.channel)
            self.direct(conn, "unsubscription_confirmed", {"channel": command.channel, "was_subscribed": was})
        else:
            assert command.channel is not None
            await self._subscribe(conn, command.channel, command.since, command.epoch)

    async def _subscribe(self, conn: Connection, channel: str, since: int | None, epoch: str | None) -> None:
        refusal = join_refusal(conn.username, conn.role, channel)
        if refusal is not None:
            raise ProtocolError(*refusal)
        already = channel in conn.channels
        if not already and len(conn.channels) >= MAX_SUBSCRIPTIONS:
            raise ProtocolError(ErrorCode.TOO_MANY_SUBSCRIPTIONS, f"at most {MAX_SUBSCRIPTIONS} channels")
        if since is None:
            await self.router.join(conn, channel)
            self.direct(conn, "subscription_confirmed",
                        {"channel": channel, "recovered": True, "replayed": 0, "already_subscribed": already})
            return
        replay = await self.router.recover(conn, channel, since, epoch)
        if replay is None:  # the connection went away meanwhile
            return
        count = self.router.replay_count(conn, since, replay, channel)
        self.direct(conn, "subscription_confirmed", {"channel": channel, "recovered": replay.recovered,
                                                     "replayed": count, "seq": replay.seq, "epoch": replay.epoch})
        self.router.finish_recovery(conn, channel, since, replay)
