"""A connection's rate limiter and its bounded outbound buffer, with an injected clock and a fake transport."""

from __future__ import annotations

import pytest

from services.hub.connection import MAX_BUFFER_BYTES, Connection, RateLimiter, Verdict
from services.hub.protocol import ConnectionType, Outgoing
from tests.clocks import SecondsClock


def test_a_burst_passes_then_frames_are_refused_and_a_flood_closes() -> None:
    clock = SecondsClock(100.0)
    limiter = RateLimiter(rate=10, burst=5, clock=clock)
    assert [limiter.check() for _ in range(5)] == [Verdict.ALLOW] * 5
    assert limiter.check() is Verdict.LIMITED  # told once
    assert [limiter.check() for _ in range(4)] == [Verdict.DROP] * 4
    assert limiter.check() is Verdict.CLOSE  # more refusals than the burst within one refill period


def test_tokens_come_back_at_the_rate() -> None:
    clock = SecondsClock(100.0)
    limiter = RateLimiter(rate=10, burst=5, clock=clock)
    for _ in range(5):
        limiter.check()
    assert limiter.check() is Verdict.LIMITED
    clock.now += 0.15  # a token and a half
    assert limiter.check() is Verdict.ALLOW
    assert limiter.check() is Verdict.LIMITED  # a new streak is reported again


def verdicts_at(rate: float, seconds: float) -> list[Verdict]:
    clock = SecondsClock(100.0)
    limiter = RateLimiter(rate=10, burst=5, clock=clock)
    verdicts = []
    for _ in range(int(rate * seconds)):
        verdicts.append(limiter.check())
        clock.now += 1 / rate
    return verdicts


def test_a_client_somewhat_over_the_rate_is_limited_but_not_closed() -> None:
    verdicts = verdicts_at(rate=15, seconds=5)
    assert Verdict.LIMITED in verdicts
    assert Verdict.CLOSE not in verdicts
    assert verdicts.count(Verdict.ALLOW) >= 50  # the 10/s it is entitled to


def test_a_sustained_flood_is_closed_within_a_second() -> None:
    verdicts = verdicts_at(rate=30, seconds=1)
    assert Verdict.CLOSE in verdicts


def test_a_client_at_the_rate_is_never_refused() -> None:
    assert set(verdicts_at(rate=10, seconds=10)) == {Verdict.ALLOW}


class FakeTransport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.buffered = 0
        self.closing = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        if self.aborted:
            raise RuntimeError("handler is closed")
        self.written.append(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.closing or self.aborted

    def abort(self) -> None:
        self.aborted = True


class FakeSocket:
    client = "test:1"

    def __init__(self) -> None:
        self.transport = FakeTransport()

    async def receive(self) -> str | bytes | None:
        return None

    async def send_text(self, text: str) -> None:
        return None

    async def close(self, code: int, reason: str) -> None:
        return None

    def unanswered_ping(self) -> float | None:
        return None


def connection(send_queue: int = 4) -> tuple[Connection, FakeTransport]:
    socket = FakeSocket()
    conn = Connection("c1", "alice", "user", ConnectionType.DASHBOARD, socket, send_queue=send_queue,
                      limiter=RateLimiter(10, 5), direct=True)
    return conn, socket.transport


async def test_frames_are_written_whole_until_the_client_is_send_queue_messages_behind() -> None:
    conn, transport = connection(send_queue=4)
    out = Outgoing(b"x" * 98)  # a 100-byte frame
    assert conn.send(out)
    assert transport.written == [out.frame]
    transport.buffered = 400  # four frames' worth unsent: still within the bound
    assert conn.send(out)
    transport.buffered = 401 * 2  # over four frames of this connection's mean size
    assert not conn.send(out)
    assert len(transport.written) == 2


async def test_the_hard_byte_cap_holds_whatever_the_queue_setting() -> None:
    conn, transport = connection(send_queue=10**9)
    assert conn.send(Outgoing(b"x"))
    transport.buffered = MAX_BUFFER_BYTES + 1
    assert not conn.send(Outgoing(b"x"))


async def test_a_gone_connection_neither_writes_nor_counts_as_behind() -> None:
    conn, transport = connection()
    conn.abort()
    assert transport.aborted
    assert conn.send(Outgoing(b"late"))
    assert transport.written == []
    assert conn.stale(limit=60)


@pytest.mark.parametrize("waited", [None, 10.0])
async def test_a_connection_is_stale_only_when_its_ping_goes_unanswered(waited: float | None) -> None:
    conn, _ = connection()
    conn.socket.unanswered_ping = lambda: waited  # type: ignore[method-assign]
    assert conn.stale(limit=5) is (waited is not None)
