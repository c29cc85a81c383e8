"""Channel membership and fan-out: broker messages in, seq-ordered frames out to this process's connections.

The router listens on the broker for every channel that has a local member, puts numbered messages back in order
(`Sequencer`), serialises and frames each message once, and hands the frame to the `Flusher`, which queues it for
every member and writes without waiting; a member too far behind is handed to `on_slow`. A recovering member
(subscribe with `since`) is held aside while its replay is read, and what arrives meanwhile is queued for it, so
replay and live messages join without a gap or a repeat.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from services.broker import Broker
from services.delivery import envelope
from services.hub.connection import MAX_BUFFER_BYTES, Connection
from services.hub.flusher import Flusher
from services.hub.history import History, HistoryUnavailable, Replay
from services.hub.protocol import DIRECT, Outgoing, dumps
from services.hub.sequencer import Sequencer

log = logging.getLogger(__name__)

GAP_TIMEOUT = 0.5
"""How long a channel waits for a missing seq (published by another process) before skipping it."""
REPLAY_BUDGET = MAX_BUFFER_BYTES // 2
"""The most bytes one recovery replays at once: a larger backlog answers `recovered: false` (the client reloads)
instead of filling the connection's buffer past the point where it is dropped as too slow, again and again."""
LOSS_MEMORY = 30.0
"""Seconds health stays degraded after deliveries were lost (a restarted numbering, a skipped gap, an outage)."""


NotificationGate = Callable[[str, str, dict[str, Any]], bool]
"""(username, channel, notification) → whether it goes live to that person's connections."""
NotificationObserver = Callable[[str, str, int], None]
"""(notification id, channel, connections it was queued for in this process)."""


