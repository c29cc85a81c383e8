"""GET /api/v1/ping (liveness) and /api/v1/health (readiness: database, broker, scheduler; 503 while degraded)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse


def router(health: Callable[[], Awaitable[dict[str, Any]]]) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["health"])

    @api.get("/ping")
    async def ping() -> dict[str, str]:
        """Liveness: the process answers (no database or broker round trip)."""
        return {"status": "ok"}

    @api.get("/health")
    async def get_health() -> JSONResponse:
        report = await health()
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    return api
