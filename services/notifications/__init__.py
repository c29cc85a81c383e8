"""Notifications: templates, targeting (a user, a role, everyone), rules that turn events into notifications,
storage with per-person receipts, expiry, and live delivery through the hub."""

from __future__ import annotations

from services.notifications.checks import MAX_ACTIONS, check_text, compose, field_errors
from services.notifications.service import NotificationService
from services.notifications.templates import (
    ALERT_LEVELS,
    TEMPLATES,
    NotificationPriority,
    NotificationType,
    render_template,
)
from services.notifications.types import ActionTaken, Notification, NotificationError

__all__ = [
    "ALERT_LEVELS",
    "MAX_ACTIONS",
    "TEMPLATES",
    "ActionTaken",
    "Notification",
    "NotificationError",
    "NotificationPriority",
    "NotificationService",
    "NotificationType",
    "check_text",
    "compose",
    "field_errors",
    "render_template",
]
