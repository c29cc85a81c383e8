"""Metrics over REST (DESIGN.md §5) and the Prometheus exposition at /metrics."""

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, Field

from app.api.deps import ADMIN, ADMIN_OR_SYSTEM, ANYONE_SIGNED_IN, role_guard
from app.api.inputs import Text
from app.api.legacy import stamped
from app.security import Auth
from services.metrics import (
    CONTENT_TYPE_LATEST,
    AlertRuleError,
    Counter,
    MetricError,
    MetricsService,
    PrometheusExport,
    Rate,
)
from services.users import Principal

MetricTypeName = Literal["counter", "gauge", "histogram", "timer", "rate"]
CategoryName = Literal["system", "resource", "truth", "mesh", "user", "performance", "security"]
# Non-finite numbers are refused by the routes, not by pydantic: its 422 echoes the input, and NaN would then
# fail to serialise into a 500.
Number = Annotated[float, Field(allow_inf_nan=True)]


class CreateMetric(BaseModel):
    name: str = Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]{0,99}$", examples=["housing_units_built"])
    metric_type: MetricTypeName = "gauge"
    category: CategoryName = "system"
    description: Text = Field("", max_length=500)
    unit: Text = Field("", max_length=50, examples=["count"])


class RecordValue(BaseModel):
    value: Number = Field(examples=[42.5])
    tags: dict[Text, Text | int | float | bool] | None = Field(None, max_length=10)


class CreateAlertRule(BaseModel):
    metric_name: Text = Field(min_length=1, max_length=100, examples=["system_cpu_usage"])
    threshold: Number = Field(examples=[90])
    condition: Literal[">", ">=", "<", "<=", "==", "!="] = ">"
    severity: Literal["info", "warning", "error", "critical"] = "warning"
    for_seconds: Number = 0.0
    cooldown_seconds: Number = 300.0


def router(auth: Auth, metrics: MetricsService, retention_days: float = 30.0) -> APIRouter:
    reader = Annotated[Principal, Depends(role_guard(auth, ANYONE_SIGNED_IN))]
    admin = Annotated[Principal, Depends(role_guard(auth, ADMIN))]
    recorder = Annotated[Principal, Depends(role_guard(auth, ADMIN_OR_SYSTEM))]
    max_window = retention_days * 86400
    api = APIRouter(prefix="/api/v1/metrics", tags=["metrics"])

    @api.get("")
    async def list_metrics(_: reader) -> dict[str, Any]:
        """Every metric with its latest value, average and trend over the last hour, unit and category."""
        cards = [card for name in list(metrics.metrics) if (card := metrics.card(name)) is not None]
        return {"metrics": cards, "count": len(cards)}

    @api.get("/dashboard")
    async def dashboard(_: reader) -> dict[str, Any]:
        """The 7 key metrics (`key_metrics`, a list, and `metrics`, keyed by name as the original system sent them),
        the host figures and a summary with the system health."""
        payload = await metrics.get_dashboard_metrics()
        by_name = {card["name"]: {"current_value": card["value"], "average": card["average"],
                                  "trend": (card.get("trend") or {}).get("direction", "stable"), "unit": card["unit"]}
                   for card in payload["key_metrics"]}
        return stamped({**payload, "metrics": by_name})

    @api.post("", status_code=status.HTTP_201_CREATED)
    async def create_metric(body: CreateMetric, _: admin) -> dict[str, Any]:
        try:
            await metrics.define_metric(body.name, body.metric_type, body.category, body.description, body.unit)
        except MetricError as error:
            code = status.HTTP_409_CONFLICT if body.name in metrics.metrics else status.HTTP_422_UNPROCESSABLE_CONTENT
            raise HTTPException(code, str(error)) from None
        return metrics.card(body.name) or {}

    @api.get("/alert-rules")
    async def list_rules(_: admin) -> dict[str, Any]:
        rules = metrics.alerts.all()
        return {"rules": [rule.to_dict() for rule in rules], "firing": sum(r.state == "firing" for r in rules),
                "system_health": metrics.system_health}

    @api.post("/alert-rules", status_code=status.HTTP_201_CREATED)
    async def create_rule(body: CreateAlertRule, _: admin) -> dict[str, Any]:
        if body.metric_name not in metrics.metrics:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown metric: {body.metric_name}")
        try:
            rule = await metrics.create_alert_rule(**body.model_dump())
        except AlertRuleError as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
        return rule.to_dict()

    @api.delete("/alert-rules/{rule_id}")
    async def delete_rule(rule_id: str, _: admin) -> dict[str, Any]:
        if not await metrics.delete_alert_rule(rule_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert rule {rule_id}")
        return {"deleted": rule_id}

    @api.get("/{name}")
    async def summary(name: str, _: reader,
                      window: Annotated[float, Query(gt=0, le=max_window)] = 3600.0) -> dict[str, Any]:
        """count, min, max, mean, stddev, p50, p90, p95, p99, latest and trend over `window` seconds."""
        found = metrics.get_metric_summary(name, window)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no metric {name}")
        return found

    @api.get("/{name}/history")
    async def history(
        name: str, _: reader,
        window: Annotated[float, Query(gt=0, le=max_window, description="seconds back from now")] = 3600.0,
        step: Annotated[float | None, Query(ge=1, le=86400, description="bucket seconds; default: ~360 buckets")]
        = None,
        raw: Annotated[bool, Query(description="recent raw points from memory instead of buckets")] = False,
        limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    ) -> dict[str, Any]:
        chosen = None if raw else (step or max(60.0, math.ceil(window / 360 / 60) * 60))
        points = await metrics.fetch_metric_history(name, window=window, limit=limit, step=chosen)
        if points is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no metric {name}")
        metric = metrics.metrics[name]
        return {"name": name, "type": metric.type, "unit": metric.unit, "window_seconds": window, "step": chosen,
                "points": points}

    @api.post("/{name}/record")
    async def record(name: str, body: RecordValue, _: recorder) -> dict[str, Any]:
        """Record a value with the metric's meaning; an unknown name becomes a gauge (as `record_metric` does)."""
        if not math.isfinite(body.value):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "value must be a finite number")
        metric = metrics.metrics.get(name)
        if isinstance(metric, Counter | Rate) and body.value < 0:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"{name} is a {metric.type}: values must be >= 0 (it counts, it never decreases)")
        if not metrics.record_metric(name, body.value, body.tags):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: value refused (see metric limits)")
        created = metric is None
        metric = metrics.metrics[name]
        return {"name": name, "type": metric.type, "recorded": body.value, "value": metric.get_latest_value(),
                "created": created}

    return api


def prometheus_router(auth: Auth, metrics: MetricsService, public: bool = True, replica: str = "") -> APIRouter:
    """GET /metrics: public, or for admin and system tokens only when `METRICS_PUBLIC=false`. Every series is
    labelled with the `replica` that serves it."""
    export = PrometheusExport(lambda: metrics.metrics, labels={"replica": replica} if replica else None)
    guards = [] if public else [Depends(role_guard(auth, ADMIN_OR_SYSTEM))]
    api = APIRouter(tags=["metrics"])

    @api.get("/metrics", dependencies=guards, response_class=Response)
    async def prometheus() -> Response:
        return Response(export.render(), media_type=CONTENT_TYPE_LATEST)

    return api
