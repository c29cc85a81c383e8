"""NotificationService: template, target, persist in batches, deliver live, and expire and prune notifications."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from services.batch_writer import BatchWriter, is_transient, refusal
from services.delivery import Delivery, user_channel
from services.events import EventSystem, EventType, replaying
from services.models import as_utc, utcnow
from services.notifications.checks import check_channel, check_data, compose
from services.notifications.collector import DigestCollector
from services.notifications.digests import DigestStore
from services.notifications.preference_book import PreferenceBook
from services.notifications.preferences import Decision, Preferences, decide, parse_preferences
from services.notifications.rules import RULES, Rule, current_rule, register_rules
from services.notifications.schedule import ScheduledSends
from services.notifications.stats import collect
from services.notifications.store import Expired, NotificationStore, Reader
from services.notifications.templates import ALERT_LEVELS, NotificationPriority, NotificationType
from services.notifications.trace import Step, Tracer
from services.notifications.types import (
    ActionTaken,
    Notification,
    NotificationError,
    is_notification_id,
    parse_since,
)
from services.users import UserStore

__all__ = ["NotificationError", "NotificationPriority", "NotificationService", "NotificationType"]

log = logging.getLogger(__name__)

DeliverFn = Callable[[str, str, dict[str, Any]], Awaitable[Any]]
MAX_LIMIT = 1000
MAX_IDS_PER_MESSAGE = 1000  # ids listed in one read-all / expiry push; beyond that clients refetch
MAX_COUNTED_USERS = 200  # expiry pushes that carry a freshly counted unread_count per sweep
SOURCE = "notifications"


class NotificationService:
    """Sends notifications to a user, a role or everyone; read and dismissed state is kept per recipient."""

    def __init__(self, engine: Engine, users: UserStore, events: EventSystem, deliver: Delivery | DeliverFn, *,
                 clock: Callable[[], datetime] = utcnow, history_size: int = 1000, rules: Sequence[Rule] = RULES,
                 batch_size: int = 1000, flush_interval: float = 0.005, queue_size: int = 20000,
                 preferences: PreferenceBook | None = None, trace: Tracer | None = None) -> None:
        self._store = NotificationStore(engine)
        self.trace = trace or Tracer(engine, replica="local", enabled=False)
        """Each notification's delivery path; recording never waits on the database."""
        self.preferences = preferences
        self.scheduled = ScheduledSends(engine, self, clock=clock)
        """Sends stored now and delivered later by the leader's job."""
        self._writer = BatchWriter(self._store.insert, name="notification",
                                   batch_size=batch_size, flush_interval=flush_interval, queue_size=queue_size)
        self._users = users
        self._events = events
        # The hub replaces the broker delivery at build time; whichever it is, only `deliver(...)` is used.
        self._deliver: DeliverFn = getattr(deliver, "deliver", None) or deliver  # type: ignore[assignment]
        self._clock = clock
        self.history_size = history_size
        self._rules = tuple(rules)
        self._unregister: Callable[[], None] | None = None
        self._counters = dict.fromkeys(("sent", "delivery_failures", "expired", "pruned", "replay_skipped",
                                        "held", "quiet_summaries", "digested"), 0)
        self.digests = DigestCollector(DigestStore(engine, self._store.guard), preferences, self._push,
                                       self._publish, self.unread_count, self._now)
        """Holds personal notifications of the types a person collects, and collapses them into one entry."""

    async def start(self) -> None:
        """Start the batch writer and register the event → notification rules (idempotent)."""
        self._writer.start()
        self.trace.start()
        if self.preferences is not None:
            self.preferences.start()
        if self._unregister is None:
            self._unregister = register_rules(self._events, self, self._rules)
            self._events.add_reaction_flush(self._writer.flush)  # an event settles once its notifications are stored

    async def stop(self) -> None:
        """Unregister the rules and write everything pending (idempotent)."""
        if self._unregister is not None:
            self._unregister()
            self._unregister = None
        if self.preferences is not None:
            self.preferences.stop()
        await self._writer.stop()
        await self.trace.stop()

    async def send_notification(
        self, user_id: str | None = None, notification_type: str | NotificationType = NotificationType.INFO,
        data: dict[str, Any] | None = None, custom_title: str | None = None, custom_message: str | None = None,
        priority: int | None = None, channel: str | None = None, actions: list[dict[str, str]] | None = None,
        expires_at: datetime | None = None, *, role: str | None = None, broadcast: bool = False,
        ttl_seconds: float | None = None, correlation_id: str | None = None, durable: bool = False,
        digest: bool = True,
    ) -> str:
        """Send to `user_id`, every account of `role`, or everyone (`broadcast=True`); the notification id.

        Raises NotificationError for bad input. `durable` returns only after the row is committed; `digest=False`
        keeps it out of the person's digest of its type."""
        notification = self._build(user_id, notification_type, data, custom_title, custom_message, priority, channel,
                                   actions, expires_at, role, broadcast, ttl_seconds, correlation_id)
        await self._send(notification, durable, digest=digest)
        return notification.id

    async def send(
        self, *, notification_type: str | NotificationType, user_id: str | None = None, role: str | None = None,
        broadcast: bool = False, data: dict[str, Any] | None = None, title: str | None = None,
        message: str | None = None, priority: int | None = None, channel: str | None = None,
        actions: list[dict[str, Any]] | None = None, expires_at: datetime | None = None,
        ttl_seconds: float | None = None, correlation_id: str | None = None, durable: bool = False,
        notification_id: str | None = None, sent_by: str | None = None, scheduled_by: str | None = None,
        digest: bool = True,
    ) -> dict[str, Any]:
        """`send_notification` with keywords only, answering the whole notification (its REST shape).

        `notification_id` is for scheduled sends, whose id is chosen when their delivery is claimed; `sent_by` and
        `scheduled_by` name the admin for the trace."""
        notification = self._build(user_id, notification_type, data, title, message, priority, channel, actions,
                                   expires_at, role, broadcast, ttl_seconds, correlation_id)
        if notification_id is not None:
            notification.id = notification_id
        return await self._send(notification, durable, sent_by=sent_by, scheduled_by=scheduled_by, digest=digest)

    def notification_exists(self, notification_id: str) -> bool:
        """Whether a notification with this id is stored (blocking)."""
        return self._store.exists(notification_id)

    async def send_system_alert(self, title: str, message: str, alert_level: str = "info",
                                data: dict[str, Any] | None = None, target_channel: str = "system", *,
                                correlation_id: str | None = None, durable: bool = False) -> str:
        """An alert for admins (stored for role `admin`), also pushed as `system_alert` on `target_channel`."""
        sent = await self.alert(title, message, alert_level, data, target_channel, correlation_id=correlation_id,
                                durable=durable)
        return str(sent["id"])

    async def alert(self, title: str, message: str, alert_level: str = "info", data: dict[str, Any] | None = None,
                    target_channel: str = "system", *, correlation_id: str | None = None,
                    durable: bool = False, sent_by: str | None = None) -> dict[str, Any]:
        """`send_system_alert` answering the whole notification."""
        level = alert_level.lower() if isinstance(alert_level, str) else alert_level
        if level not in ALERT_LEVELS:
            raise NotificationError("alert_level", f"unknown level {alert_level!r}; expected one of "
                                                   f"{', '.join(ALERT_LEVELS)}")
        channel = check_channel(target_channel or "", "target_channel")
        assert channel is not None
        payload, _ = check_data(data)
        notification = self._build(None, NotificationType.SYSTEM_ALERT, {**payload, "alert_level": level}, title,
                                   message, int(ALERT_LEVELS[level]), channel, None, None, "admin", False, None,
                                   correlation_id)
        sent = await self._send(notification, durable, sent_by=sent_by)
        await self._push(channel, "system_alert", {**sent, "alert_level": level})
        return sent

    async def get_user_notifications(self, user_id: str, limit: int = 50, unread_only: bool = False, *,
                                     role: str | None = None, since: str | datetime | None = None) -> list[dict]:
        """The user's notifications (own, their role's, broadcasts), newest first, without dismissed or expired."""
        return (await self.get_inbox(user_id, role=role, limit=limit, unread_only=unread_only, since=since))[
            "notifications"]

    async def get_inbox(self, user_id: str, *, role: str | None = None, limit: int = 50, unread_only: bool = False,
                        since: str | datetime | None = None, before: str | None = None,
                        types: Sequence[str] = (), min_priority: int | None = None,
                        text: str | None = None) -> dict[str, Any]:
        """`{notifications, unread_count, total_count, has_more}`, newest first.

        `since` is a notification id or a time (exclusive) to catch up after a reconnect; `before` a notification
        id to page back from; `types`, `min_priority` and `text` (in title or message) filter. `has_more` says
        whether older ones match too."""
        after_id, after_time = parse_since(since)
        if before is not None and not is_notification_id(before):
            raise NotificationError("before", "must be a notification id")
        limit = max(0, min(limit, MAX_LIMIT))
        await self._writer.flush()
        reader = await self._reader(user_id, role)
        found, unread, total = await asyncio.to_thread(
            self._store.page, reader, self._now(), limit=limit + 1, unread_only=unread_only, after_id=after_id,
            after_time=after_time, before_id=before, types=tuple(types), min_priority=min_priority,
            text=text or None)
        return {"notifications": [n.to_dict() for n in found[:limit]], "unread_count": unread,
                "total_count": total, "has_more": len(found) > limit}

    async def unread_count(self, user_id: str, *, role: str | None = None) -> int:
        await self._writer.flush()
        reader = await self._reader(user_id, role)
        return (await asyncio.to_thread(self._store.counts, reader, self._now()))[0]

    async def mark_notification_read(self, notification_id: str, user_id: str, *, role: str | None = None) -> bool:
        """Mark read for this user; False when it is not theirs to see (unknown, expired, dismissed).

        Reading an item held for a digest collapses the digest now, and the entry is the one marked read."""
        collapsed = await self.digests.collapse_holding(notification_id, user_id)
        if collapsed is not None and collapsed.entry is not None:
            notification_id = collapsed.entry.id
        return await self._act(notification_id, user_id, role, "read_at")

    async def dismiss_notification(self, notification_id: str, user_id: str, *, role: str | None = None) -> bool:
        """Remove from this user's inbox; False when it is not theirs to see (or already dismissed)."""
        return await self._act(notification_id, user_id, role, "dismissed_at")

    async def mark_all_read(self, user_id: str, *, role: str | None = None) -> int:
        """Mark every unread notification of the user read; how many were."""
        await self._writer.flush()
        reader = await self._reader(user_id, role)
        ids = await asyncio.to_thread(self._store.read_all, reader, self._now())
        if ids:
            for notification_id in ids:
                self.trace.record(notification_id, Step.READ, f"read by {user_id} (read all)", recipient=user_id,
                                  detail={"all": True})
            unread = (await asyncio.to_thread(self._store.counts, reader, self._now()))[0]
            await self._push(user_channel(user_id), "notification_read", {
                "notification_ids": ids[:MAX_IDS_PER_MESSAGE], "all": True, "unread_count": unread})
            await self._publish(EventType.NOTIFICATION_READ, {"user_id": user_id, "count": len(ids), "all": True},
                                user_id=user_id)
        return len(ids)

    async def perform_action(self, notification_id: str, user_id: str, action: str, *,
                             role: str | None = None) -> dict[str, str] | None:
        """Take one of the notification's actions, once: record it (and read it), tell the user's other devices,
        publish `user.action`. The action, None when there is no such notification or action, and ActionTaken
        when an action was taken before (the choice of an Approve / Decline pair is made once)."""
        notification = await self.get_notification(notification_id, user_id, role=role)
        chosen = next((a for a in (notification or {}).get("actions", ()) if a["action"] == action), None)
        if notification is None or chosen is None:
            return None
        reader = await self._reader(user_id, role)
        found, before, unread = await asyncio.to_thread(self._store.take_action, notification_id, reader,
                                                        self._now(), action)
        if not found:
            return None
        if before is not None:
            raise ActionTaken(before)
        self.trace.record(notification_id, Step.ACTED, f"{user_id} chose {chosen.get('label', action)!r} ({action})",
                          recipient=user_id, detail={"action": action})
        await self._push(user_channel(user_id), "notification_acted", {
            "notification_id": notification_id, "notification_ids": [notification_id], "action": action,
            "unread_count": unread})
        await self._publish(EventType.USER_ACTION, {"user_id": user_id, "action": action,
                                                     "notification_id": notification_id},
                            correlation_id=notification["correlation_id"], user_id=user_id)
        return chosen

    async def get_notification(self, notification_id: str, user_id: str, *,
                               role: str | None = None) -> dict[str, Any] | None:
        """One notification as this user sees it, or None when it is not in their inbox."""
        if not is_notification_id(notification_id):
            return None
        await self._writer.flush()
        reader = await self._reader(user_id, role)
        found = await asyncio.to_thread(self._store.get, notification_id, reader, self._now())
        return found.to_dict() if found is not None and found.dismissed_at is None else None

    async def get_trace(self, notification_id: str, user_id: str, *, role: str | None = None,
                        admin: bool = False) -> dict[str, Any] | None:
        """The delivery trace of a notification: any for an admin, else only one in the caller's inbox (their own
        steps only); None when unknown or not theirs."""
        if not is_notification_id(notification_id):
            return None
        if admin:
            found = await self.trace.trace(notification_id)
            if found["steps"] or await asyncio.to_thread(self._store.exists, notification_id):
                return found
            return None
        await self._writer.flush()
        reader = await self._reader(user_id, role)
        if await asyncio.to_thread(self._store.get, notification_id, reader, self._now()) is None:
            return None
        return await self.trace.trace(notification_id, viewer=user_id)

    async def caused_by(self, event_id: str) -> list[dict[str, Any]]:
        """`{id, title, recipients}` of the (first 20) notifications an event caused."""
        await self._writer.flush()
        return await asyncio.to_thread(self._store.caused_by, event_id)

    async def get_notification_stats(self) -> dict[str, Any]:
        """Counts by type, priority, user, role and target, receipts, the 10 newest, and service counters."""
        await self._writer.flush()
        now = self._now()
        stats = await asyncio.to_thread(self._store.read, lambda connection: collect(connection, now))
        writer = self._writer
        trace = self.trace.stats
        return {**stats, **self._counters, "digests": self.digests.collapsed, "persisted": writer.persisted,
                "lost": writer.lost, "pending_writes": writer.pending, "history_size": self.history_size,
                "trace_steps_recorded": trace["recorded"], "trace_steps_dropped": trace["dropped"]}

    async def cleanup_expired_notifications(self) -> int:
        """Delete expired notifications (telling live views) and prune history; the number expired."""
        return (await self.sweep())["cleaned_count"]

    async def sweep(self) -> dict[str, int]:
        """The scheduled job: expire, push `notification_expired`, prune to `history_size` per user."""
        await self._writer.flush()
        gone = await asyncio.to_thread(self._store.expired, self._now())
        pruned = await asyncio.to_thread(self._store.prune, self.history_size)
        self._counters["expired"] += len(gone)
        self._counters["pruned"] += pruned
        if gone:
            await self._announce_expired(gone)
        result = {"cleaned_count": len(gone), "pruned_count": pruned}
        if self.trace.enabled:  # the same sweep keeps traces to NOTIFICATION_TRACE_DAYS
            result["trace_steps_expired"] = await self.trace.expire()
        return result

    async def flush(self) -> None:
        """Wait until every notification sent so far is committed."""
        await self._writer.flush()

    async def _announce_expired(self, gone: list[Expired]) -> None:
        """One `notification_expired` push per recipients channel, and one `notification.expired` event."""
        by_channel: dict[str, list[str]] = {}
        for item in gone:
            by_channel.setdefault(item.recipients, []).append(item.id)
        counted = 0
        for channel, ids in by_channel.items():
            body: dict[str, Any] = {"notification_ids": ids[:MAX_IDS_PER_MESSAGE], "count": len(ids)}
            # A user's channel gets their new count (a shared channel has none); beyond a bound clients refetch.
            if channel.startswith("user:") and counted < MAX_COUNTED_USERS:
                counted += 1
                body["unread_count"] = await self.unread_count(channel.removeprefix("user:"))
            await self._push(channel, "notification_expired", body)
        await self._publish(EventType.NOTIFICATION_EXPIRED, {
            "count": len(gone), "notification_ids": [item.id for item in gone[:100]]})
        log.info("expired %d notifications", len(gone))

    def _build(self, user_id: str | None, notification_type: object, data: object, title: str | None,
               message: str | None, priority: object, channel: object, actions: object, expires_at: object,
               role: str | None, broadcast: bool, ttl_seconds: object, correlation_id: object) -> Notification:
        return compose(self._now(), user_id, notification_type, data, title, message, priority, channel, actions,
                       expires_at, role, broadcast, ttl_seconds, correlation_id)

    async def _send(self, notification: Notification, durable: bool, *, bypass: bool = False,
                    sent_by: str | None = None, scheduled_by: str | None = None,
                    digest: bool = True) -> dict[str, Any]:
        if await self._sent_before(notification):
            self._counters["replay_skipped"] += 1
            return notification.to_dict()
        decision = Decision.PUSHED if bypass else await self._decide(notification, digest)
        durable = durable or decision is Decision.DIGESTED  # held for a digest only once it is stored
        try:
            committed = await self._writer.write(notification.to_row(), durable=durable)
            if committed is not None:
                await committed  # a durable send is delivered only once it is stored
        except Exception as error:
            if is_transient(error):  # the database is away: not the sender's fault, nothing to tell them to fix
                raise
            # A value the checks let through and the database refused; the rest of its batch was stored.
            raise NotificationError("notification", f"the database refused to store it: {refusal(error)}") from error
        self._counters["sent"] += 1
        sent = notification.to_dict()
        self._trace_origin(notification, sent_by, scheduled_by)
        if notification.user_id is not None:
            self.trace.decided(notification.id, notification.user_id, decision.value, capped=False)
        if decision is Decision.PUSHED:
            await self._push(notification.recipients, "notification", sent)
            self.trace.delivered(notification.id, notification.recipients)  # this replica's row, even if none heard
        elif decision is Decision.DIGESTED:
            await self.digests.hold(notification)
        await self._publish(EventType.NOTIFICATION_SENT, {
            "notification_id": notification.id, "type": notification.type, "priority": notification.priority,
            "target": notification.recipients, "channel": notification.channel,
        }, correlation_id=notification.correlation_id)
        return sent

    def _trace_origin(self, notification: Notification, sent_by: str | None, scheduled_by: str | None) -> None:
        trace, nid = self.trace, notification.id
        if not trace.enabled:
            return
        rule = current_rule()
        if rule is not None:
            name, event = rule
            correlation = event.correlation_id or event.id
            trace.record(nid, Step.EVENT, f"event {event.type} from {event.source} (correlation id {correlation})",
                         detail={"event_id": event.id, "type": str(event.type), "source": event.source,
                                 "correlation_id": correlation, "timestamp": as_utc(event.timestamp).isoformat()})
            trace.record(nid, Step.RULE, f"rule \"{name}\" matched", detail={"rule": name})
        elif scheduled_by is not None:
            trace.record(nid, Step.SCHEDULED, f"scheduled by {scheduled_by}", detail={"admin": scheduled_by})
        elif sent_by is not None:
            trace.record(nid, Step.SENT_BY, f"sent by {sent_by}", detail={"admin": sent_by})

    async def _decide(self, notification: Notification, digestible: bool = True) -> Decision:
        """The person's preferences decide a personal notification here, once; a role's or everyone's is decided
        per person where it is fanned out (`live_for`)."""
        if notification.user_id is None or self.preferences is None:
            return Decision.PUSHED
        book = self.preferences
        found = book.peek(notification.user_id) or await book.get(notification.user_id)
        if found.is_default:
            return Decision.PUSHED
        decision = decide(found, notification.type, notification.priority, notification.created_at,
                          digestible=digestible)
        if decision is Decision.DIGESTED:
            self._counters["digested"] += 1
        elif decision is not Decision.PUSHED:
            self._counters["held"] += 1
        return decision

    def live_for(self, username: str, channel: str, data: dict[str, Any]) -> bool:
        """Whether a `notification` pushed on a shared channel (a role's, everyone's) goes live to this person now;
        personal ones were decided when sent. Synchronous, from the cache (a miss pushes and loads)."""
        if channel.startswith("user:"):
            return True
        decision = self._shared_decision(username, data)
        notification_id = data.get("id")
        if self.trace.enabled and isinstance(notification_id, str):
            self.trace.decided(notification_id, username, decision.value)
        return decision is Decision.PUSHED

    def _shared_decision(self, username: str, data: dict[str, Any]) -> Decision:
        found = self.preferences.cached(username) if self.preferences is not None else None
        if found is None or found.is_default:
            return Decision.PUSHED
        kind, priority = data.get("type"), data.get("priority")
        if not isinstance(kind, str) or not isinstance(priority, int):
            return Decision.PUSHED
        return decide(found, kind, priority, self._now(), digestible=False)

    async def get_preferences(self, username: str) -> dict[str, Any]:
        if self.preferences is None:
            raise NotificationError("preferences", "preferences are not enabled")
        return (await self.preferences.get(username)).to_dict()

    async def set_preferences(self, username: str, body: object) -> dict[str, Any]:
        """Validate and store one person's preferences (NotificationError names a bad field); tell their views."""
        if self.preferences is None:
            raise NotificationError("preferences", "preferences are not enabled")
        stored = await self.preferences.put(username, parse_preferences(body))
        unread = await self.unread_count(username)
        await self._push(user_channel(username), "notification_read", {
            "notification_ids": [], "unread_count": unread, "preferences": True})
        return stored.to_dict()

    async def summarize_quiet_hours(self) -> int:
        """The job: for each person whose quiet hours ended since the last look, one notification saying what
        arrived meanwhile (claimed per window with a conditional UPDATE, so once across processes)."""
        if self.preferences is None:
            return 0
        await self._writer.flush()
        book, now, sent = self.preferences, self._now(), 0
        for row in await asyncio.to_thread(book.quiet_rows):
            quiet = row.preferences.quiet_hours
            if quiet is None:
                continue
            start, end = quiet.last_window(now)
            if row.summarized_until is not None and row.summarized_until >= end:
                continue
            if not await asyncio.to_thread(book.claim_summary, row.username, end):
                continue
            since = max(start, row.summarized_until) if row.summarized_until else start
            reader = await self._reader(row.username, None)
            count = await asyncio.to_thread(self._store.arrived_between, reader, since, end)
            if count:
                sent += 1
                await self._summary(row.username, count, since, end)
        self._counters["quiet_summaries"] += sent
        return sent

    async def collapse_digests(self) -> int:
        """The job: collapse every digest whose window has closed into one inbox entry each (once across
        processes); how many this call collapsed."""
        return await self.digests.collapse_due()

    async def collapse_digests_of(self, username: str) -> int:
        """Collapse the person's open digests now (their inbox asks to see them whole); how many this collapsed."""
        return await self.digests.collapse_open_of(username)

    async def _summary(self, username: str, count: int, start: datetime, end: datetime) -> None:
        words = "notification" if count == 1 else "notifications"
        notification = self._build(username, NotificationType.INFO, {
            "quiet_hours_summary": {"count": count, "start": start.isoformat(), "end": end.isoformat()}},
            "🌙 Quiet hours ended", f"{count} {words} arrived during quiet hours", int(NotificationPriority.MEDIUM),
            None, [], None, None, False, None, None)
        await self._send(notification, True, bypass=True)

    async def _sent_before(self, notification: Notification) -> bool:
        """While an event's rules run again after a crash: whether this recipient already has the notification the
        first run made (rules give every notification the event's id as its correlation id)."""
        replay = replaying()
        if replay is None or notification.correlation_id != replay["event"].id:
            return False
        memo = replay["memo"]
        if "notified" not in memo:
            memo["notified"] = await asyncio.to_thread(self._store.recipients_of, replay["event"].id)
        already = notification.recipients in memo["notified"]
        memo["notified"].add(notification.recipients)
        return already

    async def _act(self, notification_id: str, user_id: str, role: str | None, column: str) -> bool:
        if not is_notification_id(notification_id):
            return False
        await self._writer.flush()
        reader = await self._reader(user_id, role)
        found, changed, unread = await asyncio.to_thread(self._store.act, notification_id, reader, self._now(),
                                                         column)
        if changed:
            what = "read" if column == "read_at" else "dismissed"
            self.trace.record(notification_id, Step.READ if what == "read" else Step.DISMISSED,
                              f"{what} by {user_id}", recipient=user_id)
            await self._push(user_channel(user_id), f"notification_{what}", {
                "notification_id": notification_id, "notification_ids": [notification_id], "unread_count": unread})
            await self._publish(EventType.NOTIFICATION_READ if what == "read" else EventType.NOTIFICATION_DISMISSED,
                                {"notification_id": notification_id, "user_id": user_id}, user_id=user_id)
        return found

    async def _reader(self, user_id: str, role: str | None) -> Reader:
        if role is None:
            account = await self._users.get(user_id)
            role = str(account["role"]) if account else None
        found: Preferences | None = await self.preferences.get(user_id) if self.preferences is not None else None
        if found is None or found.is_default:
            return Reader(user_id, role)
        return Reader(user_id, role, found.muted, found.min_priority, bool(found.digest))

    async def _push(self, channel: str, message_type: str, data: dict[str, Any]) -> None:
        try:
            await self._deliver(channel, message_type, data)
        except Exception:  # a live push is never worth failing a send: the inbox query still shows it
            self._counters["delivery_failures"] += 1
            log.warning("delivering %s on %s failed", message_type, channel, exc_info=True)

    async def _publish(self, event_type: EventType, data: dict[str, Any], *, correlation_id: str | None = None,
                       user_id: str | None = None) -> None:
        try:
            await self._events.publish(event_type, data, SOURCE, correlation_id, user_id=user_id)
        except Exception:  # e.g. vetoed by middleware: the notification itself stands
            log.warning("publishing %s failed", event_type, exc_info=True)

    def _now(self) -> datetime:
        return as_utc(self._clock())

