"""Soak: N raw WebSocket connections and P events/s published through REST for D seconds; memory, errors, latency.

    python bench/soak.py [--connections 5000] [--rate 100] [--duration 600] [--workers 2]

The server runs pinned to core 0; the load generator (this process, which publishes, and its worker processes,
which hold the connections) to core 1. Every connection is a `mobile` one, so it is subscribed to `resources`;
every published event is a `resource.pool.updated` carrying its number and send time, so every connection must
receive every event whose publish succeeded, once, in the order of the channel's `seq`. Prints, per minute:
server RSS, events published and failed, and publish-to-receive latency p50/p99 (measured on every 50th
connection); then the totals: memory growth from the start of the soak (all connections open) to the end,
failed publishes, refused or dropped connections, lost, duplicated and out-of-order deliveries. Targets: memory
growth <= 5 %, 0 errors.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).parents[1]))
from bench._server import admin_token, app_process

ACCOUNT, PASSWORD = "soak", "soak-user-password"
PUBLISHER = "soak-ingest"
SAMPLE_EVERY = 50
"""Every 50th connection also measures latency (parsing every frame of all of them would cost the load generator
more than the server)."""
MARK_N, MARK_T, MARK_SEQ = b'"soak_n":', b'"soak_t":', b'"seq":'


def raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ---- load generator worker (its own process): holds connections, counts what each receives ------------------------

class Connection(asyncio.Protocol):
    """One raw WebSocket client: handshake, frame parsing, pong replies, and the soak bookkeeping."""

    def __init__(self, worker: Worker, sampled: bool) -> None:
        self.worker = worker
        self.sampled = sampled
        self.buffer = bytearray()
        self.open = False
        self.ready = asyncio.Event()
        self.received = self.duplicates = self.out_of_order = 0
        self.last = -1
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((f"GET {self.worker.path} HTTP/1.1\r\nHost: {self.worker.host}\r\nUpgrade: websocket\r\n"
                         f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                         ).encode())

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.worker.refused += 1
                self.transport.close()  # type: ignore[union-attr]
                return
            del buffer[:end + 4]
            self.open = True
        pos, size = 0, len(buffer)
        while size - pos >= 2:
            length, header = buffer[pos + 1] & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, header = int.from_bytes(buffer[pos + 2:pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, header = int.from_bytes(buffer[pos + 2:pos + 10], "big"), 10
            if size - pos < header + length:
                break
            opcode = buffer[pos] & 0x0F
            payload = bytes(buffer[pos + header:pos + header + length])
            pos += header + length
            if opcode == 1:
                self.on_text(payload)
            elif opcode == 9 and self.transport is not None:  # ping: pong, masked with a zero key
                self.transport.write(bytes((0x8A, 0x80 | len(payload))) + b"\0\0\0\0" + payload)
            elif opcode == 8:
                self.worker.closed += 1
        del buffer[:pos]

    def on_text(self, payload: bytes) -> None:
        at = payload.find(MARK_N)
        if at < 0:
            if not self.ready.is_set() and b'"subscription_confirmed"' in payload and b'"resources"' in payload:
                self.ready.set()
            return
        # Publishes overlap, so events may be numbered out of order; the channel's `seq` is the order to keep.
        seq = _int_at(payload, payload.find(MARK_SEQ) + len(MARK_SEQ))
        if seq <= self.last:
            if seq == self.last:
                self.duplicates += 1
            else:
                self.out_of_order += 1
            return
        self.last = seq
        self.received += 1
        if self.sampled:
            number = _int_at(payload, at + len(MARK_N))
            sent = float(_number_at(payload, payload.find(MARK_T) + len(MARK_T)))
            minute = number // self.worker.per_minute  # the minute of the soak the event was published in
            self.worker.latencies.setdefault(minute, []).append(round((time.time() - sent) * 1000, 2))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.open and not self.worker.stopping:
            self.worker.dropped += 1


def _number_at(payload: bytes, start: int) -> bytes:
    end = start
    while end < len(payload) and payload[end] in b"0123456789.-e+":
        end += 1
    return payload[start:end]


def _int_at(payload: bytes, start: int) -> int:
    return int(_number_at(payload, start))


class Worker:
    def __init__(self, url: str, token: str, count: int, first: int, per_minute: int) -> None:
        self.host, port = url.removeprefix("http://").split(":")
        self.port = int(port)
        self.path = f"/api/v1/realtime/ws?connection_type=mobile&token={token}"
        self.count = count
        self.first = first
        self.per_minute = max(1, per_minute)
        self.connections: list[Connection] = []
        self.latencies: dict[int, list[float]] = {}
        self.refused = self.closed = self.dropped = self.failed_connects = 0
        self.stopping = False

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(100)  # handshakes in flight

        async def connect(index: int) -> None:
            async with gate:
                try:
                    _, conn = await loop.create_connection(
                        lambda: Connection(self, (self.first + index) % SAMPLE_EVERY == 0), self.host, self.port)
                    await asyncio.wait_for(conn.ready.wait(), 60)
                except (OSError, TimeoutError):
                    self.failed_connects += 1
                    return
                self.connections.append(conn)

        await asyncio.gather(*(connect(i) for i in range(self.count)))
        print(json.dumps({"ready": len(self.connections)}), flush=True)
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        await reader.readline()  # the coordinator says: report
        self.stopping = True
        print(json.dumps({
            "received": [c.received for c in self.connections],
            "duplicates": sum(c.duplicates for c in self.connections),
            "out_of_order": sum(c.out_of_order for c in self.connections),
            "refused": self.refused + self.failed_connects, "closed": self.closed, "dropped": self.dropped,
            "latencies": self.latencies,
        }), flush=True)
        for conn in self.connections:
            if conn.transport is not None:
                conn.transport.abort()


def run_worker(args: argparse.Namespace) -> None:
    raise_fd_limit()
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(Worker(args.url, args.token, args.count, args.first, int(args.rate * 60)).run())


# ---- coordinator: server, connections, publishing, readings -------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=100.0, help="events published per second")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of publishing")
    parser.add_argument("--workers", type=int, default=2, help="load generator processes holding the connections")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args)
        return
    raise_fd_limit()
    env = {"WS_MAX_CONNECTIONS": str(args.connections + 100),
           "WS_MAX_CONNECTIONS_PER_USER": str(args.connections + 100),
           # the product's default publish limits: the soak publishes well within them, from one account
           "EVENT_PUBLISH_RATE": "500", "EVENT_PUBLISH_BURST": "1000",
           "EVENT_PUBLISH_BYTES_RATE": "1000000", "EVENT_PUBLISH_BYTES_BURST": "8000000"}
    with app_process(core=0, **env) as (url, process):
        os.sched_setaffinity(0, {1})
        server = psutil.Process(process.pid)
        report = asyncio.run(_soak(url, server, args))
    _print(report, args)


async def _soak(url: str, server: psutil.Process, args: argparse.Namespace) -> dict[str, Any]:
    admin = {"Authorization": f"Bearer {admin_token(url)}"}
    async with httpx.AsyncClient(base_url=url, timeout=30,
                                 limits=httpx.Limits(max_connections=32, max_keepalive_connections=32)) as api:
        tokens = {}
        for name, role in ((ACCOUNT, "user"), (PUBLISHER, "system")):
            await api.post("/api/v1/users", headers=admin, json={"username": name, "password": PASSWORD, "role": role})
            answer = await api.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
            answer.raise_for_status()
            tokens[name] = answer.json()["access_token"]
        publisher = {"Authorization": f"Bearer {tokens[PUBLISHER]}"}
        rss_idle = server.memory_info().rss
        workers = _start_workers(url, tokens[ACCOUNT], args)
        ready = 0
        for worker in workers:
            assert worker.stdout is not None
            ready += json.loads(await asyncio.to_thread(worker.stdout.readline))["ready"]
        print(f"{ready} of {args.connections} connections open; publishing {args.rate:g} events/s for "
              f"{args.duration:g} s", flush=True)
        rss_start = server.memory_info().rss
        minutes: list[dict[str, Any]] = []
        outcome = await _publish(api, publisher, server, args, minutes)
        await _settle(server)  # the last deliveries (seconds behind when the machine is saturated)
        stats = (await api.get("/api/v1/realtime/ws/stats", headers=admin)).json()
        rss_end = server.memory_info().rss
        results = []
        for worker in workers:
            assert worker.stdin is not None and worker.stdout is not None
            worker.stdin.write("report\n")
            worker.stdin.flush()
            results.append(json.loads(await asyncio.to_thread(worker.stdout.readline)))
        for worker in workers:
            worker.wait(30)
    return {"ready": ready, "rss_idle": rss_idle, "rss_start": rss_start, "rss_end": rss_end, "minutes": minutes,
            "stats": stats, "results": results, **outcome}


def _start_workers(url: str, token: str, args: argparse.Namespace) -> list[subprocess.Popen[str]]:
    connections, count = args.connections, args.workers
    shares = [connections // count + (1 if i < connections % count else 0) for i in range(count)]
    firsts = [sum(shares[:i]) for i in range(count)]
    return [subprocess.Popen(["taskset", "-c", "1", sys.executable, __file__, "--worker", "--url", url,
                              "--token", token, "--count", str(share), "--first", str(first),
                              "--rate", str(args.rate)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for share, first in zip(shares, firsts, strict=True) if share]


async def _publish(api: httpx.AsyncClient, headers: dict[str, str], server: psutil.Process,
                   args: argparse.Namespace, minutes: list[dict[str, Any]]) -> dict[str, Any]:
    """Publish at a steady rate (not waiting for one answer before the next send); read RSS every minute."""
    ok: list[int] = []
    failures: dict[str, int] = {}
    in_flight: set[asyncio.Task[None]] = set()

    async def one(number: int) -> None:
        body = {"event_type": "resource.pool.updated", "source": "soak",
                "data": {"total": number, "soak_n": number, "soak_t": time.time()}}
        try:
            answer = await api.post("/api/v1/realtime/events/publish", headers=headers, json=body)
        except httpx.HTTPError as error:
            failures[type(error).__name__] = failures.get(type(error).__name__, 0) + 1
            return
        if answer.status_code == 201:
            ok.append(number)
        else:
            failures[str(answer.status_code)] = failures.get(str(answer.status_code), 0) + 1

    started = time.monotonic()
    _cpu_at_start[:] = [sum(server.cpu_times()[:2]), started]
    total = int(args.duration * args.rate)
    next_minute, minute_ok, minute_failed = 60.0, 0, 0
    for number in range(total):
        due = started + number / args.rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        task = asyncio.create_task(one(number))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        if due - started >= next_minute:
            minute_ok, minute_failed = _minute(minutes, server, ok, failures, minute_ok, minute_failed)
            next_minute += 60.0
    if in_flight:
        await asyncio.wait(in_flight)
    if total and (total - 1) / args.rate >= next_minute - 60.0:  # the last (partial) minute
        _minute(minutes, server, ok, failures, minute_ok, minute_failed)
    return {"published": len(ok), "failures": failures, "attempted": total,
            "publish_seconds": time.monotonic() - started}


def _minute(minutes: list[dict[str, Any]], server: psutil.Process, ok: list[int], failures: dict[str, int],
            ok_before: int, failed_before: int) -> tuple[int, int]:
    failed = sum(failures.values())
    cpu = sum(server.cpu_times()[:2])
    since = minutes[-1] if minutes else {"cpu": _cpu_at_start[0], "at": _cpu_at_start[1]}
    now = time.monotonic()
    minutes.append({"minute": len(minutes) + 1, "rss": server.memory_info().rss, "cpu": cpu, "at": now,
                    "cpu_share": (cpu - since["cpu"]) / max(1e-9, now - since["at"]),
                    "published": len(ok) - ok_before, "failed": failed - failed_before})
    print(f"  minute {len(minutes)}: RSS {minutes[-1]['rss'] / 2**20:.0f} MB, server CPU "
          f"{minutes[-1]['cpu_share']:.0%}, {minutes[-1]['published']} published, {minutes[-1]['failed']} failed",
          flush=True)
    return len(ok), failed


_cpu_at_start = [0.0, 0.0]


async def _settle(server: psutil.Process, seconds: float = 60.0) -> None:
    """Wait until the server is nearly idle (it has written what it owed), at most `seconds`."""
    deadline = time.monotonic() + seconds
    await asyncio.sleep(2)
    while time.monotonic() < deadline:
        before = sum(server.cpu_times()[:2])
        await asyncio.sleep(1)
        if sum(server.cpu_times()[:2]) - before < 0.2:
            return


def _print(r: dict[str, Any], args: argparse.Namespace) -> None:
    mb = 2**20
    results = r["results"]
    received = [n for result in results for n in result["received"]]
    lost = sum(max(0, r["published"] - n) for n in received)
    latencies: dict[int, list[float]] = {}
    for result in results:
        for minute, values in result["latencies"].items():
            latencies.setdefault(int(minute), []).extend(values)
    growth = (r["rss_end"] - r["rss_start"]) / r["rss_start"]
    warm = r["minutes"][0]["rss"] if r["minutes"] else r["rss_start"]
    refused = args.connections - r["ready"]
    dropped = sum(result["dropped"] for result in results)
    errors = (sum(r["failures"].values()) + refused + dropped + lost
              + sum(result["duplicates"] + result["out_of_order"] for result in results))
    print(f"\nsoak: {r['ready']} connections, {r['published']} of {r['attempted']} events published in "
          f"{r['publish_seconds']:.0f} s; server on core 0, load on core 1")
    print(f"{'minute':>6} {'RSS MB':>7} {'CPU':>5} {'published':>9} {'failed':>6} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'samples':>8}")
    for index, row in enumerate(r["minutes"]):
        values = sorted(latencies.get(index, []))
        p50 = statistics.median(values) if values else float("nan")
        p99 = values[max(0, int(len(values) * 0.99) - 1)] if values else float("nan")
        print(f"{row['minute']:>6} {row['rss'] / mb:>7.0f} {row['cpu_share']:>5.0%} {row['published']:>9} "
              f"{row['failed']:>6} {p50:>7.1f} {p99:>7.1f} {len(values):>8}")
    every = sorted(v for values in latencies.values() for v in values)
    if every:
        print(f"latency publish -> receive, whole run: p50 {statistics.median(every):.1f} ms, "
              f"p99 {every[int(len(every) * 0.99) - 1]:.1f} ms, max {every[-1]:.1f} ms ({len(every)} samples)")
    print(f"memory: RSS idle {r['rss_idle'] / mb:.0f} MB, start of soak (connections open) "
          f"{r['rss_start'] / mb:.0f} MB, end {r['rss_end'] / mb:.0f} MB: growth {growth:+.1%} (target <= 5 %); "
          f"from the end of minute 1 (buffers warm) {(r['rss_end'] - warm) / warm:+.1%}")
    print(f"errors: failed publishes {sum(r['failures'].values())} {r['failures'] or ''}, refused connections "
          f"{refused}, dropped connections {dropped} (server dropped as slow: {r['stats']['dropped_slow_clients']}), "
          f"lost deliveries {lost}, duplicates {sum(x['duplicates'] for x in results)}, out of order "
          f"{sum(x['out_of_order'] for x in results)}: total {errors} (target 0)")


if __name__ == "__main__":
    main()
