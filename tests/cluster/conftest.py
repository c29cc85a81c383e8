"""A cluster as `make cluster` starts it (deploy/cluster.py): replicas of main.py on PostgreSQL and Redis behind nginx,
on free ports, with a run directory, a database and a Redis prefix of this test run."""

from __future__ import annotations

import importlib.util
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from tests.browser.conftest import browser  # noqa: F401  (the Chromium fixture, for the browser story)
from tests.conftest import REQUIRE_SERVICES, service_url

ROOT = Path(__file__).parents[2]
ADMIN_PASSWORD = "cluster-admin-password-1"
USER_PASSWORD = "cluster-user-password-1"
REPLICAS = 2
PUSH_INTERVAL = 0.5
"""METRICS_PUSH_INTERVAL of the replicas: the dashboard push is the periodic job the tests count."""


def load_script() -> ModuleType:
    """deploy/cluster.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("deploy_cluster", ROOT / "deploy" / "cluster.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@dataclass
class Cluster:
    """The running cluster: the proxy, each replica's own URL, and the script's start and stop."""

    env: dict[str, str]
    run_dir: Path
    proxy: str
    replicas: list[str]
    admin: str = ""
    started: list[float] = field(default_factory=list)

    def script(self, command: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, str(ROOT / "deploy" / "cluster.py"), command], env=self.env,
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"deploy/cluster.py {command} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def start(self) -> None:
        """What `make cluster` runs: starts whichever replicas are not running, and nginx."""
        began = time.monotonic()
        self.script("start")
        self.started.append(time.monotonic() - began)

    def pid(self, number: int) -> int:
        return int((self.run_dir / f"app-{number}.pid").read_text())

    def kill(self, number: int, sig: signal.Signals = signal.SIGKILL) -> None:
        """Signal replica `number` (1-based) and wait until its process is gone."""
        pid = self.pid(number)
        os.kill(pid, sig)
        deadline = time.monotonic() + 20
        while Path(f"/proc/{pid}").exists() and _state(pid) != "Z":
            if time.monotonic() > deadline:
                raise TimeoutError(f"replica {number} (pid {pid}) did not end")
            time.sleep(0.05)

    def health(self, number: int) -> dict[str, object]:
        return dict(httpx.get(f"{self.replicas[number - 1]}/api/v1/health", timeout=5).json())

    def leader(self) -> int | None:
        """The replica whose health says it leads (None while nobody does)."""
        roles = []
        for number in range(1, len(self.replicas) + 1):
            try:
                roles.append((number, self.health(number)["leadership"]["role"]))  # type: ignore[index]
            except httpx.HTTPError:
                continue
        leaders = [n for n, role in roles if role == "leader"]
        assert len(leaders) <= 1, f"two replicas lead at once: {roles}"
        return leaders[0] if leaders else None

    def log_tails(self, lines: int = 40) -> str:
        parts = []
        for path in sorted(self.run_dir.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(parts)


def nginx_path() -> str:
    """nginx, else skip (or fail under REQUIRE_SERVICES=1)."""
    found = os.environ.get("NGINX_BIN") or shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(found).exists():
        message = "nginx is not installed (make cluster installs Debian's package)"
        if REQUIRE_SERVICES:
            pytest.fail(f"{message} but REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(message)
    return found


def free_ports(count: int) -> int:
    """The first of `count` consecutive ports nobody listens on."""
    for _ in range(200):
        first = random.randrange(20000, 60000 - count)
        if all(_bindable(first + n) for n in range(count)):
            return first
    raise RuntimeError("no free consecutive ports")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    database_url, redis_url, nginx = service_url("TEST_DATABASE_URL"), service_url("TEST_REDIS_URL"), nginx_path()
    run = tmp_path_factory.mktemp("cluster")
    tag = uuid.uuid4().hex[:10]
    database = re.sub(r"/[^/?]*(\?|$)", rf"/liberation_cluster_{tag}\1", database_url.split("://", 1)[1], count=1)
    first = free_ports(REPLICAS + 1)
    env = {k: v for k, v in os.environ.items() if k not in {"PYTEST_CURRENT_TEST", "PYTEST_VERSION"}}
    env.update(RUN_DIR=str(run), REPLICAS=str(REPLICAS), FIRST_PORT=str(first), PROXY_PORT=str(first + REPLICAS),
               DATABASE_URL=database_url.split("://", 1)[0] + "://" + database, REDIS_URL=redis_url,
               REDIS_PREFIX=f"cluster-{tag}", NGINX_BIN=nginx, ADMIN_PASSWORD=ADMIN_PASSWORD,
               METRICS_PUSH_INTERVAL=str(PUSH_INTERVAL))
    env["LEADER_LEASE_SECONDS"] = "4"  # a killed leader is replaced in seconds, not the default 15
    env.pop("SECRET_KEY", None)  # the script generates the deployment's key, as make cluster does
    running = Cluster(env, run, f"http://127.0.0.1:{first + REPLICAS}",
                      [f"http://127.0.0.1:{first + n}" for n in range(REPLICAS)])
    try:
        running.start()
        answer = httpx.post(f"{running.proxy}/api/v1/auth/token",
                            json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10)
        assert answer.status_code == 200, answer.text
        running.admin = answer.json()["access_token"]
        yield running
    finally:
        try:
            running.script("stop")
        finally:
            _forget(env["DATABASE_URL"], redis_url, env["REDIS_PREFIX"])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed cluster test carries the end of every replica's and nginx's log."""
    report: pytest.TestReport = yield
    running = getattr(item, "funcargs", {}).get("cluster")
    if report.failed and isinstance(running, Cluster):
        report.sections.append(("cluster logs", running.log_tails()))
    return report


def _forget(database_url: str, redis_url: str, prefix: str) -> None:
    """Drop this run's database and its Redis keys."""
    import psycopg
    import redis
    from psycopg import sql

    base, _, name = database_url.partition("?")[0].rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