class ChannelRouter:
    """Who listens to which channel in this process, and the in-order, exactly-once fan-out to them."""

    def __init__(self, broker: Broker, history: History, *, send_queue: int,
                 on_slow: Callable[[Connection], None]) -> None:
        self.broker = broker
        self.history = history
        self.send_queue = send_queue
        self.on_slow = on_slow
        self.sequencer: Sequencer[dict[str, Any]] = Sequencer()
        self.messages_sent = 0
        self.members: dict[str, set[Connection]] = {}
        self._recovering: dict[str, dict[Connection, list[Outgoing]]] = {}
        self._unlisten: dict[str, Callable[[], None]] = {}
        self._priming: dict[str, list[dict[str, Any]]] = {}
        self._gap_timers: dict[str, asyncio.TimerHandle] = {}
        self.flusher = Flusher(send_queue, on_slow)
        # The message being published by this process, with its serialised form, so local fan-out reuses it.
        self._encoded: tuple[dict[str, Any], bytes] | None = None
        self._encoded_sent = 0
        self.gate: NotificationGate | None = None
        self.observer: NotificationObserver | None = None
        self.losses: dict[str, int] = {"restarted": 0, "gaps": 0, "reconnects": 0, "replayed_after_reconnect": 0,
                                       "backlog_too_large": 0}
        self.last_loss = float("-inf")
        self._resync_task: asyncio.Task[None] | None = None
        broker.on_reconnect(self._broker_reconnected)

    async def join(self, conn: Connection, channel: str) -> None:
        await self._listen(channel)
        if conn.closed:  # went away while the channel was being primed
            self._unlisten_if_idle(channel)
            return
        self.members.setdefault(channel, set()).add(conn)
        conn.last.setdefault(channel, 0)

    def leave(self, conn: Connection, channel: str) -> bool:
        """Remove `conn` from `channel`; False when it was not a member."""
        if conn.last.pop(channel, None) is None:
            return False
        conn.first.pop(channel, None)
        members = self.members.get(channel)
        if members is not None:
            members.discard(conn)
            if not members:
                del self.members[channel]
        recovering = self._recovering.get(channel)
        if recovering is not None:
            recovering.pop(conn, None)
            if not recovering:
                del self._recovering[channel]
        self._unlisten_if_idle(channel)
        return True

    def leave_all(self, conn: Connection) -> None:
        for channel in list(conn.last):
            self.leave(conn, channel)

    async def recover(self, conn: Connection, channel: str, since: int, epoch: str | None) -> Replay | None:
        """Join `channel` replaying what followed `since`; None when `conn` went away meanwhile.

        Sends nothing itself: the caller confirms, then calls `finish_recovery` with the returned replay.
        """
        await self._listen(channel)
        if conn.closed:
            self._unlisten_if_idle(channel)
            return None
        members = self.members.get(channel)
        if members is not None:
            members.discard(conn)  # live frames wait in the recovery queue until the replay is out
        conn.last.setdefault(channel, 0)
        self._recovering.setdefault(channel, {})[conn] = []
        try:
            replay = await self.history.replay(channel, since, epoch)
        except HistoryUnavailable:
            replay = Replay(False, since, None)
        if conn.closed or conn not in self._recovering.get(channel, {}):
            return None
        if replay.recovered and (len(replay.payloads) > self.send_queue // 2
                                 or sum(map(len, replay.payloads)) > REPLAY_BUDGET):
            self.losses["backlog_too_large"] += 1  # the client is told to reload, not fed more than it can take
            return Replay(False, replay.seq, replay.epoch)
        first = conn.first.get(channel)
        if replay.recovered and first is not None and since + 1 < first:
            # Already live here from `first` on: what it missed before that could only arrive after newer messages,
            # out of order. Say it cannot be recovered (the client reloads) rather than break the order.
            return Replay(False, replay.seq, replay.epoch)
        return replay

    def finish_recovery(self, conn: Connection, channel: str, since: int, replay: Replay) -> None:
        """Send the replay (minus what this connection already had live), then the queued live frames; go live."""
        queued = self._recovering[channel].pop(conn)
        if not self._recovering[channel]:
            del self._recovering[channel]
        if replay.recovered:
            first, last = conn.first.get(channel), conn.last.get(channel, 0)
            for seq, payload in enumerate(replay.payloads, start=since + 1):
                if first is None or not first <= seq <= last:
                    self._send(conn, Outgoing(payload, seq))
            conn.first[channel] = since + 1 if first is None else min(first, since + 1)
            conn.last[channel] = max(last, replay.seq)
            self.sequencer.start_at(channel, replay.seq, replay.epoch)
        for out in queued:
            if out.seq is None or out.seq > conn.last.get(channel, 0):
                self._mark(conn, channel, out.seq)
                self._send(conn, out)
        if not conn.closed:
            self.members.setdefault(channel, set()).add(conn)

    def replay_count(self, conn: Connection, since: int, replay: Replay, channel: str) -> int:
        """How many replayed messages `finish_recovery` will send to `conn`."""
        if not replay.recovered:
            return 0
        first, last = conn.first.get(channel), conn.last.get(channel, 0)
        seqs = range(since + 1, since + 1 + len(replay.payloads))
        return sum(1 for seq in seqs if first is None or not first <= seq <= last)

    def publishing(self, message: dict[str, Any], payload: bytes) -> None:
        """Announce the message this process is about to publish, with its serialised form."""
        self._encoded = (message, payload)
        self._encoded_sent = 0

    def published(self) -> int:
        """End of `publishing`: how many local connections the message was queued for."""
        self._encoded = None
        return self._encoded_sent

    def start(self) -> None:
        self.flusher.start()

    def stop(self) -> None:
        self.flusher.stop()
        if self._resync_task is not None:
            self._resync_task.cancel()
            self._resync_task = None
        for timer in self._gap_timers.values():
            timer.cancel()
        self._gap_timers.clear()
        for unlisten in self._unlisten.values():
            unlisten()
        self._unlisten.clear()

    def channel_sizes(self) -> dict[str, int]:
        return {channel: len(members) for channel, members in self.members.items()}

    def _on_message(self, channel: str, message: dict[str, Any]) -> None:
        priming = self._priming.get(channel)
        if priming is not None:
            priming.append(message)
            return
        seq = message.get("seq") if isinstance(message, dict) else None
        if type(seq) is not int:
            self._fan_out(channel, message)
            return
        epoch = message.get("epoch")
        ready, restarted = self.sequencer.push(channel, seq, message, epoch if isinstance(epoch, str) else None)
        if restarted:  # a new epoch: what connections saw before says nothing about the new numbers
            self.losses["restarted"] += 1
            self._lost(channel, "the channel's numbering restarted (its history was lost); reload what you show")
        for item in ready:
            self._fan_out(channel, item)
        self._watch_gap(channel)

    def _fan_out(self, channel: str, message: dict[str, Any]) -> None:
        encoded = self._encoded
        mine = encoded is not None and encoded[0] is message
        if encoded is not None and mine:
            payload = encoded[1]
        elif "epoch" in message:  # the epoch travels between processes, not to clients
            payload = dumps({key: value for key, value in message.items() if key != "epoch"})
        else:
            payload = dumps(message)
        seq = message.get("seq")
        out = Outgoing(payload, seq if type(seq) is int else None)
        behind: list[Connection] = []
        recovering = self._recovering.get(channel)
        if recovering:
            for conn, queue in recovering.items():
                queue.append(out)
                if len(queue) > self.send_queue:
                    behind.append(conn)
        members = self.members.get(channel)
        gate = self.gate
        if members and gate is not None and message.get("type") == "notification" and isinstance(
                message.get("data"), dict):
            data = message["data"]
            held = {conn for conn in members if not gate(conn.username, channel, data)}
            if held:
                members = members - held
                for conn in held:  # counted as seen: held by the person's choice, not lost on the way
                    self._mark(conn, channel, out.seq)
        sent = self.flusher.queue_all(members, channel, out, behind) if members else 0
        self.messages_sent += sent
        observer = self.observer
        if observer is not None and message.get("type") == "notification":
            self._observe(observer, channel, message, sent)
        if mine:
            self._encoded_sent = sent
        for conn in behind:
            self.on_slow(conn)

    @staticmethod
    def _observe(observer: NotificationObserver, channel: str, message: dict[str, Any], sent: int) -> None:
        data = message.get("data")
        notification_id = data.get("id") if isinstance(data, dict) else None
        if isinstance(notification_id, str):
            try:
                observer(notification_id, channel, sent)
            except Exception:  # tracing must never cost a delivery
                log.warning("the notification observer failed", exc_info=True)

    def _send(self, conn: Connection, out: Outgoing) -> None:
        if conn.send(out):
            self.messages_sent += 1
        else:
            self.on_slow(conn)

    def _mark(self, conn: Connection, channel: str, seq: int | None) -> None:
        if seq is not None:
            conn.first.setdefault(channel, seq)
            conn.last[channel] = seq

    def _watch_gap(self, channel: str) -> None:
        timer = self._gap_timers.get(channel)
        if self.sequencer.waiting(channel):
            if timer is None:
                loop = asyncio.get_running_loop()
                self._gap_timers[channel] = loop.call_later(GAP_TIMEOUT, self._gap_expired, channel)
        elif timer is not None:
            timer.cancel()
            del self._gap_timers[channel]

    def _gap_expired(self, channel: str) -> None:
        self._gap_timers.pop(channel, None)
        skipped = self.sequencer.gaps_skipped
        released = self.sequencer.skip_gap(channel)
        if self.sequencer.gaps_skipped > skipped:
            self.losses["gaps"] += 1
            self._lost(channel, "messages of this channel were lost on the way; reload what you show", reset=False)
        for item in released:
            self._fan_out(channel, item)
        self._watch_gap(channel)

    async def _listen(self, channel: str) -> None:
        """Start listening to `channel`, knowing its latest seq first so early arrivals are put in order too."""
        if channel in self._unlisten:
            return
        self._priming[channel] = []
        self._unlisten[channel] = self.broker.add_listener(channel, self._on_message)
        epoch: str | None = None
        try:
            position: int | None
            position, epoch = await self.history.head(channel)
        except HistoryUnavailable:
            position = None  # the first message to arrive sets the position instead
        held = self._priming.pop(channel)
        if position is not None:
            self.sequencer.start_at(channel, position, epoch)
        for message in held:
            self._on_message(channel, message)

    def health(self) -> dict[str, Any]:
        """Whether deliveries were lost lately (status "degraded" for LOSS_MEMORY seconds), and the counts."""
        recent = time.monotonic() - self.last_loss < LOSS_MEMORY
        return {"status": "degraded" if recent else "ok", "losses": dict(self.losses),
                "reordered_duplicates": self.sequencer.duplicates, "epoch_changes": self.sequencer.epoch_changes}

    def _lost(self, channel: str, reason: str, *, reset: bool = True) -> None:
        """Tell every member of `channel` that it missed messages here: `subscription_confirmed` with
        `recovered: false`, as a subscribe whose gap cannot be filled answers, so the client reloads."""
        self.last_loss = time.monotonic()
        seq = self.sequencer.position(channel)
        notice = Outgoing(dumps(envelope(DIRECT, "subscription_confirmed", {
            "channel": channel, "recovered": False, "replayed": 0, "seq": seq, "epoch": self.sequencer.epoch(channel),
            "reason": reason})))
        for conn in list(self.members.get(channel, ())):
            if reset:
                conn.last[channel] = 0
                conn.first.pop(channel, None)
            self._send(conn, notice)

    def _broker_reconnected(self) -> None:
        """The broker was cut off from the other processes: what they published meanwhile never came here."""
        self.last_loss = time.monotonic()
        self.losses["reconnects"] += 1
        if self._resync_task is None or self._resync_task.done():
            self._resync_task = asyncio.get_running_loop().create_task(self.resync(), name="hub-resync")

    async def resync(self) -> None:
        """After a broker outage: replay each listened channel from the shared history past what was released
        here, or tell its members `recovered: false` when that history cannot fill the gap."""
        for channel in list(self.members):
            position, epoch = self.sequencer.position(channel), self.sequencer.epoch(channel)
            if position is None:
                continue  # nothing came here yet: nothing to compare with
            try:
                replay = await self.history.replay(channel, position, epoch)
            except HistoryUnavailable:
                replay = Replay(False, position, None)
            members = self.members.get(channel)
            if not members:
                continue
            if not replay.recovered or sum(map(len, replay.payloads)) > REPLAY_BUDGET:
                self._lost(channel, "messages may have been missed during an outage; reload what you show")
                continue
            behind: list[Connection] = []
            for seq, payload in enumerate(replay.payloads, start=position + 1):
                self.messages_sent += self.flusher.queue_all(members, channel, Outgoing(payload, seq), behind)
            self.sequencer.advance(channel, replay.seq)
            self.losses["replayed_after_reconnect"] += len(replay.payloads)
            for conn in dict.fromkeys(behind):
                self.on_slow(conn)

    def _unlisten_if_idle(self, channel: str) -> None:
        if channel in self.members or channel in self._recovering or channel in self._priming:
            return
        unlisten = self._unlisten.pop(channel, None)
        if unlisten is not None:
            unlisten()
        self.sequencer.forget(channel)
        timer = self._gap_timers.pop(channel, None)
        if timer is not None:
            timer.cancel()
