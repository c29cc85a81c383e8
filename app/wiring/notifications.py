"""Wiring of the notifications feature (see app/wiring/__init__.py): the service, its sweep, routes and inbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.jobs import Job
from services.delivery import BROADCAST, role_channel, user_channel
from services.notifications import NotificationService
from services.users import Principal

if TYPE_CHECKING:
    from app.container import Services
    from app.live import LiveBridge, Section


def build(services: Services) -> None:
    """Construct the service on whatever `services.delivery` is by now (the hub, once realtime built it)."""
    settings = services.settings
    notifications = NotificationService(services.engine, services.users, services.events, services.delivery,
                                        history_size=settings.notification_history_size)
    services.notifications = notifications
    services.lifecycle.append(notifications)
    services.jobs.append(Job("notification_cleanup", lambda s: s.settings.notification_cleanup_interval, _sweep))


def register(services: Services, live: LiveBridge) -> None:
    """Add the notification routes and the inbox section of `/`."""
    from nicegui import app as nicegui_app

    from app.api import notifications as notifications_api

    nicegui_app.include_router(notifications_api.router(services.auth, services.notifications))
    live.sections.append(_inbox_section(services.notifications, live))


def _inbox_section(notifications: NotificationService, live: LiveBridge) -> Section:
    from components.notification_inbox import notification_inbox

    async def section(principal: Principal) -> None:
        channels = (live.channel(user_channel(principal.username)), live.channel(role_channel(principal.role)),
                    live.channel(BROADCAST))
        await notification_inbox(notifications, principal.username, principal.role, channels)

    return section


async def _sweep(services: Services) -> dict[str, int]:
    return await services.notifications.sweep()
