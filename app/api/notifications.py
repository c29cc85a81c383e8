"""Notifications over REST: each caller's own inbox, and sending, alerts, stats and cleanup for admins."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.api.deps import ADMIN, ANYONE_SIGNED_IN, role_guard
from app.api.inputs import JsonObject, Text, UtcTime
from app.api.legacy import stamped
from app.security import Auth
from services.notifications import ActionTaken, NotificationError, NotificationService
from services.users import Principal

NOT_FOUND = "notification not found"


class SendRequest(BaseModel):
    """Exactly one target (`user_id`, `role` or `broadcast: true`); absent title/message use the type's template."""

    model_config = ConfigDict(extra="forbid")

    user_id: Text | None = Field(None, examples=["alice"])
    role: Text | None = Field(None, examples=["admin"])
    broadcast: bool = False
    notification_type: Text = Field(examples=["resource_distribution"])
    priority: int | None = Field(None, description="1 (low) to 5 (emergency); default from the template")
    title: Text | None = None
    message: Text | None = None
    data: JsonObject | None = Field(None, examples=[{"amount": 800}])
    actions: list[dict[str, Any]] | None = Field(
        None, description="up to 3 of {label, action, url?}", examples=[[{"label": "Open", "action": "open"}]])
    channel: Text | None = None
    expires_at: datetime | None = Field(None, description="UTC when naive; must be in the future")
    ttl_seconds: float | None = Field(None, description="instead of expires_at")
    deliver_at: UtcTime | None = Field(None, description="deliver later (UTC when naive): stored now as "
                                                          "scheduled, delivered then by the leader, cancellable")
    digest: bool = Field(True, description="false: never collected into the person's digest of this type")


class QuietHoursBody(BaseModel):
    """A daily window on the person's wall clock; `end` before `start` runs across midnight."""

    model_config = ConfigDict(extra="forbid")

    start: Text = Field(max_length=8, examples=["22:00"], description="HH:MM or HH:MM:SS")
    end: Text = Field(max_length=8, examples=["07:00"])
    timezone: Text = Field("UTC", max_length=64, examples=["Europe/Berlin"], description="an IANA time zone")


class PreferencesBody(BaseModel):
    """The whole set (PUT replaces it): a type left out stays on."""

    model_config = ConfigDict(extra="forbid")

    types: dict[Text, bool] = Field(default_factory=dict, max_length=20,
                                    examples=[{"truth_update": False, "mesh_network_change": False}],
                                    description="type → on/off; system_alert at critical or emergency is always on")
    min_priority: int = Field(1, description="1-5: below it, kept in the inbox without a live push or bell count")
    quiet_hours: QuietHoursBody | None = Field(None, description="null for none; during them only emergencies "
                                                                 "are pushed, and a summary follows their end")
    digest_seconds: dict[Text, int | None] = Field(
        default_factory=dict, max_length=20, examples=[{"resource_distribution": 900}],
        description="type → window in seconds (60 to 86400) or null: notifications of that type within the window "
                    "are collected into one inbox entry; system alerts, critical and emergency ones never are")


class AlertRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text
    message: Text
    alert_level: Text = Field("info", examples=["info", "warning", "error", "critical", "emergency"])
    target_channel: Text = Field("system", examples=["system", "truth", "mesh"])
    data: JsonObject | None = None


