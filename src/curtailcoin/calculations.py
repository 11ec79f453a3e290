"""Bitcoin calculations per (date, period, farm, model), set-based in SQL.

One ``INSERT … SELECT`` joins the curtailment aggregated per farm-period with the period's
network conditions (``settlement_periods.difficulty``/``block_subsidy_btc``) and the miner models,
so the cost does not grow with round trips. Each row stores the energy, difficulty, subsidy and
miner figures it used, so reconciliation can tell a *stale* row from a *missing* one.

The SQL expression evaluates the formula in the same order as
:func:`curtailcoin.mining.btc_for_energy`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, literal, select

from curtailcoin.db.schema import (
    curtailment_records,
    historical_bitcoin_calculations,
    miner_models,
    settlement_periods,
)
from curtailcoin.miners import MinerModel
from curtailcoin.mining import btc_for_energy

JOULES_PER_MWH = 3.6e9
HASHES_PER_TH = 1e12
HASHES_PER_DIFFICULTY = 4294967296.0  # 2^32


def farm_period_energy(settlement_date: date, periods: Sequence[int] | None = None) -> Any:
    """Subquery: curtailed MWh (positive) per (date, period, farm) for one date."""
    r = curtailment_records.c
    query = select(
        r.settlement_date,
        r.settlement_period,
        r.farm_id,
        (-func.sum(r.volume)).label("energy_mwh"),
    ).where(r.settlement_date == settlement_date)
    if periods is not None:
        query = query.where(r.settlement_period.in_(list(periods)))
    return query.group_by(r.settlement_date, r.settlement_period, r.farm_id).subquery("e")


def btc_sql(energy: Any, power_w: Any, hashrate_th: Any, difficulty: Any, subsidy: Any) -> Any:
    """The energy-limited formula as a SQL expression (same operation order as Python)."""
    return (
        energy
        * literal(JOULES_PER_MWH)
        / power_w
        * hashrate_th
        * literal(HASHES_PER_TH)
        / (difficulty * literal(HASHES_PER_DIFFICULTY))
        * subsidy
    )


def clear_bitcoin_calculations(
    conn: Connection,
    settlement_date: date,
    models: Iterable[str] | None = None,
    periods: Sequence[int] | None = None,
) -> int:
    """Delete the date's calculations (for some models / periods); returns rows deleted."""
    c = historical_bitcoin_calculations.c
    stmt = delete(historical_bitcoin_calculations).where(c.settlement_date == settlement_date)
    if models is not None:
        stmt = stmt.where(c.miner_model.in_(list(models)))
    if periods is not None:
        stmt = stmt.where(c.settlement_period.in_(list(periods)))
    return conn.execute(stmt).rowcount or 0


def calculate(
    conn: Connection,
    settlement_date: date,
    models: Sequence[str],
    periods: Sequence[int] | None = None,
    *,
    farm_id: str | None = None,
) -> int:
    """Replace the calculations of a date (or some periods / one farm) for ``models``.

    Periods whose difficulty is unknown (pending) get no rows. Returns rows written.
    """
    c = historical_bitcoin_calculations.c
    clear = delete(historical_bitcoin_calculations).where(
        c.settlement_date == settlement_date, c.miner_model.in_(list(models))
    )
    if periods is not None:
        clear = clear.where(c.settlement_period.in_(list(periods)))
    if farm_id is not None:
        clear = clear.where(c.farm_id == farm_id)
    conn.execute(clear)

    e = farm_period_energy(settlement_date, periods)
    p = settlement_periods.c
    m = miner_models.c
    source = (
        select(
            e.c.settlement_date,
            e.c.settlement_period,
            e.c.farm_id,
            m.model_key,
            e.c.energy_mwh,
            p.difficulty,
            p.block_subsidy_btc,
            m.hashrate_th,
            m.power_w,
            btc_sql(e.c.energy_mwh, m.power_w, m.hashrate_th, p.difficulty, p.block_subsidy_btc),
            literal(datetime.now(UTC), type_=c.calculated_at.type),
        )
        .select_from(
            e.join(
                settlement_periods,
                and_(
                    p.settlement_date == e.c.settlement_date,
                    p.settlement_period == e.c.settlement_period,
                ),
            ).join(miner_models, m.model_key.in_(list(models)))
        )
        .where(p.difficulty.is_not(None), p.block_subsidy_btc.is_not(None))
    )
    if farm_id is not None:
        source = source.where(e.c.farm_id == farm_id)
    insert = historical_bitcoin_calculations.insert().from_select(
        [
            "settlement_date",
            "settlement_period",
            "farm_id",
            "miner_model",
            "curtailed_energy_mwh",
            "difficulty",
            "block_subsidy_btc",
            "hashrate_th",
            "power_w",
            "bitcoin_mined",
            "calculated_at",
        ],
        source,
    )
    return conn.execute(insert).rowcount or 0


