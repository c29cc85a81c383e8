"""Wiring of the notifications feature (see app/wiring/__init__.py): the service, its sweep, routes, inbox, bell
and the admin tab."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.jobs import Job
from services.delivery import BROADCAST, role_channel, user_channel
from services.notifications import NotificationService
from services.notifications.preference_book import PreferenceBook
from services.notifications.trace import Tracer
from services.users import Principal

if TYPE_CHECKING:
    from fastapi import FastAPI
    from nicegui import Event as UiEvent

    from app.container import Services
    from app.live import AdminSection, LiveBridge, Section
    from components.common.guard import Authorize
    from components.notifications import TraceLinks


def build(services: Services) -> None:
    """Construct the service on whatever `services.delivery` is by now (the hub, once realtime built it)."""
    settings = services.settings
    trace = Tracer(services.engine, replica=settings.effective_replica_name, days=settings.notification_trace_days)
    notifications = NotificationService(services.engine, services.users, services.events, services.delivery,
                                        history_size=settings.notification_history_size,
                                        preferences=PreferenceBook(services.engine, services.broker), trace=trace)
    services.notifications = notifications
    services.lifecycle.append(notifications)
    services.jobs.append(Job("notification_cleanup", lambda s: s.settings.notification_cleanup_interval, _sweep,
                             scope="deployment"))
    services.jobs.append(Job("quiet_hours_summary", lambda s: s.settings.notification_quiet_check_interval,
                             _quiet_summaries, scope="deployment"))
    services.jobs.append(Job("scheduled_sends", lambda s: s.settings.notification_scheduled_interval,
                             _scheduled_sends, scope="deployment"))
    services.jobs.append(Job("notification_digests", lambda s: s.settings.notification_digest_interval,
                             _collapse_digests, scope="deployment"))
    # Raw WebSocket clients: a role's or everyone's notification goes live to each person as their preferences say.
    services.websocket.notification_gate = notifications.live_for
    # Each process records how many of its connections and views a notification reached (one trace row per replica).
    services.websocket.notification_observer = _connections_reached(trace)


def register(services: Services, live: LiveBridge, api: FastAPI) -> None:
    """Add the notification routes, the inbox section of `/`, the header bell and the Notifications admin tab."""
    from app.api import notifications as notifications_api
    from app.live import AdminPanel, DashboardSection
    from app.pages import preferences

    for router in notifications_api.routers(services.auth, services.notifications):
        api.include_router(router)
    live.notification_observer = _views_reached(services.notifications.trace)
    live.notification_traces = _trace_links(services.notifications)
    live.sections.append(DashboardSection("inbox", _inbox_section(services.notifications, live)))
    live.header_items.append(_bell(services.notifications, live))
    live.admin_panels.append(AdminPanel("Notifications", "notifications", _admin_panel(services, live)))
    preferences.register(services.auth, services.notifications, live)


def _channels(live: LiveBridge, principal: Principal) -> tuple[UiEvent[dict[str, Any]], ...]:
    """The delivery channels that reach this principal: their own, their role's and the broadcast."""
    return (live.channel(user_channel(principal.username)), live.channel(role_channel(principal.role)),
            live.channel(BROADCAST))


def _gate(notifications: NotificationService, principal: Principal) -> Callable[[str, dict[str, Any]], bool]:
    def live(channel: str, data: dict[str, Any]) -> bool:
        return notifications.live_for(principal.username, channel, data)

    return live


def _inbox_section(notifications: NotificationService, live: LiveBridge) -> Section:
    from components.notifications.inbox import Inbox

    async def section(principal: Principal) -> None:
        inbox = Inbox(notifications, principal.username, principal.role,
                      gate=_gate(notifications, principal)).mark("inbox")
        await inbox.load()
        inbox.follow(_channels(live, principal))

    return section


def _bell(notifications: NotificationService, live: LiveBridge) -> Section:
    from components.notifications.bell import Bell

    async def item(principal: Principal) -> None:
        bell = Bell(notifications, principal.username, principal.role,
                    gate=_gate(notifications, principal)).mark("notification-bell")
        await bell.load()
        bell.follow(_channels(live, principal))

    return item


def _admin_panel(services: Services, live: LiveBridge) -> AdminSection:
    from components.notifications.admin import notification_admin

    async def account_active(username: str) -> bool:
        # Uncached, unlike the REST route's token lookup: an account made a moment ago in the Users tab counts.
        return await services.users.active_principal(username) is not None

    async def draw(principal: Principal, authorize: Authorize) -> None:
        await notification_admin(services.notifications, account_active, live.event_published, authorize,
                                 username=principal.username)

    return draw


def _trace_links(notifications: NotificationService) -> TraceLinks:
    """Admin panels open any notification's trace (the panel itself is admin-only, and re-authorizes per click)."""
    from components.notifications import TraceLinks

    async def load(notification_id: str) -> dict[str, Any] | None:
        return await notifications.get_trace(notification_id, "admin", admin=True)

    return TraceLinks(load, notifications.caused_by)


def _connections_reached(trace: Tracer) -> Callable[[str, str, int], None]:
    def observe(notification_id: str, channel: str, connections: int) -> None:
        trace.delivered(notification_id, channel, connections=connections)

    return observe


def _views_reached(trace: Tracer) -> Callable[[str, str, int], None]:
    def observe(notification_id: str, channel: str, views: int) -> None:
        trace.delivered(notification_id, channel, views=views)

    return observe


async def _sweep(services: Services) -> dict[str, int]:
    return await services.notifications.sweep()


async def _scheduled_sends(services: Services) -> int:
    return await services.notifications.scheduled.deliver_due()


async def _quiet_summaries(services: Services) -> int:
    return await services.notifications.summarize_quiet_hours()


async def _collapse_digests(services: Services) -> int:
    return await services.notifications.collapse_digests()
