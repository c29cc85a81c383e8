"""A real server (`python main.py` on a free port) and Debian's Chromium driven by async Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

ROOT = Path(__file__).parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
ADMIN_PASSWORD = "admin-password-1"


@dataclass
class Server:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: IO[bytes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path, **env: str) -> Server:
    """Start main.py and wait for /api/v1/health to answer."""
    port = free_port()
    child_env = {k: v for k, v in os.environ.items() if k not in {"PYTEST_CURRENT_TEST", "PYTEST_VERSION"}}
    child_env.update(HOST="127.0.0.1", PORT=str(port), DATA_DIR=str(data_dir), ADMIN_PASSWORD=ADMIN_PASSWORD,
                     NICEGUI_STORAGE_PATH=str(data_dir / "nicegui"), **env)
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen([sys.executable, "main.py"], cwd=ROOT, env=child_env, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.close()
            raise RuntimeError(f"server exited:\n{(data_dir / 'server.log').read_text()}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code in (200, 503):
                return Server(url, data_dir, process, log)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    log.close()
    raise RuntimeError(f"server did not start:\n{(data_dir / 'server.log').read_text()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    server.log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("server"))
    yield running
    stop_server(running)


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None  # Playwright's own download, where one exists


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path(), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield launched
        await launched.close()


async def settled(page: Page) -> None:
    """Wait until every finite CSS animation or transition has ended (a tab panel sliding in, say): until then the
    page has two panels at once and elements that still move."""
    await page.wait_for_function("""() => document.getAnimations().every(
        a => a.playState !== 'running' || a.effect?.getComputedTiming().iterations === Infinity)""")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """A failed browser test carries the end of its server's log, so a failure in CI can be read afterwards."""
    report: pytest.TestReport = yield
    server = getattr(item, "funcargs", {}).get("server")
    if report.failed and isinstance(server, Server):
        server.log.flush()
        text = (server.data_dir / "server.log").read_text(errors="replace")
        report.sections.append(("server log (last 80 lines)", "\n".join(text.splitlines()[-80:])))
    return report


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
