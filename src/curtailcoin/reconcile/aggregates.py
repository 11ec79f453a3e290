"""The per-period aggregates a status reads: one ``GROUP BY`` per large table over the whole
range (records, calculations), the period rows, and Σ BTC per (date, model). No query runs per
row; the session is tuned for these scans first."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, literal, select

from curtailcoin.db.curtailment_tables import (
    curtailment_records,
    historical_bitcoin_calculations,
    settlement_periods,
)
from curtailcoin.db.reference_tables import miner_models
from curtailcoin.db.summary_tables import daily_summaries
from curtailcoin.reconcile.expected import PeriodKey

BtcSums = dict[tuple[date, str], tuple[float, float]]
"""(date, model) → (Σ bitcoin_mined, Σ curtailed MWh) of its calculation rows."""


def as_date(value: Any) -> date:
    """A date column's value as a ``date`` (SQLite may hand back text)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def between(column: Any, start: date, end: date) -> Any:
    return column.between(start, end)


def data_bounds(conn: Connection) -> tuple[date | None, date | None]:
    """First and last date holding anything reconciliation looks at."""
    lows: list[date] = []
    highs: list[date] = []
    for column in (
        settlement_periods.c.settlement_date,
        curtailment_records.c.settlement_date,
        historical_bitcoin_calculations.c.settlement_date,
        daily_summaries.c.summary_date,
    ):
        # One aggregate per statement, so that each is a single index lookup.
        low = conn.execute(select(func.min(column))).scalar()
        high = conn.execute(select(func.max(column))).scalar()
        if low is not None and high is not None:
            lows.append(as_date(low))
            highs.append(as_date(high))
    return (min(lows), max(highs)) if lows else (None, None)


@dataclass(frozen=True, slots=True)
class StoredPeriod:
    """A ``settlement_periods`` row: fetch status, headline totals, conditions, error."""

    status: str
    record_count: int
    energy_mwh: float
    payment_gbp: float
    difficulty: float | None
    block_subsidy_btc: float | None
    error: str | None


@dataclass(frozen=True, slots=True)
class PeriodRecords:
    """A period's curtailment records: rows, farms, Σ MWh, Σ £, Σ MWh × len(farm id)."""

    n: int
    farms: int
    energy_mwh: float
    payment_gbp: float
    energy_x_id_length_mwh: float


@dataclass(frozen=True, slots=True)
class CalcScreen:
    """A period's calculation rows (tracked models): rows, Σ MWh, Σ MWh × len(farm id), Σ BTC,
    and the range of difficulty and subsidy."""

    n: int
    energy_mwh: float
    energy_x_id_length_mwh: float
    btc: float
    difficulty_min: float | None
    difficulty_max: float | None
    subsidy_min_btc: float | None
    subsidy_max_btc: float | None


def records_per_period(conn: Connection, start: date, end: date) -> dict[PeriodKey, PeriodRecords]:
    r = curtailment_records.c
    rows = conn.execute(
        select(
            r.settlement_date,
            r.settlement_period,
            func.count(),
            func.count(func.distinct(r.farm_id)),
            func.coalesce(-func.sum(r.volume_mwh), 0.0),
            func.coalesce(func.sum(r.payment_gbp), 0.0),
            func.coalesce(-func.sum(r.volume_mwh * func.length(r.farm_id)), 0.0),
        )
        .where(between(r.settlement_date, start, end))
        .group_by(r.settlement_date, r.settlement_period)
    ).all()
    return {
        (as_date(d), int(p)): PeriodRecords(int(n), int(f), float(e), float(pay), float(el))
        for d, p, n, f, e, pay, el in rows
    }


def farms_per_date(conn: Connection, start: date, end: date) -> dict[date, int]:
    r = curtailment_records.c
    rows = conn.execute(
        select(r.settlement_date, func.count(func.distinct(r.farm_id)))
        .where(between(r.settlement_date, start, end))
        .group_by(r.settlement_date)
    ).all()
    return {as_date(d): int(n) for d, n in rows}


