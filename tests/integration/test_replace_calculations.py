"""``calculations.replace_calculations``: the stored scope ends exactly as the rows given,
unchanged rows kept as they were (their ``calculated_at`` too), the rest replaced."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, select

from curtailcoin.calculations import CALCULATION_COLUMNS, replace_calculations
from curtailcoin.db.bulk import bulk_insert
from curtailcoin.db.curtailment_tables import historical_bitcoin_calculations as calculations

DAY = date(2025, 1, 17)
FIRST = datetime(2025, 1, 18, 9, tzinfo=UTC)
LATER = datetime(2025, 1, 19, 9, tzinfo=UTC)


def _rows(at: datetime, energies: dict[tuple[int, str], float]) -> list[tuple[Any, ...]]:
    return [
        (DAY, period, farm, model, mwh, 1.1e14, 3.125, 95.0, 3250.0, mwh * 1.234e-5, at)
        for (period, farm), mwh in energies.items()
        for model in ("S19", "S9")
    ]


def _stored(engine: Engine) -> dict[tuple[int, str, str], tuple[float, datetime]]:
    with engine.connect() as conn:
        return {
            (row.settlement_period, row.farm_id, row.miner_model): (
                row.bitcoin_mined,
                row.calculated_at,
            )
            for row in conn.execute(select(calculations))
        }


def _energies(n: int) -> dict[tuple[int, str], float]:
    return {(period, f"T_F{farm}-1"): 0.5 * period + farm for period in range(1, 9)
            for farm in range(n)}  # fmt: skip


def _write(engine: Engine, rows: Sequence[tuple[Any, ...]], **scope: Any) -> int:
    with engine.begin() as conn:
        return replace_calculations(conn, DAY, ["S19", "S9"], rows, **scope)


def test_unchanged_rows_are_kept_and_changed_ones_replaced(engine: Engine) -> None:
    energies = _energies(4)
    with engine.begin() as conn:
        bulk_insert(conn, calculations, CALCULATION_COLUMNS, _rows(FIRST, energies))
    assert _write(engine, _rows(LATER, energies)) == 0  # the same figures: nothing written
    assert {at for _, at in _stored(engine).values()} == {FIRST}

    changed = dict(energies)
    changed[(3, "T_F1-1")] += 1e-12  # one farm-period's energy, a change the sums hide
    assert _write(engine, _rows(LATER, changed)) == 2  # its two models' rows, by key
    stored = _stored(engine)
    assert set(stored) == {(p, f, m) for p, f in changed for m in ("S19", "S9")}
    assert stored[(3, "T_F1-1", "S9")] == (changed[(3, "T_F1-1")] * 1.234e-5, LATER)
    assert stored[(4, "T_F1-1", "S9")][1] == FIRST

    del changed[(5, "T_F2-1")]  # one farm-period gone: the count differs, written whole
    assert _write(engine, _rows(LATER, changed)) == len(changed) * 2
    assert set(_stored(engine)) == {(p, f, m) for p, f in changed for m in ("S19", "S9")}


def test_an_answer_that_changed_everywhere_is_written_whole(engine: Engine) -> None:
    with engine.begin() as conn:
        bulk_insert(conn, calculations, CALCULATION_COLUMNS, _rows(FIRST, _energies(4)))
    fresh = {key: mwh * 2 for key, mwh in _energies(3).items()}
    assert _write(engine, _rows(LATER, fresh)) == len(fresh) * 2
    stored = _stored(engine)
    assert set(stored) == {(p, f, m) for p, f in fresh for m in ("S19", "S9")}
    assert {at for _, at in stored.values()} == {LATER}


def test_a_scope_of_periods_leaves_the_rest_of_the_date(engine: Engine) -> None:
    energies = _energies(2)
    with engine.begin() as conn:
        bulk_insert(conn, calculations, CALCULATION_COLUMNS, _rows(FIRST, energies))
    period_two = {key: mwh for key, mwh in energies.items() if key[0] == 2}
    period_two[(2, "T_F0-1")] = 7.0
    assert _write(engine, _rows(LATER, period_two), periods=[2]) == 4  # the period, whole
    stored = _stored(engine)
    assert len(stored) == len(energies) * 2
    assert stored[(2, "T_F0-1", "S19")] == (7.0 * 1.234e-5, LATER)
    assert stored[(3, "T_F0-1", "S19")][1] == FIRST
    assert _write(engine, [], farm_id="T_F1-1") == 0  # one farm's rows of the date, gone
    assert {f for _, f, _ in _stored(engine)} == {"T_F0-1"}
