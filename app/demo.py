"""`DEMO=1`: the three external systems, simulated by services/demo.py and sent through the public REST API.

The app provisions the demo's accounts through the user store at start-up (a `system` account for the traffic and
a few human accounts whose inboxes fill up), prints the human logins, waits until its own server answers, and from
then on publishes every event and records every metric over HTTP with the system account's token, exactly as an
external integration would. Deactivating `demo-system` stops the traffic.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from nicegui import server as nicegui_server

from services.demo import ACCOUNTS, HUMANS, Action, DemoWorld, Publish
from services.models import Role
from services.users import UserExists

if TYPE_CHECKING:
    from app.container import Services

log = logging.getLogger(__name__)

SYSTEM_ACCOUNT = "demo-system"
MAX_BACKOFF = 30.0
FOLLOWER_WAIT = 5.0
"""Seconds between looks at the lease while another process leads (only the leader generates traffic)."""
SERVING_POLL = 0.2


class DemoStopped(Exception):
    """The demo cannot go on (its system account was deactivated); the reason is logged once."""


class _Exiting(Exception):
    """The server is shutting down: stop quietly."""


def register(services: Services) -> None:
    """Run the demo traffic with the app when `DEMO` is on (called from app.web.setup)."""
    settings = services.settings
    if not settings.demo:
        return
    if settings.env == "production":
        log.warning("DEMO=1 is ignored with ENV=production: made-up traffic would mix with real figures")
        return
    # httpx logs every request at INFO: a few lines a second of our own traffic would bury the app's log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    services.lifecycle.append(DemoTraffic(services))


def app_url(host: str, port: int) -> str:
    """Where this process reaches its own server (a wildcard listen address means this host)."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def demo_password(secret: str, username: str) -> str:
    """A demo account's password, derived from the secret key: the same across restarts and replicas."""
    digest = hmac.new(secret.encode(), f"demo-login:{username}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:16]


@dataclass(frozen=True, slots=True)
class DemoLogin:
    username: str
    password: str | None
    """None when the account existed before with another password (or was deactivated)."""
    created: bool
    """False when it existed before: its human registered at an earlier start."""


class DemoTraffic:
    """Started and stopped with the services (a `Lifecycle` part); all the work happens in one background task."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self.url = app_url(services.settings.host, services.settings.port)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="demo-traffic")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        settings = self._services.settings
        try:
            logins = await self._provision()
            _announce(logins, settings.demo_rate)
            async with httpx.AsyncClient(base_url=self.url, timeout=10.0) as client:
                await _wait_until_serving(client)
                world = DemoWorld(random.Random(), time.monotonic, rate=settings.demo_rate,
                                  mesh_timeout=settings.mesh_node_timeout,
                                  registered=[login.username for login in logins if not login.created])
                sender = Sender(client, self._system_token)
                await drive(world, sender, leader=lambda: self._services.leadership.leader)
        except DemoStopped as reason:
            log.warning("demo traffic stopped: %s", reason)
        except _Exiting:
            pass
        except Exception:  # a fault of ours: say so, and leave the app running without the demo
            log.warning("demo traffic stopped by an unexpected error", exc_info=True)

    async def _provision(self) -> list[DemoLogin]:
        """Create the system account and the human accounts (retried with backoff while the database refuses)."""
        delay = 1.0
        while True:
            try:
                return await self._accounts()
            except Exception:  # the database or the password hasher is busy or away: the demo waits, never crashes
                log.warning("demo traffic: creating the demo accounts failed; trying again in %.0f s", delay,
                            exc_info=True)
                await asyncio.sleep(delay)
                delay = min(MAX_BACKOFF, delay * 2)

    async def _accounts(self) -> list[DemoLogin]:
        users = self._services.users
        secret = await asyncio.to_thread(self._services.settings.resolved_secret_key)
        await self._ensure(SYSTEM_ACCOUNT, secrets.token_urlsafe(24), Role.SYSTEM)  # it signs in by token only
        logins = []
        for human in HUMANS[:ACCOUNTS]:
            password = demo_password(secret, human.human_id)
            created = await self._ensure(human.human_id, password, Role.USER)
            known = created or await users.authenticate(human.human_id, password) is not None
            logins.append(DemoLogin(human.human_id, password if known else None, created))
        return logins

    async def _ensure(self, username: str, password: str, role: Role) -> bool:
        """Create the account unless it exists; True when it was created now."""
        try:
            await self._services.users.create(username, password, role.value)
        except UserExists:
            return False
        return True

    async def _system_token(self) -> str:
        """A bearer token for the system account, issued in-process (its password is never used)."""
        principal = await self._services.users.active_principal(SYSTEM_ACCOUNT)
        if principal is None or principal.role != Role.SYSTEM:
            raise DemoStopped(f"the account '{SYSTEM_ACCOUNT}' is deactivated or no longer a system account")
        return self._services.auth.issue_token(principal)


class Sender:
    """Sends the simulation's actions through the REST API; an error answer is logged at WARNING and backed off."""

    def __init__(self, client: httpx.AsyncClient, token: Callable[[], Awaitable[str]], *,
                 exiting: Callable[[], bool] | None = None,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self._client = client
        self._new_token = token
        self._exiting = exiting or _server_exiting
        self._sleep = sleep
        self._token: str | None = None
        self.backoff = 0.0
        self.sent = 0

    async def send(self, action: Action) -> bool:
        """True when the app accepted the action; False after logging the problem and waiting out the backoff."""
        path, body = _request(action)
        for attempt in range(2):
            if self._token is None:
                self._token = await self._new_token()
            try:
                response = await self._client.post(path, json=body, headers={"Authorization": f"Bearer {self._token}"})
            except httpx.TransportError as error:
                if self._exiting():
                    raise _Exiting from None
                return await self.failed(f"{path} could not be reached ({type(error).__name__}: {error})")
            if response.status_code == 401 and attempt == 0:  # expired or revoked: take a fresh token once
                self._token = None
                continue
            if response.is_success:
                self.backoff = 0.0
                self.sent += 1
                return True
            return await self.failed(f"{path} answered {response.status_code}: {response.text[:300]}")
        return False  # pragma: no cover - the loop always returns

    async def failed(self, problem: str) -> bool:
        self.backoff = min(MAX_BACKOFF, max(1.0, self.backoff * 2))
        log.warning("demo traffic: %s; going on in %.0f s", problem, self.backoff)
        await self._sleep(self.backoff)
        return False


async def drive(world: DemoWorld, sender: Sender, *, leader: Callable[[], bool] = lambda: True,
                clock: Callable[[], float] = time.monotonic) -> None:
    """Send what the world says is due, for ever; a failed send drops the rest of its step."""
    while True:
        await asyncio.sleep(max(0.0, world.next_due() - clock()))
        if not leader():  # several processes share one deployment: one of them is the external systems
            await asyncio.sleep(FOLLOWER_WAIT)
            continue
        try:
            for action in world.step():
                if not await sender.send(action):
                    break
        except (DemoStopped, _Exiting):
            raise
        except Exception as error:  # a fault of ours (or the database behind the token) must not end the demo
            await sender.failed(f"a step failed ({type(error).__name__}: {error})")


async def _wait_until_serving(client: httpx.AsyncClient) -> None:
    """Until the server answers at all (the services start before it listens)."""
    started = time.monotonic()
    warned = False
    while True:
        try:
            await client.get("/api/v1/health")
            return
        except httpx.TransportError:
            if _server_exiting():
                raise _Exiting from None
            if not warned and time.monotonic() - started > MAX_BACKOFF:
                warned = True
                log.warning("demo traffic: the app does not answer at %s yet; still waiting", client.base_url)
            await asyncio.sleep(SERVING_POLL)


def _request(action: Action) -> tuple[str, dict[str, Any]]:
    if isinstance(action, Publish):
        return "/api/v1/realtime/events/publish", {"event_type": str(action.event_type), "data": action.data,
                                                   "source": action.source, "correlation_id": action.correlation_id}
    return f"/api/v1/metrics/{action.name}/record", {"value": action.value, "tags": action.tags}


def _server_exiting() -> bool:
    """Whether uvicorn is shutting down: it stops answering a moment before the app's shutdown ends this task."""
    server = getattr(nicegui_server.Server, "instance", None)
    return bool(getattr(server, "should_exit", False))


def _announce(logins: list[DemoLogin], rate: float) -> None:
    log.info("demo traffic on (DEMO_RATE=%g), publishing as '%s'", rate, SYSTEM_ACCOUNT)
    lines = [f"  Demo account: username '{login.username}', password '{login.password}'" if login.password else
             f"  Demo account: username '{login.username}' (it existed before with another password)"
             for login in logins]
    print(f"\n  Demo traffic on (DEMO_RATE={rate:g}): resources, truth and mesh publish through the REST API as "
          f"'{SYSTEM_ACCOUNT}'.\n" + "\n".join(lines) + "\n", flush=True)
