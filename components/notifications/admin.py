"""The Notifications tab of /admin: send a notification, send a system alert, live statistics, cleanup now."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from nicegui import Event as UiEvent
from nicegui import ui

from components.common.guard import Authorize, always
from components.notifications.scheduled import ScheduledList, ScheduleSource
from components.notifications.stats import PRIORITIES, STATS_THROTTLE, Cleanup, NotificationStats
from services.models import Role
from services.notifications import (
    ALERT_LEVELS,
    MAX_ACTIONS,
    TEMPLATES,
    NotificationError,
    NotificationType,
    check_text,
    field_errors,
    render_template,
)
from theme import section_heading, toast

log = logging.getLogger(__name__)

CHANNELS = ["system", "truth", "mesh", "resources", "communities", "dashboard", "admin"]
TOGGLE = "no-caps dense unelevated toggle-color=primary toggle-text-color=black color=dark text-color=white"
"""Black on cyan when chosen, white on the dark surface when not: both far above WCAG AA."""
FIELD = "dense outlined stack-label"
"""Labels stay above the field, so they never sit on a placeholder (the template defaults, the examples)."""


class NotificationAdminSource(Protocol):
    """What the tab needs from the notification service."""

    @property
    def send(self) -> Callable[..., Awaitable[dict[str, Any]]]:
        """The service's `send` (keyword arguments as in POST /api/v1/notifications/send)."""

    async def alert(self, title: str, message: str, alert_level: str = ..., data: dict[str, Any] | None = ...,
                    target_channel: str = ..., *, correlation_id: str | None = ...,
                    durable: bool = ..., sent_by: str | None = ...) -> dict[str, Any]: ...
    async def get_notification_stats(self) -> dict[str, Any]: ...
    async def sweep(self) -> dict[str, int]: ...
    async def get_trace(self, notification_id: str, user_id: str, *, role: str | None = ...,
                        admin: bool = ...) -> dict[str, Any] | None: ...

    @property
    def scheduled(self) -> ScheduledSource:
        """Sends stored now and delivered later."""


class ScheduledSource(ScheduleSource, Protocol):
    async def schedule(self, request: dict[str, Any], deliver_at: datetime,
                       created_by: str) -> dict[str, Any]: ...


AccountCheck = Callable[[str], Awaitable[bool]]


async def notification_admin(source: NotificationAdminSource, account_active: AccountCheck,
                             events: UiEvent[dict[str, Any]], authorize: Authorize = always, *,
                             username: str = "admin") -> None:
    """Draw the tab; the statistics follow `events` (every published event) for as long as the tab is open."""
    with ui.element("div").classes("w-full grid gap-4 grid-cols-1 lg:grid-cols-[3fr_2fr]"):
        with ui.card().classes("neon-card w-full min-w-0"):
            section_heading("Send a notification")
            form = SendForm(source, account_active, authorize, username=username)
        with ui.column().classes("w-full min-w-0 gap-4"):
            with ui.card().classes("neon-card w-full"):
                section_heading("System alert")
                AlertForm(source, authorize, username=username)
            with ui.card().classes("neon-card w-full"):
                section_heading("Scheduled")
                scheduled = ScheduledList(source.scheduled, authorize)
                form.on_scheduled = scheduled.refresh
            with ui.card().classes("neon-card w-full"):
                section_heading("Cleanup")
                Cleanup(source, authorize)
    with ui.card().classes("neon-card w-full"):
        section_heading("Statistics")
        stats = NotificationStats(source.get_notification_stats, throttle=STATS_THROTTLE,
                                  trace=lambda nid: source.get_trace(nid, username, admin=True), authorize=authorize)
    events.subscribe(stats.on_event)  # inside the page: the subscription ends with the tab
    await stats.refresh()
    await scheduled.refresh()


