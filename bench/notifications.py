"""Notification figures: `.venv/bin/python bench/notifications.py [--url postgresql://...]`.

1. sends/s through the Python API, until committed (this process pinned to core 1);
2. REST sends/s, each answered after its commit (server on core 0, wrk on core 1);
3. send -> delivery latency to a connected WebSocket client at 1,000 sends/s (server core 0, client core 1);
4. a broadcast to 10,000 accounts: time to send and rows written;
5. the cost of preferences on the send path: sends/s to 10,000 people who all have preferences, next to the same
   sends without the preference book and with it but nobody having any (target: at most 10 % slower);
6. delivery trace write cost per notification: personal sends with the trace on and off (µs per notification on
   the send path, and until committed), and the trace writer's own cost per step when flushed in batches.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _server import ADMIN_PASSWORD, admin_token, app_server, wrk

from app.container import build_services
from app.db import create_db_engine, migrate
from app.settings import load_settings
from services.broker import create_broker
from services.delivery import BrokerDelivery
from services.events import EventSystem
from services.models import User, utcnow
from services.notifications import NotificationService
from services.notifications.models import NotificationPreference, NotificationReceipt, NotificationRecord
from services.notifications.preference_book import PreferenceBook
from services.notifications.preferences import parse_preferences
from services.notifications.trace import Step, Tracer
from services.users import UserStore

SEND_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
wrk.body = '%s'
"""


async def python_api(args: argparse.Namespace, folder: Path) -> None:
    os.sched_setaffinity(0, {1})
    print(f"1. Python API, {args.sends:,} sends to 100 users (resource_distribution, $ amount), {args.db_label}")
    settings = load_settings(data_dir=folder / "product", database_url=args.url, redis_url="",
                             admin_password=ADMIN_PASSWORD)
    services = build_services(settings)
    await services.start()
    returned, committed = await _sends(services.notifications, services.events, args.sends)
    print(f"   whole product (build_services: hub delivery, metrics feeds, event history): "
          f"{returned:,.0f}/s returned, {committed:,.0f}/s committed")
    await services.stop()

    for label, history in (("service + event bus storing each notification.sent event", True),
                           ("service + event bus without history (notification rows only)", False)):
        engine = _engine(args, folder / f"alone-{history}.db")
        broker = create_broker("memory://")
        await broker.start()
        events = EventSystem(engine if history else None, broker)
        await events.start()
        service = NotificationService(engine, UserStore(engine), events, BrokerDelivery(broker))
        await service.start()
        returned, committed = await _sends(service, events, args.sends)
        rows = _count(engine, NotificationRecord)
        print(f"   {label}: {returned:,.0f}/s returned, {committed:,.0f}/s committed ({rows:,} rows)")
        await service.stop()
        await events.stop()
        await broker.stop()
        engine.dispose()
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))


async def _sends(service: NotificationService, events: EventSystem, count: int,
                 people: int = 100) -> tuple[float, float]:
    send = service.send_notification
    for n in range(max(5000, people)):  # warm-up: caches (every person's preferences), first batches, threads
        await send(f"human-{n % people}", "resource_distribution", {"amount": 800})
    await service.flush()
    await events.flush()
    start = time.perf_counter()
    for n in range(count):
        await send(f"human-{n % people}", "resource_distribution", {"amount": 800 + n % 7})
    returned = time.perf_counter() - start
    await service.flush()
    await events.flush()
    return count / returned, count / (time.perf_counter() - start)


