"""WebSocket fan-out: N clients, 20 broadcasts at 10/s through POST ws/broadcast; latency, loss, order, memory.

    python bench/ws_fanout.py --clients 1000 5000 10000 [--write-mode queue] [--workers 2]

The server runs pinned to core 0; the load generator (this process and its worker processes) to core 1. Workers
speak the WebSocket protocol on raw asyncio transports (a frame parser of a few lines) so that the clients, not
the server, are the cheap side. Each broadcast carries its send time and number; every client checks that it gets
each number once and in order. Columns: connect time for all N, deliveries/s from the first send to the last
receipt (10 x N offered), delivery latency, lost / duplicated / out-of-order deliveries, clients the server dropped
as too slow, server RSS growth per connection, server CPU during the broadcasts, median POST latency.
`--write-mode queue` runs the server with a writer task per connection instead of direct writes, for comparison.
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
import orjson
import psutil

sys.path.insert(0, str(Path(__file__).parents[1]))
from bench._server import ADMIN_PASSWORD, ROOT, admin_token, free_port, wait_ready

USER, USER_PASSWORD = "bench", "bench-user-password"
CHANNEL = "broadcast"
QUEUE_MODE = ("import runpy, services.websocket as hub; hub.WRITE_MODE = 'queue'; "
              "runpy.run_path('main.py', run_name='__main__')")


def raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ---- load generator worker (runs in its own process) ------------------------------------------------------------

class Client(asyncio.Protocol):
    """One WebSocket client: handshake, frame parsing, pong replies, bookkeeping of the bench messages."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.buffer = bytearray()
        self.open = False
        self.ready = False
        self.welcomed = asyncio.Event()
        self.seen: set[int] = set()
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
                raise RuntimeError(bytes(buffer[:end]).decode())
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
            elif opcode == 9 and self.transport is not None:  # pong, masked with a zero key
                self.transport.write(bytes((0x8A, 0x80 | len(payload))) + b"\0\0\0\0" + payload)
            elif opcode == 8:
                self.worker.closed += 1
        del buffer[:pos]

    def on_text(self, payload: bytes) -> None:
        if b'"type":"bench"' in payload:
            now = time.time()
            data = orjson.loads(payload)["data"]
            number = data["n"]
            worker = self.worker
            worker.latencies.append((now - data["t"]) * 1000)
            worker.last_receive = now
            if number in self.seen:
                worker.duplicates += 1
                return
            if number < self.last:
                worker.out_of_order += 1
            self.seen.add(number)
            self.last = max(self.last, number)
            worker.received += 1
            if worker.received == worker.expected:
                worker.done.set()
        elif not self.ready and b'"subscription_confirmed"' in payload and b'"channel":"broadcast"' in payload:
            self.ready = True
            self.welcomed.set()
            self.worker.on_ready()

    def connection_lost(self, exc: Exception | None) -> None:
        self.worker.lost += 1


class Worker:
    def __init__(self, url: str, token: str, count: int, broadcasts: int) -> None:
        host_port = url.removeprefix("http://")
        self.host, port = host_port.split(":")
        self.port = int(port)
        # Mobile connections: the hub's default channels without `dashboard`, whose periodic metrics pushes (another
        # feature) would add a full fan-out every few seconds to what is measured here.
        self.path = f"/api/v1/realtime/ws?connection_type=mobile&token={token}"
        self.count = count
        self.expected = count * broadcasts
        self.latencies: list[float] = []
        self.received = self.duplicates = self.out_of_order = self.closed = self.lost = self.ready_count = 0
        self.last_receive = 0.0
        self.all_ready = asyncio.Event()
        self.done = asyncio.Event()

    def on_ready(self) -> None:
        self.ready_count += 1
        if self.ready_count == self.count:
            self.all_ready.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        clients: list[Client] = []
        started = time.perf_counter()
        gate = asyncio.Semaphore(100)  # handshakes in flight: a connect storm beyond the backlog only adds retries

        async def connect() -> None:
            async with gate:
                _, client = await loop.create_connection(lambda: Client(self), self.host, self.port)
                clients.append(client)
                await client.welcomed.wait()

        await asyncio.gather(*(connect() for _ in range(self.count)))
        await self.all_ready.wait()
        print(json.dumps({"ready": time.perf_counter() - started}), flush=True)
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        done = asyncio.ensure_future(self.done.wait())
        stop = asyncio.ensure_future(reader.readline())
        await asyncio.wait({done, stop}, return_when=asyncio.FIRST_COMPLETED)
        print(json.dumps({"received": self.received, "duplicates": self.duplicates, "out_of_order": self.out_of_order,
                          "closed": self.closed, "lost": self.lost, "last_receive": self.last_receive,
                          "latencies": [round(value, 2) for value in self.latencies]}), flush=True)
        for client in clients:
            if client.transport is not None:
                client.transport.abort()


def run_worker(args: argparse.Namespace) -> None:
    raise_fd_limit()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(Worker(args.url, args.token, args.count, args.broadcasts).run())


# ---- coordinator ------------------------------------------------------------------------------------------------

