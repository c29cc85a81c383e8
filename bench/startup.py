"""Start-up time (`python main.py` to the first 200) and idle memory (RSS after start and a few page views)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import httpx
import psutil
from _server import ADMIN_PASSWORD, ROOT, free_port


def main() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "PORT": str(port), "DATA_DIR": data, "ADMIN_PASSWORD": ADMIN_PASSWORD,
               "NICEGUI_STORAGE_PATH": f"{data}/nicegui"}
        timings = []
        for attempt in range(2):  # the first start also migrates and hashes the admin password
            started = time.perf_counter()
            process = subprocess.Popen([sys.executable, "main.py"], cwd=ROOT, env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while True:
                try:
                    if httpx.get(f"{url}/api/v1/health", timeout=0.5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None:
                    sys.exit("server exited")
                time.sleep(0.01)
            timings.append(time.perf_counter() - started)
            if attempt == 1:
                for _ in range(5):
                    httpx.get(f"{url}/login")
                time.sleep(2)
                rss = psutil.Process(process.pid).memory_info().rss / 2**20
            process.terminate()
            process.wait(10)
    print(f"first start (migrate + create admin) to first 200: {timings[0]:.2f} s")
    print(f"restart to first 200: {timings[1]:.2f} s (target <= 1.5 s)")
    print(f"idle RSS after start and 5 page loads: {rss:.0f} MiB (target <= 120 MiB)")


if __name__ == "__main__":
    main()
