"""Puts each channel's numbered messages back in seq order, exactly once, before a process fans them out.

Two processes (or two concurrent requests of one) may number messages 5 and 6 of a channel and publish them in the
opposite order; every receiving process would then fan 6 out before 5. The sequencer releases a message only when
its predecessor has been released, holds early arrivals while a gap is open, and drops anything already released.
A gap that stays open (its message was lost on the way) is skipped by `skip_gap`, which the hub calls after a
timeout. Every message carries its channel's epoch (a token that changes when the numbering restarts, say when
Redis came back empty): a new epoch starts the channel afresh, so its low numbers are never taken for duplicates.
Without epochs, a message numbered 1 after higher numbers is taken as a restart.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Sequencer(Generic[T]):
    """Per-channel release cursor with a bounded hold-back buffer for messages that arrive early."""

    def __init__(self, max_held: int = 10_000) -> None:
        self.max_held = max_held
        self.duplicates = 0
        self.gaps_skipped = 0
        self.epoch_changes = 0
        self._last: dict[str, int] = {}
        self._held: dict[str, dict[int, T]] = {}
        self._epochs: dict[str, str] = {}

    def position(self, channel: str) -> int | None:
        """The seq of the last message released on `channel`, or None before the first one."""
        return self._last.get(channel)

    def epoch(self, channel: str) -> str | None:
        return self._epochs.get(channel)

    def start_at(self, channel: str, seq: int, epoch: str | None = None) -> None:
        """Take `seq` as already released, unless the channel has a position of its own."""
        if channel not in self._last:
            self._last[channel] = seq
            if epoch is not None:
                self._epochs[channel] = epoch

    def advance(self, channel: str, seq: int) -> None:
        """Messages up to `seq` were delivered another way (a replay): release from there on."""
        if seq > self._last.get(channel, 0):
            self._last[channel] = seq
            held = self._held.get(channel)
            if held:
                for stale in [s for s in held if s <= seq]:
                    del held[stale]

    def push(self, channel: str, seq: int, item: T, epoch: str | None = None) -> tuple[list[T], bool]:
        """The items now releasable in order, and whether the channel's numbering restarted."""
        restarted = False
        if epoch is not None:
            known = self._epochs.get(channel)
            if known != epoch:
                self._epochs[channel] = epoch
                if known is not None and channel in self._last:  # a new numbering: start it from nothing
                    self._last[channel] = 0
                    self._held.pop(channel, None)
                    self.epoch_changes += 1
                    restarted = True
        last = self._last.get(channel)
        if last is None or seq == last + 1:
            self._last[channel] = seq
            held = self._held.get(channel)
            return ([item, *self._drain(channel, held)] if held else [item]), restarted
        if seq <= last:
            if seq == 1 and last > 1 and epoch is None:
                self._last[channel] = 1
                self._held.pop(channel, None)
                return [item], True
            self.duplicates += 1
            return [], False
        held = self._held.setdefault(channel, {})
        if seq in held:
            self.duplicates += 1
            return [], False
        held[seq] = item
        if len(held) > self.max_held:
            return self.skip_gap(channel), restarted
        return [], restarted

    def waiting(self, channel: str) -> bool:
        """True while messages of `channel` are held back behind a gap."""
        return bool(self._held.get(channel))

    def skip_gap(self, channel: str) -> list[T]:
        """Give up on the missing messages: release what is held, in order, up to the next gap."""
        held = self._held.get(channel)
        if not held:
            return []
        first = min(held)
        self.gaps_skipped += first - self._last.get(channel, first - 1) - 1
        self._last[channel] = first - 1
        return self._drain(channel, held)

    def forget(self, channel: str) -> None:
        """Stop tracking `channel` (nobody here listens to it any more)."""
        self._last.pop(channel, None)
        self._held.pop(channel, None)
        self._epochs.pop(channel, None)

    def _drain(self, channel: str, held: dict[int, T]) -> list[T]:
        ready: list[T] = []
        last = self._last[channel]
        while last + 1 in held:
            last += 1
            ready.append(held.pop(last))
        self._last[channel] = last
        if not held:
            self._held.pop(channel, None)
        return ready
