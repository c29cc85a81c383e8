"""Preferences stored per account, cached per process (bounded), and kept current in every process: a change is
announced on the broker, and each process reloads what it had cached."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, insert, or_, select, update

from services.broker import Broker
from services.models import as_utc, utcnow
from services.notifications.models import NotificationPreference
from services.notifications.preferences import DEFAULT, Preferences, parse_preferences

log = logging.getLogger(__name__)

P = NotificationPreference.metadata.tables["notification_preferences"]
PREFERENCES_CHANNEL = "#preferences"
CACHE_SIZE = 20_000


@dataclass(slots=True, frozen=True)
class QuietRow:
    username: str
    preferences: Preferences
    summarized_until: datetime | None


class PreferenceBook:
    """`get` (async, loads on a miss), `cached` (sync, for fan-out gates), `put` (stores and tells every process)."""

    def __init__(self, engine: Engine, broker: Broker | None = None, *, size: int = CACHE_SIZE,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._broker = broker
        self._size = size
        self._clock = clock
        self._cache: OrderedDict[str, Preferences] = OrderedDict()
        self._loading: dict[str, asyncio.Task[Preferences]] = {}
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        if self._broker is not None and self._unsubscribe is None:
            self._unsubscribe = self._broker.add_listener(PREFERENCES_CHANNEL, self._on_change)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for task in self._loading.values():
            task.cancel()
        self._loading.clear()

    async def get(self, username: str) -> Preferences:
        found = self._cache.get(username)
        if found is not None:
            self._cache.move_to_end(username)
            return found
        return await self._load(username)

    def peek(self, username: str) -> Preferences | None:
        """The cached preferences or None, touching nothing (the send path's fast look)."""
        return self._cache.get(username)

    def cached(self, username: str) -> Preferences | None:
        """The cached preferences, or None (then a load starts, so the next look finds them)."""
        found = self._cache.get(username)
        if found is None:
            with contextlib.suppress(RuntimeError):  # no running loop (a synchronous caller)
                self._load_soon(username)
        return found

    async def put(self, username: str, preferences: Preferences) -> Preferences:
        now = self._clock()
        stored = replace(preferences, updated_at=now)
        await asyncio.to_thread(self._write, username, stored, now)
        self._remember(username, stored)
        if self._broker is not None:
            await self._broker.publish(PREFERENCES_CHANNEL, {"username": username})
        return stored

    def quiet_rows(self) -> list[QuietRow]:
        """Every account with quiet hours (blocking)."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(P.c.username, P.c.settings, P.c.updated_at, P.c.summarized_until)
                                      .where(P.c.quiet.is_(True))).all()
        return [QuietRow(row.username, _decode(row.settings, row.updated_at),
                         as_utc(row.summarized_until) if row.summarized_until else None) for row in rows]

    def claim_summary(self, username: str, until: datetime) -> bool:
        """Take the summary of the window ending `until` for this process; False when another took it (blocking)."""
        with self._engine.begin() as connection:
            claimed = connection.execute(
                update(P).where(P.c.username == username,
                                or_(P.c.summarized_until.is_(None), P.c.summarized_until < until))
                .values(summarized_until=until))
        return bool(claimed.rowcount)

    @property
    def size(self) -> int:
        return len(self._cache)

    def _write(self, username: str, preferences: Preferences, now: datetime) -> None:
        values = {"settings": orjson.dumps(preferences.to_dict()).decode(),
                  "quiet": preferences.quiet_hours is not None, "updated_at": now,
                  # A window that ended before the change is not summarised: nothing was held under these hours.
                  "summarized_until": now}
        with self._engine.begin() as connection:
            changed = connection.execute(update(P).where(P.c.username == username).values(values))
            if not changed.rowcount:
                connection.execute(insert(P).values(username=username, **values))

    def _read(self, username: str) -> Preferences:
        with self._engine.connect() as connection:
            row = connection.execute(select(P.c.settings, P.c.updated_at).where(P.c.username == username)).first()
        return DEFAULT if row is None else _decode(row.settings, row.updated_at)

    async def _load(self, username: str) -> Preferences:
        task = self._load_soon(username)
        return await asyncio.shield(task)

    def _load_soon(self, username: str) -> asyncio.Task[Preferences]:
        task = self._loading.get(username)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._fetch(username))
            self._loading[username] = task
        return task

    async def _fetch(self, username: str) -> Preferences:
        try:
            found = await asyncio.to_thread(self._read, username)
            self._remember(username, found)
            return found
        finally:
            self._loading.pop(username, None)

    def _remember(self, username: str, preferences: Preferences) -> None:
        self._cache[username] = preferences
        self._cache.move_to_end(username)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)

    def _on_change(self, _channel: str, message: Any) -> None:
        username = message.get("username") if isinstance(message, dict) else None
        if not isinstance(username, str):
            return
        if self._cache.pop(username, None) is not None:
            with contextlib.suppress(RuntimeError):
                self._load_soon(username).add_done_callback(_log_failure)


def _decode(text: str, updated_at: datetime | None) -> Preferences:
    try:
        found = parse_preferences({k: v for k, v in orjson.loads(text).items() if k != "updated_at"})
    except Exception:  # a row written by a newer version: fall back to pushing everything, and say so
        log.warning("unreadable notification preferences %r", text[:200], exc_info=True)
        return DEFAULT
    return replace(found, updated_at=as_utc(updated_at) if updated_at else None)


def _log_failure(task: asyncio.Task[Preferences]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("reloading preferences failed", exc_info=task.exception())
