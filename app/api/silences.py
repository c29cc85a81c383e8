"""Alert silences over REST (admins): silence a rule or every rule on a metric for a while, list, end early."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import ADMIN, role_guard
from app.api.inputs import Text
from app.security import Auth
from services.metrics import MetricsService
from services.metrics.silences import SilenceError, Silences
from services.users import Principal


class CreateSilence(BaseModel):
    """Exactly one of `rule_id` or `metric_name` (every rule on that metric)."""

    model_config = ConfigDict(extra="forbid")

    rule_id: Text | None = Field(None, max_length=64, examples=["default-cpu-high"])
    metric_name: Text | None = Field(None, max_length=100, examples=["system_cpu_usage"])
    duration_seconds: float = Field(examples=[3600], description="60 (a minute) to 2592000 (30 days)")
    reason: Text = Field(max_length=500, examples=["planned maintenance of the ledger"])


def router(auth: Auth, silences: Silences, metrics: MetricsService) -> APIRouter:
    admin = Annotated[Principal, Depends(role_guard(auth, ADMIN))]
    api = APIRouter(prefix="/api/v1/metrics/silences", tags=["metrics"])

    @api.post("", status_code=status.HTTP_201_CREATED)
    async def create(body: CreateSilence, caller: admin) -> dict[str, Any]:
        """While silenced, the rule still evaluates and shows as firing, but no notification is sent."""
        if body.rule_id is not None and metrics.alerts.get(body.rule_id) is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"rule_id: no alert rule {body.rule_id!r}")
        if body.metric_name is not None and body.metric_name not in metrics.metrics:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"metric_name: no metric {body.metric_name!r}")
        try:
            silence = await silences.create(**body.model_dump(), created_by=caller.username)
        except SilenceError as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
        return silence.to_dict(silence.starts_at)

    @api.get("")
    async def listing(_: admin, include_ended: bool = False,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
        """Silences in force, newest first (`include_ended` adds the expired and ended ones)."""
        found = await silences.listing(include_ended=include_ended, limit=limit)
        return {"silences": found, "count": len(found)}

    @api.delete("/{silence_id}")
    async def end(silence_id: Annotated[str, Path(max_length=36)], caller: admin) -> dict[str, Any]:
        """End a silence now."""
        ended = await silences.end(silence_id, caller.username)
        if ended is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no silence in force with that id")
        return ended.to_dict(ended.ended_at)

    return api
