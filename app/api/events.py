"""Event bus over REST: publish (admin, system) and search history (admin)."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from app.api.deps import ADMIN, ADMIN_OR_SYSTEM, MAX_OFFSET, PublishLimit, role_guard
from app.api.inputs import Text, UtcTime
from app.api.legacy import both_forms, from_either_form, stamped
from app.security import Auth
from app.settings import Settings, load_settings
from services.events import EventRejected, EventSystem, EventValidationError, emitted_by_platform, reactions
from services.users import Principal


class PublishRequest(BaseModel):
    event_type: str = Field(min_length=1, max_length=100, examples=["resource.distributed"])
    data: dict[str, Any] = Field(default_factory=dict, examples=[{"human_id": "alice", "amount": 800}])
    source: str = Field("api", min_length=1, max_length=100)
    correlation_id: str | None = Field(None, max_length=36)


def publish_limit(settings: Settings) -> PublishLimit:
    return PublishLimit(settings.event_publish_rate, settings.event_publish_burst, settings.event_publish_bytes_rate,
                        settings.event_publish_bytes_burst)


def router(auth: Auth, events: EventSystem, limit: PublishLimit | None = None) -> APIRouter:
    publisher = Annotated[Principal, Depends(role_guard(auth, ADMIN_OR_SYSTEM))]
    admin = Annotated[Principal, Depends(role_guard(auth, ADMIN))]
    api = APIRouter(prefix="/api/v1/realtime/events", tags=["events"])
    # The caller (app.web) passes no settings here: the limits come from the same environment main.py read.
    limits = limit or publish_limit(load_settings())

    @api.post("/publish", status_code=status.HTTP_201_CREATED, openapi_extra=both_forms(PublishRequest), responses={
        403: {"description": "An event type the platform emits about itself, or a role that may not publish"},
        429: {"description": "Over the account's publish rate", "headers": {"Retry-After": {
            "description": "seconds until the account may publish again", "required": True,
            "schema": {"type": "integer"}}}}})
    async def publish(
        caller: publisher, request: Request, raw: Annotated[dict[str, Any], Body()],
        event_type: Annotated[str | None, Query(max_length=100, deprecated=True,
                                                description="original form: with the JSON body as the data")] = None,
        source: Annotated[str | None, Query(max_length=100, deprecated=True)] = None,
        correlation_id: Annotated[str | None, Query(max_length=36, deprecated=True)] = None,
    ) -> dict[str, Any]:
        """Publish `{event_type, data, source, correlation_id}` (or, in the original system's form,
        `?event_type=…&source=…&correlation_id=…` with the JSON body as the data); answers once it is stored
        durably. Events of the families the platform emits about itself (`system.*`, `metric.*`,
        `notification.*`, `user.*`) are refused with 403. Each account may publish
        `EVENT_PUBLISH_RATE` events and `EVENT_PUBLISH_BYTES_RATE` bytes per second (with bursts); beyond that the
        answer is 429 with `Retry-After`. `reactions` says what the event caused where that was limited (a fan-out
        to members capped or skipping unknown accounts)."""
        body = from_either_form(PublishRequest, raw, {"event_type": event_type, "source": source,
                                                       "correlation_id": correlation_id})
        if emitted_by_platform(body.event_type):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"{body.event_type!r} is an event the platform emits about itself; it cannot be "
                                f"published through the API")
        limits.check(caller.username, len(await request.body()))  # the body FastAPI has read already
        try:
            with reactions() as caused:
                event = await events.publish(body.event_type, body.data, body.source, body.correlation_id,
                                             user_id=caller.username, durable=True)
        except EventValidationError as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
        except EventRejected as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"event rejected: {error.reason}") from None
        return stamped({**event.to_dict(), "reactions": caused} if caused else event.to_dict())

    @api.get("/history")
    async def history(
        _: admin,
        event_type: Text | None = None,
        source: Text | None = None,
        correlation_id: Text | None = None,
        since: UtcTime | None = None,
        until: UtcTime | None = None,
        q: Annotated[Text | None, Query(max_length=200, description="free text searched in event data")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> dict[str, Any]:
        filters: dict[str, Any] = {"event_type": event_type, "source": source, "correlation_id": correlation_id,
                                   "since": since, "until": until, "text": q}
        found = await events.get_event_history(limit=limit, offset=offset, **filters)
        total = await events.count_event_history(**filters)
        return {"events": [e.to_dict() for e in found], "total_count": total, "limit": limit, "offset": offset}

    return api
