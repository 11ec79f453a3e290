"""Bitcoin calculations per (date, period, farm, model), in bulk.

One read of the date's records (summed per farm-period with ``math.fsum``) and one bulk insert
per date: the cost does not grow with round trips, and the result is reproducible bit for bit.
Each row stores the energy, difficulty, subsidy and miner figures it used, so reconciliation
can tell a *stale* row from a *missing* one.

The formula itself, in Python and SQL, lives in :mod:`curtailcoin.mining`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select

from curtailcoin.db.bulk import bulk_insert, column_named, fetch_plain
from curtailcoin.db.curtailment_tables import (
    curtailment_records,
    historical_bitcoin_calculations,
    settlement_periods,
)
from curtailcoin.db.dialect import is_sqlite
from curtailcoin.db.reference_tables import miner_models
from curtailcoin.miners import MinerModel
from curtailcoin.mining import btc_for_energy


def clear_bitcoin_calculations(
    conn: Connection,
    settlement_date: date,
    models: Iterable[str] | None = None,
    periods: Sequence[int] | None = None,
    farm_id: str | None = None,
) -> int:
    """Delete the date's calculations (for some models / periods / one farm); returns rows
    deleted."""
    c = historical_bitcoin_calculations.c
    stmt = delete(historical_bitcoin_calculations).where(c.settlement_date == settlement_date)
    if models is not None:
        stmt = stmt.where(c.miner_model.in_(list(models)))
    if periods is not None:
        stmt = stmt.where(c.settlement_period.in_(list(periods)))
    if farm_id is not None:
        stmt = stmt.where(c.farm_id == farm_id)
    return conn.execute(stmt).rowcount or 0


def farm_period_energies(
    conn: Connection,
    settlement_date: date,
    periods: Sequence[int] | None = None,
    farm_id: str | None = None,
) -> dict[tuple[int, str], float]:
    """Curtailed MWh (positive) per (period, farm) of a date.

    Summed with ``math.fsum`` (correctly rounded, independent of row order), so the stored
    energy is reproducible bit for bit on SQLite and PostgreSQL whatever plan the database picks.
    """
    r = curtailment_records.c
    query = select(r.settlement_period, r.farm_id, r.volume_mwh).where(
        r.settlement_date == settlement_date
    )
    if periods is not None:
        query = query.where(r.settlement_period.in_(list(periods)))
    if farm_id is not None:
        query = query.where(r.farm_id == farm_id)
    return energies_of(conn.execute(query))


def energies_of(rows: Iterable[tuple[int, str, float]]) -> dict[tuple[int, str], float]:
    """(period, farm, volume) rows → curtailed MWh per (period, farm), in first-seen order."""
    volumes: dict[tuple[int, str], list[float]] = {}
    for period, farm, volume in rows:
        volumes.setdefault((period, farm), []).append(volume)
    return {key: -math.fsum(values) for key, values in volumes.items()}


def period_conditions(
    conn: Connection, settlement_date: date
) -> dict[int, tuple[float | None, float | None]]:
    """Each period's stored (difficulty, block subsidy); ``(None, None)`` when pending."""
    p = settlement_periods.c
    return {
        row.settlement_period: (row.difficulty, row.block_subsidy_btc)
        for row in conn.execute(
            select(p.settlement_period, p.difficulty, p.block_subsidy_btc).where(
                p.settlement_date == settlement_date
            )
        )
    }


CALCULATION_COLUMNS = (
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
)

#: a stored calculation's figures with their keys, ``CALCULATION_COLUMNS[1:10]`` (no date, no
#: instant): a read of these compares with a new row's ``row[1:10]``
STORED_ROW_COLUMNS = tuple(
    column_named(historical_bitcoin_calculations, name) for name in CALCULATION_COLUMNS[1:10]
)


#: a model's (key, hashrate TH/s, power W), as ``calculation_rows`` uses it
ModelSpec = tuple[str, float, float]


def model_specs(conn: Connection, models: Sequence[str]) -> list[ModelSpec]:
    m = miner_models.c
    return [
        (key, hashrate, power)
        for key, hashrate, power in conn.execute(
            select(m.model_key, m.hashrate_th, m.power_w).where(m.model_key.in_(list(models)))
        )
    ]


