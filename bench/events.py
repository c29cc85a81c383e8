"""Event bus throughput and memory with persistence: `taskset -c 1 .venv/bin/python bench/events.py [--million]`."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.db import create_db_engine, migrate
from services.events import Event, EventSystem

PAYLOADS = [{"human_id": f"human-{n}", "amount": 800.0} for n in range(1000)]


async def main(args: argparse.Namespace) -> None:
    print(f"RSS at start: {psutil.Process().memory_info().rss / 2**20:,.1f} MiB")
    with tempfile.TemporaryDirectory() as folder:
        engine = create_db_engine(args.url or f"sqlite:///{folder}/bench.db")
        migrate(engine)
        broker, live = await _broker()
        bus = EventSystem(engine, broker)
        await bus.start()
        rows_before = await bus.count_event_history()
        seen = [0, 0]

        async def on_payment(event: Event) -> None:
            seen[0] += 1

        async def on_anything(event: Event) -> None:
            seen[1] += 1

        bus.register_handler("resource.distributed", on_payment)
        bus.register_handler("*", on_anything)
        database = engine.url.render_as_string(hide_password=True) if args.url else "temporary SQLite file (WAL)"
        print(
            f"database: {database}; broker: {'memory://' if broker else 'none'}; 2 handlers; "
            f"python {sys.version.split()[0]}"
        )

        await _stream(bus, 10_000)  # warm-up: caches, first batches, thread pool
        published, committed = await _stream(bus, args.events)
        print(
            f"publish (non-durable), {args.events:,} events: {published:,.0f} events/s returned, "
            f"{committed:,.0f} events/s committed (incl. final flush)"
        )

        rate = await _durable(bus, args.durable, args.publishers)
        print(
            f"publish (durable=True), {args.durable:,} events by {args.publishers} concurrent publishers: "
            f"{rate:,.0f} events/s"
        )

        if args.million:
            await _million(bus)

        await bus.stop()
        await broker.stop() if broker else None
        metrics = bus.get_metrics()
        rows = await bus.count_event_history() - rows_before
        print(
            f"published {metrics['events_published']:,}; rows added to history {rows:,} "
            f"(history_size {metrics['history_size']:,}); lost {metrics['events_lost']}; "
            f"handler calls {sum(seen):,}; live messages {live[0]:,}"
        )
        assert rows == metrics["events_published"], "every published event must be stored"
        engine.dispose()


async def _stream(bus: EventSystem, count: int) -> tuple[float, float]:
    publish = bus.publish
    start = time.perf_counter()
    for n in range(count):
        await publish("resource.distributed", PAYLOADS[n % 1000], "bench")
    returned = time.perf_counter() - start
    await bus.flush()
    committed = time.perf_counter() - start
    return count / returned, count / committed


async def _durable(bus: EventSystem, count: int, publishers: int) -> float:
    async def publisher(share: int) -> None:
        for n in range(share):
            await bus.publish("resource.distributed", PAYLOADS[n % 1000], "bench", durable=True)

    start = time.perf_counter()
    await asyncio.gather(*(publisher(count // publishers) for _ in range(publishers)))
    return (count // publishers * publishers) / (time.perf_counter() - start)


async def _million(bus: EventSystem) -> None:
    process = psutil.Process()
    before = process.memory_info().rss
    peak = before
    start = time.perf_counter()
    for block in range(10):
        await _stream(bus, 100_000)
        peak = max(peak, process.memory_info().rss)
        if block in (0, 4, 9):
            print(f"  after {(block + 1) * 100_000:>9,} events: RSS {process.memory_info().rss / 2**20:,.1f} MiB")
    elapsed = time.perf_counter() - start
    after = process.memory_info().rss
    print(
        f"1,000,000 events: {1_000_000 / elapsed:,.0f} events/s committed; RSS before {before / 2**20:,.1f} MiB, "
        f"after {after / 2**20:,.1f} MiB, peak {peak / 2**20:,.1f} MiB"
    )


async def _broker() -> tuple[Any, list[int]]:
    live = [0]
    try:
        from services.broker import create_broker
    except ImportError:
        return None, live
    broker = create_broker("memory://")
    await broker.start()

    def count(_channel: str, _message: dict[str, Any]) -> None:
        live[0] += 1

    broker.add_listener("events", count)
    return broker, live


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000, help="non-durable events to publish")
    parser.add_argument("--durable", type=int, default=20_000, help="durable events to publish")
    parser.add_argument("--publishers", type=int, default=64, help="concurrent durable publishers")
    parser.add_argument("--url", default="", help="database URL instead of a temporary SQLite file (rows are kept)")
    parser.add_argument("--million", action="store_true", help="also publish 1,000,000 events and report RSS")
    asyncio.run(main(parser.parse_args()))
