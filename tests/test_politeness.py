"""The politeness rules, on a virtual clock (deterministic), and against the test server's log."""

from __future__ import annotations

import asyncio
import socket
from datetime import date

import pytest

from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.sources.http import RetryPolicy, UnreachableSourceError
from curtailcoin.sources.politeness import AdaptiveConcurrency, Pause, StartCap
from curtailcoin.testservers.elexon import ElexonTestServer

DAY = date(2025, 1, 17)


class VirtualClock:
    """Time that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def max_in_window(starts: list[float], window_s: float = 1.0) -> int:
    """The most starts in any half-open window [t, t + window_s)."""
    starts = sorted(starts)
    best, j = 0, 0
    for i, t in enumerate(starts):
        while starts[j] <= t - window_s:
            j += 1
        best = max(best, i - j + 1)
    return best


@pytest.mark.parametrize("rate", [1, 4, 10, 2.5])
def test_start_cap_never_lets_more_than_n_start_in_a_second(rate: float) -> None:
    clock = VirtualClock()
    cap = StartCap(rate, margin_s=0.0, clock=clock, sleep=clock.sleep)
    starts: list[float] = []

    async def start() -> None:
        await cap.wait()
        starts.append(clock())

    async def run() -> None:
        await asyncio.gather(*(start() for _ in range(48)))

    asyncio.run(run())
    assert len(starts) == 48
    assert max_in_window(starts) == int(rate)
    # and not slower than the cap: 48 starts take (48 / n - 1) windows
    assert starts[-1] == pytest.approx((48 // int(rate) - (48 % int(rate) == 0)) * 1.0)


def test_a_rate_below_one_spaces_the_starts() -> None:
    clock = VirtualClock()
    cap = StartCap(0.25, margin_s=0.0, clock=clock, sleep=clock.sleep)
    starts: list[float] = []

    async def run() -> None:
        for _ in range(3):
            await cap.wait()
            starts.append(clock())

    asyncio.run(run())
    assert starts == [0.0, 4.0, 8.0]


def test_a_start_counts_from_when_the_request_is_sent() -> None:
    """A request admitted and then held up (a new connection, a busy event loop) starts when its
    headers go out: the next start waits a window from then, not from its admission."""
    clock = VirtualClock()
    cap = StartCap(1, margin_s=0.0, clock=clock, sleep=clock.sleep)

    async def run() -> list[float]:
        first = await cap.wait()
        await clock.sleep(0.5)  # held up before the headers go out
        trace = cap.tracer(first)
        await trace("connection.connect_tcp.started", {})  # not a send: nothing moves
        assert first is not None and first.at == 0.0
        await trace("http11.send_request_headers.started", {})
        sent = clock()
        await cap.wait()
        return [first.at, sent, clock()]

    assert asyncio.run(run()) == [0.5, 0.5, 1.5]


def test_a_send_waits_while_the_window_is_full() -> None:
    """A request whose headers go out late, when ``n`` later ones have just gone, waits: the
    moved starts never put ``n + 1`` in a window."""
    clock = VirtualClock()
    cap = StartCap(2, margin_s=0.0, clock=clock, sleep=clock.sleep)

    async def run() -> list[float]:
        late = await cap.wait()  # admitted at 0.0, held up
        await cap.wait()  # admitted and sent at 0.0 (no trace: its admission is its start)
        await clock.sleep(1.0)  # both admissions leave the window
        third, fourth = await cap.wait(), await cap.wait()  # admitted at 1.0
        for start in (third, fourth):
            await cap.tracer(start)("http11.send_request_headers.started", {})
        await cap.tracer(late)("http11.send_request_headers.started", {})  # two in the window
        assert late is not None and third is not None and fourth is not None
        return [third.at, fourth.at, late.at]

    assert asyncio.run(run()) == [1.0, 1.0, 2.0]


def test_no_cap_never_waits() -> None:
    clock = VirtualClock()
    cap = StartCap(None, clock=clock, sleep=clock.sleep)

    async def run() -> None:
        for _ in range(100):
            await cap.wait()

    asyncio.run(run())
    assert clock() == 0.0


def test_pause_holds_until_retry_after_has_passed() -> None:
    clock = VirtualClock()
    pause = Pause(clock=clock, sleep=clock.sleep)
    pause.extend(2.5)
    pause.extend(1.0)  # a shorter one does not shorten it
    asyncio.run(pause.wait())
    assert clock() == 2.5


def test_aimd_halves_once_per_round_and_regrows_additively() -> None:
    async def run() -> list[int]:
        limit = AdaptiveConcurrency(16, host="example")
        rounds = [await limit.acquire() for _ in range(16)]
        seen = []
        for r in rounds[:4]:  # four 429s from requests started in the same round: one cut
            await limit.release(r, overloaded=True)
        seen.append(limit.limit)
        for r in rounds[4:]:
            await limit.release(r, overloaded=False)
        r = await limit.acquire()
        await limit.release(r, overloaded=True)  # a request of the new round cuts again
        seen.append(limit.limit)
        for _ in range(4 + 5):  # 4 successes grow 4 → 5, 5 more grow 5 → 6
            r = await limit.acquire()
            await limit.release(r, overloaded=False)
        seen.append(limit.limit)
        return seen

    assert asyncio.run(run()) == [8, 4, 6]


def test_concurrency_never_below_one_nor_above_the_maximum() -> None:
    async def run() -> tuple[int, int]:
        limit = AdaptiveConcurrency(3)
        for _ in range(10):
            r = await limit.acquire()
            await limit.release(r, overloaded=True)
        low = limit.limit
        for _ in range(100):
            r = await limit.acquire()
            await limit.release(r, overloaded=False)
        return low, limit.limit

    assert asyncio.run(run()) == (1, 3)


def _client(server: ElexonTestServer, **options: object) -> ElexonClient:
    policy = RetryPolicy(max_tries=6, max_time_s=30, backoff_base_s=0.01, backoff_max_s=0.05)
    return ElexonClient(server.base_url, policy=policy, **options)  # type: ignore[arg-type]


def test_cap_holds_in_the_servers_log_retries_included() -> None:
    """10/s with 429s and 5xx on the way: no second of the server's log holds more than 10."""
    with ElexonTestServer(seed=1) as server:
        server.faults.add("429", times=3, retry_after_s=0)
        server.faults.add("5xx", times=3)

        async def run() -> None:
            async with _client(server, requests_per_second=10, concurrency=16) as client:
                results = await client.fetch_stack_periods(DAY, range(1, 25))
                assert all(r.ok for r in results.values())

        asyncio.run(run())
        starts = [r.start for r in server.requests]
    assert len(starts) == 24 + 6
    assert max_in_window(starts) <= 10


