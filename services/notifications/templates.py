"""Notification vocabulary and templates: types, priorities, alert levels and safe rendering.

Templates use a tiny syntax of their own instead of `str.format`: `{name}`, `{name:money}` (→ `$800.00`),
`{name:short}` (first 100 characters, "..." only when cut) and `{name|fallback text}` for a missing field. Only the
template text is parsed; values from `data` are inserted verbatim and never parsed again, so user text such as
`{data.__class__}`, `{0.__init__}`, `%s` or `${amount}` comes out exactly as written and nothing is looked up on
an object.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any


class NotificationType(StrEnum):
    RESOURCE_DISTRIBUTION = "resource_distribution"
    TRUTH_UPDATE = "truth_update"
    MESH_NETWORK_CHANGE = "mesh_network_change"
    SYSTEM_ALERT = "system_alert"
    USER_ACTION = "user_action"
    WELCOME = "welcome"
    WARNING = "warning"
    ERROR = "error"
    SUCCESS = "success"
    INFO = "info"


class NotificationPriority(IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4
    EMERGENCY = 5


ALERT_LEVELS: dict[str, NotificationPriority] = {
    "info": NotificationPriority.LOW,
    "warning": NotificationPriority.MEDIUM,
    "error": NotificationPriority.HIGH,
    "critical": NotificationPriority.CRITICAL,
    "emergency": NotificationPriority.EMERGENCY,
}
"""Alert level → priority (DESIGN.md §3)."""

MAX_VALUE_LENGTH = 500  # one substituted value; keeps a rendered message bounded whatever data holds
SHORT_LENGTH = 100


@dataclass(slots=True, frozen=True)
class Template:
    title: str
    message: str
    priority: NotificationPriority
    actions: tuple[tuple[str, str], ...] = ()  # (label, action id)

    def default_actions(self) -> list[dict[str, str]]:
        return [{"label": label, "action": action} for label, action in self.actions]


P = NotificationPriority
TEMPLATES: dict[NotificationType, Template] = {
    NotificationType.RESOURCE_DISTRIBUTION: Template(
        "💰 Resource Distribution", "You received {amount:money|funds} from the Liberation System", P.MEDIUM,
        (("View Details", "view_transaction"), ("Thank You", "acknowledge"))),
    NotificationType.TRUTH_UPDATE: Template(
        "🌐 Truth Network Update", "New truth message spreading: {message:short|(no text)}", P.MEDIUM,
        (("Spread Truth", "spread_truth"), ("View Details", "view_truth"))),
    NotificationType.MESH_NETWORK_CHANGE: Template(
        "🔗 Mesh Network Status", "Network topology changed: {change_type|unknown change}", P.LOW,
        (("View Network", "view_mesh"),)),
    NotificationType.SYSTEM_ALERT: Template(
        "⚠️ System Alert", "System status: {status|unknown}", P.HIGH, (("Check Status", "check_system"),)),
    NotificationType.WELCOME: Template(
        "🎉 Welcome to Liberation System",
        "Your registration is complete. You're now part of the $19T transformation.", P.MEDIUM,
        (("Get Started", "onboarding"), ("Learn More", "learn_more"))),
    NotificationType.USER_ACTION: Template(
        "👤 Action Needed", "{message|Something is waiting for your response.}", P.MEDIUM,
        (("Respond", "respond"), ("Later", "later"))),
    NotificationType.WARNING: Template(
        "⚠️ Warning", "{message|Something needs your attention.}", P.MEDIUM, (("Acknowledge", "acknowledge"),)),
    NotificationType.ERROR: Template(
        "❌ Error", "{message|Something went wrong.}", P.HIGH, (("View Details", "view_details"),)),
    NotificationType.SUCCESS: Template("✅ Success", "{message|Done.}", P.LOW),
    NotificationType.INFO: Template("ℹ️ Information", "{message|There is news for you.}", P.LOW),
}


def render(template_text: str, data: Mapping[str, Any]) -> str:
    """Fill the placeholders of one template text from `data` (see the module docstring)."""
    parts = _compiled(template_text)
    if len(parts) == 1 and isinstance(parts[0], str):
        return parts[0]
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        else:
            name, kind, fallback = part
            value = data.get(name)
            text = _FORMATTERS[kind](value) if value is not None else None
            out.append(text if text is not None else fallback)
    return "".join(out)


def render_template(notification_type: NotificationType, data: Mapping[str, Any]) -> tuple[str, str]:
    """The template's title and message for `data`."""
    template = TEMPLATES[notification_type]
    return render(template.title, data), render(template.message, data)


def format_money(value: Any) -> str | None:
    """`$800.00`, `$1,250.50`, `-$5.00`; None for anything that is not a finite number."""
    number = _number(value)
    if number is None:
        return None
    sign = "-" if number < 0 else ""
    return f"{sign}${abs(number):,.2f}"


def format_number(value: Any) -> str | None:
    """A number without noise: 90 → `90`, 91.456 → `91.46`; None for a non-number."""
    number = _number(value)
    if number is None:
        return None
    return f"{number:,.2f}".rstrip("0").rstrip(".")


def shorten(text: str, limit: int = SHORT_LENGTH) -> str:
    """The first `limit` characters, with "..." only when something was cut."""
    return text if len(text) <= limit else text[:limit].rstrip() + "..."


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, int | float):
        text = format_number(value) or str(value)
    else:
        return None  # lists and objects make poor prose: use the fallback
    text = text.strip()
    return shorten(text, MAX_VALUE_LENGTH) if text else None


def _short(value: Any) -> str | None:
    text = _text(value)
    return shorten(text) if text is not None else None


_FORMATTERS: dict[str, Callable[[Any], str | None]] = {"": _text, "money": format_money, "short": _short}
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)(?::([a-z]+))?(?:\|([^{}|]*))?\}")
Part = str | tuple[str, str, str]
_CACHE: dict[str, list[Part]] = {}


def _compiled(template_text: str) -> list[Part]:
    """Split a template once into literal text and (name, kind, fallback) placeholders."""
    parts = _CACHE.get(template_text)
    if parts is not None:
        return parts
    parts = []
    position = 0
    for match in _PLACEHOLDER.finditer(template_text):
        name, kind, fallback = match.group(1), match.group(2) or "", match.group(3)
        if kind not in _FORMATTERS:
            raise ValueError(f"unknown placeholder format {kind!r} in template {template_text!r}")
        parts.append(template_text[position:match.start()])
        parts.append((name, kind, fallback if fallback is not None else f"(no {name.replace('_', ' ')})"))
        position = match.end()
    parts.append(template_text[position:])
    parts = [part for part in parts if part != ""]
    if len(_CACHE) < 256:  # templates are ours and few; the bound guards against a caller rendering free text
        _CACHE[template_text] = parts
    return parts or [""]
