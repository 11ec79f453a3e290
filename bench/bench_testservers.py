"""Benchmark: how fast the Elexon test server's generator makes a day's settlement stacks.

The test suite asserts only that a period is generated once and then served from the cache
(``tests/integration/test_testservers.py``); the time it takes is measured here: a heavy day's
48 bid periods generated cold (a fresh ``StackGenerator`` each run) and again from the cache,
as stack lines and as Elexon's JSON records. Prints figures; asserts nothing about time.

Usage: python bench/bench_testservers.py [--runs 5] [--day 2025-02-14] [--kind heavy]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date

from curtailcoin.settlement import periods_in_day
from curtailcoin.testservers.stacks import DAY_KINDS, StackGenerator


def _one_day(generator: StackGenerator, day: date, kind: str) -> tuple[float, int]:
    started = time.perf_counter()
    lines = sum(
        len(generator.records(day, p, "bid", kind, 0)) for p in range(1, periods_in_day(day) + 1)
    )
    return time.perf_counter() - started, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--day", type=date.fromisoformat, default=date(2025, 2, 14))
    parser.add_argument("--kind", default="heavy", choices=list(DAY_KINDS))
    args = parser.parse_args()
    cold: list[float] = []
    cached: list[float] = []
    lines = 0
    for _ in range(args.runs):
        generator = StackGenerator(seed=99)
        seconds, lines = _one_day(generator, args.day, args.kind)
        cold.append(seconds)
        cached.append(_one_day(generator, args.day, args.kind)[0])
    periods = periods_in_day(args.day)
    cold_s, cached_s = statistics.median(cold), statistics.median(cached)
    print(
        f"{args.kind} day {args.day}: {periods} bid periods, {lines} lines (median of {args.runs})"
    )
    print(f"  generated cold: {cold_s:.3f} s ({1000 * cold_s / periods:.2f} ms/period)")
    print(f"  from the cache: {cached_s:.3f} s (records rebuilt from the cached lines)")


if __name__ == "__main__":
    main()
