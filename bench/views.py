"""Dashboard views one server process keeps live (issue 17): N emulated browser tabs on `/`, events at 2/s.

    taskset -c 1 .venv/bin/python bench/views.py [--views 100,300,1000] [--seconds 30] [--rate 2]
                                                 [--case typical|worst|both] [--repeat 2] [--no-check]

Each view is a browser tab emulated at the socket.io level, as static/nicegui.js does it: `GET /` with the session
cookie of a signed-in account (the HTML carries the page's client id, its first message id and its elements), then
NiceGUI's socket (`/_nicegui_ws/socket.io/?client_id=…&next_message_id=…&implicit_handshake=true&document_id=…
&tab_id=…&old_tab_id=null&EIO=4&transport=websocket`, with the Origin and Cookie headers a browser sends), the
engine.io open / `40` connect / `2`→`3` pings, message ids checked and acknowledged every 3 s with
`42["ack",{"client_id","next_message_id"}]` (so the server prunes its message history as for a browser), and
WebSocket pings answered. The views run on raw asyncio transports in a worker process, so the load generator stays
the cheap side. Accounts are created through the REST API and signed in through the login page's form, driven over
the same socket (the page's own username, password and button listeners), so each session is exactly what a
browser's sign-in leaves; one setup server makes the accounts and sessions, and every measured run starts a fresh
server on that data directory (the sessions stay valid), pinned to core 0 with `bench/gc_probe.py` loaded.

Cases:
  typical  every view signed in as its own account (`--accounts` caps how many; views share them round-robin);
           each event is `resource.distributed` to a human who is not a viewer, so it reaches every view's feed
           and notifies someone else.
  worst    every view signed in as `viewer`, the human each event notifies: it also reaches every inbox and bell.

Each run opens N views 8 at once (`GET /` p50/p95, non-200 answers), waits until the server is settled (its idle
CPU with N views open is printed), publishes through REST at `--rate` for `--seconds`, and prints: latency from the
publish (just before the REST call) to the first frame in each view that carries the event (the feed row's
`add`, matched by event id), p50/p95/max; deliveries lost (expected minus received, over all views, and the most
one view missed); views dropped (socket closed, or told to reload); server CPU % over the publishing period (from
/proc/<pid>/stat), that CPU per event per view; (RSS with N views open - RSS before) / N; the longest GC pause
during the publishing period (and during the whole run); `GET /` p50 of 40 more page loads, 8 at once, with the N
views open, and any 5xx. The load generator's CPU and its longest event-loop stall are printed too: when the
generator is saturated the latencies include its own queueing.

Before the runs (unless `--no-check`), the emulation is checked against one real Chromium tab signed in as
`viewer` beside 20 emulated views: the frames each receives for a few published events, by message type, target
component and method, with their sizes and counts, and what each sends.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _server import admin_token, app_process_on

PASSWORD = "bench-viewer-password"
WORST = "viewer"
RECIPIENT = "recipient"
USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0.0.0 "
              "Safari/537.36")
OPEN_AT_ONCE = 8
PROBE_LOADS = 40
ACK_SECONDS = 3.0  # nicegui.js: setInterval(() => ack(), 3000)
SERVER = ("import importlib.util, runpy; spec = importlib.util.spec_from_file_location('gc_probe', "
          "'bench/gc_probe.py'); probe = importlib.util.module_from_spec(spec); spec.loader.exec_module(probe); "
          "probe.install(); runpy.run_path('main.py', run_name='__main__')")
"""The server: main.py with the GC probe loaded first (the app's code is not touched)."""
CLK_TCK = os.sysconf("SC_CLK_TCK")

RUN_METHOD = re.compile(rb'runMethod\((\d+), \\"(\w+)\\"')
FIRST_ID = re.compile(rb'\\"id\\": ?\\"([^\\"]+)\\"')
MESSAGE_ID = re.compile(rb'"_id":(\d+)')
ELEMENT_TAG = re.compile(r'"(\d+)":\{"tag":"([\w:-]+)"')
ELEMENTS = re.compile(r"parseElements\(String\.raw`(.*?)`\)", re.S)
QUERY_VALUE = r"""['"]{name}['"]: ?['"]?([\w-]+)"""


# ---- what a browser tab does ------------------------------------------------------------------------------------

@dataclass(slots=True)
class Page:
    """What a tab takes from the HTML of a page: its client id, first message id and element tags by id."""

    client_id: str
    next_message_id: int
    tags: dict[int, str]
    html: str

    @classmethod
    def parse(cls, html: str) -> Page:
        client_id = re.search(QUERY_VALUE.format(name="client_id"), html)
        next_id = re.search(QUERY_VALUE.format(name="next_message_id"), html)
        if client_id is None or next_id is None:
            raise ValueError("no NiceGUI client id in the page")
        tags = {int(i): tag.removeprefix("nicegui-") for i, tag in ELEMENT_TAG.findall(html)}
        return cls(client_id.group(1), int(next_id.group(1)), tags, html)

    def elements(self) -> dict[str, Any]:
        raw = ELEMENTS.search(self.html)
        if raw is None:
            raise ValueError("no elements in the page")
        text = raw.group(1)
        for escaped, plain in (("&#36;", "$"), ("&#96;", "`"), ("&gt;", ">"), ("&lt;", "<"), ("&amp;", "&")):
            text = text.replace(escaped, plain)
        return dict(json.loads(text))


def classify(payload: bytes, tags: dict[int, str]) -> tuple[str, str | None]:
    """A server frame's kind ("run_javascript feed.add", "update", "engine.io ping", ...) and the first id in its
    arguments (an event id for a feed row, a notification id for inbox and bell)."""
    if payload[:2] != b"42":
        return {b"2": "engine.io ping", b"3": "engine.io pong"}.get(payload, f"engine.io {payload[:2].decode()}"), None
    name = payload[4:payload.find(b'"', 4)].decode()
    if name != "run_javascript":
        return name, None
    call = RUN_METHOD.search(payload, 20)
    if call is None:
        return "run_javascript code", None
    key = FIRST_ID.search(payload, call.end())
    tag = tags.get(int(call.group(1)), "element")
    return f"run_javascript {tag}.{call.group(2).decode()}", key.group(1).decode() if key else None


def socket_request(url: str, page: Page, cookie: str) -> tuple[str, int, bytes]:
    """Host, port and the WebSocket upgrade request a browser sends for this page's socket."""
    host_port = url.removeprefix("http://")
    host, port = host_port.split(":")
    query = (f"client_id={page.client_id}&next_message_id={page.next_message_id}&implicit_handshake=true"
             f"&document_id={uuid.uuid4()}&tab_id={uuid.uuid4()}&old_tab_id=null&EIO=4&transport=websocket")
    key = os.urandom(16).hex()[:22] + "=="
    request = (f"GET /_nicegui_ws/socket.io/?{query} HTTP/1.1\r\nHost: {host_port}\r\nConnection: Upgrade\r\n"
               f"Pragma: no-cache\r\nCache-Control: no-cache\r\nUser-Agent: {USER_AGENT}\r\nUpgrade: websocket\r\n"
               f"Origin: {url}\r\nSec-WebSocket-Version: 13\r\nAccept-Encoding: gzip, deflate\r\n"
               f"Accept-Language: en-US,en;q=0.9\r\nCookie: session={cookie}\r\nSec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
    return host, int(port), request.encode()


class Socket(asyncio.Protocol):
    """One WebSocket client on a raw transport: the upgrade, frames, pongs; text frames go to the tab."""

    def __init__(self, request: bytes, tab: Tab) -> None:
        self.request = request
        self.tab = tab
        self.buffer = bytearray()
        self.partial: bytearray | None = None
        self.open = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buffer = self.buffer
        buffer += data
        if not self.open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.tab.refused(bytes(buffer[:buffer.find(b"\r\n")]).decode(errors="replace"))
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
            fin, opcode = buffer[pos] & 0x80, buffer[pos] & 0x0F
            payload = bytes(buffer[pos + header:pos + header + length])
            pos += header + length
            if opcode == 1 and fin:
                self.tab.on_text(payload, now)
            elif opcode in (0, 1):  # a fragmented message
                self.partial = (self.partial or bytearray()) + payload
                if fin:
                    self.tab.on_text(bytes(self.partial), now)
                    self.partial = None
            elif opcode == 9:
                self._write(0x8A, payload)
            elif opcode == 8:
                self.tab.closed = True
        del buffer[:pos]

    def send_text(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._write(0x81, text.encode())

    def _write(self, first: int, payload: bytes) -> None:
        size = len(payload)  # client frames are masked; a zero key leaves the payload as it is
        if size < 126:
            header = bytes((first, 0x80 | size))
        elif size < 65536:
            header = bytes((first, 0xFE)) + size.to_bytes(2, "big")
        else:
            header = bytes((first, 0xFF)) + size.to_bytes(8, "big")
        assert self.transport is not None
        self.transport.write(header + b"\0\0\0\0" + payload)

    def connection_lost(self, exc: Exception | None) -> None:
        self.tab.closed = True
        self.tab.connected.set()  # whoever waits for the handshake learns that it will not come


class Tab:
    """NiceGUI's side of a browser tab (static/nicegui.js): engine.io and socket.io packets, message ids, acks."""

    def __init__(self, page: Page, *, log: bool = False, on_frame: Callable[[Tab, bytes], None] | None = None) -> None:
        self.page = page
        self.next_message_id = page.next_message_id
        self.acked = -1
        self.socket: Socket | None = None
        self.connected = asyncio.Event()
        self.closed = self.reloaded = False
        self.refusal: str | None = None
        self.arrivals: dict[str, float] = {}
        """Event id → when the first frame carrying its feed row arrived."""
        self.log: list[tuple[float, str, str | None, int]] | None = [] if log else None
        self.sent: dict[str, list[int]] = {}
        self.on_frame = on_frame

    async def connect(self, url: str, cookie: str) -> None:
        host, port, request = socket_request(url, self.page, cookie)
        _, self.socket = await asyncio.get_running_loop().create_connection(lambda: Socket(request, self), host, port)

    def refused(self, status: str) -> None:
        self.refusal, self.closed = status, True
        self.connected.set()
        if self.socket is not None and self.socket.transport is not None:
            self.socket.transport.close()

    def on_text(self, payload: bytes, now: float) -> None:
        if payload[:2] == b"42":
            self._message(payload, now)
        elif payload == b"2":
            self._send("3", "engine.io pong")
        elif payload[:1] == b"0":
            self._send("40", "socket.io connect")  # the default namespace; the query did the handshake
        elif payload[:2] == b"40":
            self.connected.set()
        elif payload[:2] in (b"41", b"44") or payload == b"1":
            self.closed = True
            self.connected.set()
        if self.log is not None:
            self.log.append((now, *classify(payload, self.page.tags), len(payload)))

    def ack(self) -> None:
        if self.connected.is_set() and not self.closed and self.acked < self.next_message_id:
            self._send(f'42["ack",{{"client_id":"{self.page.client_id}","next_message_id":{self.next_message_id}}}]',
                       "ack")
            self.acked = self.next_message_id

    def emit(self, name: str, data: dict[str, Any]) -> None:
        self._send(f'42{json.dumps([name, data], separators=(",", ":"), ensure_ascii=False)}', name)

    def close(self) -> None:
        if self.socket is not None and self.socket.transport is not None:
            self.socket.transport.close()

    def _message(self, payload: bytes, now: float) -> None:
        found = MESSAGE_ID.search(payload, max(0, len(payload) - 24))
        if found is not None:
            message_id = int(found.group(1))
            if message_id < self.next_message_id:  # a repeat after a rewind: nicegui.js ignores it
                return
            self.next_message_id = message_id + 1
        if payload.startswith(b'42["run_javascript"'):
            call = RUN_METHOD.search(payload, 20)
            if call is not None and call.group(2) == b"add" and self.page.tags.get(int(call.group(1))) == "feed":
                key = FIRST_ID.search(payload, call.end())
                if key is not None:
                    self.arrivals.setdefault(key.group(1).decode(), now)
            elif b"location.reload" in payload:
                self.reloaded = True
        if self.on_frame is not None:
            self.on_frame(self, payload)

    def _send(self, text: str, kind: str) -> None:
        if self.socket is not None:
            self.socket.send_text(text)
            size = len(text.encode())
            counted = self.sent.setdefault(kind, [0, 0])
            counted[0] += 1
            counted[1] += size
            if self.log is not None:
                self.log.append((time.time(), f"sent {kind}", None, size))


def browser_client(url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=OPEN_AT_ONCE * 2),
                             headers={"User-Agent": USER_AGENT, "Accept-Language": "en-US,en;q=0.9",
                                      "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                                      "Accept-Encoding": "gzip, deflate"})


async def sign_in(url: str, client: httpx.AsyncClient, username: str) -> str:
    """Sign in through /login as a browser does (fill both fields, press the button) over the page's socket;
    returns the session cookie the page left signed in."""
    for attempt in range(20):
        cookie = await _try_sign_in(url, client, username)
        if cookie is not None:
            return cookie
        await asyncio.sleep(0.5 + attempt * 0.2)  # the server's hashing queue was full
    raise RuntimeError(f"could not sign in {username}")


async def _try_sign_in(url: str, client: httpx.AsyncClient, username: str) -> str | None:
    client.cookies.clear()  # a new visitor: no session yet (the request takes the jar before its first await)
    response = await client.get("/login")
    response.raise_for_status()
    cookie = str(response.cookies["session"])
    page = Page.parse(response.text)
    elements = page.elements()

    def listener(kind: str, **props: str) -> tuple[int, str]:
        for element_id, element in elements.items():
            if all(element.get("props", {}).get(k) == v for k, v in props.items()):
                for event in element.get("events", []):
                    if event["type"] == kind or (kind == "update" and event["type"].startswith("update:")):
                        return int(element_id), str(event["listener_id"])
        raise ValueError(f"no {kind} listener on an element with {props} in /login")

    done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def on_frame(_: Tab, payload: bytes) -> None:
        if payload.startswith(b'42["open"') and not done.done():  # ui.navigate.to("/"): signed in
            done.set_result(True)
        elif b"Too many" in payload and not done.done():
            done.set_result(False)

    tab = Tab(page, on_frame=on_frame)
    await tab.connect(url, cookie)
    await asyncio.wait_for(tab.connected.wait(), 30)
    for (element_id, listener_id), value in ((listener("update", label="Username"), username),
                                             (listener("update", label="Password"), PASSWORD)):
        tab.emit("event", {"id": element_id, "client_id": page.client_id, "listener_id": listener_id,
                           "args": [json.dumps(value)]})
    element_id, listener_id = listener("click", label="Log in")
    tab.emit("event", {"id": element_id, "client_id": page.client_id, "listener_id": listener_id, "args": []})
    try:
        return cookie if await asyncio.wait_for(done, 60) else None
    finally:
        tab.close()


# ---- the load generator (a worker process holding the views) ---------------------------------------------------

class Worker:
    """Opens the views, answers the coordinator's commands on stdin, one JSON line on stdout per command."""

    def __init__(self, url: str, cookies: list[str], log: bool) -> None:
        self.url = url
        self.cookies = cookies
        self.log = log
        self.tabs: list[Tab] = []
        self.warm: Tab | None = None
        self.lag_max = 0.0
        self.cpu_mark = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        async with browser_client(self.url) as client:
            self.client = client
            tasks = [asyncio.ensure_future(self._ack_forever()), asyncio.ensure_future(self._watch_loop())]
            self.warm, _, _ = await self._open(self.cookies[0])  # warms the server's code paths before its baseline
            _say({"warm": True})
            reader = asyncio.StreamReader()
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
            while line := (await reader.readline()).decode().strip():
                command, _, argument = line.partition(" ")
                if command == "stop":
                    break
                _say(await getattr(self, f"do_{command}")(argument))
            for task in tasks:
                task.cancel()
            for tab in self.tabs:
                tab.close()
            if self.warm is not None:
                self.warm.close()

    async def do_open(self, _: str) -> dict[str, Any]:
        gate = asyncio.Semaphore(OPEN_AT_ONCE)
        loads: list[tuple[int, float]] = []
        started = time.perf_counter()

        async def one(cookie: str) -> None:
            async with gate:
                tab, status, ms = await self._open(cookie)
                loads.append((status, ms))
                if tab is not None:
                    self.tabs.append(tab)

        await asyncio.gather(*(one(cookie) for cookie in self.cookies))
        return {"seconds": time.perf_counter() - started, **_loads(loads),
                "not_connected": sum(1 for t in self.tabs if t.closed) + len(self.cookies) - len(self.tabs),
                "refusals": sorted({t.refusal for t in self.tabs if t.refusal})}

    async def do_mark(self, _: str) -> dict[str, Any]:
        self.lag_max, self.cpu_mark = 0.0, sum(os.times()[:2])
        return {"marked": True}

    async def do_count(self, _: str) -> dict[str, Any]:
        return {"received": sum(len(t.arrivals) for t in self.tabs)}

    async def do_probe(self, argument: str) -> dict[str, Any]:
        """`GET /` pages loaded 8 at once with the views open (not connected: only the load is timed)."""
        gate = asyncio.Semaphore(OPEN_AT_ONCE)
        loads: list[tuple[int, float]] = []

        async def one(cookie: str) -> None:
            async with gate:
                started = time.perf_counter()
                response = await self.client.get("/", cookies={"session": cookie})
                loads.append((response.status_code, (time.perf_counter() - started) * 1000))

        count = int(argument or PROBE_LOADS)
        await asyncio.gather(*(one(self.cookies[n % len(self.cookies)]) for n in range(count)))
        return _loads(loads)

    async def do_report(self, argument: str) -> dict[str, Any]:
        published: dict[str, float] = json.loads(argument)
        latencies = [(tab.arrivals[e] - sent) * 1000 for tab in self.tabs for e, sent in published.items()
                     if e in tab.arrivals]
        missed = [sum(1 for e in published if e not in tab.arrivals) for tab in self.tabs]
        sent: dict[str, int] = {}
        for tab in self.tabs:
            for kind, (count, _) in tab.sent.items():
                sent[kind] = sent.get(kind, 0) + count
        return {"latencies": [round(v, 2) for v in latencies], "lost": sum(missed), "lost_max": max(missed, default=0),
                "dropped": sum(1 for t in self.tabs if t.closed or t.reloaded), "sent": sent,
                "cpu_s": sum(os.times()[:2]) - self.cpu_mark, "lag_max_ms": self.lag_max * 1000}

    async def do_log(self, argument: str) -> dict[str, Any]:
        """Every view's frames since `argument` (a unix time), and what each sent."""
        since = float(argument)
        return {"views": [{"frames": [f for f in tab.log or () if f[0] >= since], "sent": tab.sent}
                          for tab in self.tabs]}

    async def _open(self, cookie: str) -> tuple[Tab | None, int, float]:
        started = time.perf_counter()
        response = await self.client.get("/", cookies={"session": cookie})
        ms = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            return None, response.status_code, ms
        tab = Tab(Page.parse(response.text), log=self.log)
        try:
            await tab.connect(self.url, cookie)
            await asyncio.wait_for(tab.connected.wait(), 30)
        except (OSError, TimeoutError):
            tab.closed = True
        return tab, 200, ms

    async def _ack_forever(self) -> None:
        """Each tab acks every 3 s, at its own phase (a browser's setInterval from when its page started)."""
        slices = 30
        for turn in range(10**12):
            await asyncio.sleep(ACK_SECONDS / slices)
            for tab in self.tabs[turn % slices::slices]:
                tab.ack()
            if self.warm is not None and turn % slices == 0:
                self.warm.ack()

    async def _watch_loop(self) -> None:
        """The longest stall of this process's event loop: queueing the latencies include on the generator side."""
        period = 0.05
        while True:
            before = time.perf_counter()
            await asyncio.sleep(period)
            self.lag_max = max(self.lag_max, time.perf_counter() - before - period)


def _loads(loads: list[tuple[int, float]]) -> dict[str, Any]:
    ms = sorted(m for status, m in loads if status == 200)
    return {"loads": len(loads), "get_p50": _quantile(ms, 0.5), "get_p95": _quantile(ms, 0.95),
            "non200": sum(1 for status, _ in loads if status != 200),
            "status_5xx": sum(1 for status, _ in loads if status >= 500)}


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def run_worker(config_path: str) -> None:
    config = json.loads(Path(config_path).read_text())
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(Worker(config["url"], config["cookies"], config["log"]).run())


class WorkerProcess:
    """The coordinator's handle on a worker: one command line in, one JSON line out."""

    def __init__(self, url: str, cookies: list[str], scratch: Path, *, log: bool = False) -> None:
        config = scratch / f"worker-{uuid.uuid4().hex[:8]}.json"
        config.write_text(json.dumps({"url": url, "cookies": cookies, "log": log}))
        self.process = subprocess.Popen([sys.executable, __file__, "--worker", str(config)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.read()  # {"warm": true}

    def ask(self, command: str, argument: str = "") -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{command} {argument}\n")
        self.process.stdin.flush()
        return self.read()

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the load generator ended")
        return dict(json.loads(line))

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("stop\n")
            self.process.stdin.close()
            self.process.wait(30)


# ---- the coordinator ---------------------------------------------------------------------------------------------

@dataclass(slots=True)
class Accounts:
    """Session cookies of signed-in accounts, made once for every run."""

    typical: list[str] = field(default_factory=list)
    worst: str = ""


def setup(data: Path, typical: int, worst: bool) -> Accounts:
    """Create the accounts and sign each in once (a server on `data` that ends before the runs), and publish some
    history, so every run's pages show a full feed (and the viewer a full first inbox page)."""
    accounts = Accounts()
    with app_process_on(data, core=0) as (url, _):
        token = admin_token(url)
        names = [f"view-{n:04d}" for n in range(typical)] + ([WORST] if worst else [])
        started = time.perf_counter()
        cookies = asyncio.run(_make_accounts(url, token, names))
        accounts.typical, accounts.worst = cookies[:typical], (cookies[-1] if worst else "")
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
            for n in range(50):
                _publish(api, RECIPIENT, n)
            for n in range(30 if worst else 0):
                _publish(api, WORST, n)
        print(f"setup: {len(names)} accounts created and signed in through /login in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    return accounts


async def _make_accounts(url: str, token: str, names: list[str]) -> list[str]:
    gate = asyncio.Semaphore(4)  # the server hashes passwords on one thread with a queue of 8
    async with httpx.AsyncClient(base_url=url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as api, \
            browser_client(url) as browser:
        await _create(api, RECIPIENT)

        async def one(name: str) -> str:
            async with gate:
                await _create(api, name)
                return await sign_in(url, browser, name)

        return list(await asyncio.gather(*(one(name) for name in names)))


async def _create(api: httpx.AsyncClient, name: str) -> None:
    for _ in range(50):
        response = await api.post("/api/v1/users", json={"username": name, "password": PASSWORD, "role": "user"})
        if response.status_code in (201, 409):
            return
        if response.status_code != 503:
            response.raise_for_status()
        await asyncio.sleep(0.5)
    raise RuntimeError(f"could not create {name}")


def _publish(api: httpx.Client, human: str, n: int) -> httpx.Response:
    response = api.post("/api/v1/realtime/events/publish", json={
        "event_type": "resource.distributed", "source": "ledger",
        "data": {"human_id": human, "amount": 800 + n % 200, "currency": "USD", "transaction_id": f"tx-{n}"}})
    response.raise_for_status()
    return response


@dataclass(slots=True)
class Result:
    case: str
    views: int
    p50: float
    p95: float
    max: float
    lost: int
    lost_max: int
    expected: int
    dropped: int
    cpu_pct: float
    idle_pct: float
    us_per_event_view: float
    kib_per_view: float
    open_p50: float
    open_p95: float
    open_non200: int
    get_p50: float
    get_5xx: int
    probe_non200: int
    gc_max_ms: float
    gc_run_max_ms: float
    generator_pct: float
    generator_lag_ms: float
    events: int


def run(data: Path, case: str, views: int, accounts: Accounts, rate: float, seconds: float) -> Result:
    cookies = ([accounts.typical[n % len(accounts.typical)] for n in range(views)] if case == "typical"
               else [accounts.worst] * views)
    human = RECIPIENT if case == "typical" else WORST
    probe = data / "gc.json"
    with app_process_on(data, core=0, code=SERVER, GC_PROBE_PATH=str(probe)) as (url, server):
        server_started = time.time()
        token = admin_token(url)
        worker = WorkerProcess(url, cookies, data)
        try:
            time.sleep(2.0)
            rss_before = _rss(server.pid)
            opened = worker.ask("open")
            idle_pct = _settle(server.pid)
            rss_after = _rss(server.pid)
            worker.ask("mark")
            published, cpu_s, first, last = _publish_for(url, token, server.pid, human, rate, seconds)
            _drain(worker, views * len(published))
            drained = time.time()
            report = worker.ask("report", json.dumps(published))
            probe_loads = worker.ask("probe", str(PROBE_LOADS))
        finally:
            worker.stop()
        pauses = json.loads(probe.read_text())["pauses"] if probe.exists() else []
    latencies = sorted(report["latencies"])
    return Result(
        case=case, views=views, p50=_quantile(latencies, 0.5), p95=_quantile(latencies, 0.95),
        max=latencies[-1] if latencies else float("nan"), lost=report["lost"], lost_max=report["lost_max"],
        expected=views * len(published), dropped=report["dropped"] + opened["not_connected"] + opened["non200"],
        cpu_pct=cpu_s / (last - first) * 100, idle_pct=idle_pct,
        us_per_event_view=cpu_s / (len(published) * views) * 1e6 if published else float("nan"),
        kib_per_view=(rss_after - rss_before) / views / 1024, open_p50=opened["get_p50"], open_p95=opened["get_p95"],
        open_non200=opened["non200"], get_p50=probe_loads["get_p50"], get_5xx=probe_loads["status_5xx"]
        + opened["status_5xx"], probe_non200=probe_loads["non200"],
        gc_max_ms=max((ms for t, ms, _ in pauses if first <= t <= drained), default=0.0),
        gc_run_max_ms=max((ms for t, ms, _ in pauses if t >= server_started), default=0.0),
        generator_pct=report["cpu_s"] / (drained - first) * 100, generator_lag_ms=report["lag_max_ms"],
        events=len(published))


def _publish_for(url: str, token: str, pid: int, human: str, rate: float,
                 seconds: float) -> tuple[dict[str, float], float, float, float]:
    """Publish at `rate` for `seconds`; event id → time just before its REST call, server CPU seconds meanwhile."""
    published: dict[str, float] = {}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        cpu_before, first = _cpu(pid), time.time()
        for n in range(round(rate * seconds)):
            time.sleep(max(0.0, first + n / rate - time.time()))
            sent = time.time()
            published[str(_publish(api, human, n).json()["id"])] = sent
        time.sleep(max(0.0, first + seconds - time.time()))
        last = time.time()
        return published, _cpu(pid) - cpu_before, first, last


def _drain(worker: WorkerProcess, expected: int, patience: float = 10.0) -> None:
    """Wait until every view has every event, or nothing more arrived for `patience` seconds."""
    received, changed = -1, time.time()
    while True:
        now_received = worker.ask("count")["received"]
        if now_received >= expected:
            return
        if now_received != received:
            received, changed = now_received, time.time()
        elif time.time() - changed > patience:
            return
        time.sleep(0.25)


def _settle(pid: int, window: float = 5.0, cap: float = 60.0) -> float:
    """Wait until the server's CPU stops falling (views opened, storage written, collections done); its CPU % in
    the last window (a window spans one metric push to every view)."""
    time.sleep(2.0)
    started, previous = time.time(), float("inf")
    while True:
        before = _cpu(pid)
        time.sleep(window)
        percent = (_cpu(pid) - before) / window * 100
        if percent < 30 or abs(percent - previous) < 5 or time.time() - started > cap:
            return percent
        previous = percent


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime and stime, all threads


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---- the check against a real browser ---------------------------------------------------------------------------

CHECK_VIEWS = 20
CHECK_EVENTS = 3  # of each kind: to the viewer (worst case), then to someone else (typical)


async def check(data: Path, accounts: Accounts) -> bool:
    """One real Chromium tab and 20 emulated views, all signed in as `viewer`: the frames each gets for the same
    published events. Prints the comparison; True when they match."""
    from playwright.async_api import async_playwright

    with app_process_on(data, core=0) as (url, _):
        token = admin_token(url)
        worker = WorkerProcess(url, [accounts.worst] * CHECK_VIEWS, data, log=True)
        try:
            worker.ask("open")
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium",
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
                real = await _chromium_tab(browser, url)
                await asyncio.sleep(4.0)  # its first pushes and acks
                since = time.time()
                sends: list[tuple[str, float]] = []
                async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as api:
                    for n, human in enumerate([WORST] * CHECK_EVENTS + [RECIPIENT] * CHECK_EVENTS):
                        sends.append((human, time.time()))
                        response = await api.post("/api/v1/realtime/events/publish", json={
                            "event_type": "resource.distributed", "source": "ledger",
                            "data": {"human_id": human, "amount": 900 + n, "currency": "USD",
                                     "transaction_id": f"check-{n}"}})
                        response.raise_for_status()
                        await asyncio.sleep(1.5)
                await asyncio.sleep(5.0)
                until = time.time()
                await browser.close()
            emulated = worker.ask("log", str(since))["views"]
        finally:
            worker.stop()
    chromium = [f for f in real.frames() if since <= f[0] <= until]
    views = [[tuple(f) for f in view["frames"] if f[0] <= until] for view in emulated]
    return _compare(chromium, views, sends, real.query_keys)


@dataclass(slots=True)
class RealTab:
    raw: list[tuple[float, bool, bytes]] = field(default_factory=list)
    """(time, sent by the browser, payload) of every frame on the page's socket."""
    tags: dict[int, str] = field(default_factory=dict)
    query_keys: list[str] = field(default_factory=list)

    def frames(self) -> list[tuple[float, str, str | None, int]]:
        """The frames classified as the emulated views' are."""
        return [(t, f"sent {_sent_kind(raw)}", None, len(raw)) if sent else (t, *classify(raw, self.tags), len(raw))
                for t, sent, raw in self.raw]


async def _chromium_tab(browser: Any, url: str) -> RealTab:
    """Sign in through the login form in Chromium, then load `/` and record its socket's frames both ways."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{url}/login")
    await page.get_by_label("Username").fill(WORST)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(f"{url}/")
    real = RealTab()

    def record(sent: bool) -> Callable[[str | bytes], None]:
        def on_frame(payload: str | bytes) -> None:
            real.raw.append((time.time(), sent, payload.encode() if isinstance(payload, str) else payload))
        return on_frame

    def on_socket(socket: Any) -> None:
        real.query_keys = [part.split("=")[0] for part in socket.url.split("?", 1)[1].split("&")]
        socket.on("framereceived", record(False))
        socket.on("framesent", record(True))

    page.on("websocket", on_socket)
    response = await page.goto(f"{url}/")
    real.tags = Page.parse(await response.text()).tags
    return real


def _sent_kind(raw: bytes) -> str:
    if raw.startswith(b'42["ack"'):
        return "ack"
    return {b"3": "engine.io pong", b"40": "socket.io connect"}.get(raw, raw[:24].decode(errors="replace"))


def _compare(chromium: list[tuple[float, str, str | None, int]], views: list[list[Any]],
             sends: list[tuple[str, float]], query_keys: list[str]) -> bool:
    emulated_keys = [part.split("=")[0] for part in socket_request(
        "http://h:1", Page("c", 0, {}, ""), "x")[2].decode().split(" ")[1].split("?", 1)[1].split("&")]
    print(f"\ncheck: 1 Chromium tab and {len(views)} emulated views on `/`, all signed in as {WORST!r}; "
          f"{CHECK_EVENTS} events to {WORST!r} then {CHECK_EVENTS} to {RECIPIENT!r}, 1.5 s apart")
    print(f"  socket query: Chromium {'&'.join(query_keys)}")
    same_query = query_keys == emulated_keys
    print(f"                emulated {'&'.join(emulated_keys)}  -> {'same' if same_query else 'DIFFERENT'}")
    ok = query_keys == emulated_keys
    kinds = sorted({f[1] for f in chromium} | {f[1] for view in views for f in view})
    print(f"  {'frame (both ways)':<34} {'Chromium':>8} {'emulated, per view':>19} {'bytes Chromium':>15} "
          f"{'bytes emulated':>15}")
    for kind in kinds:
        real = [f[3] for f in chromium if f[1] == kind]
        counts = [sum(1 for f in view if f[1] == kind) for view in views]
        sizes = [f[3] for view in views for f in view if f[1] == kind]
        periodic = kind.startswith("sent") or "strip" in kind or "engine.io" in kind
        same = (min(counts) == max(counts) == len(real) or periodic) and _close(real, sizes)
        ok &= same
        print(f"  {kind:<34} {len(real):>8} {_span(counts):>19} {_span(real):>15} {_span(sizes):>15}"
              f"{'' if same else '   <- differs'}")
    print("  per event (frames between its publish and the next, periodic pushes aside):")
    for n, (human, sent) in enumerate(sends):
        end = sends[n + 1][1] if n + 1 < len(sends) else float("inf")
        real_event = _event_frames(chromium, sent, end)
        alike = sum(1 for view in views if _alike(_event_frames(view, sent, end), real_event))
        ok &= alike == len(views)
        shown = ", ".join(f"{kind.removeprefix('run_javascript ')} {size} B" for kind, size in real_event) or "none"
        print(f"    event {n + 1} (to {human}): Chromium got {shown}; {alike}/{len(views)} emulated views got "
              f"the same")
    print(f"  -> {'the emulated views receive what the browser receives' if ok else 'DIFFERENCES above'}\n",
          flush=True)
    return ok


def _event_frames(frames: Iterable[Any], start: float, end: float) -> list[tuple[str, int]]:
    return sorted((f[1], f[3]) for f in frames if start <= f[0] < end and not f[1].startswith("sent")
                  and "strip" not in f[1] and "engine.io" not in f[1])


def _alike(these: list[tuple[str, int]], those: list[tuple[str, int]], slack: int = 4) -> bool:
    return len(these) == len(those) and all(a[0] == b[0] and abs(a[1] - b[1]) <= slack
                                            for a, b in zip(these, those, strict=True))


def _close(these: list[int], those: list[int], slack: int = 4) -> bool:
    if not these or not those:
        return not these and not those
    return abs(statistics.mean(these) - statistics.mean(those)) <= slack


def _span(values: list[int]) -> str:
    if not values:
        return "-"
    return str(values[0]) if min(values) == max(values) else f"{min(values)}–{max(values)}"


# ---- output -------------------------------------------------------------------------------------------------------

def print_run(r: Result) -> None:
    print(f"{r.case} {r.views} views, {r.events} events: latency p50 {r.p50:.0f} ms, p95 {r.p95:.0f} ms, max "
          f"{r.max:.0f} ms; lost {r.lost} of {r.expected} (at most {r.lost_max} in one view); dropped {r.dropped}; "
          f"server CPU {r.cpu_pct:.0f}% (idle with the views open {r.idle_pct:.0f}%), "
          f"{r.us_per_event_view:.0f} µs per event per view; {r.kib_per_view:.0f} KiB per view; "
          f"opening GET / p50 {r.open_p50:.0f} ms, p95 {r.open_p95:.0f} ms, non-200 {r.open_non200}; "
          f"GET / with {r.views} open p50 {r.get_p50:.0f} ms (5xx {r.get_5xx}, non-200 {r.probe_non200}); "
          f"longest GC pause {r.gc_max_ms:.0f} ms while publishing ({r.gc_run_max_ms:.0f} ms in the whole run); "
          f"generator {r.generator_pct:.0f}% of core 1, longest loop stall {r.generator_lag_ms:.0f} ms",
          flush=True)


COLUMNS: list[tuple[str, Callable[[Result], float], str]] = [
    ("p50", lambda r: r.p50, "{:.0f} ms"),
    ("p95", lambda r: r.p95, "{:.0f} ms"),
    ("server CPU", lambda r: r.cpu_pct, "{:.0f}%"),
    ("CPU per event per view", lambda r: r.us_per_event_view, "{:.0f} µs"),
    ("memory per view", lambda r: r.kib_per_view / 1024, "{:.2f} MiB"),
    ("GET / p50", lambda r: r.get_p50, "{:.0f} ms"),
    ("lost", lambda r: r.lost, "{:.0f}"),
    ("dropped", lambda r: r.dropped, "{:.0f}"),
    ("longest GC pause", lambda r: r.gc_max_ms, "{:.0f} ms"),
]


def print_table(results: list[Result]) -> None:
    """One row per case and N: the better / worse of the repeated runs in each column."""
    print("\n| case | views | " + " | ".join(name for name, _, _ in COLUMNS) + " |")
    print("|---|---:|" + "---:|" * len(COLUMNS))
    for key in dict.fromkeys((r.case, r.views) for r in results):
        runs = [r for r in results if (r.case, r.views) == key]
        cells = []
        for _, value, form in COLUMNS:
            values = sorted(value(r) for r in runs)
            better, worse = form.format(values[0]), form.format(values[-1])
            cells.append(better if better == worse else f"{better} / {worse}")
        print(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + " |")
    print("(better / worse of the runs of each row)", flush=True)


def raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--views", default="100,300,1000", help="comma-separated view counts (default 100,300,1000)")
    parser.add_argument("--seconds", type=float, default=30.0, help="publishing period of each run")
    parser.add_argument("--rate", type=float, default=2.0, help="events per second")
    parser.add_argument("--case", choices=["typical", "worst", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each configuration (the table shows the "
                        "better and the worse)")
    parser.add_argument("--accounts", type=int, default=0, help="typical case: accounts the views sign in as, "
                        "round-robin (default: one per view)")
    parser.add_argument("--check", action=argparse.BooleanOptionalAction, default=True,
                        help="first compare the emulation with a real Chromium tab")
    parser.add_argument("--check-only", action="store_true", help="only the comparison with Chromium")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args.worker)
        return
    raise_fd_limit()
    os.sched_setaffinity(0, {1})  # this process, its load generator and Chromium; the server runs on core 0
    counts = [int(v) for v in args.views.split(",") if v.strip()]
    cases = ["typical", "worst"] if args.case == "both" else [args.case]
    if args.check_only:
        cases = []
    typical = (args.accounts or max(counts)) if "typical" in cases else 0
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch)
        accounts = setup(data, typical, worst="worst" in cases or args.check or args.check_only)
        if args.check or args.check_only:
            asyncio.run(check(data, accounts))
        results: list[Result] = []
        for case in cases:
            for views in counts:
                for _ in range(args.repeat):
                    result = run(data, case, views, accounts, args.rate, args.seconds)
                    print_run(result)
                    results.append(result)
        if results:
            print(f"\nviews on `/`, events at {args.rate:g}/s for {args.seconds:g} s; server on core 0, load "
                  f"generator on core 1 ({os.cpu_count()} cores)")
            print_table(results)


if __name__ == "__main__":
    main()
