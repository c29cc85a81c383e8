"""REST throughput: a trivial route in the app vs bare FastAPI, and durable event publishes.

Server pinned to core 0, wrk to core 1. Both servers run side by side and are measured in alternation, `--rounds`
times, because this machine's speed drifts by 20 % or more from one minute to the next: the ratio of each round
is taken while both see the same machine. The server not being measured is paused (SIGSTOP) meanwhile.
Prints the best and median of each, and the median ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics

from _server import admin_token, app_process, bare_process, paused, wrk

PUBLISH_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
wrk.body = '%s'
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    run = {"seconds": args.seconds, "connections": args.connections}

    bare: list[tuple[float, float]] = []
    ours: list[tuple[float, float]] = []
    with bare_process() as (bare_url, bare_proc), app_process() as (url, app_proc):
        for target in (bare_url, url):
            wrk(f"{target}/api/v1/ping", seconds=2)  # warm-up
        for _ in range(args.rounds):
            with paused(app_proc):
                bare.append(wrk(f"{bare_url}/api/v1/ping", **run))
            with paused(bare_proc):
                ours.append(wrk(f"{url}/api/v1/ping", **run))
        body = json.dumps({"event_type": "resource.distributed", "source": "bench",
                           "data": {"human_id": "bench-human", "amount": 800}})
        token = admin_token(url)
        pub_rate, pub_p99 = wrk(f"{url}/api/v1/realtime/events/publish", script=PUBLISH_LUA % (token, body), **run)
        # The same route for an event nothing reacts to: what the reactions to resource.distributed cost (its rule
        # sends the human a notification, which is stored, published as notification.sent and delivered twice).
        plain = json.dumps({"event_type": "bench.ping", "source": "bench", "data": {"n": 1}})
        plain_rate, plain_p99 = wrk(f"{url}/api/v1/realtime/events/publish", script=PUBLISH_LUA % (token, plain),
                                    **run)

    ratios = [o[0] / b[0] for b, o in zip(bare, ours, strict=True)]
    print(f"{'route':<44}{'req/s median':>14}{'best':>8}{'p99 ms':>8}")
    for name, runs in (("bare FastAPI GET /api/v1/ping", bare), ("app GET /api/v1/ping", ours)):
        rates = [r for r, _ in runs]
        p99 = statistics.median(p for _, p in runs)
        print(f"{name:<44}{statistics.median(rates):>14.0f}{max(rates):>8.0f}{p99:>8.1f}")
    print(f"{'app POST events/publish (durable)':<44}{pub_rate:>14.0f}{'':>8}{pub_p99:>8.1f}")
    print(f"{'  the same, an event no rule reacts to':<44}{plain_rate:>14.0f}{'':>8}{plain_p99:>8.1f}")
    print(f"trivial route ratio app/bare per round: {' '.join(f'{r:.0%}' for r in ratios)}")
    print(f"trivial route ratio app/bare, median: {statistics.median(ratios):.0%} (target >= 80%)")
    print(f"durable publishes/s: {pub_rate:.0f} (target >= 3000)")


if __name__ == "__main__":
    main()