@dataclass(frozen=True)
class VerificationRow:
    """Verification of one (period, model): every farm-period with curtailment has its row."""

    settlement_period: int
    miner_model: str
    farm_periods: int  # farm-periods with curtailment
    calculations: int  # rows present
    pending: bool  # difficulty unknown for the period
    bitcoin_mined: float
    expected_bitcoin: float | None
    ok: bool


def verify_calculations(
    conn: Connection, settlement_date: date, models: Sequence[MinerModel]
) -> list[VerificationRow]:
    """Check every period and model of a date against a fresh recomputation in Python."""
    r = curtailment_records.c
    energy_rows = conn.execute(
        select(r.settlement_period, r.farm_id, (-func.sum(r.volume)).label("energy_mwh"))
        .where(r.settlement_date == settlement_date)
        .group_by(r.settlement_period, r.farm_id)
    ).all()
    energy: dict[int, dict[str, float]] = {}
    for row in energy_rows:
        energy.setdefault(row.settlement_period, {})[row.farm_id] = row.energy_mwh
    p = settlement_periods.c
    conditions = {
        row.settlement_period: (row.difficulty, row.block_subsidy_btc)
        for row in conn.execute(
            select(p.settlement_period, p.difficulty, p.block_subsidy_btc).where(
                p.settlement_date == settlement_date
            )
        )
    }
    c = historical_bitcoin_calculations.c
    stored: dict[tuple[int, str], dict[str, tuple[float, float]]] = {}
    for calc in conn.execute(
        select(
            c.settlement_period, c.miner_model, c.farm_id, c.curtailed_energy_mwh, c.bitcoin_mined
        ).where(c.settlement_date == settlement_date)
    ):
        stored.setdefault((calc.settlement_period, calc.miner_model), {})[calc.farm_id] = (
            calc.curtailed_energy_mwh,
            calc.bitcoin_mined,
        )
    out: list[VerificationRow] = []
    for period in sorted(energy):
        difficulty, subsidy = conditions.get(period, (None, None))
        pending = difficulty is None or subsidy is None
        for model in models:
            rows = stored.get((period, model.key), {})
            farms = energy[period]
            expected: float | None = None
            ok = False
            total = sum(b for _, b in rows.values())
            if not pending:
                assert difficulty is not None and subsidy is not None
                expected = sum(
                    btc_for_energy(mwh, model.hashrate_th, model.power_w, difficulty, subsidy)
                    for mwh in farms.values()
                )
                ok = (
                    set(rows) == set(farms)
                    and all(
                        abs(rows[f][0] - farms[f]) <= 1e-9 * max(1.0, abs(farms[f])) for f in farms
                    )
                    and abs(total - expected) <= 1e-9 * max(1e-12, abs(expected))
                )
            out.append(
                VerificationRow(
                    period, model.key, len(farms), len(rows), pending, total, expected, ok
                )
            )
    return out
