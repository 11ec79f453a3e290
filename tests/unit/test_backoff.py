"""The one backoff rule: retry n waits uniform(0, min(cap, base × 2^(n−1)))."""

from __future__ import annotations

import random

import pytest

from curtailcoin import backoff


def test_the_bound_doubles_per_retry_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    bounds: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        bounds.append((low, high))
        return high

    monkeypatch.setattr(random, "uniform", uniform)
    waits = [backoff.delay_s(n, 0.5, 3.0) for n in range(1, 6)]
    assert waits == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert all(low == 0.0 for low, _ in bounds)  # full jitter: from zero


def test_waits_stay_inside_the_bound() -> None:
    for attempt in range(1, 12):
        wait = backoff.delay_s(attempt, 0.25, 10.0)
        assert 0.0 <= wait <= min(10.0, 0.25 * 2 ** (attempt - 1))


def test_attempt_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="attempt must be >= 1, not 0"):
        backoff.delay_s(0, 1.0, 2.0)
