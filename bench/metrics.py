"""Metric recording beside prometheus_client, host-sample cost, /metrics render time.

Run pinned to one core: `taskset -c 1 .venv/bin/python bench/metrics.py`.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import prometheus_client as prom

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.metrics import HostSampler, MetricsService, PrometheusExport
from services.metrics import host as host_sampler

N = 2_000_000
ROUNDS = 3


def rate(fn: Callable[[], None], n: int = N) -> float:
    """Best of ROUNDS: operations per second of a loop of n calls made by `fn`."""
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n / best


def loop(call: Callable[..., object], *args: object) -> Callable[[], None]:
    def run() -> None:
        for _ in range(N):
            call(*args)
    return run


def hot_paths() -> None:
    metrics = MetricsService()
    for name, kind, unit in (("b_counter", "counter", "count"), ("b_gauge", "gauge", "count"),
                             ("b_histogram", "histogram", "milliseconds"), ("b_timer", "timer", "milliseconds"),
                             ("b_rate", "rate", "events/second")):
        metrics.create_custom_metric(name, kind, "performance", "bench", unit)
    registry = prom.CollectorRegistry()
    prom_counter = prom.Counter("p_counter", "bench", registry=registry)
    prom_gauge = prom.Gauge("p_gauge", "bench", registry=registry)
    prom_histogram = prom.Histogram("p_histogram", "bench", registry=registry)
    reference = {
        "counter": rate(loop(prom_counter.inc, 1.0)),
        "gauge": rate(loop(prom_gauge.set, 42.0)),
        "histogram": rate(loop(prom_histogram.observe, 12.5)),
    }
    print(f"prometheus_client {version('prometheus_client')} (same run, same core): "
          f"inc {reference['counter']:,.0f}/s, set {reference['gauge']:,.0f}/s, "
          f"observe {reference['histogram']:,.0f}/s")
    record = metrics.record_metric
    print(f"{'type':<10} {'record_metric/s':>16} {'direct call/s':>14} {'ratio':>20}  target")
    names = {"counter": "inc", "gauge": "set", "histogram": "observe"}
    for kind, value, target in (("counter", 1.0, 2e6), ("gauge", 42.0, 2e6), ("histogram", 12.5, 1e6),
                                ("timer", 12.5, 1e6), ("rate", 1.0, 1e6)):
        metric = metrics.metrics[f"b_{kind}"]
        ours = rate(loop(record, f"b_{kind}", value))
        direct = rate(loop(metric.record, value))
        ref_kind = "histogram" if kind in {"histogram", "timer"} else ("counter" if kind == "rate" else kind)
        ratio = f"{ours / reference[ref_kind]:.2f}x prom {names[ref_kind]}"
        verdict = "ok" if ours >= target else "MISSED"
        print(f"{kind:<10} {ours:>16,.0f} {direct:>14,.0f} {ratio:>20}  >= {target / 1e6:.0f}M/s {verdict}")
    timer = metrics.metrics["b_timer"]
    blocks = rate(loop(_timed_block, timer))  # a Timing object, two perf_counter calls and an observe
    print(f"timer used as `with timer.time():` {blocks:,.0f} blocks/s (rate has no target of its own: "
          f"compared with inc, held to the histogram target)")


def _timed_block(timer: object) -> None:
    with timer.time():  # type: ignore[attr-defined]
        pass


def host_sample_cost(samples: int = 200) -> None:
    sampler = HostSampler()
    sampler.sample()  # the primed first reading (measures over 0.2 s) is not what the job pays each time
    host_sampler.MIN_CPU_INTERVAL = 0.0  # measure the real psutil calls every time, not the reuse guard
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(samples):
        c, w = time.process_time(), time.perf_counter()
        sampler.sample()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    print(f"host sample (cpu, memory, disk, uptime): CPU {statistics.mean(cpu) * 1e3:.3f} ms mean, "
          f"wall {statistics.median(wall) * 1e3:.3f} ms median over {samples} (target <= 5 ms)")


def exposition_and_payloads() -> None:
    metrics = MetricsService()
    kinds = ("counter", "gauge", "histogram", "timer", "rate")
    n = 0
    while len(metrics.metrics) < 100:
        kind = kinds[n % len(kinds)]
        metrics.create_custom_metric(f"custom_{n}", kind, "performance", f"custom {kind}", "milliseconds")
        n += 1
    for name in metrics.metrics:
        for v in range(50):
            metrics.record_metric(name, float(v))
    export = PrometheusExport(lambda: metrics.metrics)
    body = export.render()
    times = []
    for _ in range(200):
        start = time.perf_counter()
        export.render()
        times.append(time.perf_counter() - start)
    print(f"/metrics render with {len(metrics.metrics)} metrics ({len(body):,} bytes, process collector included): "
          f"{statistics.median(times) * 1e3:.2f} ms median, {max(times) * 1e3:.2f} ms max (target <= 5 ms)")
    payload_times = []
    for _ in range(50):
        start = time.perf_counter()
        asyncio.run(_payloads(metrics))
        payload_times.append(time.perf_counter() - start)
    print(f"push payloads (dashboard + admin, {len(metrics.metrics)} metrics): "
          f"{statistics.median(payload_times) * 1e3:.2f} ms median")


async def _payloads(metrics: MetricsService) -> None:
    await metrics.get_dashboard_metrics()
    await metrics.get_admin_metrics()


if __name__ == "__main__":
    if hasattr(os, "sched_getaffinity"):
        print(f"python {sys.version.split()[0]}; cores {sorted(os.sched_getaffinity(0))}")
    hot_paths()
    host_sample_cost()
    exposition_and_payloads()