class SendForm:
    """Target, type, priority, words, up to three actions and expiry; every bad field says what is wrong."""

    def __init__(self, source: NotificationAdminSource, account_active: AccountCheck,
                 authorize: Authorize = always, *, username: str = "admin") -> None:
        self.source = source
        self.account_active = account_active
        self.authorize = authorize
        self.sender = username
        self.on_scheduled: Callable[[], Awaitable[None]] | None = None
        self.rows: list[ActionRow] = []
        with ui.column().classes("w-full gap-3") as self.root:
            with ui.row().classes("w-full items-start gap-2"):
                self.target = ui.toggle({"user": "User", "role": "Role", "broadcast": "Everyone"}, value="user",
                                        on_change=self._show_target).props(TOGGLE).mark("send-target")
                self.username = ui.input("Username").props(f"{FIELD} autocapitalize=none") \
                    .classes("flex-1 min-w-[12rem]").mark("send-user")
                self.role = ui.select([r.value for r in Role], value=Role.USER.value, label="Role") \
                    .props(FIELD).classes("flex-1 min-w-[10rem]").mark("send-role")
            with ui.row().classes("w-full items-start gap-2"):
                self.kind = ui.select([t.value for t in NotificationType], value=NotificationType.INFO.value,
                                      label="Type", on_change=self._show_template).props(FIELD) \
                    .classes("flex-1 min-w-[12rem]").mark("send-type")
                self.priority = ui.number("Priority 1–5", precision=0).props(f"{FIELD} clearable") \
                    .classes("flex-1 min-w-[12rem]").mark("send-priority")
            self.title = ui.input("Title").props(f'{FIELD} counter maxlength=200') \
                .classes("w-full").mark("send-title")
            self.message = ui.textarea("Message").props(f"{FIELD} autogrow").classes("w-full").mark("send-message")
            self.data = ui.input("Data (JSON object, optional)", placeholder='e.g. {"amount": 800}') \
                .props(FIELD).classes("w-full mono").mark("send-data")
            with ui.row().classes("w-full items-center gap-2"):
                ui.label("Actions").classes("text-body")
                self.actions_hint = ui.label().classes("text-caption muted").props("role=status")
                self.add_button = ui.button("Add action", icon="add", on_click=self.add_action) \
                    .props("flat dense color=primary").classes("ml-auto").mark("send-add-action")
            self.actions = ui.column().classes("w-full gap-3")
            self.actions_error = ui.label().classes("danger-text text-caption").props("role=alert") \
                .mark("send-actions-error")
            with ui.row().classes("w-full items-start gap-2"):
                self.expiry = ui.toggle({"none": "No expiry", "ttl": "Expire after", "at": "Expire at"},
                                        value="none", on_change=self._show_expiry).props(TOGGLE) \
                    .mark("send-expiry")
                self.ttl = ui.number("Minutes", precision=0).props(FIELD).classes("flex-1 min-w-[12rem]") \
                    .mark("send-ttl")
                self.expires_at = ui.input("At (UTC)", placeholder="YYYY-MM-DD HH:MM").props(FIELD) \
                    .classes("flex-1 min-w-[12rem]").mark("send-expires-at")
            with ui.row().classes("w-full items-start gap-2"):
                self.when = ui.toggle({"now": "Send now", "later": "Deliver at"}, value="now",
                                      on_change=self._show_when).props(TOGGLE).mark("send-when")
                self.deliver_at = ui.input("Deliver at (UTC)", placeholder="YYYY-MM-DD HH:MM").props(FIELD) \
                    .classes("flex-1 min-w-[12rem]").mark("send-deliver-at")
            self.no_digest = ui.checkbox("Don't digest: push it now even if the person collects this type") \
                .mark("send-no-digest")
            with ui.row().classes("w-full items-center gap-3"):
                ui.button("Send", icon="send", on_click=self.send).props("unelevated color=primary") \
                    .mark("send-run")
                self.result = ui.label().classes("text-technical wrap-anywhere min-w-0 flex-1") \
                    .props("role=status").mark("send-result")
        self._show_target()
        self._show_template()
        self._show_expiry()
        self._show_when()

    def add_action(self) -> None:
        if len(self.rows) >= MAX_ACTIONS:
            return
        with self.actions:
            self.rows.append(ActionRow(len(self.rows), self._remove_action))
        self._show_template()

    async def send(self) -> None:
        """Check every field, then send through the service (which checks again) and show the new id."""
        if not await self.authorize():
            return
        self._clear_errors()
        request, errors = self._request()
        if request.get("user_id") and "user_id" not in errors and not await self.account_active(request["user_id"]):
            errors["user_id"] = f"There is no active account named {request['user_id']}."
        deliver_at = request.pop("deliver_at", None)
        if not errors and deliver_at is not None:
            await self._schedule(request, deliver_at)
            return
        if not errors:
            try:
                sent = await self.source.send(**request, durable=True, sent_by=self.sender)
            except NotificationError as error:
                errors[error.field] = error.reason
            except Exception:  # the database is away: the admin must know the notification did not go out
                log.warning("sending a notification from the admin panel failed", exc_info=True)
                self._failed("Sending failed: the server could not store it; nothing was sent.")
                return
            else:
                self.result.set_text(f"sent · id {sent['id']} · to {sent['channel']}")
                with self.root:
                    toast(f"Notification sent: {sent['title']}")
                self._clear_form()
                return
        for field, reason in errors.items():
            self._error(field, in_words(field, reason))
        self._failed(_not_sent(len(errors)))

    async def _schedule(self, request: dict[str, Any], deliver_at: datetime) -> None:
        try:
            scheduled = await self.source.scheduled.schedule(
                {k: v for k, v in request.items() if v is not None}, deliver_at, self.sender)
        except NotificationError as error:
            self._error("deliver_at" if error.field == "deliver_at" else error.field,
                        in_words(error.field, error.reason))
            self._failed(_not_sent(1))
            return
        except Exception:
            log.warning("scheduling a notification from the admin panel failed", exc_info=True)
            self._failed("Scheduling failed: the server could not store it; nothing was scheduled.")
            return
        self.result.set_text(f"scheduled · {scheduled['deliver_at']} · to {scheduled['target']}")
        with self.root:
            toast(f"Scheduled: {scheduled['title']}")
        self._clear_form()
        if self.on_scheduled is not None:
            await self.on_scheduled()

    def _request(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The keyword arguments of `send`, and the problems found on the way (field → reason)."""
        errors: dict[str, str] = {}
        target = self.target.value
        request: dict[str, Any] = {"notification_type": self.kind.value}
        if target == "user":
            request["user_id"] = (self.username.value or "").strip() or None
        elif target == "role":
            request["role"] = self.role.value
        else:
            request["broadcast"] = True
        request["priority"] = _integer(self.priority.value)
        request["title"] = self.title.value or None  # blank: the template's words
        request["message"] = self.message.value or None
        text = (self.data.value or "").strip()
        if text:
            try:
                request["data"] = json.loads(text)
            except json.JSONDecodeError as error:
                errors["data"] = f"This is not valid JSON: {error.msg.lower()} at column {error.colno}."
        actions = [row.value() for row in self.rows if not row.blank]
        request["actions"] = actions or None  # none given: the template's buttons
        if self.expiry.value == "ttl":
            minutes = self.ttl.value
            request["ttl_seconds"] = minutes * 60 if isinstance(minutes, int | float) else None
            if request["ttl_seconds"] is None:
                errors["ttl_seconds"] = "Enter the number of minutes."
        elif self.expiry.value == "at":
            try:
                request["expires_at"] = _parse_utc(self.expires_at.value or "")
            except ValueError:
                errors["expires_at"] = "Write the time as YYYY-MM-DD HH:MM (UTC)."
        checked = field_errors(datetime.now(UTC), **{k: v for k, v in request.items() if k not in errors})
        if self.no_digest.value:
            request["digest"] = False
        if self.when.value == "later":
            try:
                request["deliver_at"] = _parse_utc(self.deliver_at.value or "")
            except ValueError:
                errors["deliver_at"] = "Write the time as YYYY-MM-DD HH:MM (UTC)."
        return request, checked | errors

    def _error(self, field: str, reason: str) -> None:
        element = self._field(field)
        if element is None:
            self.actions_error.set_text(reason)
        else:
            _set_props(element, error=True, **{"error-message": reason})

    def _failed(self, text: str) -> None:
        self.result.set_text(text)
        self.result.classes(add="danger-text")

    def _field(self, field: str) -> ui.element | None:
        if field.startswith("actions["):
            index, _, part = field.removeprefix("actions[").partition("]")
            rows = [row for row in self.rows if not row.blank]
            if index.isdigit() and int(index) < len(rows):
                return rows[int(index)].field(part.lstrip("."))
            return None
        who = self.username if self.target.value == "user" else self.role
        return {"target": who, "user_id": self.username, "role": self.role, "notification_type": self.kind,
                "priority": self.priority, "title": self.title, "message": self.message, "data": self.data,
                "ttl_seconds": self.ttl, "expires_at": self.expires_at, "deliver_at": self.deliver_at}.get(field)

    def _clear_errors(self) -> None:
        for element in (self.username, self.role, self.kind, self.priority, self.title, self.message, self.data,
                        self.ttl, self.expires_at, self.deliver_at, *(f for row in self.rows for f in row.fields)):
            element.props(remove="error error-message")
        self.actions_error.set_text("")
        self.result.set_text("")
        self.result.classes(remove="danger-text")

    def _clear_form(self) -> None:
        """Ready for the next notification: the words, actions and expiry go; who and what kind stay chosen."""
        for text in (self.username, self.title, self.message, self.data, self.expires_at, self.deliver_at):
            text.set_value("")
        self.priority.set_value(None)
        self.ttl.set_value(None)
        for row in list(self.rows):
            self._remove_action(row)
        self.expiry.set_value("none")
        self.when.set_value("now")
        self.no_digest.set_value(False)

    def _show_target(self) -> None:
        self.username.set_visibility(self.target.value == "user")
        self.role.set_visibility(self.target.value == "role")

    def _show_expiry(self) -> None:
        self.ttl.set_visibility(self.expiry.value == "ttl")
        self.expires_at.set_visibility(self.expiry.value == "at")

    def _show_when(self) -> None:
        self.deliver_at.set_visibility(self.when.value == "later")

    def _show_template(self) -> None:
        """The type's defaults appear as placeholders: what is sent when a field is left blank."""
        kind = NotificationType(self.kind.value)
        template = TEMPLATES[kind]
        title, message = render_template(kind, {})
        # Set as values (a props string would mangle emoji and quotes); "default:" tells them from typed text.
        _set_props(self.title, placeholder=f"default: {title}")
        _set_props(self.message, placeholder=f"default: {message}")
        _set_props(self.priority, placeholder=f"default: {int(template.priority)} · {PRIORITIES[template.priority]}")
        if self.rows:
            self.actions_hint.set_text(f"{len(self.rows)} of at most {MAX_ACTIONS}")
        else:
            defaults = ", ".join(label for label, _ in template.actions) or "none"
            self.actions_hint.set_text(f"template buttons: {defaults}")
        self.add_button.set_enabled(len(self.rows) < MAX_ACTIONS)

    def _remove_action(self, row: ActionRow) -> None:
        self.rows.remove(row)
        self.actions.remove(row.element)
        for index, other in enumerate(self.rows):
            other.renumber(index)
        self._show_template()


class ActionRow:
    """One action of the form: label, action id and an optional URL."""

    def __init__(self, index: int, on_remove: Callable[[ActionRow], None]) -> None:
        # Two fields a line, so a field's error message fits under it.
        with ui.element("div").classes("w-full grid grid-cols-[minmax(0,1fr)_auto] "
                                       "sm:grid-cols-[minmax(0,1fr)_minmax(0,1fr)_auto] gap-x-2 gap-y-3") \
                as self.element:
            self.label = ui.input("Label").props(f"{FIELD} maxlength=40").classes("min-w-0")
            self.action = ui.input("Action id", placeholder="e.g. open_offer").props(FIELD) \
                .classes("min-w-0 col-start-1 row-start-2 sm:col-start-auto sm:row-start-auto")
            self.remove = ui.button(icon="close", on_click=lambda: on_remove(self)) \
                .props('flat round dense color=primary aria-label="Remove this action"') \
                .classes("self-start mt-1 col-start-2 row-start-1 sm:col-start-auto")
            self.url = ui.input("URL (optional)", placeholder="/ or https://…").props(FIELD) \
                .classes("min-w-0 col-start-1 sm:col-span-2")
        self.fields = (self.label, self.action, self.url)
        self.renumber(index)

    @property
    def blank(self) -> bool:
        return not any((f.value or "").strip() for f in self.fields)

    def value(self) -> dict[str, str]:
        action = {"label": self.label.value or "", "action": (self.action.value or "").strip()}
        if (self.url.value or "").strip():
            action["url"] = self.url.value.strip()
        return action

    def field(self, part: str) -> ui.input:
        return {"action": self.action, "url": self.url}.get(part, self.label)

    def renumber(self, index: int) -> None:
        for name, element in zip(("label", "id", "url", "remove"), (*self.fields, self.remove), strict=True):
            element.mark(f"send-action-{index}-{name}")


class AlertForm:
    """Title, message, level (→ priority) and the channel the alert is pushed on; stored for every admin."""

    def __init__(self, source: NotificationAdminSource, authorize: Authorize = always, *,
                 username: str = "admin") -> None:
        self.source = source
        self.authorize = authorize
        self.sender = username
        with ui.column().classes("w-full gap-3") as self.root:
            self.title = ui.input("Title").props(f"{FIELD} maxlength=200").classes("w-full").mark("alert-title")
            self.message = ui.textarea("Message").props(f"{FIELD} autogrow").classes("w-full") \
                .mark("alert-message")
            with ui.row().classes("w-full items-start gap-2"):
                levels = {level: f"{level} · priority {int(p)}" for level, p in ALERT_LEVELS.items()}
                self.level = ui.select(levels, value="warning", label="Level").props(FIELD) \
                    .classes("flex-1 min-w-[11rem]").mark("alert-level")
                self.channel = ui.select(CHANNELS, value="system", label="Channel", with_input=True,
                                         new_value_mode="add-unique").props(FIELD) \
                    .classes("flex-1 min-w-[9rem]").mark("alert-channel")
            with ui.row().classes("w-full items-center gap-3"):
                ui.button("Send alert", icon="campaign", on_click=self.send).props("unelevated color=secondary") \
                    .mark("alert-run")
                self.result = ui.label().classes("text-technical wrap-anywhere min-w-0 flex-1") \
                    .props("role=status").mark("alert-result")

    async def send(self) -> None:
        if not await self.authorize():
            return
        fields = {"title": self.title, "message": self.message, "alert_level": self.level,
                  "target_channel": self.channel}
        for element in fields.values():
            element.props(remove="error error-message")
        self.result.set_text("")
        self.result.classes(remove="danger-text")
        errors: dict[str, str] = {}
        for name, element in (("title", self.title), ("message", self.message)):
            try:
                check_text(name, element.value or "", 200 if name == "title" else 2000)
            except NotificationError as error:
                errors[name] = error.reason
        if not errors:
            try:
                sent = await self.source.alert(self.title.value, self.message.value, self.level.value, None,
                                               self.channel.value or "", durable=True, sent_by=self.sender)
            except NotificationError as error:
                errors[error.field] = error.reason
            else:
                self.result.set_text(f"alert sent · id {sent['id']} · priority {sent['priority']} "
                                     f"· #{self.channel.value}")
                with self.root:
                    toast(f"Alert sent: {sent['title']}")
                self.title.set_value("")
                self.message.set_value("")
                return
        for name, reason in errors.items():
            words = f"Write the alert's {name}." if reason == "must not be empty" else in_words(name, reason)
            _set_props(fields.get(name, self.title), error=True, **{"error-message": words})
        self.result.set_text(_not_sent(len(errors), "alert"))
        self.result.classes(add="danger-text")


WORDS: tuple[tuple[str, str, str], ...] = (
    # (field, or "" for any; the reason's start; what the form says)
    ("target", "give exactly one", "Choose who receives it: a user, a role, or everyone."),
    ("user_id", "must be a username", "Usernames are 1 to 64 characters."),
    ("priority", "must be an integer", "Use a whole number from 1 (low) to 5 (emergency), or leave it blank."),
    ("title", "must not be empty", "Write a title, or clear the field to use the template's."),
    ("message", "must not be empty", "Write a message, or clear the field to use the template's."),
    ("data", "must be a JSON object", 'Write a JSON object, such as {"amount": 800}.'),
    ("actions", "action ids must be distinct", "Give each button its own action id."),
    ("actions", "at most", f"At most {MAX_ACTIONS} buttons."),
    ("ttl_seconds", "must be more than 0", "Use more than 0 minutes and at most ten years."),
    ("expires_at", "give expires_at or ttl_seconds", "Choose one kind of expiry."),
    ("target_channel", "must be 1-64", "Use 1 to 64 letters, digits or _ . : @ -"),
    (".label", "must not be empty", "Give the button a label."),
    (".action", "must be 1-", "Use 1 to 64 letters, digits or _ . : - (no spaces)."),
    (".url", "must start with", "Start with https://, http:// or / (a page of this site)."),
    (".url", "must be a URL", "Use a web address without spaces, at most 2,000 characters."),
    ("", "is in the past", "That time has passed: choose a later one."),
    ("", "is out of range", "Choose a time within the next few thousand years."),
    ("", "must not contain NUL", "Remove the invisible NUL characters."),
)
"""The service's checks speak the API's language (field names, `broadcast=true`); the form speaks the person's."""
_LONGER = re.compile(r"is (\d+) characters, longer than (\d+)")
_BYTES = re.compile(r"JSON is (\d+) bytes, over the (\d+)-byte limit")


def in_words(field: str, reason: str) -> str:
    """What a check's `reason` for `field` means, said to the person filling in the form."""
    if found := _LONGER.search(reason):
        return f"Too long: {int(found[1]):,} characters, at most {int(found[2]):,}."
    if found := _BYTES.search(reason):
        return f"Too much data: {int(found[1]):,} bytes, at most {int(found[2]):,}."
    for where, start, words in WORDS:
        if not where:
            if start in reason:
                return words
        elif (field == where or (where.startswith(".") and field.endswith(where))) and reason.startswith(start):
            return words
    return reason[:1].upper() + reason[1:]


def _not_sent(problems: int, what: str = "notification") -> str:
    fields = "the marked field" if problems == 1 else f"the {problems} marked fields"
    return f"The {what} was not sent: see {fields}."


def _set_props(element: ui.element, **props: object) -> None:
    element.props.update(props)
    element.update()


def _integer(value: object) -> object:
    """A whole number typed into a number field as an int; anything else unchanged (the checks explain it)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _parse_utc(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
