"""The six summary tables, rebuilt from their base rows inside the caller's transaction.

Daily summaries are sums of ``curtailment_records`` (and of ``historical_bitcoin_calculations``);
monthly summaries are sums of the month's daily rows, yearly of the year's monthly rows, so
every summary equals the sum of the rows below it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, func, literal, select

from curtailcoin.db.schema import (
    bitcoin_daily_summaries,
    bitcoin_monthly_summaries,
    bitcoin_yearly_summaries,
    curtailment_records,
    daily_summaries,
    historical_bitcoin_calculations,
    monthly_summaries,
    yearly_summaries,
)


def month_bounds(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


def year_month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _farm_count(conn: Connection, start: date, end: date) -> int:
    r = curtailment_records.c
    return int(
        conn.execute(
            select(func.count(func.distinct(r.farm_id))).where(
                r.settlement_date >= start, r.settlement_date < end
            )
        ).scalar_one()
    )


def rebuild_curtailment_summaries(conn: Connection, settlement_date: date) -> None:
    """Daily row of the date (zeros for a fetched date without curtailment), then month, year."""
    now = datetime.now(UTC)
    r = curtailment_records.c
    totals = conn.execute(
        select(
            func.coalesce(-func.sum(r.volume), 0.0),
            func.coalesce(func.sum(r.payment), 0.0),
            func.count(),
            func.count(func.distinct(r.farm_id)),
        ).where(r.settlement_date == settlement_date)
    ).one()
    conn.execute(delete(daily_summaries).where(daily_summaries.c.summary_date == settlement_date))
    conn.execute(
        daily_summaries.insert().values(
            summary_date=settlement_date,
            total_curtailed_energy=float(totals[0]),
            total_payment=float(totals[1]),
            record_count=int(totals[2]),
            farm_count=int(totals[3]),
            updated_at=now,
        )
    )
    first, following = month_bounds(settlement_date)
    d = daily_summaries.c
    month = conn.execute(
        select(
            func.coalesce(func.sum(d.total_curtailed_energy), 0.0),
            func.coalesce(func.sum(d.total_payment), 0.0),
            func.coalesce(func.sum(d.record_count), 0),
        ).where(d.summary_date >= first, d.summary_date < following)
    ).one()
    ym = year_month(settlement_date)
    conn.execute(delete(monthly_summaries).where(monthly_summaries.c.year_month == ym))
    conn.execute(
        monthly_summaries.insert().values(
            year_month=ym,
            total_curtailed_energy=float(month[0]),
            total_payment=float(month[1]),
            record_count=int(month[2]),
            farm_count=_farm_count(conn, first, following),
            updated_at=now,
        )
    )
    year = f"{settlement_date.year:04d}"
    m = monthly_summaries.c
    annual = conn.execute(
        select(
            func.coalesce(func.sum(m.total_curtailed_energy), 0.0),
            func.coalesce(func.sum(m.total_payment), 0.0),
            func.coalesce(func.sum(m.record_count), 0),
        ).where(m.year_month.like(f"{year}-%"))
    ).one()
    conn.execute(delete(yearly_summaries).where(yearly_summaries.c.year == year))
    conn.execute(
        yearly_summaries.insert().values(
            year=year,
            total_curtailed_energy=float(annual[0]),
            total_payment=float(annual[1]),
            record_count=int(annual[2]),
            farm_count=_farm_count(
                conn, date(settlement_date.year, 1, 1), date(settlement_date.year + 1, 1, 1)
            ),
            updated_at=now,
        )
    )


def rebuild_bitcoin_summaries(
    conn: Connection, settlement_date: date, models: Sequence[str]
) -> None:
    """Per-model daily sums of the calculations, then the month and the year."""
    if not models:
        return
    now = literal(datetime.now(UTC), type_=bitcoin_daily_summaries.c.updated_at.type)
    models = list(models)
    c = historical_bitcoin_calculations.c
    conn.execute(
        delete(bitcoin_daily_summaries).where(
            bitcoin_daily_summaries.c.summary_date == settlement_date,
            bitcoin_daily_summaries.c.miner_model.in_(models),
        )
    )
    conn.execute(
        bitcoin_daily_summaries.insert().from_select(
            ["summary_date", "miner_model", "bitcoin_mined", "curtailed_energy_mwh", "updated_at"],
            select(
                c.settlement_date,
                c.miner_model,
                func.sum(c.bitcoin_mined),
                func.sum(c.curtailed_energy_mwh),
                now,
            )
            .where(c.settlement_date == settlement_date, c.miner_model.in_(models))
            .group_by(c.settlement_date, c.miner_model),
        )
    )
    first, following = month_bounds(settlement_date)
    ym = year_month(settlement_date)
    d = bitcoin_daily_summaries.c
    _rollup(
        conn,
        bitcoin_monthly_summaries,
        "year_month",
        ym,
        select(
            literal(ym),
            d.miner_model,
            func.sum(d.bitcoin_mined),
            func.sum(d.curtailed_energy_mwh),
            now,
        )
        .where(d.summary_date >= first, d.summary_date < following, d.miner_model.in_(models))
        .group_by(d.miner_model),
        models,
    )
    year = f"{settlement_date.year:04d}"
    m = bitcoin_monthly_summaries.c
    _rollup(
        conn,
        bitcoin_yearly_summaries,
        "year",
        year,
        select(
            literal(year),
            m.miner_model,
            func.sum(m.bitcoin_mined),
            func.sum(m.curtailed_energy_mwh),
            now,
        )
        .where(m.year_month.like(f"{year}-%"), m.miner_model.in_(models))
        .group_by(m.miner_model),
        models,
    )


def _rollup(
    conn: Connection, table: Any, key: str, value: str, source: Any, models: list[str]
) -> None:
    conn.execute(delete(table).where(and_(table.c[key] == value, table.c.miner_model.in_(models))))
    conn.execute(
        table.insert().from_select(
            [key, "miner_model", "bitcoin_mined", "curtailed_energy_mwh", "updated_at"], source
        )
    )