async def broadcast(args: argparse.Namespace, folder: Path) -> None:
    engine = _engine(args, folder / "broadcast.db")
    with engine.begin() as connection:
        connection.execute(insert(User), [{"username": f"member-{n}", "password_hash": "-", "role": "user",
                                           "is_active": True, "created_at": utcnow()} for n in range(args.accounts)])
    broker = create_broker("memory://")
    await broker.start()
    delivered: list[float] = []
    broker.add_listener("broadcast", lambda _c, _m: delivered.append(time.perf_counter()))
    events = EventSystem(engine, broker)
    await events.start()
    service = NotificationService(engine, UserStore(engine), events, BrokerDelivery(broker))
    await service.start()
    await service.send_notification(None, "info", {"message": "warm-up"}, broadcast=True, durable=True)
    before = _count(engine, NotificationRecord), _count(engine, NotificationReceipt)
    start = time.perf_counter()
    sent = await service.send_notification(None, "info", {"message": "Maintenance at noon"}, broadcast=True,
                                           durable=True)
    elapsed = time.perf_counter() - start
    rows = _count(engine, NotificationRecord) - before[0], _count(engine, NotificationReceipt) - before[1]
    print(f"4. broadcast to {args.accounts:,} accounts ({args.db_label}): sent and committed in "
          f"{elapsed * 1000:.1f} ms (pushed on 'broadcast' after {(delivered[-1] - start) * 1000:.1f} ms); rows "
          f"written: {rows[0]} notification + {rows[1]} receipts")
    for n in range(100):
        await service.mark_notification_read(sent, f"member-{n}")
    query = time.perf_counter()
    inbox = await service.get_inbox("member-5000", role="user")
    print(f"   after 100 of them read it: {_count(engine, NotificationReceipt) - before[1]} receipts; one member's "
          f"inbox query {(time.perf_counter() - query) * 1000:.1f} ms, unread {inbox['unread_count']}")
    await service.stop()
    await events.stop()
    await broker.stop()
    engine.dispose()


async def preferences(args: argparse.Namespace, folder: Path) -> None:
    os.sched_setaffinity(0, {1})
    people = args.accounts
    print(f"5. preferences on the send path: {args.sends:,} personal sends to {people:,} people, {args.db_label}")
    settings = orjson.dumps(parse_preferences({
        "types": {"truth_update": False}, "min_priority": 2,
        "quiet_hours": {"start": "03:00", "end": "03:01", "timezone": "Europe/Berlin"}}).to_dict()).decode()
    figures: dict[str, float] = {}
    for label in ("no preference book", "book, nobody has preferences", "book, everyone has preferences"):
        engine = _engine(args, folder / f"preferences-{len(figures)}.db")
        if label.startswith("book, everyone"):
            with engine.begin() as connection:
                connection.execute(insert(NotificationPreference), [
                    {"username": f"human-{n}", "settings": settings, "quiet": True, "updated_at": utcnow()}
                    for n in range(people)])
        broker = create_broker("memory://")
        await broker.start()
        events = EventSystem(None, broker)
        await events.start()
        book = None if label.startswith("no ") else PreferenceBook(engine, broker)
        service = NotificationService(engine, UserStore(engine), events, BrokerDelivery(broker), preferences=book)
        await service.start()
        returned, committed = await _sends(service, events, args.sends, people=people)
        figures[label] = committed
        print(f"   {label}: {returned:,.0f}/s returned, {committed:,.0f}/s committed")
        await service.stop()
        await events.stop()
        await broker.stop()
        engine.dispose()
    base, full = figures["no preference book"], figures["book, everyone has preferences"]
    print(f"   everyone with preferences is {(1 - full / base) * 100:+.1f} % slower than no book (target <= 10 %)")
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))


