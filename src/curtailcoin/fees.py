"""Transaction fees per block, from mempool.space or a CSV, stored in ``block_fees``.

mempool.space answers ``blocks/fees/{period}`` one row per block (24h, 3d) or per time bucket
(5 min for 1w … 12 h for 3y, 1 day for all; see ``sources.mempool.FEE_PERIODS``). Every bucket
width divides a day, so each row belongs to exactly one UTC day, kept in ``fee_date``.

Storing an answer replaces what the database holds at that resolution for the UTC days it covers
(so the bucket still in progress, refetched later, is replaced rather than duplicated, and storing
the same answer twice is storing it once). A bounded window (every period but ``all``) begins
part-way through its oldest UTC day: that day's rows are incomplete and are not stored, so every
stored day is whole (except today, which holds the blocks so far).

:func:`fee_btc_per_block_by_day` is what the site-economics model reads for ``fees=actual``. A day
without rows is absent: nothing is filled in.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, select

from curtailcoin.config import Settings
from curtailcoin.db.reference_tables import block_fees, source_refreshes
from curtailcoin.db.upsert import upsert
from curtailcoin.reference import mark_refreshed
from curtailcoin.sources.http import SourceError
from curtailcoin.sources.mempool import (
    FEE_PERIOD_DAYS,
    FEE_PERIODS,
    MAX_SATS,
    BlockFees,
    RewardStats,
    fetch_block_fees,
    fetch_reward_stats,
    mempool_client,
)

log = logging.getLogger("curtailcoin.fees")

REFRESH_SOURCE = "block_fees"
"""``source_refreshes`` row of the last fee update (with the recent exact totals)."""

DEFAULT_PERIOD = "3y"
RECENT_BLOCKS = 144
"""Blocks in the exact recent average (``reward-stats/144``, about a day)."""

SATS_PER_BTC = 1e8

RESOLUTION_PREFERENCE: tuple[int, ...] = (86_400, 1, 300, 1_800, 7_200, 10_800, 28_800, 43_200)
"""Which stored series gives a day its figure, best first: mempool.space's own daily mean, then
single blocks, then buckets from finest to coarsest."""


class FeeInputError(ValueError):
    """Bad input for a fee command (one line naming the value and what is allowed)."""


@dataclass(frozen=True)
class FeeUpdateResult:
    period: str
    fetched: int
    stored: int
    first_day: date | None
    last_day: date | None
    recent: RewardStats | None
    recent_error: str | None


@dataclass(frozen=True)
class FeeImportResult:
    path: Path
    rows: int
    first_day: date
    last_day: date


def _day(row: BlockFees) -> date:
    return row.timestamp_utc.astimezone(UTC).date()


def check_fee_period(period: str) -> str:
    if period not in FEE_PERIODS:
        raise FeeInputError(f"--period {period!r} not allowed: one of {', '.join(FEE_PERIODS)}")
    return period


def _insert(conn: Connection, rows: Sequence[BlockFees], fetched_at: datetime) -> None:
    upsert(
        conn,
        block_fees,
        [
            {
                "resolution_s": r.resolution_s,
                "avg_height": r.avg_height,
                "timestamp_utc": r.timestamp_utc,
                "fee_date": _day(r),
                "avg_fees_sats": r.avg_fees_sats,
                "period": r.period,
                "fetched_at": fetched_at,
            }
            for r in rows
        ],
        ["resolution_s", "avg_height", "timestamp_utc"],
    )


def store_answer(
    conn: Connection, period: str, rows: Sequence[BlockFees], fetched: datetime
) -> int:
    """Store one ``blocks/fees/{period}`` answer (see the module docstring); rows stored."""
    days = sorted({_day(r) for r in rows})
    if FEE_PERIOD_DAYS[period] is not None and days:
        oldest = days.pop(0)
        rows = [r for r in rows if _day(r) != oldest]
    if not days:
        return 0
    c = block_fees.c
    conn.execute(
        block_fees.delete().where(
            c.resolution_s == FEE_PERIODS[period], c.fee_date >= days[0], c.fee_date <= days[-1]
        )
    )
    _insert(conn, rows, fetched)
    return len(rows)


def period_to_cover(last_day: date | None, today: date) -> str:
    """The shortest period whose whole days reach back past ``last_day`` (the worker's choice:
    a daily refresh needs 3d; after a stop, a longer window fills the days missed)."""
    if last_day is None:
        return DEFAULT_PERIOD
    behind = (today - last_day).days
    for period, days in FEE_PERIOD_DAYS.items():
        if period != "24h" and (days is None or behind <= days):
            return period
    return "all"  # pragma: no cover - "all" has no bound


def last_fee_day(conn: Connection) -> date | None:
    """The latest UTC day with whole-day fee rows (today's partial rows aside, a day stored)."""
    value = conn.execute(select(func.max(block_fees.c.fee_date))).scalar_one_or_none()
    return value if isinstance(value, date) else None


async def update_fees(
    engine: Engine,
    settings: Settings,
    period: str = DEFAULT_PERIOD,
    *,
    recent_blocks: int = RECENT_BLOCKS,
) -> FeeUpdateResult:
    """Fetch ``blocks/fees/{period}`` and the last ``recent_blocks`` blocks' exact totals; store.

    A failure of the fee history raises (``SourceError``); the recent totals are extra, so their
    failure is only reported (``recent_error``).
    """
    check_fee_period(period)
    recent: RewardStats | None = None
    recent_error: str | None = None
    async with mempool_client(settings) as client:
        rows = await fetch_block_fees(client, period)
        try:
            recent = await fetch_reward_stats(client, recent_blocks)
        except SourceError as exc:
            recent_error = str(exc)
    fetched = datetime.now(UTC)
    with engine.begin() as conn:
        stored = store_answer(conn, period, rows, fetched)
        detail: dict[str, object] = {"period": period, "fetched": len(rows), "stored": stored}
        if recent is not None:
            detail["recent"] = {
                "start_block": recent.start_block,
                "end_block": recent.end_block,
                "total_fee_sats": recent.total_fee_sats,
                "total_reward_sats": recent.total_reward_sats,
                "total_tx": recent.total_tx,
            }
        mark_refreshed(conn, REFRESH_SOURCE, json.dumps(detail))
    days = sorted({_day(r) for r in rows})
    log.info("fees updated", extra={"period": period, "fetched": len(rows), "stored": stored})
    return FeeUpdateResult(
        period,
        len(rows),
        stored,
        days[0] if days else None,
        days[-1] if days else None,
        recent,
        recent_error,
    )


def recent_reward_stats(conn: Connection) -> RewardStats | None:
    """The exact recent totals kept by the last :func:`update_fees` (None if none)."""
    detail = conn.execute(
        select(source_refreshes.c.detail).where(source_refreshes.c.source == REFRESH_SOURCE)
    ).scalar_one_or_none()
    try:
        recent = json.loads(detail or "{}").get("recent")
        return None if recent is None else RewardStats(**recent)
    except (ValueError, TypeError, AttributeError):
        return None


# -- the lookup -------------------------------------------------------------------------------


def fee_btc_per_block_by_day(conn: Connection, start: date, end: date) -> dict[date, float]:
    """Mean transaction fees per block (BTC) of each UTC day from ``start`` to ``end`` inclusive
    that has fee data; a day without any is absent (never filled, never carried over).

    A day's figure is ``Σ avg_fees_sats / n / 1e8`` over the ``n`` stored rows of that day of one
    series, the first the day has of: the daily bucket (period ``all``: mempool.space's mean over
    the day's blocks, truncated to whole sats); single blocks (24h, 3d: the exact mean over the
    blocks stored for the day, so for today the blocks so far); then time buckets from the finest
    (1w, 5 min) to the coarsest (3y, 12 h), where it is the unweighted mean of the buckets' means
    (a bucket of 3 blocks counts as much as one of 1; exact when the buckets hold equal counts).
    Each day's figure applies to every settlement period of that UTC day.
    """
    c = block_fees.c
    rows = conn.execute(
        select(c.fee_date, c.resolution_s, func.sum(c.avg_fees_sats), func.count())
        .where(c.fee_date >= start, c.fee_date <= end)
        .group_by(c.fee_date, c.resolution_s)
    ).all()
    series: dict[date, dict[int, tuple[int, int]]] = {}
    for day, resolution, total, count in rows:
        series.setdefault(day, {})[int(resolution)] = (int(total), int(count))
    out: dict[date, float] = {}
    for day in sorted(series):
        by_resolution = series[day]
        best = next(
            r for r in (*RESOLUTION_PREFERENCE, *sorted(by_resolution)) if r in by_resolution
        )
        total, count = by_resolution[best]
        out[day] = total / count / SATS_PER_BTC
    return out


# -- CSV import -------------------------------------------------------------------------------

_COLUMNS: dict[str, tuple[str, ...]] = {
    "avg_height": ("avg_height", "avgheight", "height"),
    "timestamp": ("timestamp", "timestamp_utc", "time"),
    "avg_fees_sats": ("avg_fees_sats", "avgfees", "fees_sats"),
    "period": ("period",),
}


def _parse_whole(text: str, where: str, name: str, high: int) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > high:
        raise FeeInputError(f"{where}: {name} {text!r} is not a whole number in 0..{high}")
    return int(text)


def _parse_timestamp(text: str, where: str) -> datetime:
    if text.isascii() and text.isdigit():
        return datetime.fromtimestamp(_parse_whole(text, where, "timestamp", 253_402_300_799), UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.utcoffset() is None:
        raise FeeInputError(
            f"{where}: timestamp {text!r} is not unix seconds or ISO 8601 with a UTC offset"
        )
    return parsed.astimezone(UTC)


def read_fee_csv(path: Path) -> list[BlockFees]:
    """Parse a fee CSV whole; the first bad value raises ``FeeInputError`` naming its line.

    Columns (header names case-insensitive): ``avg_height`` (or ``avgHeight``), ``timestamp``
    (unix seconds or ISO 8601 with an offset), ``avg_fees_sats`` (or ``avgFees``, whole sats) and
    ``period`` (24h … all: the mempool.space period the row came from, which fixes its resolution).
    """
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise FeeInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        reader = csv.DictReader(handle)
        header = {name.strip().lower(): name for name in (reader.fieldnames or [])}
        columns: dict[str, str] = {}
        for key, names in _COLUMNS.items():
            found = next((header[n] for n in names if n in header), None)
            if found is None:
                raise FeeInputError(
                    f"{path}: no {key!r} column in the header {reader.fieldnames}; "
                    "expected avg_height,timestamp,avg_fees_sats,period"
                )
            columns[key] = found
        out: list[BlockFees] = []
        seen: set[tuple[int, int, datetime]] = set()
        for number, row in enumerate(reader, start=2):
            where = f"{path.name} line {number}"
            values = {k: (row.get(col) or "").strip() for k, col in columns.items()}
            if not any(values.values()):
                continue
            period = values["period"]
            if period not in FEE_PERIODS:
                raise FeeInputError(
                    f"{where}: period {period!r} not allowed: one of {', '.join(FEE_PERIODS)}"
                )
            item = BlockFees(
                _parse_whole(values["avg_height"], where, "avg_height", 2**31 - 1),
                _parse_timestamp(values["timestamp"], where),
                _parse_whole(values["avg_fees_sats"], where, "avg_fees_sats", MAX_SATS),
                period,
            )
            ident = (item.resolution_s, item.avg_height, item.timestamp_utc)
            if ident in seen:
                raise FeeInputError(f"{where}: height {item.avg_height} at that time given twice")
            seen.add(ident)
            out.append(item)
    if not out:
        raise FeeInputError(f"{path}: no fee rows in the file")
    return out


def import_fees_csv(engine: Engine, path: Path) -> FeeImportResult:
    """Validate the whole file, then upsert its rows in one transaction (nothing on bad input)."""
    rows = read_fee_csv(path)
    with engine.begin() as conn:
        _insert(conn, rows, datetime.now(UTC))
    days = sorted({_day(r) for r in rows})
    return FeeImportResult(path, len(rows), days[0], days[-1])
