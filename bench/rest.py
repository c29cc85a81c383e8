"""REST throughput: a trivial route in the app vs bare FastAPI, and durable event publishes.

Server pinned to core 0, wrk to core 1. Prints req/s and p99 for each, and the ratio to bare FastAPI.
"""

from __future__ import annotations

import argparse
import json

from _server import admin_token, app_server, bare_server, wrk

PUBLISH_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
wrk.body = '%s'
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    run = {"seconds": args.seconds, "connections": args.connections}

    with bare_server() as url:
        wrk(f"{url}/api/v1/ping", seconds=2)  # warm-up
        bare_rate, bare_p99 = wrk(f"{url}/api/v1/ping", **run)
    with app_server() as url:
        wrk(f"{url}/api/v1/ping", seconds=2)
        ours_rate, ours_p99 = wrk(f"{url}/api/v1/ping", **run)
        body = json.dumps({"event_type": "resource.distributed", "source": "bench",
                           "data": {"human_id": "bench-human", "amount": 800}})
        script = PUBLISH_LUA % (admin_token(url), body)
        pub_rate, pub_p99 = wrk(f"{url}/api/v1/realtime/events/publish", script=script, **run)

    print(f"{'route':<44}{'req/s':>10}{'p99 ms':>10}")
    print(f"{'bare FastAPI GET /api/v1/ping':<44}{bare_rate:>10.0f}{bare_p99:>10.1f}")
    print(f"{'app GET /api/v1/ping':<44}{ours_rate:>10.0f}{ours_p99:>10.1f}")
    print(f"{'app POST events/publish (durable)':<44}{pub_rate:>10.0f}{pub_p99:>10.1f}")
    print(f"trivial route ratio app/bare: {ours_rate / bare_rate:.0%} (target >= 80%)")
    print(f"durable publishes/s: {pub_rate:.0f} (target >= 3000)")


if __name__ == "__main__":
    main()
