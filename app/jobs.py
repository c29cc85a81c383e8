"""The scheduler and its job table: every periodic task of the product is listed here."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from services.models import utcnow

if TYPE_CHECKING:
    from app.container import Services

log = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class Job:
    """A periodic task. `process` jobs run in every process; `deployment` jobs act for the whole deployment
    (a sweep of shared tables, alert rules, pushes that reach every process's clients) and run only in the
    process that leads (services.leadership), so they happen once however many processes serve."""

    id: str
    seconds: Callable[[Services], float]
    run: Callable[[Services], Awaitable[Any]]
    scope: Literal["process", "deployment"] = "process"


async def prune_events(services: Services) -> int:
    cutoff = utcnow() - timedelta(days=services.settings.event_retention_days)
    removed = await services.events.prune_history(cutoff)
    if removed:
        log.info("pruned %d events older than %s", removed, cutoff.isoformat())
    return removed


async def replay_reactions(services: Services) -> int:
    """Run the reactions of events a crashed process acknowledged but did not finish (services.events.outbox)."""
    return await services.events.replay_pending(services.settings.reactions_replay_seconds)


JOBS: tuple[Job, ...] = (
    Job("prune_events", lambda s: 3600.0, prune_events, scope="deployment"),
    Job("replay_reactions", lambda s: s.settings.reactions_replay_seconds, replay_reactions, scope="deployment"),
)


def start_scheduler(services: Services) -> AsyncIOScheduler:
    """Start an AsyncIOScheduler on the running loop with every job of the table."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in (*JOBS, *services.jobs):
        scheduler.add_job(
            _guarded(job, services), "interval", seconds=job.seconds(services), id=job.id, name=job.id,
            max_instances=1, coalesce=True, misfire_grace_time=30,
        )
    scheduler.start()
    return scheduler


def _guarded(job: Job, services: Services) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        if job.scope == "deployment" and not services.leadership.leader:
            return
        try:
            await job.run(services)
        except Exception:  # a failing job must not kill the scheduler; it runs again next interval
            log.warning("job %s failed", job.id, exc_info=True)

    run.__name__ = job.id
    return run


def describe(scheduler: AsyncIOScheduler | None) -> dict[str, Any]:
    """Scheduler state for the health check."""
    if scheduler is None or not scheduler.running:
        return {"status": "stopped", "jobs": []}
    jobs = [
        {"id": j.id, "next_run": j.next_run_time.isoformat() if j.next_run_time else None}
        for j in scheduler.get_jobs()
    ]
    return {"status": "ok", "jobs": jobs}
