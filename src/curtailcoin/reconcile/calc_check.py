"""Whether calculation rows follow from their inputs: the per-period screen (identities that
hold when every row is right) and the row-by-row count of a period that fails it."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, Select, select

from curtailcoin import mining
from curtailcoin.calculations import STORED_ROW_COLUMNS
from curtailcoin.db.curtailment_tables import curtailment_records, historical_bitcoin_calculations
from curtailcoin.reconcile.aggregates import BtcSums, CalcScreen, PeriodRecords, fsum_per_model
from curtailcoin.reconcile.expected import Expected, PeriodKey
from curtailcoin.reconcile.tolerance import close
from curtailcoin.settlement import periods_in_day

Conditions = tuple[float | None, float | None]
"""(difficulty, block subsidy BTC) a period's rows must carry; (None, None): none can be right."""
Figures = Mapping[str, tuple[float, float]]
"""model → (hashrate TH/s, power W)."""


def btc_factor(difficulty: float, subsidy_btc: float) -> float:
    """BTC per (MWh × TH/s per W) at the conditions (``mining.btc_per_th_per_w`` of 1 MWh)."""
    return mining.btc_per_th_per_w(1.0, difficulty, subsidy_btc)


def screen_clean(
    rec: PeriodRecords,
    scr: CalcScreen,
    exp: Expected,
    models: int,
    ratio_sum: float,
    with_conditions: bool,
) -> bool:
    """Per-period invariants that hold when every row follows from its farm-period, its
    conditions and its model's figures: rows = farms × models, Σ energy = models × Σ records,
    Σ energy × len(farm id) likewise, one difficulty and subsidy, Σ BTC = K × Σ(H/P) × energy."""
    if scr.n != rec.farms * models:
        return False
    if not (
        close(scr.energy_mwh, models * rec.energy_mwh)
        and close(scr.energy_x_id_length_mwh, models * rec.energy_x_id_length_mwh)
    ):
        return False
    d_min, d_max, s_min, s_max = (
        scr.difficulty_min,
        scr.difficulty_max,
        scr.subsidy_min_btc,
        scr.subsidy_max_btc,
    )
    if d_min is None or d_max is None or s_min is None or s_max is None:
        return False
    if not (close(d_min, d_max) and close(s_min, s_max)):
        return False
    if not close(scr.btc, btc_factor(d_min, s_min) * ratio_sum * rec.energy_mwh, rel=1e-8):
        return False
    if with_conditions:
        return close(d_min, exp.difficulty) and close(s_min, exp.block_subsidy_btc)
    return True


@dataclass(frozen=True, slots=True)
class ExactCounts:
    """One period counted row by row: farms with records, tracked rows present (for a farm
    with records), of those the stale ones, and rows without records (orphans)."""

    farms: int
    present: int
    stale_matched: int
    orphans: int


def per_mwh(power_w: float, hashrate_th: float, difficulty: float, subsidy_btc: float) -> float:
    """BTC per MWh, computed as ``calculations.calculate`` does (``btc_for_energy(1.0, …)``)."""
    if power_w <= 0 or hashrate_th <= 0 or difficulty <= 0 or subsidy_btc < 0:
        return math.nan
    return mining.btc(1.0, hashrate_th, power_w, difficulty, subsidy_btc)


def row_stale(
    values: tuple[float, float, float, float, float, float],
    energy_mwh: float,
    ref: Conditions,
    model: tuple[float, float] | None,
) -> bool:
    """A calculation row (energy, difficulty, subsidy, hashrate, power, BTC) that does not
    follow from its farm-period's energy, its period's reference conditions and its model's
    figures, or whose BTC is not the formula's."""
    row_energy, difficulty, subsidy, hashrate, power, btc = values
    ref_difficulty, ref_subsidy = ref
    if ref_difficulty is None or ref_subsidy is None or model is None:
        return True
    if not (
        close(row_energy, energy_mwh)
        and close(difficulty, ref_difficulty)
        and close(subsidy, ref_subsidy)
        and close(hashrate, model[0])
        and close(power, model[1])
    ):
        return True
    return not close(btc, row_energy * per_mwh(power, hashrate, difficulty, subsidy), abs_=1e-15)