def calculation_rows(
    settlement_date: date,
    energies: Mapping[tuple[int, str], float],
    conditions: Mapping[int, tuple[float | None, float | None]],
    specs: Sequence[ModelSpec],
    now: datetime,
) -> list[tuple[Any, ...]]:
    """The ``CALCULATION_COLUMNS`` rows of the farm-periods' energies; periods whose difficulty
    is unknown (pending) get none. BTC is linear in the energy: one factor per period-model."""
    rows: list[tuple[Any, ...]] = []
    factors: dict[tuple[int, str], float] = {}  # BTC per MWh of each (period, model)
    for (period, farm), energy_mwh in energies.items():
        difficulty, subsidy = conditions.get(period, (None, None))
        if difficulty is None or subsidy is None:
            continue
        for key, hashrate_th, power_w in specs:
            per_mwh = factors.get((period, key))
            if per_mwh is None:
                per_mwh = factors[(period, key)] = btc_for_energy(
                    1.0, hashrate_th, power_w, difficulty, subsidy
                )
            rows.append(
                (
                    settlement_date,
                    period,
                    farm,
                    key,
                    energy_mwh,
                    difficulty,
                    subsidy,
                    hashrate_th,
                    power_w,
                    energy_mwh * per_mwh,
                    now,
                )
            )
    return rows