def routers(auth: Auth, notifications: NotificationService) -> tuple[APIRouter, APIRouter]:
    """The original system's doubled-prefix routes (include them first: `/notifications/notifications` must not be
    taken for a notification id), and ours."""
    reader = Annotated[Principal, Depends(role_guard(auth, ANYONE_SIGNED_IN))]
    admin = Annotated[Principal, Depends(role_guard(auth, ADMIN))]
    api = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
    legacy = APIRouter(prefix="/api/v1/notifications/notifications", tags=["notifications"])

    @api.get("")
    async def inbox(
        caller: reader,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        unread_only: bool = False,
        since: Annotated[str | None, Query(max_length=64, description="a notification id or an ISO-8601 time; "
                                                                      "only what arrived after it")] = None,
        before: Annotated[Text | None, Query(max_length=36, description="a notification id: the page of older "
                                                                        "ones (see has_more)")] = None,
        type: Annotated[list[Text] | None, Query(max_length=20, description="only these types (repeatable)")] = None,
        min_priority: Annotated[int | None, Query(ge=1, le=5, description="only this priority and above")] = None,
        q: Annotated[Text | None, Query(max_length=200, description="text in the title or message")] = None,
    ) -> dict[str, Any]:
        """Your notifications (yours, your role's, broadcasts), newest first, with the unread count; `has_more`
        says whether older ones match (ask again with `before` set to the last id)."""
        try:
            found = await notifications.get_inbox(caller.username, role=caller.role, limit=limit,
                                                  unread_only=unread_only, since=since, before=before,
                                                  types=type or (), min_priority=min_priority, text=q)
        except NotificationError as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
        return stamped({**found, "unread_only": unread_only})

    @legacy.get("", deprecated=True, summary="Inbox (original form)")
    async def legacy_inbox(caller: reader, limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                           unread_only: bool = False) -> dict[str, Any]:
        """The original `GET /api/v1/notifications/notifications`: your notifications, newest first."""
        try:
            found = await notifications.get_inbox(caller.username, role=caller.role, limit=limit,
                                                  unread_only=unread_only)
        except NotificationError as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
        return stamped({**found, "unread_only": unread_only})

    # Fixed paths before /{notification_id}, so "stats" is never taken for an id.
    @api.get("/preferences")
    async def preferences(caller: reader) -> dict[str, Any]:
        """Your preferences: types on or off, the minimum priority pushed live, quiet hours."""
        return await notifications.get_preferences(caller.username)

    @api.post("/digests/collapse")
    async def collapse_digests(caller: reader) -> dict[str, Any]:
        """Collapse your open digests now, each into one inbox entry (otherwise that happens when its window
        closes, or when you read one of its items)."""
        collapsed = await notifications.collapse_digests_of(caller.username)
        return stamped({"collapsed": collapsed, "unread_count": await _unread(caller)})

    @api.put("/preferences")
    async def set_preferences(body: PreferencesBody, caller: reader) -> dict[str, Any]:
        """Replace your preferences; every process applies them at once."""
        try:
            return await notifications.set_preferences(caller.username, body.model_dump())
        except NotificationError as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None

    @api.post("/read-all")
    async def read_all(caller: reader) -> dict[str, Any]:
        marked = await notifications.mark_all_read(caller.username, role=caller.role)
        return {"marked_count": marked, "unread_count": await _unread(caller)}

    @api.post("/send", status_code=status.HTTP_201_CREATED)
    async def send(body: SendRequest, caller: admin) -> dict[str, Any]:
        """Send to one user, a role or everyone; answers once the notification is stored. With `deliver_at`,
        answers `{scheduled_id, status: "scheduled", ...}` and delivers it then."""
        return await _send(body, caller)

    @legacy.post("/send", status_code=status.HTTP_201_CREATED, deprecated=True, summary="Send (original form)")
    async def legacy_send(
        caller: admin, data: JsonObject | None = None, user_id: Annotated[Text | None, Query(max_length=64)] = None,
        notification_type: Annotated[Text, Query(max_length=64)] = "info",
        title: Annotated[Text | None, Query(max_length=200)] = None,
        message: Annotated[Text | None, Query(max_length=2000)] = None,
        priority: Annotated[int | None, Query(ge=1, le=5)] = None,
    ) -> dict[str, Any]:
        """The original `POST .../notifications/send?user_id=&title=&message=&notification_type=&priority=`, with
        the JSON body as the notification's data."""
        fields: dict[str, Any] = {"user_id": user_id, "notification_type": notification_type, "title": title,
                                  "message": message, "priority": priority, "data": data}
        try:
            body = SendRequest(**{k: v for k, v in fields.items() if v is not None})
        except ValidationError as error:
            raise RequestValidationError(error.errors()) from None
        return await _send(body, caller)

    async def _send(body: SendRequest, caller: Principal) -> dict[str, Any]:
        # auth.active is the briefly cached account lookup every request already uses for its token
        if body.user_id is not None and await auth.active(body.user_id) is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"user_id: no active account named {body.user_id!r}")
        request = body.model_dump(exclude_unset=True)
        deliver_at = request.pop("deliver_at", None)
        try:
            if deliver_at is not None:
                return stamped(await notifications.scheduled.schedule(request, deliver_at, caller.username))
            sent = await notifications.send(**request, durable=True, sent_by=caller.username)
        except NotificationError as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
        return stamped({"notification_id": sent["id"], **sent})

    @api.get("/scheduled")
    async def scheduled(
        _: admin, status_: Annotated[Text | None, Query(alias="status", max_length=16,
                                                        description="scheduled, delivering, delivered, cancelled "
                                                                    "or failed")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """Scheduled sends, latest delivery time first."""
        try:
            found = await notifications.scheduled.listing(status=status_, limit=limit)
        except NotificationError as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
        return stamped({"scheduled": found, "count": len(found)})

    @api.delete("/scheduled/{scheduled_id}")
    async def cancel_scheduled(scheduled_id: Annotated[str, Path(max_length=36)], _: admin) -> dict[str, Any]:
        """Cancel a scheduled send before it is delivered (409 once delivered or cancelled)."""
        state = await notifications.scheduled.cancel(scheduled_id)
        if state == "missing":
            raise HTTPException(status.HTTP_404_NOT_FOUND, "scheduled send not found")
        if state is not None:
            raise HTTPException(status.HTTP_409_CONFLICT, f"this send is already {state}; it cannot be cancelled")
        return stamped({"scheduled_id": scheduled_id, "status": "cancelled"})

    @api.post("/system-alert", status_code=status.HTTP_201_CREATED)
    async def system_alert(body: AlertRequest, caller: admin) -> dict[str, Any]:
        """An alert for every admin, also pushed as `system_alert` on `target_channel`."""
        return await _alert(body, caller.username)

    @legacy.post("/system-alert", status_code=status.HTTP_201_CREATED, deprecated=True,
                 summary="System alert (original form)")
    async def legacy_alert(
        caller: admin, title: Annotated[Text, Query(max_length=200)],
        message: Annotated[Text, Query(max_length=2000)],
        data: JsonObject | None = None, alert_level: Annotated[Text, Query(max_length=16)] = "info",
        target_channel: Annotated[Text, Query(max_length=64)] = "system",
    ) -> dict[str, Any]:
        """The original `POST .../notifications/system-alert?title=&message=&alert_level=&target_channel=`, with the
        JSON body as the alert's data."""
        return await _alert(AlertRequest(title=title, message=message, alert_level=alert_level,
                                         target_channel=target_channel, data=data), caller.username)

    async def _alert(body: AlertRequest, sent_by: str) -> dict[str, Any]:
        try:
            sent = await notifications.alert(body.title, body.message, body.alert_level, body.data,
                                             body.target_channel, durable=True, sent_by=sent_by)
        except NotificationError as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
        return stamped({"notification_id": sent["id"], **sent})

    @api.get("/stats")
    async def stats(_: admin) -> dict[str, Any]:
        return stamped(await notifications.get_notification_stats())

    @api.post("/cleanup")
    async def cleanup(_: admin) -> dict[str, Any]:
        """Run the expiry sweep and history pruning now."""
        return stamped(dict(await notifications.sweep()))

    legacy.get("/stats", deprecated=True, summary="Statistics (original form)")(stats)
    legacy.post("/cleanup", deprecated=True, summary="Cleanup (original form)")(cleanup)

    @api.get("/{notification_id}")
    async def one(notification_id: str, caller: reader) -> dict[str, Any]:
        found = await notifications.get_notification(notification_id, caller.username, role=caller.role)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
        return found

    @api.get("/{notification_id}/trace")
    async def trace(notification_id: str, caller: reader) -> dict[str, Any]:
        """The notification's path in time order: its cause (event and rule, or who sent it), each recipient's
        preference decision, each replica's live delivery (WebSocket connections and browser views reached), and
        reads, actions and dismissals. Admins see any; a recipient sees their own notification and only their own
        steps. Kept NOTIFICATION_TRACE_DAYS."""
        found = await notifications.get_trace(notification_id, caller.username, role=caller.role,
                                              admin=caller.role == "admin")
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{NOT_FOUND}, or no trace of it is yours to see")
        return stamped(found)

    @api.post("/{notification_id}/read")
    async def read(notification_id: str, caller: reader) -> dict[str, Any]:
        if not await notifications.mark_notification_read(notification_id, caller.username, role=caller.role):
            raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
        return stamped({"notification_id": notification_id, "read": True, "unread_count": await _unread(caller)})

    legacy.post("/{notification_id}/read", deprecated=True, summary="Mark read (original form)")(read)

    @api.post("/{notification_id}/actions/{action}")
    async def act(notification_id: str, action: str, caller: reader) -> dict[str, Any]:
        """Take one of the notification's actions: recorded once (a second action answers 409 naming the first),
        publishes `user.action` and marks it read."""
        try:
            chosen = await notifications.perform_action(notification_id, caller.username, action, role=caller.role)
        except ActionTaken as taken:
            raise HTTPException(status.HTTP_409_CONFLICT, f"this notification was already answered with "
                                                          f"{taken.action!r}") from None
        if chosen is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{NOT_FOUND}, or it has no action {action!r}")
        return {"notification_id": notification_id, "action": chosen, "unread_count": await _unread(caller)}

    @api.delete("/{notification_id}")
    async def dismiss(notification_id: str, caller: reader) -> dict[str, Any]:
        if not await notifications.dismiss_notification(notification_id, caller.username, role=caller.role):
            raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
        return stamped({"notification_id": notification_id, "dismissed": True,
                        "unread_count": await _unread(caller)})

    legacy.delete("/{notification_id}", deprecated=True, summary="Dismiss (original form)")(dismiss)

    async def _unread(caller: Principal) -> int:
        return await notifications.unread_count(caller.username, role=caller.role)

    return legacy, api