@dataclass
class _RowJudge:
    """Stale or not, for one calculation row; a fresh row repeats its inputs bit for bit, so
    that is tried first (with the BTC factor cached per inputs)."""

    figures: Figures
    factors: dict[tuple[float, float, float, float], float] = field(default_factory=dict)

    def stale(self, row: Sequence[Any], energy_mwh: float, ref: Conditions) -> bool:
        _period, _farm, model, e, d, s, h, pw, btc = row
        fig = self.figures.get(model)
        if fig is not None and (e, d, s, h, pw) == (energy_mwh, ref[0], ref[1], fig[0], fig[1]):
            factor = self.factors.get((d, s, h, pw))
            if factor is None:
                factor = self.factors[(d, s, h, pw)] = per_mwh(pw, h, d, s)
            if btc == e * factor:
                return False
        return row_stale((e, d, s, h, pw, btc), energy_mwh, ref, fig)


def _periods_by_date(refs: Mapping[PeriodKey, Conditions]) -> dict[date, list[int]]:
    by_date: dict[date, list[int]] = defaultdict(list)
    for d, p in refs:
        by_date[d].append(p)
    return by_date


def _only_periods(query: Select[Any], column: Any, periods: list[int] | None) -> Select[Any]:
    return query if periods is None else query.where(column.in_(periods))


def _farm_period_energies(
    conn: Connection, day: date, periods: list[int] | None
) -> dict[tuple[int, str], float]:
    """(period, farm) → curtailed MWh of its records (``periods`` None: the whole day)."""
    r = curtailment_records.c
    query = select(r.settlement_period, r.farm_id, r.volume_mwh).where(r.settlement_date == day)
    volumes: dict[tuple[int, str], list[float]] = defaultdict(list)
    for period, farm, volume in conn.execute(_only_periods(query, r.settlement_period, periods)):
        volumes[(period, farm)].append(volume)
    return {key: -math.fsum(v) for key, v in volumes.items()}


def _calculation_rows(conn: Connection, day: date, periods: list[int] | None) -> list[Any]:
    """Every model's calculation rows of the day (``periods`` None: the whole day)."""
    c = historical_bitcoin_calculations.c
    query = select(*STORED_ROW_COLUMNS).where(c.settlement_date == day)
    return list(conn.execute(_only_periods(query, c.settlement_period, periods)).all())


def _tally(
    rows: list[Any],
    periods: list[int],
    tracked: set[str],
    energies: Mapping[tuple[int, str], float],
    refs: Mapping[int, Conditions],
    judge: _RowJudge,
) -> dict[int, list[int]]:
    """period → [present, stale, orphans] over the tracked models' rows."""
    counts: dict[int, list[int]] = {p: [0, 0, 0] for p in periods}
    for row in rows:
        period, farm, model = row[0], row[1], row[2]
        if model not in tracked:
            continue
        tally = counts.setdefault(period, [0, 0, 0])
        energy_mwh = energies.get((period, farm))
        if energy_mwh is None:
            tally[2] += 1
            continue
        tally[0] += 1
        if judge.stale(row, energy_mwh, refs.get(period, (None, None))):
            tally[1] += 1
    return counts


def exact_periods(
    conn: Connection,
    refs: Mapping[PeriodKey, Conditions],
    models: Sequence[str],
    figures: Figures,
) -> tuple[dict[PeriodKey, ExactCounts], BtcSums]:
    """Row-by-row counts for the given periods against their reference conditions, one date
    at a time (index range reads; the comparison is done here, exactly as the definitions say).

    Also returns Σ BTC and Σ energy per (date, model) for every date it read in full.
    """
    tracked = set(models)
    judge = _RowJudge(figures)
    out: dict[PeriodKey, ExactCounts] = {}
    sums: BtcSums = {}
    for day, periods in sorted(_periods_by_date(refs).items()):
        whole = len(periods) == periods_in_day(day)
        only = None if whole else periods
        energies = _farm_period_energies(conn, day, only)
        farms: dict[int, int] = defaultdict(int)
        for period, _farm in energies:
            farms[period] += 1
        rows = _calculation_rows(conn, day, only)
        day_refs = {p: refs[(day, p)] for p in periods}
        counts = _tally(rows, periods, tracked, energies, day_refs, judge)
        for period in periods:
            present, stale, orphans = counts.get(period, [0, 0, 0])
            out[(day, period)] = ExactCounts(farms.get(period, 0), present, stale, orphans)
        if whole:
            for model, pair in fsum_per_model((row[2], row[8], row[3]) for row in rows).items():
                sums[(day, model)] = pair
    return out, sums
