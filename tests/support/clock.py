"""Time for deterministic tests: a virtual clock, and the most events in any window of a log."""

from __future__ import annotations

import asyncio


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