def stored_periods(conn: Connection, start: date, end: date) -> dict[PeriodKey, StoredPeriod]:
    p = settlement_periods.c
    rows = conn.execute(
        select(
            p.settlement_date,
            p.settlement_period,
            p.fetch_status,
            p.record_count,
            p.curtailed_energy_mwh,
            p.payment_gbp,
            p.difficulty,
            p.block_subsidy_btc,
            p.error,
        ).where(between(p.settlement_date, start, end))
    ).all()
    return {
        (as_date(row[0]), int(row[1])): StoredPeriod(
            row[2], int(row[3]), float(row[4]), float(row[5]), row[6], row[7], row[8]
        )
        for row in rows
    }


def other_models(conn: Connection, start: date, end: date, models: Sequence[str]) -> list[str]:
    """Catalogue models other than ``models`` with calculations in range (index probes)."""
    c = historical_bitcoin_calculations.c
    m = miner_models.c
    rows = conn.execute(
        select(m.model_key).where(
            m.model_key.not_in(list(models)),
            select(c.miner_model)
            .where(c.miner_model == m.model_key, between(c.settlement_date, start, end))
            .exists(),
        )
    )
    return [row[0] for row in rows]


def calc_screen(
    conn: Connection, start: date, end: date, models: Sequence[str], filtered: bool
) -> dict[PeriodKey, CalcScreen]:
    """Per-period aggregates of the tracked models' rows (one scan in primary-key order)."""
    c = historical_bitcoin_calculations.c
    query = (
        select(
            c.settlement_date,
            c.settlement_period,
            func.count(),
            func.sum(c.curtailed_energy_mwh),
            func.sum(c.curtailed_energy_mwh * func.length(c.farm_id)),
            func.sum(c.bitcoin_mined_btc),
            func.min(c.difficulty),
            func.max(c.difficulty),
            func.min(c.block_subsidy_btc),
            func.max(c.block_subsidy_btc),
        )
        .where(between(c.settlement_date, start, end))
        .group_by(c.settlement_date, c.settlement_period)
    )
    if filtered:
        # ``model || ''`` keeps SQLite on the primary key (date, period, …) instead of the
        # (model, date) index, which would need a sort for this grouping.
        query = query.where((c.miner_model + literal("")).in_(list(models)))
    return {
        (as_date(row[0]), int(row[1])): CalcScreen(
            int(row[2]),
            float(row[3]),
            float(row[4]),
            float(row[5]),
            row[6],
            row[7],
            row[8],
            row[9],
        )
        for row in conn.execute(query).all()
    }


def fsum_per_model(rows: Iterable[Sequence[Any]]) -> dict[str, tuple[float, float]]:
    """(model, BTC, MWh) rows → model → (Σ BTC, Σ MWh), each sum correctly rounded."""
    grouped: dict[str, tuple[list[float], list[float]]] = {}
    for model, btc, energy_mwh in rows:
        btcs, mwhs = grouped.setdefault(model, ([], []))
        btcs.append(btc)
        mwhs.append(energy_mwh)
    return {model: (math.fsum(btcs), math.fsum(mwhs)) for model, (btcs, mwhs) in grouped.items()}


def btc_sums_on(conn: Connection, dates: Iterable[date]) -> BtcSums:
    """Σ bitcoin and Σ energy per (date, model) for ``dates``, every model, one date at a time."""
    c = historical_bitcoin_calculations.c
    out: BtcSums = {}
    for day in dates:
        rows = conn.execute(
            select(c.miner_model, c.bitcoin_mined_btc, c.curtailed_energy_mwh).where(
                c.settlement_date == day
            )
        )
        for model, pair in fsum_per_model(rows).items():
            out[(day, model)] = pair
    return out


def btc_sums_in_range(conn: Connection, start: date, end: date, models: Sequence[str]) -> BtcSums:
    """Σ bitcoin and Σ energy per (date, model) in ``start..end`` for ``models`` (one query)."""
    if not models:
        return {}
    c = historical_bitcoin_calculations.c
    rows = conn.execute(
        select(
            c.settlement_date,
            c.miner_model,
            func.sum(c.bitcoin_mined_btc),
            func.sum(c.curtailed_energy_mwh),
        )
        .where(between(c.settlement_date, start, end), c.miner_model.in_(list(models)))
        .group_by(c.settlement_date, c.miner_model)
    )
    return {(as_date(d), model): (float(btc), float(mwh)) for d, model, btc, mwh in rows}