def insert_calculations(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Bulk insert ``CALCULATION_COLUMNS`` rows; returns rows written.

    On SQLite the rows go in the order of the covering indexes (model, farm, period): the
    B-trees then take them page by page instead of all over, about half the time for a heavy
    day. The stored rows are the same; every reader sums them through an index or ``fsum``.
    """
    if is_sqlite(conn):
        rows = sorted(rows, key=_index_order)
    return bulk_insert(conn, historical_bitcoin_calculations, CALCULATION_COLUMNS, rows)


def _index_order(row: tuple[Any, ...]) -> tuple[str, str, int]:
    return row[3], row[2], row[1]


#: the share of a scope's stored rows above which the scope is deleted and written whole
#: rather than row by row
_WHOLE_SCOPE_SHARE = 0.25


def replace_calculations(
    conn: Connection,
    settlement_date: date,
    models: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    periods: Sequence[int] | None = None,
    farm_id: str | None = None,
) -> int:
    """Make the stored calculations of ``models`` (for the date, some ``periods`` or one
    ``farm_id``) exactly ``rows`` (``CALCULATION_COLUMNS`` order); returns rows written.

    A stored row whose every figure (energy, difficulty, subsidy, hashrate, power, BTC) equals
    its new row's is kept as it is, with its ``calculated_at``: rewriting it would cost its
    delete and its insert into every index (PostgreSQL also checks the key against the dead
    row), the most expensive part of reingesting a date whose answer did not change. The
    others are deleted and inserted; when many differ (or the scope's count and sums already
    differ), the scope goes and comes back whole.
    """
    c = historical_bitcoin_calculations.c
    scope = [c.settlement_date == settlement_date, c.miner_model.in_(list(models))]
    if periods is not None:
        scope.append(c.settlement_period.in_(list(periods)))
    if farm_id is not None:
        scope.append(c.farm_id == farm_id)
    if not _may_be_unchanged(conn, scope, rows):
        conn.execute(delete(historical_bitcoin_calculations).where(*scope))
        return insert_calculations(conn, rows)
    stored = set(fetch_plain(conn, select(*STORED_ROW_COLUMNS).where(*scope)))
    # the figures are positive (records are bids, volume < 0), so == compares their bits
    kept = {row[1:4] for row in rows if row[1:10] in stored}
    stale = [row[:3] for row in stored if row[:3] not in kept]
    if len(stale) > _WHOLE_SCOPE_SHARE * len(stored):
        conn.execute(delete(historical_bitcoin_calculations).where(*scope))
        return insert_calculations(conn, rows)
    if stale:
        conn.execute(
            delete(historical_bitcoin_calculations).where(
                c.settlement_date == settlement_date,
                c.settlement_period == bindparam("p"),
                c.farm_id == bindparam("f"),
                c.miner_model == bindparam("m"),
            ),
            [{"p": p, "f": f, "m": m} for p, f, m in stale],
        )
    return insert_calculations(conn, [row for row in rows if row[1:4] not in kept])


def _may_be_unchanged(conn: Connection, scope: list[Any], rows: Sequence[tuple[Any, ...]]) -> bool:
    """Whether the scope's stored rows could equal ``rows``: the same count, and Σ BTC and
    Σ MWh equal to 1e-9 (the database's sums are not ``fsum``'s). Only the strategy hangs on
    this: when the answer changed, the stored rows are not read only to be replaced."""
    c = historical_bitcoin_calculations.c
    count, btc, mwh = conn.execute(
        select(func.count(), func.sum(c.bitcoin_mined_btc), func.sum(c.curtailed_energy_mwh)).where(
            *scope
        )
    ).one()
    if not count or count != len(rows):
        return False
    return math.isclose(btc, math.fsum(r[9] for r in rows), rel_tol=1e-9) and math.isclose(
        mwh, math.fsum(r[4] for r in rows), rel_tol=1e-9
    )


def calculate(
    conn: Connection,
    settlement_date: date,
    models: Sequence[str],
    periods: Sequence[int] | None = None,
    *,
    farm_id: str | None = None,
) -> int:
    """Replace the calculations of a date (or some periods / one farm) for ``models``.

    One read of the date's records, one bulk insert: no round trip per row. Periods whose
    difficulty is unknown (pending) get no rows. Returns rows written.
    """
    clear_bitcoin_calculations(conn, settlement_date, models, periods, farm_id)
    rows = calculation_rows(
        settlement_date,
        farm_period_energies(conn, settlement_date, periods, farm_id),
        period_conditions(conn, settlement_date),
        model_specs(conn, models),
        datetime.now(UTC),
    )
    return insert_calculations(conn, rows)


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
    c = historical_bitcoin_calculations.c
    stored = conn.execute(
        select(
            c.settlement_period,
            c.miner_model,
            c.farm_id,
            c.curtailed_energy_mwh,
            c.bitcoin_mined_btc,
        ).where(c.settlement_date == settlement_date)
    )
    return _verify(
        farm_period_energies(conn, settlement_date),
        period_conditions(conn, settlement_date),
        stored,
        models,
    )


def verify_written(
    conn: Connection,
    settlement_date: date,
    models: Sequence[MinerModel],
    energies: Mapping[tuple[int, str], float],
    conditions: Mapping[int, tuple[float | None, float | None]],
    rows: Sequence[tuple[Any, ...]],
) -> list[VerificationRow]:
    """:func:`verify_calculations` of a date whose every calculation was just written from
    ``energies`` (``rows``, ``CALCULATION_COLUMNS`` order): the rows are checked against a fresh
    recomputation in memory, and the database only against their count (one count; per period
    and model only when it differs, to name where)."""
    c = historical_bitcoin_calculations.c
    out = _verify(energies, conditions, ((r[1], r[3], r[2], r[4], r[9]) for r in rows), models)
    keys = [m.key for m in models]
    total = conn.execute(
        select(func.count()).where(c.settlement_date == settlement_date, c.miner_model.in_(keys))
    ).scalar_one()
    if total == sum(1 for r in rows if r[3] in keys):
        return out
    counts = {
        (period, model): int(n)
        for period, model, n in conn.execute(
            select(c.settlement_period, c.miner_model, func.count())
            .where(c.settlement_date == settlement_date)
            .group_by(c.settlement_period, c.miner_model)
        )
    }
    held: dict[tuple[int, str], int] = {}
    for row in rows:
        held[(row[1], row[3])] = held.get((row[1], row[3]), 0) + 1
    return [
        v
        if counts.get((v.settlement_period, v.miner_model), 0)
        == held.get((v.settlement_period, v.miner_model), 0)
        else replace(v, calculations=counts.get((v.settlement_period, v.miner_model), 0), ok=False)
        for v in out
    ]


def _verify(
    energies: Mapping[tuple[int, str], float],
    conditions: Mapping[int, tuple[float | None, float | None]],
    stored_rows: Iterable[tuple[int, str, str, float, float]],
    models: Sequence[MinerModel],
) -> list[VerificationRow]:
    """Per period with curtailment and model: every farm has its row, with its energy, and the
    BTC total equals the formula's (``btc_for_energy`` itself, not the rows' linear factor)."""
    energy: dict[int, dict[str, float]] = {}
    for (period, farm), mwh in energies.items():
        energy.setdefault(period, {})[farm] = mwh
    stored: dict[tuple[int, str], dict[str, tuple[float, float]]] = {}
    for period, key, farm, mwh, btc in stored_rows:
        stored.setdefault((period, key), {})[farm] = (mwh, btc)
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
                # BTC is linear in the energy: the formula once, on the period's energy
                expected = btc_for_energy(
                    math.fsum(farms.values()), model.hashrate_th, model.power_w, difficulty, subsidy
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
