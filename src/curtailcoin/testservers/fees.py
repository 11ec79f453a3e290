"""The mempool test server's transaction fees: a deterministic chain of blocks and its answers.

* ``GET /v1/mining/blocks/fees/{period}`` (period 24h, 3d, 1w, 1m, 3m, 6m, 1y, 2y, 3y, all) →
  ``[{"avgHeight", "timestamp", "avgFees"}]``, oldest first: the blocks whose time lies in the
  period before the server's ``now``, one row per block for 24h and 3d, otherwise grouped as
  mempool.space groups them, by ``timestamp DIV width`` (5 min for 1w … 1 day for all), with the
  rounded mean height, the truncated mean time and the truncated mean fees (sats).
* ``GET /v1/mining/reward-stats/{blockCount}`` → ``{"startBlock", "endBlock", "totalReward",
  "totalFee", "totalTx"}`` over the last ``blockCount`` blocks up to ``now`` (totals as strings).

Blocks: block ``h`` of an epoch is timed evenly between its epoch's start and the next epoch's
(600 s apart after the last); its fees are a deterministic function of the seed and ``h``
(:meth:`FeeBook.fees_sats`). :meth:`FeeBook.set_gap` makes whole UTC days have no fee data (their
blocks are left out of ``blocks/fees``), so a client can be shown a missing day.
"""

from __future__ import annotations

import bisect
import math
import re
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from curtailcoin.testservers.faults import Response, json_response
from curtailcoin.testservers.generator import Epoch

if TYPE_CHECKING:
    from curtailcoin.testservers.mempool import MempoolTestServer

#: period → (window in seconds or None for all, bucket width in seconds)
PERIODS: dict[str, tuple[int | None, int]] = {
    "24h": (86_400, 1),
    "3d": (3 * 86_400, 1),
    "1w": (7 * 86_400, 300),
    "1m": (30 * 86_400, 1_800),
    "3m": (90 * 86_400, 7_200),
    "6m": (180 * 86_400, 10_800),
    "1y": (365 * 86_400, 28_800),
    "2y": (730 * 86_400, 28_800),
    "3y": (1_095 * 86_400, 43_200),
    "all": (None, 86_400),
}

_MASK = 2**64 - 1
HALVING_INTERVAL = 210_000
INITIAL_SUBSIDY_SATS = 5_000_000_000


def _unit(seed: int, height: int, salt: int) -> float:
    """A uniform number in [0, 1) from (seed, height, salt): splitmix64, cheap per block."""
    x = (
        height * 0x9E3779B97F4A7C15 + seed * 0xD1B54A32D192ED03 + salt * 0x2545F4914F6CDD1D
    ) & _MASK
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK
    x ^= x >> 31
    return x / 2.0**64


def subsidy_sats(height: int) -> int:
    halvings = height // HALVING_INTERVAL
    return INITIAL_SUBSIDY_SATS >> halvings if halvings < 64 else 0


class FeeBook:
    """Fees per block, deterministic from the seed, with days that can be made to have no data."""

    def __init__(self, seed: int = 1) -> None:
        self.seed = seed
        self._gaps: set[date] = set()
        self._lock = threading.Lock()

    def fees_sats(self, height: int) -> int:
        """Block ``height``'s fees: a level drifting between 0.05 and 0.20 BTC over ~97 days of
        blocks, times noise in [0.3, 1.7)."""
        level = 5_000_000 + 15_000_000 * (1 + math.sin(2 * math.pi * height / 14_000)) / 2
        return int(level * (0.3 + 1.4 * _unit(self.seed, height, 1)))

    def tx_count(self, height: int) -> int:
        return 1_000 + int(3_000 * _unit(self.seed, height, 2))

    def set_gap(self, *days: date, missing: bool = True) -> None:
        """Make UTC days have no fee data (``missing=False`` restores them)."""
        with self._lock:
            for d in days:
                if missing:
                    self._gaps.add(d)
                else:
                    self._gaps.discard(d)

    @property
    def gaps(self) -> frozenset[date]:
        with self._lock:
            return frozenset(self._gaps)


