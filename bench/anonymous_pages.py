"""Anonymous page loads: N GET /login without cookies (never connecting NiceGUI's socket) and server memory.

    python bench/anonymous_pages.py [--requests 15000] [--connections 16] [--settle 30]

The server runs pinned to core 0, this load generator to core 1. Each request is a fresh visitor: no cookie is
sent back, so every load is a new browser session and a new page that never connects, as from a crawler or a
flood. Prints the server's RSS before, right after, and `--settle` seconds after the loads (and the highest RSS
seen during them), the request rate, and the answers that were not 200.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parents[1]))
from bench._server import app_process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=15_000)
    parser.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds to wait before the last reading")
    args = parser.parse_args()
    with app_process(core=0) as (url, process):
        os.sched_setaffinity(0, {1})
        server = psutil.Process(process.pid)
        host, port = url.removeprefix("http://").split(":")
        asyncio.run(_load(host, int(port), 50, args.connections))  # warm up: first page builds, imports
        time.sleep(2.0)
        before = _mb(server)
        peak = _Peak(server)
        peak.start()
        started = time.perf_counter()
        statuses = asyncio.run(_load(host, int(port), args.requests, args.connections))
        seconds = time.perf_counter() - started
        after = _mb(server)
        time.sleep(args.settle)
        settled = _mb(server)
        peak.stop()
    failed = {status: count for status, count in statuses.items() if status != 200}
    print(f"anonymous GET /login: {args.requests} requests over {args.connections} connections in {seconds:.1f} s "
          f"({args.requests / seconds:.0f}/s); server on core 0, load on core 1")
    print(f"  RSS before {before:.0f} MB, after {after:.0f} MB (peak {peak.value:.0f} MB), "
          f"{args.settle:g} s after {settled:.0f} MB; growth kept {settled - before:+.0f} MB "
          f"({(settled - before) / before:+.0%})")
    print(f"  answers other than 200: {failed or 'none'}")


def _mb(process: psutil.Process) -> float:
    return process.memory_info().rss / 1024 / 1024


class _Peak(threading.Thread):
    """The highest RSS of `process`, sampled every 0.2 s."""

    def __init__(self, process: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.process = process
        self.value = _mb(process)
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.2):
            self.value = max(self.value, _mb(self.process))

    def stop(self) -> None:
        self._done.set()
        self.join()


async def _load(host: str, port: int, count: int, connections: int) -> dict[int, int]:
    """`count` GET /login over `connections` keep-alive connections, never sending a cookie; answers by status."""
    remaining = [count]
    statuses: dict[int, int] = {}

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        request = f"GET /login HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/html\r\n\r\n".encode()
        try:
            while remaining[0] > 0:
                remaining[0] -= 1
                writer.write(request)
                status = await _response(reader)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return statuses


async def _response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (Content-Length or chunked) and return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


if __name__ == "__main__":
    main()