def start_server(clients: int, write_mode: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "DATA_DIR": str(data_dir),
           "ADMIN_PASSWORD": ADMIN_PASSWORD, "NICEGUI_STORAGE_PATH": str(data_dir / "nicegui"),
           "WS_MAX_CONNECTIONS": str(clients + 100)}
    env.pop("REDIS_URL", None)
    command = [sys.executable, "main.py"] if write_mode == "direct" else [sys.executable, "-c", QUEUE_MODE]
    process = subprocess.Popen(["taskset", "-c", "0", *command], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/api/v1/ping", process)
    return process, url


def measure(clients: int, broadcasts: int, rate: float, workers: int, write_mode: str) -> dict[str, Any]:
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        server, url = start_server(clients, write_mode, Path(scratch))
        try:
            return _measure(server, url, clients, broadcasts, rate, workers)
        finally:
            server.terminate()
            server.wait(10)


def _measure(server: subprocess.Popen[bytes], url: str, clients: int, broadcasts: int, rate: float,
             workers: int) -> dict[str, Any]:
    admin = {"Authorization": f"Bearer {admin_token(url)}"}
    api = httpx.Client(base_url=url, timeout=30)
    api.post("/api/v1/users", headers=admin, json={"username": USER, "password": USER_PASSWORD, "role": "user"})
    token = api.post("/api/v1/auth/token", json={"username": USER, "password": USER_PASSWORD}).json()["access_token"]
    # Warm the code paths (first handshake, first broadcast) before taking the memory baseline.
    api.post("/api/v1/realtime/ws/broadcast", headers=admin, json={"channel": CHANNEL, "message_type": "warm"})
    host = psutil.Process(server.pid).children(recursive=True) or [psutil.Process(server.pid)]
    process = max(host, key=lambda p: p.memory_info().rss)
    rss_before = process.memory_info().rss
    shares = [clients // workers + (1 if i < clients % workers else 0) for i in range(workers)]
    started = time.perf_counter()
    procs = [subprocess.Popen(["taskset", "-c", "1", sys.executable, __file__, "--worker", "--url", url,
                               "--token", token, "--count", str(share), "--broadcasts", str(broadcasts)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for share in shares if share]
    for proc in procs:
        assert proc.stdout is not None
        json.loads(proc.stdout.readline())
    connect_seconds = time.perf_counter() - started
    time.sleep(1.0)  # let the user.connected events and their persistence settle
    rss_connected = process.memory_info().rss
    cpu_before = process.cpu_times()
    first_send = time.time()
    post_ms: list[float] = []
    for number in range(broadcasts):
        due = first_send + number / rate
        time.sleep(max(0.0, due - time.time()))
        sent = time.time()
        response = api.post("/api/v1/realtime/ws/broadcast", headers=admin, json={
            "channel": CHANNEL, "message_type": "bench", "data": {"n": number, "t": sent, "pad": "x" * 40}})
        response.raise_for_status()
        post_ms.append((time.time() - sent) * 1000)
    results = []
    deadline = time.time() + 60
    for proc in procs:
        assert proc.stdin is not None and proc.stdout is not None
        line = ""
        while not line and time.time() < deadline:
            line = proc.stdout.readline()
        results.append(json.loads(line))
    cpu_after = process.cpu_times()
    for proc in procs:
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # a worker that got everything has ended already
            proc.stdin.write("stop\n")
            proc.stdin.close()
        proc.wait(10)
    stats = api.get("/api/v1/realtime/ws/stats", headers=admin).json()
    latencies = sorted(value for result in results for value in result["latencies"])
    received = sum(result["received"] for result in results)
    last_receive = max(result["last_receive"] for result in results)
    return {
        "clients": clients,
        "connect_s": connect_seconds,
        "deliveries_per_s": received / (last_receive - first_send) if received else 0.0,
        "p50_ms": statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan"),
        "max_ms": latencies[-1] if latencies else float("nan"),
        "lost": clients * broadcasts - received,
        "duplicates": sum(result["duplicates"] for result in results),
        "out_of_order": sum(result["out_of_order"] for result in results),
        "dropped_slow": stats["dropped_slow_clients"],
        "kb_per_conn": (rss_connected - rss_before) / clients / 1024,
        "server_user_s": cpu_after.user - cpu_before.user,
        "server_sys_s": cpu_after.system - cpu_before.system,
        "post_p50_ms": statistics.median(post_ms),
        "write_mode": stats["write_mode"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--broadcasts", type=int, default=20)
    parser.add_argument("--rate", type=float, default=10.0, help="broadcasts per second")
    parser.add_argument("--workers", type=int, default=2, help="load generator processes (all on core 1)")
    parser.add_argument("--write-mode", choices=["direct", "queue"], default="direct")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args)
        return
    raise_fd_limit()
    os.sched_setaffinity(0, {1})
    print(f"ws fan-out: {args.broadcasts} broadcasts at {args.rate:g}/s to N clients; server on core 0, "
          f"load on core 1; write mode {args.write_mode}")
    print(f"{'N':>6} {'connect s':>9} {'deliv/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'lost':>5} "
          f"{'dup':>4} {'ooo':>4} {'slow':>4} {'KB/conn':>7} {'usr s':>5} {'sys s':>5} {'POST ms':>7}")
    for clients in args.clients:
        r = measure(clients, args.broadcasts, args.rate, args.workers, args.write_mode)
        print(f"{r['clients']:>6} {r['connect_s']:>9.1f} {r['deliveries_per_s']:>8.0f} {r['p50_ms']:>7.1f} "
              f"{r['p99_ms']:>7.1f} {r['max_ms']:>7.1f} {r['lost']:>5} {r['duplicates']:>4} {r['out_of_order']:>4} "
              f"{r['dropped_slow']:>4} {r['kb_per_conn']:>7.1f} {r['server_user_s']:>5.2f} {r['server_sys_s']:>5.2f} "
              f"{r['post_p50_ms']:>7.1f}",
              flush=True)


if __name__ == "__main__":
    main()
