"""The summary tables, rebuilt from their base rows inside the caller's transaction.

Daily summaries are sums of ``curtailment_records`` (and of ``historical_bitcoin_calculations``);
farm-day summaries (``farm_daily_summaries``, ``bitcoin_farm_daily_summaries``) are the same sums
per BM unit and date, rolled up per BM unit and month (``curtailcoin.farm_months``) for the API's
month- and year-scoped per-farm aggregates; monthly
summaries are sums of the month's daily rows, yearly of the year's monthly rows, so every summary
equals the sum of the rows below it (a month's and a year's BM unit count: its farm-month rows).
Sums use ``math.fsum`` (correctly rounded, independent of row order), so rebuilding gives the
same bits on SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, delete, func, select

from curtailcoin.db.bulk import bulk_insert
from curtailcoin.db.curtailment_tables import (
    curtailment_records,
    historical_bitcoin_calculations,
    settlement_periods,
)
from curtailcoin.db.dialect import advisory_xact_lock
from curtailcoin.db.summary_tables import (
    bitcoin_daily_summaries,
    bitcoin_farm_daily_summaries,
    bitcoin_monthly_summaries,
    bitcoin_yearly_summaries,
    daily_summaries,
    farm_daily_summaries,
    farm_monthly_summaries,
    monthly_summaries,
    yearly_summaries,
)
from curtailcoin.farm_months import rebuild_bitcoin_farm_monthly, rebuild_farm_monthly
from curtailcoin.mining import btc_per_th_per_w
from curtailcoin.settlement import month_bounds, year_month
from curtailcoin.stack_daily import StackDay, rebuild_stack_daily

#: first key of the advisory locks that serialise a year's summary roll-ups (PostgreSQL)
_ROLLUP_LOCK_NAMESPACE = 0x43435355


def lock_rollups(conn: Connection, year: int) -> None:
    """Serialise the month/year summary roll-ups of ``year`` between concurrent transactions.

    On PostgreSQL two dates of one month written at once would each sum the month's daily rows
    without the other's (READ COMMITTED) and race on the month's row (a unique violation or a
    stale month). A transaction-level advisory lock, held until commit, makes the second wait
    and then see the first's rows. SQLite serialises writers already.
    """
    advisory_xact_lock(conn, _ROLLUP_LOCK_NAMESPACE, year)


def _year_farm_count(conn: Connection, year: str) -> int:
    """BM units with curtailment in the year: those of its farm-month rows (one per BM unit with
    a record in the month, rebuilt with every date), ~200 a month instead of the year's records."""
    fm = farm_monthly_summaries.c
    return int(
        conn.execute(
            select(func.count(func.distinct(fm.farm_id))).where(fm.year_month.like(f"{year}-%"))
        ).scalar_one()
    )


def _replace(conn: Connection, table: Table, where: Any, row: dict[str, Any]) -> None:
    conn.execute(delete(table).where(where))
    conn.execute(table.insert().values(**row))


class FarmDay(NamedTuple):
    """A ``farm_daily_summaries`` row of one BM unit, in its columns' order."""

    lead_party_name: str | None
    curtailed_energy_mwh: float
    payment_gbp: float
    record_count: int
    btc_per_th_per_w: float
    pending_energy_mwh: float


class BitcoinFarmDay(NamedTuple):
    """A ``bitcoin_farm_daily_summaries`` row of one BM unit and model."""

    bitcoin_mined: float
    curtailed_energy_mwh: float


_FARM_DAILY_COLUMNS = ("summary_date", "farm_id", *FarmDay._fields, "updated_at")


def farm_day_base(conn: Connection, settlement_date: date) -> Sequence[Any]:
    """The date's records with their periods' conditions:
    (farm, lead party, period, volume, payment, difficulty, subsidy)."""
    r, p = curtailment_records.c, settlement_periods.c
    return conn.execute(
        select(
            r.farm_id,
            r.lead_party_name,
            r.settlement_period,
            r.volume_mwh,
            r.payment_gbp,
            p.difficulty,
            p.block_subsidy_btc,
        )
        .select_from(
            curtailment_records.outerjoin(
                settlement_periods,
                (p.settlement_date == r.settlement_date)
                & (p.settlement_period == r.settlement_period),
            )
        )
        .where(r.settlement_date == settlement_date)
    ).all()