async def trace(args: argparse.Namespace, folder: Path) -> None:
    os.sched_setaffinity(0, {1})
    print(f"6. delivery trace write cost: {args.sends:,} personal sends to 100 people, {args.db_label}")
    figures: dict[str, tuple[float, float]] = {}
    for label in ("trace off", "trace on"):
        engine = _engine(args, folder / f"trace-{len(figures)}.db")
        broker = create_broker("memory://")
        await broker.start()
        events = EventSystem(None, broker)
        await events.start()
        tracer = Tracer(engine, replica="bench", enabled=label == "trace on")
        service = NotificationService(engine, UserStore(engine), events, BrokerDelivery(broker), trace=tracer)
        await service.start()
        figures[label] = await _sends(service, events, args.sends)
        await tracer.flush()
        print(f"   {label}: {figures[label][0]:,.0f}/s returned, {figures[label][1]:,.0f}/s committed; "
              f"trace steps recorded {tracer.recorded:,}, dropped {tracer.dropped:,}")
        await service.stop()
        await events.stop()
        await broker.stop()
        engine.dispose()
    (off_returned, off_committed), (on_returned, on_committed) = figures["trace off"], figures["trace on"]
    print(f"   delivery trace write cost per notification: {(1 / on_returned - 1 / off_returned) * 1e6:+.1f} µs on "
          f"the send path, {(1 / on_committed - 1 / off_committed) * 1e6:+.1f} µs until committed")
    engine = _engine(args, folder / "trace-steps.db")
    tracer = Tracer(engine, replica="bench", buffer_size=args.sends + 1)
    start = time.perf_counter()
    for n in range(args.sends):
        tracer.record(f"n-{n % 1000}", Step.READ, "read by someone", recipient=f"u{n % 50}")
    queued = time.perf_counter() - start
    tracer.start()
    await tracer.flush()
    total = time.perf_counter() - start
    print(f"   one step: {queued / args.sends * 1e6:.1f} µs to record, {(total - queued) / args.sends * 1e6:.1f} µs "
          f"to flush in batches of 2,000")
    await tracer.stop()
    engine.dispose()
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))


def rest(args: argparse.Namespace) -> None:
    with app_server(core=0, DATABASE_URL=args.url) as url:
        body = json.dumps({"user_id": "admin", "notification_type": "resource_distribution",
                           "data": {"amount": 800}})
        script = SEND_LUA % (admin_token(url), body)
        wrk(f"{url}/api/v1/notifications/send", script=script, seconds=2)  # warm-up
        rate, p99 = wrk(f"{url}/api/v1/notifications/send", script=script, seconds=args.seconds,
                        connections=args.connections)
    print(f"2. REST POST /api/v1/notifications/send (201 after commit), {args.connections} connections, "
          f"{args.db_label}: {rate:,.0f} sends/s, p99 {p99:.1f} ms")


async def latency(args: argparse.Namespace) -> None:
    import websockets

    os.sched_setaffinity(0, {1})
    with app_server(core=0, DATABASE_URL=args.url) as url:
        token = admin_token(url)
        ws_url = url.replace("http://", "ws://") + f"/api/v1/realtime/ws?connection_type=dashboard&token={token}"
        try:
            socket = await websockets.connect(ws_url, max_size=2**22)
        except Exception as error:  # the hub is not there (yet): say so rather than invent a figure
            print(f"3. latency: no WebSocket endpoint ({error!r}); not measured")
            return
        async with socket:
            sent, received, answered = await _paced_sends(socket, url, token, args.rate, args.latency_seconds)
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    delays = sorted((received[n] - sent[n]) * 1000 for n in received if n in sent)
    if not delays:
        print("3. latency: nothing was delivered to the WebSocket client")
        return
    achieved = len(sent) / (max(sent.values()) - min(sent.values()))
    print(f"3. send -> WebSocket delivery at {achieved:,.0f} sends/s for {args.latency_seconds:g} s (REST send "
          f"answered after commit, then hub, socket; {args.db_label}): delivered {len(delays)}/{len(sent)}, "
          f"p50 {_pct(delays, 50):.1f} ms, p95 {_pct(delays, 95):.1f} ms, p99 {_pct(delays, 99):.1f} ms, "
          f"max {delays[-1]:.1f} ms (REST answer p99 {_pct(sorted(answered), 99):.1f} ms)")


