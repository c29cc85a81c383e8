"""Notification tables: one row per notification, plus a receipt row per recipient who read or dismissed it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Index, String, Text, text
from sqlmodel import Field, SQLModel


class NotificationRecord(SQLModel, table=True):
    """A notification for one `user_id`, every account of a `role`, or everyone (`broadcast`).

    A broadcast is one row however many accounts see it; per-recipient state lives in `NotificationReceipt`.
    `data` and `actions` are JSON text. Ids are time-ordered (UUIDv7), so `id` order is send order.
    """

    __tablename__ = "notifications"
    # The inbox query is "my user_id OR my role OR broadcast, newest first": one (target, id) index per branch.
    # Partial indexes hold only the rows of their branch, so a send updates two B-trees instead of seven, and
    # SQLite plans the OR as a union of the three index searches.
    __table_args__ = (
        Index("ix_notifications_user_id_id", "user_id", "id", sqlite_where=text("user_id IS NOT NULL"),
              postgresql_where=text("user_id IS NOT NULL")),
        Index("ix_notifications_role_id", "role", "id", sqlite_where=text("role IS NOT NULL"),
              postgresql_where=text("role IS NOT NULL")),
        Index("ix_notifications_broadcast_id", "broadcast", "id", sqlite_where=text("broadcast = 1"),
              postgresql_where=text("broadcast")),
        Index("ix_notifications_expires_at", "expires_at", sqlite_where=text("expires_at IS NOT NULL"),
              postgresql_where=text("expires_at IS NOT NULL")),
        Index("ix_notifications_correlation_id", "correlation_id", sqlite_where=text("correlation_id IS NOT NULL"),
              postgresql_where=text("correlation_id IS NOT NULL")),
    )

    id: str = Field(primary_key=True, max_length=36)
    type: str = Field(max_length=32)
    priority: int
    title: str = Field(max_length=200)
    message: str = Field(sa_column=Column(Text, nullable=False))
    data: str = Field(sa_column=Column(Text, nullable=False))
    actions: str = Field(sa_column=Column(Text, nullable=False))
    user_id: str | None = Field(default=None, max_length=64)
    role: str | None = Field(default=None, max_length=16)
    broadcast: bool = False
    channel: str | None = Field(default=None, max_length=64)
    correlation_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class NotificationReceipt(SQLModel, table=True):
    """What one recipient did with one notification; written only when they act."""

    __tablename__ = "notification_receipts"

    notification_id: str = Field(
        sa_column=Column(String(36), ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True)
    )
    user_id: str = Field(primary_key=True, max_length=64)
    read_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    dismissed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    action: str | None = Field(default=None, max_length=64)
    """The one action the recipient took (a choice such as Approve / Decline is made once)."""
    acted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class NotificationPreference(SQLModel, table=True):
    """One person's notification preferences (services.notifications.preferences), as JSON text."""

    __tablename__ = "notification_preferences"

    username: str = Field(primary_key=True, max_length=64)
    settings: str = Field(sa_column=Column(Text, nullable=False))
    quiet: bool = Field(default=False, index=True)
    """Whether quiet hours are set: the summary job reads only these rows."""
    summarized_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    """The end of the last quiet-hours window summarised; claimed with a conditional UPDATE, so once per window."""
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ScheduledNotification(SQLModel, table=True):
    """A send stored now and delivered at `deliver_at` by the leader's job (services.notifications.schedule)."""

    __tablename__ = "scheduled_notifications"
    __table_args__ = (
        Index("ix_scheduled_notifications_due", "deliver_at", sqlite_where=text("status = 'scheduled'"),
              postgresql_where=text("status = 'scheduled'")),
    )

    id: str = Field(primary_key=True, max_length=36)
    request: str = Field(sa_column=Column(Text, nullable=False))
    """The send's keyword arguments as JSON (times as ISO text)."""
    title: str = Field(max_length=200)
    target: str = Field(max_length=80)
    deliver_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    status: str = Field(max_length=16)
    """scheduled → delivering → delivered; or cancelled, or failed (with `error`)."""
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    claimed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    notification_id: str | None = Field(default=None, max_length=36)
    """Chosen when the delivery is claimed, so a delivery interrupted by a crash is finished, never repeated."""
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    error: str | None = Field(default=None, max_length=500)


class NotificationTraceStep(SQLModel, table=True):
    """One step of a notification's delivery trace (services.notifications.trace), kept NOTIFICATION_TRACE_DAYS."""

    __tablename__ = "notification_trace"
    __table_args__ = (
        Index("ix_notification_trace_notification_id_at", "notification_id", "at"),
        Index("ix_notification_trace_at", "at"),
    )

    id: str = Field(primary_key=True, max_length=36)
    notification_id: str = Field(max_length=36)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    replica: str = Field(max_length=64)
    """The process that did the step (REPLICA_NAME)."""
    step: str = Field(max_length=32)
    recipient: str | None = Field(default=None, max_length=64)
    text: str = Field(max_length=500)
    detail: str = Field(sa_column=Column(Text, nullable=False))
    """JSON object: the machine-readable parts (event id, channel and counts, decision, action)."""
    count: int = 0
    """For `recipients_not_listed`: how many recipient steps were only counted."""


class NotificationDigest(SQLModel, table=True):
    """One person's open or collapsed digest of one type (services.notifications.digests).

    At most one is open per person and type (a partial unique index); it is collapsed once, by the conditional
    UPDATE that sets `collapsed_at`, into the notification `entry_id`."""

    __tablename__ = "notification_digests"
    __table_args__ = (
        Index("ux_notification_digests_open", "username", "type", unique=True,
              sqlite_where=text("collapsed_at IS NULL"), postgresql_where=text("collapsed_at IS NULL")),
        Index("ix_notification_digests_closes_at", "closes_at", sqlite_where=text("collapsed_at IS NULL"),
              postgresql_where=text("collapsed_at IS NULL")),
    )

    id: str = Field(primary_key=True, max_length=36)
    username: str = Field(max_length=64)
    type: str = Field(max_length=32)
    opened_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    closes_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    item_count: int = 0
    collapsed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    entry_id: str | None = Field(default=None, max_length=36)
    """The notification the items were collapsed into (None when none was left to collapse)."""


class NotificationDigestItem(SQLModel, table=True):
    """A stored notification held for a digest until it collapses."""

    __tablename__ = "notification_digest_items"

    notification_id: str = Field(primary_key=True, max_length=36)
    digest_id: str = Field(max_length=36, index=True)