def farm_daily_rows(
    conn: Connection, settlement_date: date, base: Sequence[Any] | None = None
) -> dict[str, FarmDay]:
    """What the date's ``farm_daily_summaries`` rows must hold, from its records and its
    periods' conditions.

    Per BM unit: Σ energy (positive), Σ payment (signed), record count, and per period with
    known difficulty and subsidy the farm-period energy × the factor of the period, summed
    (``btc_per_th_per_w``); the energy of periods without known conditions is
    ``pending_energy_mwh``.
    """
    rows = farm_day_base(conn, settlement_date) if base is None else base
    volumes: dict[tuple[str, int], list[float]] = {}
    payments: dict[str, list[float]] = {}
    leads: dict[str, str | None] = {}
    conditions: dict[int, tuple[float | None, float | None]] = {}
    for farm, lead, period, volume, payment, difficulty, subsidy in rows:
        volumes.setdefault((farm, period), []).append(volume)
        pays = payments.setdefault(farm, [])
        if payment is not None:
            pays.append(payment)
        known = leads.get(farm)
        if farm not in leads or (lead is not None and (known is None or lead < known)):
            leads[farm] = lead  # the smallest lead party, as SQL's min()
        conditions[period] = (difficulty, subsidy)
    energies: dict[str, list[float]] = {}
    factors: dict[str, list[float]] = {}
    pending: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for (farm, period), vols in volumes.items():
        energy = -math.fsum(vols) + 0.0
        energies.setdefault(farm, []).append(energy)
        counts[farm] = counts.get(farm, 0) + len(vols)
        difficulty, subsidy = conditions[period]
        if difficulty is None or subsidy is None:
            pending.setdefault(farm, []).append(energy)
        else:
            factors.setdefault(farm, []).append(btc_per_th_per_w(energy, difficulty, subsidy))
    return {
        farm: FarmDay(
            leads.get(farm),
            math.fsum(energies[farm]),
            math.fsum(payments[farm]),
            counts[farm],
            math.fsum(factors.get(farm, ())),
            math.fsum(pending.get(farm, ())),
        )
        for farm in sorted(energies)
    }


def rebuild_farm_daily(
    conn: Connection,
    settlement_date: date,
    now: datetime | None = None,
    base: Sequence[Any] | None = None,
) -> int:
    """Replace the date's ``farm_daily_summaries`` rows (:func:`farm_daily_rows`)."""
    now = now or datetime.now(UTC)
    rows = farm_daily_rows(conn, settlement_date, base)
    conn.execute(
        delete(farm_daily_summaries).where(farm_daily_summaries.c.summary_date == settlement_date)
    )
    return bulk_insert(
        conn,
        farm_daily_summaries,
        _FARM_DAILY_COLUMNS,
        ((settlement_date, farm, *row, now) for farm, row in rows.items()),
    )


def _calculation_base(conn: Connection, settlement_date: date, models: Sequence[str]) -> Any:
    """(farm, model, BTC, MWh) of the date's calculations of ``models``."""
    c = historical_bitcoin_calculations.c
    return conn.execute(
        select(c.farm_id, c.miner_model, c.bitcoin_mined_btc, c.curtailed_energy_mwh).where(
            c.settlement_date == settlement_date, c.miner_model.in_(list(models))
        )
    ).all()


def bitcoin_farm_daily_rows(
    conn: Connection,
    settlement_date: date,
    models: Sequence[str],
    base: Sequence[Any] | None = None,
) -> dict[tuple[str, str], BitcoinFarmDay]:
    """(farm_id, model) → Σ BTC and Σ MWh of the date's calculations of ``models``."""
    if base is None:
        base = _calculation_base(conn, settlement_date, models)
    grouped: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    for farm, model, btc, mwh in base:
        btcs, mwhs = grouped.setdefault((farm, model), ([], []))
        btcs.append(btc)
        mwhs.append(mwh)
    return {k: BitcoinFarmDay(math.fsum(b), math.fsum(e)) for k, (b, e) in sorted(grouped.items())}


def rebuild_bitcoin_farm_daily(
    conn: Connection,
    settlement_date: date,
    models: Sequence[str],
    now: datetime | None = None,
    base: Sequence[Any] | None = None,
) -> int:
    """The date's ``bitcoin_farm_daily_summaries`` rows of ``models``: Σ BTC and Σ energy of
    the calculations per BM unit and model. Returns the rows written."""
    models = list(models)
    if not models:
        return 0
    now = now or datetime.now(UTC)
    rows = bitcoin_farm_daily_rows(conn, settlement_date, models, base)
    b = bitcoin_farm_daily_summaries.c
    conn.execute(
        delete(bitcoin_farm_daily_summaries).where(
            b.summary_date == settlement_date, b.miner_model.in_(models)
        )
    )
    return bulk_insert(
        conn,
        bitcoin_farm_daily_summaries,
        ("summary_date", "farm_id", "miner_model", *BitcoinFarmDay._fields, "updated_at"),
        (
            (settlement_date, farm, model, btc, mwh, now)
            for (farm, model), (btc, mwh) in rows.items()
        ),
    )