class _Http:
    """A minimal keep-alive HTTP/1.1 client: httpx costs about 1 ms of CPU per request, which alone would
    saturate the load generator's core at 1,000 requests/s and measure the client instead of the server."""

    def __init__(self, url: str, token: str, connections: int) -> None:
        self.host, _, port = url.removeprefix("http://").partition(":")
        self.port = int(port)
        self.token = token
        self.size = connections
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def open(self) -> None:
        for _ in range(self.size):
            self.idle.put_nowait(await asyncio.open_connection(self.host, self.port))

    async def post(self, path: str, body: dict[str, Any]) -> int:
        reader, writer = await self.idle.get()
        payload = json.dumps(body).encode()
        writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {self.token}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode() + payload)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        await reader.readexactly(length)
        self.idle.put_nowait((reader, writer))
        return status

    def close(self) -> None:
        while not self.idle.empty():
            self.idle.get_nowait()[1].close()


async def _paced_sends(socket: Any, url: str, token: str, rate: float,
                       seconds: float) -> tuple[dict[int, float], dict[int, float], list[float]]:
    sent: dict[int, float] = {}
    received: dict[int, float] = {}
    answered: list[float] = []
    run = uuid.uuid4().hex[:8]
    total = int(rate * seconds)
    http = _Http(url, token, 64)
    await http.open()

    async def listen() -> None:
        async for frame in socket:
            now = time.perf_counter()
            message = json.loads(frame)
            if message.get("type") == "notification":
                data = message["data"].get("data") or {}
                if data.get("run") == run:
                    received[data["n"]] = now
                    if len(received) == total:
                        return

    async def one(n: int) -> None:
        body = {"user_id": "admin", "notification_type": "info", "message": f"latency {n}",
                "data": {"run": run, "n": n}}
        sent[n] = start = time.perf_counter()
        status = await http.post("/api/v1/notifications/send", body)
        answered.append((time.perf_counter() - start) * 1000)
        assert status == 201, status

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.5)  # connection_established and default subscriptions first
    for n in range(200):  # warm-up outside the figures
        await http.post("/api/v1/notifications/send", {"user_id": "admin", "notification_type": "info",
                                                        "message": f"warm-up {n}"})
    begin = time.perf_counter()
    tasks = []
    for n in range(total):
        delay = begin + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(listener, 5)
    http.close()
    return sent, received, answered


def _pct(ordered: list[float], percent: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))]


def _engine(args: argparse.Namespace, path: Path) -> Engine:
    if args.url:
        from sqlalchemy import text

        engine = create_db_engine(load_settings(database_url=args.url).effective_database_url)
        with engine.begin() as connection:  # a scratch database: start empty each time
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    else:
        engine = create_db_engine(f"sqlite:///{path}")
    migrate(engine)
    return engine


def _count(engine: Engine, table: type) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


async def main(args: argparse.Namespace) -> None:
    args.db_label = "PostgreSQL" if args.url else "SQLite file (WAL)"
    print(f"python {sys.version.split()[0]}; {os.cpu_count()} cores; {args.db_label}")
    with tempfile.TemporaryDirectory() as folder:
        if "api" in args.parts:
            await python_api(args, Path(folder))
        if "rest" in args.parts:
            await asyncio.to_thread(rest, args)
        if "latency" in args.parts:
            await latency(args)
        if "broadcast" in args.parts:
            await broadcast(args, Path(folder))
        if "preferences" in args.parts:
            await preferences(args, Path(folder))
        if "trace" in args.parts:
            await trace(args, Path(folder))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sends", type=int, default=50_000, help="Python API sends per measurement")
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--rate", type=float, default=1000, help="sends/s for the latency measurement")
    parser.add_argument("--latency-seconds", type=float, default=5)
    parser.add_argument("--accounts", type=int, default=10_000, help="accounts for the broadcast")
    parser.add_argument("--url", default="", help="a scratch PostgreSQL database (its schema is dropped!)")
    parser.add_argument("--parts", default="api,rest,latency,broadcast,preferences")
    asyncio.run(main(parser.parse_args()))
