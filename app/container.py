"""Builds the whole set of services from settings and starts/stops them in order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine

from app.db import CHECKPOINT_SECONDS, checkpoint, create_db_engine, is_sqlite_file, migrate, ping
from app.jobs import Job, describe, start_scheduler
from app.security import Auth, LoginThrottle
from app.settings import Settings, SettingsError
from app.wiring import FEATURES
from services.broker import Broker, create_broker
from services.delivery import BrokerDelivery, Delivery
from services.events import EventSystem
from services.hub import WebSocketHub
from services.leadership import Leadership, create_leadership
from services.metrics import MetricsService
from services.notifications import NotificationService
from services.replicas import Replicas, SecretMismatch, SharedSecret
from services.users import UserStore

log = logging.getLogger(__name__)


class Lifecycle(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


HealthCheck = Callable[[], Awaitable[dict[str, Any]]]


@dataclass(eq=False)
class Services:
    """Everything the routes, pages and jobs share; built once by `build_services`."""

    settings: Settings
    engine: Engine
    broker: Broker
    users: UserStore
    auth: Auth
    events: EventSystem
    delivery: Delivery
    leadership: Leadership
    """Whether this process runs the jobs that act for the whole deployment (see app.jobs.Job.scope)."""
    replicas: Replicas
    """Every replica's latest figures (this one's included), from the reports on the broker."""
    shared_secret: SharedSecret | None = None
    """With Redis: the check that every replica uses the same SECRET_KEY."""
    # Built by the features (app.wiring) right after the container, before anything reads them.
    websocket: WebSocketHub = field(init=False)
    notifications: NotificationService = field(init=False)
    metrics: MetricsService = field(init=False)
    jobs: list[Job] = field(default_factory=list)
    """Periodic jobs added by features, scheduled beside app.jobs.JOBS."""
    lifecycle: list[Lifecycle] = field(default_factory=list)
    """Feature services started after the event system, in order, and stopped in reverse."""
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)
    """Extra parts of /api/v1/health; each answers a dict with "status": "ok" or anything else for degraded."""
    scheduler: AsyncIOScheduler | None = None
    generated_admin_password: str | None = None
    started: bool = field(default=False)

    async def start(self) -> None:
        """Migrate the schema, connect the broker, start the event writer, bootstrap the admin, start jobs."""
        if self.started:
            return
        await asyncio.to_thread(migrate, self.engine)
        await self.broker.start()
        if self.shared_secret is not None:
            try:
                await self.shared_secret.check()
            except SecretMismatch as error:
                raise SettingsError(f"Invalid configuration:\n  SECRET_KEY: {error}") from None
        self.replicas.start()
        self.auth.start()
        await self.leadership.start()
        await self.events.start()
        settings = self.settings
        if settings.env == "production" and not settings.admin_password and not await self.users.has_admin():
            raise SettingsError("Invalid configuration:\n  ADMIN_PASSWORD: ENV=production will not create the first "
                                "admin with a generated password; set ADMIN_PASSWORD")
        self.generated_admin_password = await self.users.ensure_admin(settings.admin_username, settings.admin_password)
        if self.generated_admin_password:
            _announce_admin(settings.admin_username, self.generated_admin_password)
        for part in self.lifecycle:
            await part.start()
        await self.events.replay_pending(settings.reactions_replay_seconds)  # what a crash here left undone
        self.scheduler = start_scheduler(self)
        self.started = True

    async def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        for part in reversed(self.lifecycle):
            try:
                await part.stop()
            except Exception:  # one failing part must not keep the others (and the event writer) running
                log.warning("stopping %r failed", part, exc_info=True)
        await self.events.stop()
        await self.leadership.stop()
        self.auth.stop()
        self.replicas.stop()
        if self.shared_secret is not None:
            await self.shared_secret.close()
        await self.broker.stop()
        await asyncio.to_thread(self.engine.dispose)

    async def health(self) -> dict[str, Any]:
        """Database, broker and scheduler state; `status` is "ok" only when all three are."""
        try:
            database = await asyncio.to_thread(ping, self.engine)
        except Exception as error:  # report, do not raise: health must answer while the database is down
            database = {"status": "error", "error": str(error)[:200]}
        broker = self.broker.health()
        scheduler = describe(self.scheduler)
        report: dict[str, Any] = {"database": database, "broker": broker, "scheduler": scheduler,
                                  "leadership": self.leadership.describe(),
                                  "replica": {"status": "ok", "name": self.replicas.name,
                                              "replicas": len(self.replicas.current())}}
        for name, check in self.health_checks.items():
            try:
                report[name] = await check()
            except Exception as error:  # a failing check is itself a finding, not a crash
                report[name] = {"status": "error", "error": str(error)[:200]}
        healthy = all(part.get("status") == "ok" for part in report.values())
        return {"status": "ok" if healthy else "degraded", **report}


def build_services(settings: Settings) -> Services:
    """Construct every service (no I/O happens until `start()`)."""
    engine = create_db_engine(settings.effective_database_url)
    broker = create_broker(settings.broker_url, prefix=settings.redis_prefix)
    users = UserStore(engine)
    throttle = LoginThrottle(settings.login_max_failures, settings.login_lockout_seconds)
    auth = Auth(users, settings.resolved_secret_key(), token_ttl=settings.token_ttl_seconds, throttle=throttle,
                broker=broker)
    events = EventSystem(engine, broker)
    redis = settings.broker_url.startswith(("redis://", "rediss://"))
    services = Services(settings=settings, engine=engine, broker=broker, users=users, auth=auth, events=events,
                        delivery=BrokerDelivery(broker),
                        leadership=create_leadership(settings.broker_url, prefix=settings.redis_prefix,
                                                    lease_seconds=settings.leader_lease_seconds),
                        replicas=Replicas(broker, settings.effective_replica_name,
                                          stale_after=max(30.0, 4 * settings.metrics_push_interval)),
                        shared_secret=SharedSecret(settings.broker_url, settings.redis_prefix,
                                                   settings.resolved_secret_key()) if redis else None)
    if is_sqlite_file(engine):
        services.jobs.append(Job("sqlite_checkpoint", lambda s: CHECKPOINT_SECONDS, _checkpoint))
    for feature in FEATURES:
        feature.build(services)
    return services


async def _checkpoint(services: Services) -> None:
    await asyncio.to_thread(checkpoint, services.engine)


def _announce_admin(username: str, password: str) -> None:
    log.warning("admin account '%s' created with a generated password (printed once on the console)", username)
    print(f"\n  Admin account created: username '{username}', password '{password}' (shown once; keep it safe)\n",
          flush=True)
