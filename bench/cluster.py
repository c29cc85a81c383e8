"""Two replicas on one Redis: what a message costs when it crosses from one replica to another.

    python bench/cluster.py [--rate 1000] [--seconds 10] [--clients 50]

Replica A (the sender) runs on core 0 with this load generator and a private redis-server; replica B (the
receiver) runs alone on core 1. Broadcasts are POSTed to A (`/api/v1/realtime/ws/broadcast` on `resources`, the
send time in the data) and B's WebSocket clients (connection type `dashboard`, which joins `resources`) receive
them through Redis. Printed:

1. Cross-replica delivery latency at `--rate` sends/s: p50, p99 (send on A, one client on B).
2. CPU microseconds per delivery on B with `--clients` clients, for messages from Redis (sent on A) and local ones
   (sent on B itself; this includes B answering the POST), from /proc/<pid>/stat utime+stime, B's idle CPU subtracted.
3. Redis commands per message (INFO stats total_commands_processed; the idle rate of the two replicas subtracted),
   the commands by name, and Redis's own CPU per message (so the messages/s one Redis core carries).

The replicas share one SQLite file (no database work is on the broadcast path) and one SECRET_KEY.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import redis
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).parents[1]))
from bench._server import admin_token, app_process_on, free_port

CHANNEL = "resources"
TICKS = os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="sends per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured run")
    parser.add_argument("--clients", type=int, default=50, help="WebSocket clients on B for the CPU runs")
    parser.add_argument("--cpu-rate", type=float, default=300.0, help="sends per second of the CPU runs")
    args = parser.parse_args()
    if shutil.which("taskset") is None or shutil.which("redis-server") is None:
        sys.exit("this benchmark needs taskset and redis-server")
    os.sched_setaffinity(0, {0})  # the load generator stays off B's core
    with ExitStack() as stack:
        redis_url, redis_pid = stack.enter_context(private_redis())
        data = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        env = {"REDIS_URL": redis_url, "DATABASE_URL": f"sqlite:///{data / 'shared.db'}",
               "SECRET_KEY": secrets.token_urlsafe(32), "WS_MAX_CONNECTIONS_PER_USER": "1000"}
        (data / "a").mkdir()
        (data / "b").mkdir()
        a = Replica(*stack.enter_context(app_process_on(data / "a", core=0, REPLICA_NAME="bench-a", **env)))
        b = Replica(*stack.enter_context(app_process_on(data / "b", core=1, REPLICA_NAME="bench-b", **env)))
        asyncio.run(measure(args, a, b, redis.Redis.from_url(redis_url), redis_pid))


@dataclass(frozen=True, slots=True)
class Replica:
    url: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


async def measure(args: argparse.Namespace, a: Replica, b: Replica, store: redis.Redis, redis_pid: int) -> None:
    token = admin_token(a.url)
    print("two replicas on one Redis (A on core 0 with the load generator and Redis, B alone on core 1)\n")
    await asyncio.sleep(2)  # start-up work (first samples, leadership) out of the way
    idle_cpu, idle_commands = await idle_rates(b.pid, store, seconds=3)

    # 1. latency: send on A, one client on B
    async with connect(ws_url(b.url, token), ping_interval=None, max_queue=None) as ws:
        await welcome(ws)
        latencies: list[float] = []
        receiver = asyncio.create_task(receive_latencies(ws, latencies))
        before, a_before, redis_before, redis_cpu = usage(b.pid), usage(a.pid), commands(store), usage(redis_pid)
        sent, elapsed = await send(a.url, token, args.rate, args.seconds)
        await asyncio.sleep(1)
        after, a_after, redis_after = usage(b.pid), usage(a.pid), commands(store)
        redis_cpu = usage(redis_pid) - redis_cpu
        receiver.cancel()
    latencies.sort()
    print(f"1. cross-replica delivery latency (POST on A -> Redis -> B -> client), {args.rate:.0f} sends/s asked")
    print(f"   sent {sent} at {sent / elapsed:.0f}/s, received {len(latencies)}")
    if latencies:
        print(f"   p50 {quantile(latencies, 0.50):.1f} ms, p99 {quantile(latencies, 0.99):.1f} ms, "
              f"max {latencies[-1]:.1f} ms")
    print(f"   CPU per message: A (accepts the POST, publishes) {(a_after - a_before) * 1e6 / sent:.0f} us, "
          f"B (one client) {cpu_per(before, after, idle_cpu, elapsed + 1, sent):.0f} us")
    commands_per = ((redis_after[0] - redis_before[0]) - idle_commands * (elapsed + 1)) / sent
    by_name = {name: redis_after[1].get(name, 0) - redis_before[1].get(name, 0) for name in redis_after[1]}
    print(f"\n3. Redis commands per message: {commands_per:.1f} ("
          + ", ".join(f"{name} {count / sent:.1f}" for name, count in
                      sorted(by_name.items(), key=lambda item: -item[1]) if count / sent >= 0.05) + ")")
    print(f"   Redis CPU per message (two replicas subscribed): {redis_cpu * 1e6 / sent:.0f} us, so one Redis core "
          f"carries about {sent / max(redis_cpu, 1e-9):,.0f} messages/s")

    # 2. CPU on B: a fixed cost per message and a cost per delivery (per client), from Redis vs local
    print(f"\n2. B's CPU at {args.cpu_rate:.0f} messages/s, 1 and {args.clients} clients on B")
    costs: dict[tuple[str, int], float] = {}
    for clients in (1, args.clients):
        drains = [await DrainClient.open(b.url, token) for _ in range(clients)]
        try:
            for label, target in (("redis", a.url), ("local", b.url)):
                await asyncio.sleep(1)
                counted, start = await delivered(b.url, token), usage(b.pid)
                sent, elapsed = await send(target, token, args.cpu_rate, args.seconds / 2)
                await asyncio.sleep(1)
                cpu = usage(b.pid) - start - idle_cpu * (elapsed + 1)
                deliveries = await delivered(b.url, token) - counted
                if deliveries < sent * clients:
                    print(f"   warning: {deliveries} deliveries of {sent * clients}")
                costs[label, clients] = cpu * 1e6 / sent
        finally:
            for drain in drains:
                drain.close()
    for label, name in (("redis", "from Redis (sent on A)"), ("local", "local (sent on B)")):
        per_delivery = (costs[label, args.clients] - costs[label, 1]) / (args.clients - 1)
        per_message = costs[label, 1] - per_delivery
        print(f"   {name:24s} {per_message:5.0f} us per message + {per_delivery:4.1f} us per delivery "
              f"(with {args.clients} clients: {costs[label, args.clients] / args.clients:4.1f} us per delivery)")
    print(f"   (B idle: {idle_cpu * 100:.1f} % of a core; Redis idle: {idle_commands:.1f} commands/s, subtracted)")


# --- load ------------------------------------------------------------------------------------------------------

async def send(url: str, token: str, rate: float, seconds: float, connections: int = 16) -> tuple[int, float]:
    """POST broadcasts at `rate` per second for `seconds` over keep-alive connections (a few lines of HTTP/1.1:
    the generator must cost far less than the server); answers how many were accepted and the time it took."""
    total = int(rate * seconds)
    host, port = url.removeprefix("http://").split(":")
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    accepted = 0

    async def worker() -> None:
        nonlocal accepted
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while (n := await queue.get()) is not None:
                body = orjson.dumps({"channel": CHANNEL, "message_type": "bench", "data": {"n": n, "t": time.time()}})
                writer.write(b"POST /api/v1/realtime/ws/broadcast HTTP/1.1\r\nHost: %s\r\n"
                             b"Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (host.encode(), token.encode(), len(body), body))
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                accepted += head.startswith(b"HTTP/1.1 200")
        finally:
            writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    began = time.perf_counter()
    for n in range(total):
        delay = began + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(n)
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return accepted, time.perf_counter() - began


async def receive_latencies(ws: object, latencies: list[float]) -> None:
    async for raw in ws:  # type: ignore[attr-defined]
        frame = orjson.loads(raw)
        if frame["type"] == "bench":
            latencies.append((time.time() - frame["data"]["t"]) * 1000)


class DrainClient:
    """A WebSocket client that reads and discards (the server's counters say what it was sent): cheap enough that
    dozens of them keep up with B on the load generator's core."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.task = asyncio.create_task(self._drain(reader))

    @classmethod
    async def open(cls, url: str, token: str) -> DrainClient:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /api/v1/realtime/ws?connection_type=dashboard&token={token} HTTP/1.1\r\n"
                      f"Host: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(head.decode(errors="replace"))
        return cls(reader, writer)

    async def _drain(self, reader: asyncio.StreamReader) -> None:
        while await reader.read(1 << 16):
            pass

    def close(self) -> None:
        self.task.cancel()
        self.writer.close()


async def delivered(url: str, token: str) -> int:
    """Frames B has written to its WebSocket clients so far."""
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as api:
        listed = (await api.get("/api/v1/realtime/ws/connections?limit=10000")).json()["connections"]
    return sum(int(c["messages_sent"]) for c in listed)


async def welcome(ws: object) -> None:
    first = orjson.loads(await ws.recv())  # type: ignore[attr-defined]
    for _ in first["data"]["channels"]:
        await ws.recv()  # type: ignore[attr-defined]


def ws_url(url: str, token: str) -> str:
    return url.replace("http://", "ws://") + f"/api/v1/realtime/ws?connection_type=dashboard&token={token}"


# --- readings --------------------------------------------------------------------------------------------------

def usage(pid: int) -> float:
    """Seconds of CPU (user + system) the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def commands(store: redis.Redis) -> tuple[int, dict[str, int]]:
    """Commands Redis has processed in all and by name (not counting the INFO calls of this benchmark)."""
    total = int(store.info("stats")["total_commands_processed"])  # type: ignore[index]
    stats = store.info("commandstats")
    return total, {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()
                   if name != "cmdstat_info"}


async def idle_rates(pid: int, store: redis.Redis, seconds: float) -> tuple[float, float]:
    """B's CPU (cores) and Redis's commands per second while nothing is sent."""
    cpu, (total, _) = usage(pid), commands(store)
    await asyncio.sleep(seconds)
    return (usage(pid) - cpu) / seconds, (commands(store)[0] - total - 2) / seconds


def cpu_per(before: float, after: float, idle: float, seconds: float, count: int) -> float:
    return (after - before - idle * seconds) * 1e6 / max(count, 1)


def quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if len(ordered) > 1 else statistics.fmean(ordered)


@contextmanager
def private_redis() -> Iterator[tuple[str, int]]:
    """A redis-server of this benchmark alone (its command counts are then the replicas' only), on core 0."""
    port = free_port()
    process = subprocess.Popen(["taskset", "-c", "0", "redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        client.close()
        yield f"redis://127.0.0.1:{port}/0", process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


if __name__ == "__main__":
    main()
