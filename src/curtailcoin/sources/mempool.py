"""mempool.space: difficulty adjustments, transaction fees per block, and (via the price module)
prices.

Fee answers are read strictly: a wrong type, a missing key or a negative or non-integer figure is a
:class:`MempoolSchemaError` naming the entry, the field and the value (never retried, never a
default), as :mod:`curtailcoin.sources.elexon_schema` does for Elexon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from curtailcoin.config import Settings
from curtailcoin.sources.http import JsonHttpClient, PermanentSourceError, RetryPolicy

FEE_PERIODS: dict[str, int] = {
    "24h": 1,
    "3d": 1,
    "1w": 300,
    "1m": 1_800,
    "3m": 7_200,
    "6m": 10_800,
    "1y": 28_800,
    "2y": 28_800,
    "3y": 43_200,
    "all": 86_400,
}
"""Each ``blocks/fees`` period → the resolution of its rows in seconds: mempool.space groups the
blocks by ``timestamp DIV width`` (1: one row per block). Every width divides 86,400, so a bucket
never spans two UTC days."""

FEE_PERIOD_DAYS: dict[str, int | None] = {
    "24h": 1,
    "3d": 3,
    "1w": 7,
    "1m": 30,
    "3m": 90,
    "6m": 180,
    "1y": 365,
    "2y": 730,
    "3y": 1_095,
    "all": None,
}
"""Each period's window back from now, in days (None: since genesis)."""

MAX_SATS = 21_000_000 * 100_000_000
"""No fee can exceed every bitcoin there will ever be."""


def mempool_client(settings: Settings, **overrides: Any) -> JsonHttpClient:
    options: dict[str, Any] = {
        "concurrency": 2,
        "requests_per_second": 2.0,
        "timeout_s": settings.request_timeout_s,
        "policy": RetryPolicy(
            max_tries=settings.max_tries,
            max_time_s=settings.max_retry_time_s,
            backoff_base_s=settings.backoff_base_s,
            backoff_max_s=settings.backoff_max_s,
        ),
    }
    options.update(overrides)
    return JsonHttpClient(
        settings.mempool_base_url, setting="CURTAILCOIN_MEMPOOL_BASE_URL", **options
    )


class MempoolSchemaError(PermanentSourceError):
    """mempool.space answered with JSON that does not match its documented schema."""


@dataclass(frozen=True)
class BlockFees:
    """One row of ``blocks/fees/{period}``: a block, or a bucket's means (``resolution_s`` > 1)."""

    avg_height: int
    timestamp_utc: datetime
    avg_fees_sats: int
    period: str

    @property
    def resolution_s(self) -> int:
        return FEE_PERIODS[self.period]


@dataclass(frozen=True)
class RewardStats:
    """``reward-stats/{blockCount}``: exact totals over blocks ``start_block..end_block``."""

    start_block: int
    end_block: int
    total_reward_sats: int
    total_fee_sats: int
    total_tx: int

    @property
    def blocks(self) -> int:
        return self.end_block - self.start_block + 1

    @property
    def fee_btc_per_block(self) -> float:
        return self.total_fee_sats / self.blocks / 1e8


def check_period(period: str) -> str:
    if period not in FEE_PERIODS:
        raise ValueError(f"period {period!r} not allowed: one of {', '.join(FEE_PERIODS)}")
    return period


def _whole(where: str, entry: Any, key: str, *, text_ok: bool = False, high: int = MAX_SATS) -> int:
    """``entry[key]`` as a whole number in 0..high: a JSON integer (or, with ``text_ok``, a string
    of decimal digits, as mempool.space writes its sat totals)."""
    if not isinstance(entry, dict):
        raise MempoolSchemaError(f"{where}: expected an object, got {str(entry)[:80]}")
    if key not in entry:
        raise MempoolSchemaError(f"{where}: field {key!r} is missing")
    value = entry[key]
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif text_ok and isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    else:
        expected = "an integer or a string of digits" if text_ok else "an integer"
        raise MempoolSchemaError(f"{where}: field {key!r} is {value!r}, expected {expected}")
    if not 0 <= number <= high:
        raise MempoolSchemaError(f"{where}: field {key!r} is {value!r}, expected 0..{high}")
    return number


def parse_block_fees(payload: Any, period: str) -> list[BlockFees]:
    """``[{"avgHeight", "timestamp", "avgFees"}]`` (sats, unix seconds), in the answer's order."""
    check_period(period)
    where = f"mempool blocks/fees/{period}"
    if not isinstance(payload, list):
        raise MempoolSchemaError(f"{where}: expected a JSON list, got {type(payload).__name__}")
    rows: list[BlockFees] = []
    for index, entry in enumerate(payload):
        at = f"{where} entry #{index}"
        height = _whole(at, entry, "avgHeight", high=2**31 - 1)
        stamp = _whole(at, entry, "timestamp", high=253_402_300_799)  # 9999-12-31
        fees = _whole(at, entry, "avgFees")
        rows.append(BlockFees(height, datetime.fromtimestamp(stamp, UTC), fees, period))
    return rows


def parse_reward_stats(payload: Any, block_count: int) -> RewardStats:
    """``{"startBlock", "endBlock", "totalReward", "totalFee", "totalTx"}`` (sats as strings)."""
    where = f"mempool reward-stats/{block_count}"
    start = _whole(where, payload, "startBlock", text_ok=True, high=2**31 - 1)
    end = _whole(where, payload, "endBlock", text_ok=True, high=2**31 - 1)
    if end < start:
        raise MempoolSchemaError(f"{where}: endBlock {end} is before startBlock {start}")
    return RewardStats(
        start,
        end,
        _whole(where, payload, "totalReward", text_ok=True),
        _whole(where, payload, "totalFee", text_ok=True),
        _whole(where, payload, "totalTx", text_ok=True, high=2**63 - 1),
    )


async def fetch_block_fees(client: JsonHttpClient, period: str) -> list[BlockFees]:
    """``GET /v1/mining/blocks/fees/{period}``, parsed (retries are the client's)."""
    payload = await client.get_json(f"/v1/mining/blocks/fees/{check_period(period)}")
    return parse_block_fees(payload, period)


async def fetch_reward_stats(client: JsonHttpClient, block_count: int) -> RewardStats:
    """``GET /v1/mining/reward-stats/{block_count}``, parsed."""
    if block_count < 1:
        raise ValueError(f"block count {block_count} must be at least 1")
    payload = await client.get_json(f"/v1/mining/reward-stats/{block_count}")
    return parse_reward_stats(payload, block_count)
