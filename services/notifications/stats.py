"""Counts over the notification tables for the admin: by type, priority, user, role and target; receipts; recent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, select, true

from services.notifications.store import N, R, unexpired
from services.notifications.types import Notification

TOP_USERS = 20


def collect(connection: Connection, now: datetime, recent: int = 10) -> dict[str, Any]:
    """The stats report (blocking: run it through `NotificationStore.read` in a thread)."""

    def grouped(column: Any, limit: int | None = None) -> dict[str, int]:
        statement = select(column, func.count()).where(column.is_not(None)).group_by(column)
        if limit is not None:
            statement = statement.order_by(func.count().desc(), column).limit(limit)
        return {str(key): int(count) for key, count in connection.execute(statement)}

    totals = connection.execute(select(
        func.count(), func.count(func.distinct(N.c.user_id)),
        func.sum(case((N.c.user_id.is_not(None), 1), else_=0)),
        func.sum(case((N.c.role.is_not(None), 1), else_=0)),
        func.sum(case((N.c.broadcast == true(), 1), else_=0)),
        func.sum(case((N.c.expires_at <= now, 1), else_=0)),
    )).one()
    unread = connection.execute(  # personal notifications nobody has acted on yet
        select(func.count()).select_from(N.outerjoin(R, and_(R.c.notification_id == N.c.id,
                                                             R.c.user_id == N.c.user_id)))
        .where(N.c.user_id.is_not(None), R.c.user_id.is_(None), unexpired(now))
    ).scalar_one()
    receipts = connection.execute(select(func.count(), func.count(R.c.read_at), func.count(R.c.dismissed_at))).one()
    latest = [Notification.from_row(row).to_dict()
              for row in connection.execute(select(N).order_by(N.c.id.desc()).limit(recent))]
    return {
        "total_notifications": int(totals[0]),
        "total_users": int(totals[1]),
        "by_type": grouped(N.c.type),
        "by_priority": grouped(N.c.priority),
        "by_user": grouped(N.c.user_id, limit=TOP_USERS),
        "by_role": grouped(N.c.role),
        "by_target": {"user": int(totals[2] or 0), "role": int(totals[3] or 0), "broadcast": int(totals[4] or 0)},
        "unread_personal": int(unread),
        "expired_pending": int(totals[5] or 0),
        "receipts": {"total": int(receipts[0]), "read": int(receipts[1]), "dismissed": int(receipts[2])},
        "recent": latest,
    }
