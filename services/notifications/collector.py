"""DigestCollector: holds a person's notifications of the types they collect, and collapses each digest into one
inbox entry (when its window closes, when they read a held item, or when their inbox asks), telling their views
in one push. The SQL, and the guard that makes each collapse happen once, live in `digests.DigestStore`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from services.delivery import user_channel
from services.events import EventType
from services.notifications.digests import Collapsed, DigestStore
from services.notifications.preference_book import PreferenceBook
from services.notifications.preferences import Decision, decide
from services.notifications.types import Notification, is_notification_id

log = logging.getLogger(__name__)

MAX_IDS_PER_MESSAGE = 1000  # held ids listed in one push; beyond that clients refetch
Push = Callable[[str, str, dict[str, Any]], Awaitable[None]]
Publish = Callable[..., Awaitable[None]]
UnreadCount = Callable[[str], Awaitable[int]]


class DigestCollector:
    def __init__(self, store: DigestStore, preferences: PreferenceBook | None, push: Push, publish: Publish,
                 unread_count: UnreadCount, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._preferences = preferences
        self._push = push
        self._publish = publish
        self._unread_count = unread_count
        self._now = clock
        self.collapsed = 0
        """Digests this process collapsed."""

    async def collapse_due(self) -> int:
        """Collapse every digest whose window has closed; how many this call collapsed."""
        collapsed = 0
        for digest_id in await asyncio.to_thread(self._store.due, self._now()):
            collapsed += await self.collapse(digest_id) is not None
        return collapsed

    async def collapse_open_of(self, username: str) -> int:
        """Collapse the person's open digests now; how many this call collapsed."""
        collapsed = 0
        for digest_id in await asyncio.to_thread(self._store.open_of, username):
            collapsed += await self.collapse(digest_id) is not None
        return collapsed

    async def hold(self, notification: Notification) -> None:
        """Keep a stored personal notification in the person's open digest of its type."""
        assert notification.user_id is not None and self._preferences is not None
        found = await self._preferences.get(notification.user_id)
        seconds = found.digest_seconds(notification.type) or 0
        try:
            digest_id, closes_at = await asyncio.to_thread(
                self._store.attach, notification.id, notification.user_id, notification.type, self._now(), seconds)
        except Exception:  # it stays in the inbox as it is: nothing is lost, it is only not collected
            log.warning("holding %s for a digest failed", notification.id, exc_info=True)
            return
        if closes_at <= self._now():  # joined a digest whose window ended before the job came round
            await self.collapse(digest_id)

    async def collapse_holding(self, notification_id: str, user_id: str) -> Collapsed | None:
        """Collapse the open digest that holds this notification of this person, if there is one."""
        if self._preferences is None or not is_notification_id(notification_id):
            return None
        if not (await self._preferences.get(user_id)).digest:  # (cached) no query for those who collect nothing
            return None
        digest_id = await asyncio.to_thread(self._store.pending_of, notification_id, user_id)
        return await self.collapse(digest_id) if digest_id is not None else None

    async def collapse(self, digest_id: str) -> Collapsed | None:
        """Collapse once, and tell the person's views in one push: the entry replacing the items, with the count."""
        collapsed = await asyncio.to_thread(self._store.collapse, digest_id, self._now())
        if collapsed is None:
            return None
        self.collapsed += 1
        entry, channel = collapsed.entry, user_channel(collapsed.username)
        replaced = collapsed.replaced[:MAX_IDS_PER_MESSAGE]
        unread = await self._unread_count(collapsed.username)
        if entry is None or not await self._live(collapsed.username, entry):
            # nothing left to show, or muted since / quiet hours: the views drop the items (the entry waits)
            await self._push(channel, "notification_dismissed", {"notification_ids": replaced,
                                                                 "unread_count": unread})
        else:
            await self._push(channel, "notification", {**entry.to_dict(), "replaces": replaced,
                                                       "unread_count": unread})
        if entry is not None:
            await self._publish(EventType.NOTIFICATION_SENT, {
                "notification_id": entry.id, "type": entry.type, "priority": entry.priority, "target": channel,
                "channel": None, "digest": {"id": collapsed.digest_id, "count": entry.data["digest"]["count"]},
            }, user_id=collapsed.username)
        return collapsed

    async def _live(self, username: str, entry: Notification) -> bool:
        if self._preferences is None:
            return True
        found = await self._preferences.get(username)
        return decide(found, entry.type, entry.priority, self._now(), digestible=False) is Decision.PUSHED
