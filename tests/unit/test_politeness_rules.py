"""The politeness rules on a virtual clock (deterministic): the start cap, Retry-After pauses, AIMD.

Against the test server's log: ``tests/integration/test_politeness.py``.
"""

from __future__ import annotations

import asyncio

import pytest

from curtailcoin.sources.politeness import AdaptiveConcurrency, Pause, StartCap
from support.clock import VirtualClock, max_in_window


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


def test_a_request_asked_ahead_takes_the_next_free_slot() -> None:
    """The registry and the generation (``ahead``) do not wait behind a date's queued stacks;
    a slot still free after them goes to the queue, and none is held back."""
    order: list[str] = []

    async def run() -> None:
        limiter = AdaptiveConcurrency(2)
        first = [await limiter.acquire(), await limiter.acquire()]  # both slots taken

        async def request(name: str, ahead: bool) -> None:
            started = await limiter.acquire(ahead=ahead)
            order.append(name)
            await asyncio.sleep(0)
            await limiter.release(started, overloaded=False)

        queued = [asyncio.create_task(request(f"stack{i}", False)) for i in range(3)]
        await asyncio.sleep(0)
        extra = asyncio.create_task(request("generation", True))
        await asyncio.sleep(0)
        for started in first:
            await limiter.release(started, overloaded=False)
        await asyncio.gather(*queued, extra)
        assert limiter.in_flight == 0 and limiter.peak == 2

    asyncio.run(run())
    assert order == ["generation", "stack0", "stack1", "stack2"]