def test_429_cuts_concurrency() -> None:
    with ElexonTestServer(seed=1) as server:
        server.faults.add("429", times=1, retry_after_s=0)

        async def run() -> tuple[int, int]:
            async with _client(server, concurrency=16) as client:
                await client.fetch_stack_periods(DAY, range(1, 17))
                return client.concurrency.limit, client.stats.retries

        limit, retries = asyncio.run(run())
    assert retries == 1 and limit < 16  # halved to 8, then regrown by the successes


def test_retry_after_holds_every_new_start() -> None:
    """One request at a time, so the server's log orders the client's starts exactly."""
    with ElexonTestServer(seed=1) as server:
        server.faults.add("429", match=r"/2025-01-17/2$", times=1, retry_after_s=0.3)

        async def run() -> None:
            async with _client(server, concurrency=1) as client:
                await client.fetch_stack_periods(DAY, range(1, 6))

        asyncio.run(run())
        log = sorted(server.requests, key=lambda r: r.start)
    faulted = next(r for r in log if r.fault == "429")
    after = [r for r in log if r.start > faulted.start]
    assert len(after) == 4 and min(r.start for r in after) >= faulted.end + 0.3


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("base_url", "reason"),
    [
        ("http://curtailcoin-offline.invalid/bmrs/api/v1", "does not resolve"),
        (f"http://127.0.0.1:{_closed_port()}/bmrs/api/v1", "refused"),
    ],
)
def test_an_unreachable_host_fails_at_once_with_one_message(base_url: str, reason: str) -> None:
    """Not 48 failed periods: one error for the run, before any retry."""
    stats = {}

    async def run() -> None:
        policy = RetryPolicy(max_tries=6, max_time_s=60, backoff_base_s=1, backoff_max_s=5)
        client = ElexonClient(base_url, policy=policy, setting="CURTAILCOIN_ELEXON_BASE_URL")
        try:
            await client.fetch_stack_periods(DAY, range(1, 49))
        finally:
            stats["retries"], stats["requests"] = client.stats.retries, client.stats.requests
            await client.aclose()

    with pytest.raises(UnreachableSourceError) as info:
        asyncio.run(run())
    assert stats["retries"] == 0 and stats["requests"] <= 16
    message = str(info.value)
    assert reason in message and "CURTAILCOIN_ELEXON_BASE_URL" in message and "\n" not in message


def test_a_host_that_has_answered_keeps_its_retries() -> None:
    """Refused after a first answer (a restart): transient, retried, not 'unreachable'."""
    with ElexonTestServer(seed=1) as server:

        async def run() -> bool:
            async with _client(server) as client:
                await client.fetch_stack_period(DAY, 1)
                server.stop()
                restart = asyncio.get_running_loop().call_later(0.05, server.start)
                try:
                    await client.fetch_stack_period(DAY, 2)
                finally:
                    restart.cancel()
                return client.stats.retries > 0

        assert asyncio.run(run())