class Chain:
    """Block times from the epochs (oldest first): even spacing within each epoch."""

    def __init__(self, epochs: Sequence[Epoch]) -> None:
        self._heights = [e.height for e in epochs]
        self._times = [e.time for e in epochs]

    def time_of(self, height: int) -> int:
        i = bisect.bisect_right(self._heights, height) - 1
        base_h, base_t = self._heights[i], self._times[i]
        if i + 1 < len(self._heights):
            span = self._heights[i + 1] - base_h
            return base_t + (height - base_h) * (self._times[i + 1] - base_t) // span
        return base_t + (height - base_h) * 600

    def height_at(self, instant: int) -> int:
        """The last block at or before ``instant`` (-1 before genesis)."""
        i = bisect.bisect_right(self._times, instant) - 1
        if i < 0:
            return -1
        lo, hi = (
            self._heights[i],
            (self._heights[i + 1] - 1 if i + 1 < len(self._heights) else None),
        )
        if hi is None:
            return lo + (instant - self._times[i]) // 600
        while lo < hi:  # the last height in the epoch with time_of <= instant
            mid = (lo + hi + 1) // 2
            if self.time_of(mid) <= instant:
                lo = mid
            else:
                hi = mid - 1
        return lo


def block_fees(
    book: FeeBook, epochs: Sequence[Epoch], period: str, now: int
) -> list[dict[str, int]]:
    """What ``blocks/fees/{period}`` answers at unix time ``now``."""
    span, width = PERIODS[period]
    chain = Chain(epochs)
    first = 0 if span is None else chain.height_at(now - span) + 1
    last = chain.height_at(now)
    gaps = book.gaps
    buckets: dict[int, list[tuple[int, int, int]]] = {}
    for height in range(max(first, 0), last + 1):
        stamp = chain.time_of(height)
        if gaps and datetime.fromtimestamp(stamp, UTC).date() in gaps:
            continue
        buckets.setdefault(stamp // width, []).append((height, stamp, book.fees_sats(height)))
    rows: list[dict[str, int]] = []
    for key in sorted(buckets):
        blocks = buckets[key]
        n = len(blocks)
        rows.append(
            {
                "avgHeight": round(sum(b[0] for b in blocks) / n),
                "timestamp": sum(b[1] for b in blocks) // n,
                "avgFees": sum(b[2] for b in blocks) // n,
            }
        )
    return rows


def reward_stats(
    book: FeeBook, epochs: Sequence[Epoch], block_count: int, now: int
) -> dict[str, int | str]:
    """What ``reward-stats/{block_count}`` answers at unix time ``now``."""
    end = Chain(epochs).height_at(now)
    start = max(0, end - block_count + 1)
    heights = range(start, end + 1)
    fees = sum(book.fees_sats(h) for h in heights)
    return {
        "startBlock": start,
        "endBlock": end,
        "totalReward": str(fees + sum(subsidy_sats(h) for h in heights)),
        "totalFee": str(fees),
        "totalTx": str(sum(book.tx_count(h) for h in heights)),
    }


def handle_fee_route(server: MempoolTestServer, path: str) -> Response | None:
    """The fee endpoints' answers, or None when ``path`` is not one of them."""
    m = re.match(r"^/v1/mining/blocks/fees/(?P<period>[^/]+)/?$", path)
    now = int(server.now.timestamp())
    if m:
        if m["period"] not in PERIODS:
            return server.error_response(400, detail=f"Invalid interval {m['period']}")
        return json_response(block_fees(server.fee_book, server.epochs, m["period"], now))
    m = re.match(r"^/v1/mining/reward-stats/(?P<count>[^/]+)/?$", path)
    if m:
        if not m["count"].isdigit() or int(m["count"]) < 1:
            return server.error_response(400, detail="Invalid block count")
        return json_response(reward_stats(server.fee_book, server.epochs, int(m["count"]), now))
    return None
