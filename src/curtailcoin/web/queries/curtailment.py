"""Curtailment totals of a scope: MWh (positive) and £ paid **to** farms (signed).

Without a filter they come from the summary tables; with a lead-party / BM-unit filter from
``farm_daily_summaries`` for a month or a year and from ``curtailment_records`` for a day
(:func:`curtailcoin.web.queries.plan.level`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select

from curtailcoin.db.curtailment_tables import curtailment_records
from curtailcoin.db.dialect import month_key
from curtailcoin.db.share_tables import stack_daily_summaries
from curtailcoin.db.summary_tables import (
    daily_summaries,
    farm_daily_summaries,
    monthly_summaries,
    yearly_summaries,
)
from curtailcoin.web.queries.plan import Level, farm_day_filter, level, record_filter
from curtailcoin.web.queries.scope import Scope
from curtailcoin.web.queries.values import as_date, as_float, as_int

r = curtailment_records.c
fd = farm_daily_summaries.c


@dataclass
class Totals:
    """Curtailment of a scope or a row: MWh positive, £ paid to farms (signed)."""

    energy_mwh: float = 0.0
    payment_gbp: float = 0.0
    records: int = 0
    farms: int = 0


def _totals(row: Any, first: int = 0) -> Totals:
    """Totals from (MWh, £, records, farms) at ``row[first:]``."""
    return Totals(
        as_float(row[first]),
        as_float(row[first + 1]),
        as_int(row[first + 2]),
        as_int(row[first + 3]),
    )


def _summary_totals(conn: Connection, scope: Scope) -> Totals:
    table: Any
    value: Any
    if scope.timeframe == "day":
        table, key, value = daily_summaries, "summary_date", scope.start
    elif scope.timeframe == "month":
        table, key, value = monthly_summaries, "year_month", scope.label
    else:
        table, key, value = yearly_summaries, "year", scope.label
    t = table.c
    row = conn.execute(
        select(t.curtailed_energy_mwh, t.payment_gbp, t.record_count, t.farm_count).where(
            t[key] == value
        )
    ).first()
    if row is None:
        return Totals()
    return _totals(row)


def scope_totals(conn: Connection, scope: Scope) -> Totals:
    """Totals of the whole scope (farm count is distinct over the scope)."""
    where = level(scope, "scope")
    if where is Level.SUMMARY:
        return _summary_totals(conn, scope)
    if where is Level.FARM_DAY:
        row = conn.execute(
            select(
                func.sum(fd.curtailed_energy_mwh),
                func.sum(fd.payment_gbp),
                func.sum(fd.record_count),
                func.count(func.distinct(fd.farm_id)),
            ).where(farm_day_filter(scope))
        ).one()
        return _totals(row)
    row = conn.execute(
        select(
            -func.sum(r.volume_mwh),
            func.sum(r.payment_gbp),
            func.count(),
            func.count(func.distinct(r.farm_id)),
        ).where(record_filter(scope))
    ).one()
    return _totals(row)


def _record_totals(scope: Scope, key: Any) -> Any:
    """(key, MWh, £, records, farms) of the scope's records grouped by ``key``."""
    return (
        select(
            key,
            -func.sum(r.volume_mwh),
            func.sum(r.payment_gbp),
            func.count(),
            func.count(func.distinct(r.farm_id)),
        )
        .where(record_filter(scope))
        .group_by(key)
    )


def totals_by_day(conn: Connection, scope: Scope) -> dict[date, Totals]:
    """One row per day with data (daily summaries, or the filtered records)."""
    where = level(scope, "day")
    if where is Level.SUMMARY:
        d = daily_summaries.c
        rows = conn.execute(
            select(
                d.summary_date,
                d.curtailed_energy_mwh,
                d.payment_gbp,
                d.record_count,
                d.farm_count,
            ).where(d.summary_date >= scope.start, d.summary_date < scope.end)
        ).all()
    elif where is Level.FARM_DAY:
        rows = conn.execute(
            select(
                fd.summary_date,
                func.sum(fd.curtailed_energy_mwh),
                func.sum(fd.payment_gbp),
                func.sum(fd.record_count),
                func.count(),
            )
            .where(farm_day_filter(scope))
            .group_by(fd.summary_date)
        ).all()
    else:
        rows = conn.execute(_record_totals(scope, r.settlement_date)).all()
    return {row[0]: _totals(row, 1) for row in rows}


def totals_by_month(conn: Connection, scope: Scope) -> dict[str, Totals]:
    """One row per month with data (monthly summaries, or the filtered records)."""
    where = level(scope, "month")
    if where is Level.SUMMARY:
        m = monthly_summaries.c
        rows = conn.execute(
            select(
                m.year_month,
                m.curtailed_energy_mwh,
                m.payment_gbp,
                m.record_count,
                m.farm_count,
            ).where(
                m.year_month >= scope.start.isoformat()[:7],
                m.year_month < scope.end.isoformat()[:7],
            )
        ).all()
    elif where is Level.FARM_DAY:
        fym = month_key(conn, fd.summary_date).label("ym")
        rows = conn.execute(
            select(
                fym,
                func.sum(fd.curtailed_energy_mwh),
                func.sum(fd.payment_gbp),
                func.sum(fd.record_count),
                func.count(func.distinct(fd.farm_id)),
            )
            .where(farm_day_filter(scope))
            .group_by(fym)
        ).all()
    else:
        ym = month_key(conn, r.settlement_date).label("ym")
        rows = conn.execute(_record_totals(scope, ym)).all()
    return {str(row[0]): _totals(row, 1) for row in rows}


def totals_by_period(conn: Connection, scope: Scope) -> dict[int, Totals]:
    """One row per settlement period of a day with records (only the records have periods)."""
    rows = conn.execute(_record_totals(scope, r.settlement_period)).all()
    return {int(row[0]): _totals(row, 1) for row in rows}


def all_bids_by_day(conn: Connection, scope: Scope) -> dict[date, float] | None:
    """The all-bids measure of each date of the scope (``curtailcoin.stack_daily``); ``None``
    with a lead-party or BM-unit filter (it is stored for all wind only)."""
    if scope.filtered:
        return None
    a = stack_daily_summaries.c
    rows = conn.execute(
        select(a.summary_date, a.all_bids_curtailed_energy_mwh).where(
            a.summary_date >= scope.start, a.summary_date < scope.end
        )
    )
    return {as_date(day) or scope.start: float(mwh) for day, mwh in rows}
