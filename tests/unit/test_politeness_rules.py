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
