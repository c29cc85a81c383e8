"""Request-model types for hostile input: text without NUL, JSON objects whose text a database can store, and
times that convert to UTC. A refused value answers 422 naming the parameter (see app.asgi.add_validation_errors)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, ValidationInfo

from services.checks import check_json, check_text, safe_time


def _text(value: str) -> str:
    return check_text(value, "", _reason)


def _json(value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    check_json(value, info.field_name or "", _reason)  # the message leads with the path: data.items[2].name
    return value


def _time(value: datetime) -> datetime:
    return safe_time(value, "", _reason)


def _reason(field: str, reason: str) -> ValueError:
    # pydantic names the parameter in `loc`; inside a JSON object the path leads the message too
    return ValueError(f"{field}: {reason}" if field else reason)


Text = Annotated[str, AfterValidator(_text)]
"""A string a database can store (no NUL, no lone surrogate)."""
JsonObject = Annotated[dict[str, Any], AfterValidator(_json)]
"""A JSON object whose keys and strings a database can store."""
UtcTime = Annotated[datetime, AfterValidator(_time)]
"""A time with a UTC equivalent (naive means UTC), converted to UTC."""