def rebuild_curtailment_summaries(
    conn: Connection,
    settlement_date: date,
    *,
    base: Sequence[Any] | None = None,
    stack: StackDay | None = None,
) -> None:
    """Daily row of the date (zeros for a fetched date without curtailment), its farm-day rows and
    its stack row (``stack_daily``), then month, year. ``base``: the date's
    :func:`farm_day_base` rows, ``stack``: its stack row's figures, when held."""
    lock_rollups(conn, settlement_date.year)
    now = datetime.now(UTC)
    if base is None:  # read once: the farm-day rows and the day's
        base = farm_day_base(conn, settlement_date)
    rebuild_farm_daily(conn, settlement_date, now, base)
    month_farms = rebuild_farm_monthly(conn, year_month(settlement_date), now)  # one row each
    rebuild_stack_daily(conn, settlement_date, now, stack)
    rows = [(volume, payment, farm) for farm, _, _, volume, payment, _, _ in base]
    _replace(
        conn,
        daily_summaries,
        daily_summaries.c.summary_date == settlement_date,
        {
            "summary_date": settlement_date,
            "curtailed_energy_mwh": -math.fsum(v for v, _, _ in rows) + 0.0,
            "payment_gbp": math.fsum(p for _, p, _ in rows if p is not None),
            "record_count": len(rows),
            "farm_count": len({f for _, _, f in rows}),
            "updated_at": now,
        },
    )
    first, following = month_bounds(settlement_date)
    d = daily_summaries.c
    days = conn.execute(
        select(d.curtailed_energy_mwh, d.payment_gbp, d.record_count).where(
            d.summary_date >= first, d.summary_date < following
        )
    ).all()
    ym = year_month(settlement_date)
    _replace(
        conn,
        monthly_summaries,
        monthly_summaries.c.year_month == ym,
        {
            "year_month": ym,
            "curtailed_energy_mwh": math.fsum(e for e, _, _ in days),
            "payment_gbp": math.fsum(p for _, p, _ in days),
            "record_count": sum(n for _, _, n in days),
            "farm_count": month_farms,
            "updated_at": now,
        },
    )
    year = f"{settlement_date.year:04d}"
    m = monthly_summaries.c
    months = conn.execute(
        select(m.curtailed_energy_mwh, m.payment_gbp, m.record_count).where(
            m.year_month.like(f"{year}-%")
        )
    ).all()
    _replace(
        conn,
        yearly_summaries,
        yearly_summaries.c.year == year,
        {
            "year": year,
            "curtailed_energy_mwh": math.fsum(e for e, _, _ in months),
            "payment_gbp": math.fsum(p for _, p, _ in months),
            "record_count": sum(n for _, _, n in months),
            "farm_count": _year_farm_count(conn, year),
            "updated_at": now,
        },
    )


def _model_sums(rows: Sequence[Any]) -> dict[str, tuple[float, float]]:
    """model → (BTC, MWh) with correctly rounded sums."""
    grouped: dict[str, tuple[list[float], list[float]]] = {}
    for model, btc, mwh in rows:
        btcs, mwhs = grouped.setdefault(model, ([], []))
        btcs.append(btc)
        mwhs.append(mwh)
    return {k: (math.fsum(b), math.fsum(e)) for k, (b, e) in grouped.items()}


def _store_model_sums(
    conn: Connection,
    table: Table,
    key: str,
    value: Any,
    models: list[str],
    sums: dict[str, tuple[float, float]],
    now: datetime,
) -> None:
    conn.execute(delete(table).where(table.c[key] == value, table.c.miner_model.in_(models)))
    rows = [
        {
            key: value,
            "miner_model": model,
            "bitcoin_mined_btc": btc,
            "curtailed_energy_mwh": mwh,
            "updated_at": now,
        }
        for model, (btc, mwh) in sorted(sums.items())
    ]
    if rows:
        conn.execute(table.insert(), rows)


def rebuild_bitcoin_summaries(
    conn: Connection,
    settlement_date: date,
    models: Sequence[str],
    *,
    base: Sequence[Any] | None = None,
) -> None:
    """Per-model daily sums of the calculations, then the month and the year. ``base``: the
    date's (farm, model, BTC, MWh) calculations of ``models``, when held."""
    if not models:
        return
    lock_rollups(conn, settlement_date.year)
    now = datetime.now(UTC)
    models = list(models)
    if base is None:  # read once for both tables
        base = _calculation_base(conn, settlement_date, models)
    rebuild_bitcoin_farm_daily(conn, settlement_date, models, now, base)
    rebuild_bitcoin_farm_monthly(conn, year_month(settlement_date), models, now)
    daily = _model_sums([(model, btc, mwh) for _, model, btc, mwh in base])
    _store_model_sums(
        conn, bitcoin_daily_summaries, "summary_date", settlement_date, models, daily, now
    )
    first, following = month_bounds(settlement_date)
    d = bitcoin_daily_summaries.c
    monthly = _model_sums(
        conn.execute(
            select(d.miner_model, d.bitcoin_mined_btc, d.curtailed_energy_mwh).where(
                d.summary_date >= first, d.summary_date < following, d.miner_model.in_(models)
            )
        ).all()
    )
    _store_model_sums(
        conn,
        bitcoin_monthly_summaries,
        "year_month",
        year_month(settlement_date),
        models,
        monthly,
        now,
    )
    year = f"{settlement_date.year:04d}"
    m = bitcoin_monthly_summaries.c
    yearly = _model_sums(
        conn.execute(
            select(m.miner_model, m.bitcoin_mined_btc, m.curtailed_energy_mwh).where(
                m.year_month.like(f"{year}-%"), m.miner_model.in_(models)
            )
        ).all()
    )
    _store_model_sums(conn, bitcoin_yearly_summaries, "year", year, models, yearly, now)
