"""Helpers for benchmarks: start the app (or a bare FastAPI app) pinned to a core, and run wrk against it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).parents[1]
ADMIN_PASSWORD = "bench-admin-password"
UNLIMITED_PUBLISH = {"EVENT_PUBLISH_RATE": "1e9", "EVENT_PUBLISH_BURST": "1000000000",
                     "EVENT_PUBLISH_BYTES_RATE": "1e15", "EVENT_PUBLISH_BYTES_BURST": "1000000000000000"}
"""The benches publish from one account as fast as they can: what they measure is the server, not its per-account
publish limit (pass the EVENT_PUBLISH_* variables to `app_server` to measure with limits)."""

BARE_APP = """
import sys, uvicorn
from fastapi import FastAPI
app = FastAPI()
@app.get("/api/v1/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError("server exited during start-up")
        try:
            if httpx.get(url, timeout=0.5).status_code < 500:
                return time.perf_counter() - started
        except httpx.HTTPError:
            time.sleep(0.02)
    raise RuntimeError("server did not become ready")


@contextmanager
def app_server(core: int = 0, **env: str) -> Iterator[str]:
    """`python main.py` on a free port, pinned to `core`, with a scratch data directory; yields its URL."""
    with app_process(core, **env) as (url, _process):
        yield url


@contextmanager
def app_process(core: int = 0, **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Like `app_server`, and also yields the server process (for CPU and memory readings)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        child_env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "DATA_DIR": data,
                     "ADMIN_PASSWORD": ADMIN_PASSWORD, "NICEGUI_STORAGE_PATH": f"{data}/nicegui", **UNLIMITED_PUBLISH,
                     **env}
        process = subprocess.Popen(["taskset", "-c", str(core), sys.executable, "main.py"], cwd=ROOT, env=child_env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with _serving(process, port) as url:
            yield url, process


@contextmanager
def bare_process(core: int = 0) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A bare FastAPI app with the same ping route, pinned to `core`; yields its URL and process."""
    port = free_port()
    process = subprocess.Popen(["taskset", "-c", str(core), sys.executable, "-c", BARE_APP, str(port)])
    with _serving(process, port) as url:
        yield url, process


@contextmanager
def _serving(process: subprocess.Popen[bytes], port: int) -> Iterator[str]:
    """Wait until `process` answers on `port`, yield its URL, and end it (even when paused) afterwards."""
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(f"{url}/api/v1/ping", process)
        yield url
    finally:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        process.wait(10)


@contextmanager
def paused(*processes: subprocess.Popen[bytes]) -> Iterator[None]:
    """Stop `processes` (SIGSTOP) while another server is measured, so their idle work takes no CPU from it."""
    for process in processes:
        process.send_signal(signal.SIGSTOP)
    time.sleep(1.0)  # the measured server may just have been resumed: let it catch up on its timers first
    try:
        yield
    finally:
        for process in processes:
            process.send_signal(signal.SIGCONT)


def admin_token(url: str) -> str:
    response = httpx.post(f"{url}/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD})
    response.raise_for_status()
    return str(response.json()["access_token"])


def wrk(url: str, *, seconds: int = 8, connections: int = 64, script: str | None = None,
        core: int = 1) -> tuple[float, float]:
    """Requests/s and p99 latency in ms, from wrk pinned to `core`."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed for this benchmark: apt-get install wrk")
    command = ["taskset", "-c", str(core), "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        if script:
            lua.write(script)
            lua.flush()
            command[5:5] = ["-s", lua.name]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non2xx:
        print(f"  warning: {non2xx.group(1)} non-2xx responses", file=sys.stderr)
    return rate, p99


@contextmanager
def app_process_on(data: Path, core: int = 0, code: str | None = None,
                   **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Like `app_process`, on a data directory that outlives the process (so accounts and browser sessions made
    with one server are still valid in the next), running `python -c code` instead of `python main.py` when `code`
    is given (it must run main.py itself: a bench that loads a probe first). The server's log goes to
    `data/server.log`."""
    port = free_port()
    child_env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "DATA_DIR": str(data),
                 "ADMIN_PASSWORD": ADMIN_PASSWORD, "NICEGUI_STORAGE_PATH": str(data / "nicegui"), **UNLIMITED_PUBLISH,
                 **env}
    command = [sys.executable, "main.py"] if code is None else [sys.executable, "-c", code]
    with open(data / "server.log", "ab") as log:
        process = subprocess.Popen(["taskset", "-c", str(core), *command], cwd=ROOT, env=child_env,
                                   stdout=log, stderr=log)
    with _serving(process, port) as url:
        yield url, process
