"""What is wrong, computed set-based over any date range (SPEC §6–7).

Definitions (each counted exactly, overall and per date):

*incomplete* date
    a date with a period (of its 46/48/50; for today, of those that have ended) whose fetch status
    is not ``fetched_with_data``/``fetched_empty`` — including a period with no status row at all
    and a ``fetched_incomplete`` one (stored, but a figure the headline needs was null). The
    stored reason of a failed or incomplete period is reported with it.
*missing* calculation
    a (date, period, farm) with curtailment records and a known difficulty (from the epoch table
    now) but no ``historical_bitcoin_calculations`` row for a tracked model.
*stale* calculation
    a row for a tracked model whose stored energy differs from the records' current energy for
    that farm-period (or the farm-period has no records any more), whose difficulty or subsidy
    differs from ``settlement_periods`` or from what the epoch table gives now (or the period is
    pending now), whose hashrate/power differ from the model's, or whose ``bitcoin_mined`` does not
    follow from its stored inputs.
*pending*
    a (farm-period, tracked model) whose period has no known difficulty: no row is expected until
    a difficulty refresh supplies one (never a default).
*summary mismatch*
    a summary row not equal to the sum of its base rows (daily ← records or calculations,
    monthly ← daily, yearly ← monthly), a base without its summary, or a summary without a base.
*period totals mismatch*
    a period whose stored records no longer add up to the headline totals recorded when it was
    fetched (``settlement_periods.record_count``/``curtailed_energy_mwh``/``payment_gbp``):
    the records were changed after the fetch; only a refetch can tell the right values.
*stale period conditions*
    a period whose stored difficulty/subsidy differ from what the epoch table gives now.
*suspect* date
    a date whose latest answer from Elexon the drift guard held back (``suspect_dates``): the
    stored data is kept until an operator applies the answer or Elexon agrees again.

Each large table is read by one ``GROUP BY`` per period over the whole range (records: rows,
farms, Σ MWh, Σ £, Σ MWh × len(farm id); calculations: rows, Σ MWh, Σ MWh × len(farm id), Σ BTC,
min/max difficulty and subsidy). Expected network conditions come from
:class:`~curtailcoin.network.NetworkTimeline` for every period in range (one call per day when no
epoch change or halving falls in it) and are compared in Python with the ~50 k period rows. A
period whose aggregates break the identities that hold when every row is right is then counted
row by row, one date at a time (index range reads); ``exact=True`` counts every period that way.
No query runs per row.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache, partial
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    func,
    literal,
    select,
)

from curtailcoin import mining
from curtailcoin.coverage import STORED_STATUSES, SUCCESSFUL_STATUSES, expected_period_count
from curtailcoin.db.curtailment_tables import (
    curtailment_records,
    historical_bitcoin_calculations,
    settlement_periods,
)
from curtailcoin.db.reference_tables import btc_prices, miner_models
from curtailcoin.db.summary_tables import (
    bitcoin_daily_summaries,
    bitcoin_farm_daily_summaries,
    bitcoin_farm_monthly_summaries,
    bitcoin_monthly_summaries,
    bitcoin_yearly_summaries,
    daily_summaries,
    farm_daily_summaries,
    farm_monthly_summaries,
    monthly_summaries,
    yearly_summaries,
)
from curtailcoin.farm_months import PRICE_CURRENCY, bitcoin_farm_monthly_rows, farm_monthly_rows
from curtailcoin.network import NetworkTimeline
from curtailcoin.settlement import (
    PERIOD,
    date_range,
    day_start_utc,
    month_bounds,
    periods_in_day,
    settlement_today,
    year_month,
)
from curtailcoin.summaries import bitcoin_farm_daily_rows, farm_daily_rows
from curtailcoin.suspects import SuspectDate, load_suspects

REL_TOL = 1e-9
"""Relative tolerance for comparing stored floats with recomputed sums (summation order)."""
ABS_TOL = 1e-9


def close(a: float | None, b: float | None, rel: float = REL_TOL, abs_: float = ABS_TOL) -> bool:
    """Equal within float noise (both None counts as equal)."""
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


_Key = TypeVar("_Key")


def _model_count(per_model: Callable[[_Key], Mapping[str, int]], key: _Key, model: str) -> int:
    """The model's count in ``per_model(key)`` (0 when it has none)."""
    return per_model(key).get(model, 0)


def _differing_keys(
    want: Mapping[_Key, Sequence[Any]], have: Mapping[_Key, Sequence[Any]]
) -> list[_Key]:
    """Keys of rows missing on one side or differing: floats within :func:`close`, every
    other value (names, counts, dates) exactly."""

    def equal(a: Sequence[Any], b: Sequence[Any]) -> bool:
        return all(
            close(x, y) if isinstance(x, float) or isinstance(y, float) else x == y
            for x, y in zip(a, b, strict=True)
        )

    return [
        key
        for key in set(want) | set(have)
        if key not in want or key not in have or not equal(want[key], have[key])
    ]


# -- expected network conditions ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expected:
    """What the epoch table gives now for a period (``difficulty`` None = pending)."""

    start_utc: datetime
    difficulty: float | None
    block_subsidy_btc: float | None

    @property
    def pending(self) -> bool:
        return self.difficulty is None or self.block_subsidy_btc is None


def expected_conditions(
    timeline: NetworkTimeline, dates: Iterable[date]
) -> dict[tuple[date, int], Expected]:
    """Difficulty and subsidy in force for every period of ``dates``.

    A day lying within one epoch and one subsidy era gives the same values for all its periods
    (exactly what :meth:`NetworkTimeline.conditions` returns per period), so one call covers it;
    other days are computed period by period.
    """
    out: dict[tuple[date, int], Expected] = {}
    for d in dates:
        start = day_start_utc(d)
        count = periods_in_day(d)
        whole = timeline.conditions(start, start + count * PERIOD)
        if whole.difficulty is not None and len(whole.segments) == 1:
            for p in range(1, count + 1):
                out[(d, p)] = Expected(
                    start + (p - 1) * PERIOD, whole.difficulty, whole.block_subsidy_btc
                )
            continue
        for p in range(1, count + 1):
            a = start + (p - 1) * PERIOD
            cond = timeline.conditions(a, a + PERIOD)
            out[(d, p)] = Expected(a, cond.difficulty, cond.block_subsidy_btc)
    return out


# -- results ------------------------------------------------------------------------------------


@dataclass
class DateReport:
    """What is wrong with one settlement date (counts are exact; see the module doc)."""

    settlement_date: date
    periods_expected: int
    periods_fetched: int = 0
    unfetched_periods: list[int] = field(default_factory=list)
    incomplete_reasons: dict[int, str] = field(default_factory=dict)  # failed / incomplete
    records: int = 0
    farms: int = 0
    curtailed_energy_mwh: float = 0.0
    payment_gbp: float = 0.0
    farm_periods: int = 0
    expected_calculations: int = 0
    fresh_calculations: int = 0
    missing: int = 0
    stale: int = 0
    pending: int = 0
    summary_mismatches: int = 0
    period_total_mismatches: list[int] = field(default_factory=list)
    stale_condition_periods: list[int] = field(default_factory=list)
    pending_periods: list[int] = field(default_factory=list)
    drift_periods: list[int] | None = None
    stale_periods: list[int] = field(default_factory=list)
    missing_periods: list[int] = field(default_factory=list)
    suspect: str | None = None  # why the drift guard held the latest answer back

    @property
    def incomplete(self) -> bool:
        return bool(self.unfetched_periods)

    @property
    def problems(self) -> list[str]:
        """The problem kinds present, in the order a fix handles them."""
        kinds = []
        if self.unfetched_periods:
            kinds.append("incomplete")
        if self.drift_periods:
            kinds.append("source_drift")
        if self.period_total_mismatches:
            kinds.append("period_totals")
        if self.stale_condition_periods:
            kinds.append("stale_conditions")
        if self.missing:
            kinds.append("missing")
        if self.stale:
            kinds.append("stale")
        if self.summary_mismatches:
            kinds.append("summary_mismatch")
        return kinds

    @property
    def complete(self) -> bool:
        """Every period fetched, every calculation present and fresh, summaries equal.

        Pending calculations (difficulty unknown) do not make a date incomplete: no fix can
        supply them until the epoch table does; they are reported separately.
        """
        return not self.problems

    @property
    def needs_refetch(self) -> list[int] | None:
        """Periods only a refetch can fix (None: none; all periods when the date has none)."""
        periods = set(self.unfetched_periods) | set(self.period_total_mismatches)
        periods |= set(self.drift_periods or ())
        return sorted(periods) or None

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.settlement_date.isoformat(),
            "records": self.records,
            "missing": self.missing,
            "stale": self.stale,
            "complete": self.complete,
            "pending": self.pending,
            "periods_expected": self.periods_expected,
            "periods_fetched": self.periods_fetched,
            "unfetched_periods": self.unfetched_periods,
            "incomplete_reasons": {str(p): e for p, e in sorted(self.incomplete_reasons.items())},
            "farms": self.farms,
            "curtailed_energy_mwh": self.curtailed_energy_mwh,
            "payment_gbp": self.payment_gbp,
            "farm_periods": self.farm_periods,
            "expected_calculations": self.expected_calculations,
            "summary_mismatches": self.summary_mismatches,
            "period_total_mismatches": self.period_total_mismatches,
            "stale_condition_periods": self.stale_condition_periods,
            "pending_periods": self.pending_periods,
            "source_drift_periods": self.drift_periods,
            "problems": self.problems,
            "suspect": self.suspect,
        }


@dataclass(frozen=True)
class SummaryMismatch:
    """One summary row that is not the sum of its base rows."""

    table: str
    key: str  # summary_date / year_month / year
    miner_model: str | None
    stored: dict[str, float] | None  # None: the row is absent
    expected: dict[str, float] | None  # None: there is no base for it
    settlement_date: date | None  # a date whose rebuild fixes it

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "key": self.key,
            "miner_model": self.miner_model,
            "stored": self.stored,
            "expected": self.expected,
        }


@dataclass
class ReconciliationStatus:
    """The seed's ``getReconciliationStatus``: overall and per-date counts."""

    start: date | None
    end: date | None
    models: list[str]
    exact: bool
    per_date: list[DateReport] = field(default_factory=list)
    summary_details: list[SummaryMismatch] = field(default_factory=list)
    source_checked: bool = False
    source_errors: dict[str, str] = field(default_factory=dict)
    suspects: list[SuspectDate] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def dates_checked(self) -> int:
        return len(self.per_date)

    @property
    def incomplete_dates(self) -> list[date]:
        return [r.settlement_date for r in self.per_date if r.incomplete]

    def total(self, name: str) -> int:
        return sum(int(getattr(r, name)) for r in self.per_date)

    @property
    def summary_mismatches(self) -> int:
        return len(self.summary_details)

    @property
    def completion_percentage(self) -> float:
        """Mean over the dates checked of (periods fetched / periods) × (fresh / expected
        calculations): 100 only when every period is in and every calculation is fresh."""
        if not self.per_date:
            return 100.0
        shares = []
        for r in self.per_date:
            fetched = r.periods_fetched / r.periods_expected if r.periods_expected else 1.0
            fresh = (
                r.fresh_calculations / r.expected_calculations if r.expected_calculations else 1.0
            )
            shares.append(min(1.0, fetched) * min(1.0, fresh))
        return round(100.0 * math.fsum(shares) / len(shares), 2)

    @property
    def problem_dates(self) -> list[date]:
        """Dates that a fix would change (summary rows of months and years map to a date)."""
        dates = {r.settlement_date for r in self.per_date if not r.complete}
        dates |= {m.settlement_date for m in self.summary_details if m.settlement_date}
        dates |= set(self.suspect_dates)
        return sorted(dates)

    @property
    def suspect_dates(self) -> list[date]:
        return [s.settlement_date for s in self.suspects]

    def to_json(self) -> dict[str, Any]:
        drift = [r for r in self.per_date if r.drift_periods]
        return {
            "dates_checked": self.dates_checked,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "models": self.models,
            "incomplete_dates": [d.isoformat() for d in self.incomplete_dates],
            "missing_calculations": self.total("missing"),
            "stale_calculations": self.total("stale"),
            "pending_calculations": self.total("pending"),
            "summary_mismatches": self.summary_mismatches,
            "period_total_mismatches": sum(len(r.period_total_mismatches) for r in self.per_date),
            "stale_condition_periods": sum(len(r.stale_condition_periods) for r in self.per_date),
            "source_checked": self.source_checked,
            "source_drift_periods": (
                sum(len(r.drift_periods or ()) for r in self.per_date)
                if self.source_checked
                else None
            ),
            "source_drift_dates": [r.settlement_date.isoformat() for r in drift],
            "source_errors": self.source_errors,
            "completion_percentage": self.completion_percentage,
            "dates_complete": sum(1 for r in self.per_date if r.complete),
            "problem_dates": [d.isoformat() for d in self.problem_dates],
            "suspect_count": len(self.suspects),
            "suspect_dates": [s.to_json() for s in self.suspects],
            "records": self.total("records"),
            "expected_calculations": self.total("expected_calculations"),
            "exact": self.exact,
            "elapsed_s": round(self.elapsed_s, 3),
            "summary_mismatch_details": [m.to_json() for m in self.summary_details],
            "per_date": [r.to_json() for r in self.per_date],
        }


# -- the queries --------------------------------------------------------------------------------


_SQLITE_TUNING = {"cache_size": -262144, "mmap_size": 4294967296}  # 256 MiB cache, mmap reads


def _tune_session(conn: Connection) -> dict[str, Any]:
    """Per-connection settings for large aggregates; returns what to restore (SQLite)."""
    previous: dict[str, Any] = {}
    if conn.dialect.name == "sqlite":
        for name, value in _SQLITE_TUNING.items():
            previous[name] = conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            conn.exec_driver_sql(f"PRAGMA {name}={int(value)}")
    elif conn.dialect.name == "postgresql":  # transaction-scoped
        conn.exec_driver_sql("SET LOCAL work_mem = '128MB'")
        conn.exec_driver_sql("SET LOCAL jit = off")
    return previous


def _restore_session(conn: Connection, previous: dict[str, Any]) -> None:
    """Give a pooled SQLite connection its own cache size back."""
    for name, value in previous.items():
        if value is not None:
            conn.exec_driver_sql(f"PRAGMA {name}={int(value)}")


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
            lows.append(_as_date(low))
            highs.append(_as_date(high))
    return (min(lows), max(highs)) if lows else (None, None)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@dataclass(frozen=True, slots=True)
class _Stored:
    status: str
    record_count: int
    energy: float
    payment: float
    difficulty: float | None
    subsidy: float | None
    error: str | None


@dataclass(frozen=True, slots=True)
class _Records:
    n: int
    farms: int
    energy: float
    payment: float
    energy_len: float


@dataclass(frozen=True, slots=True)
class _Screen:
    n: int
    energy: float
    energy_len: float
    btc: float
    d_min: float | None
    d_max: float | None
    s_min: float | None
    s_max: float | None


def _btc_factor(difficulty: float, subsidy: float) -> float:
    """BTC per (MWh × TH/s per W) at the conditions (``mining.btc_per_th_per_w`` of 1 MWh)."""
    return mining.btc_per_th_per_w(1.0, difficulty, subsidy)


def _conditions_equal(difficulty: float | None, subsidy: float | None, other: Expected) -> bool:
    return close(difficulty, other.difficulty) and close(subsidy, other.block_subsidy_btc)


def _between(column: Any, start: date, end: date) -> Any:
    return column.between(start, end)


def _records_per_period(
    conn: Connection, start: date, end: date
) -> dict[tuple[date, int], _Records]:
    r = curtailment_records.c
    rows = conn.execute(
        select(
            r.settlement_date,
            r.settlement_period,
            func.count(),
            func.count(func.distinct(r.farm_id)),
            func.coalesce(-func.sum(r.volume), 0.0),
            func.coalesce(func.sum(r.payment), 0.0),
            func.coalesce(-func.sum(r.volume * func.length(r.farm_id)), 0.0),
        )
        .where(_between(r.settlement_date, start, end))
        .group_by(r.settlement_date, r.settlement_period)
    ).all()
    return {
        (_as_date(d), int(p)): _Records(int(n), int(f), float(e), float(pay), float(el))
        for d, p, n, f, e, pay, el in rows
    }


def _farms_per_date(conn: Connection, start: date, end: date) -> dict[date, int]:
    r = curtailment_records.c
    rows = conn.execute(
        select(r.settlement_date, func.count(func.distinct(r.farm_id)))
        .where(_between(r.settlement_date, start, end))
        .group_by(r.settlement_date)
    ).all()
    return {_as_date(d): int(n) for d, n in rows}


def _stored_periods(conn: Connection, start: date, end: date) -> dict[tuple[date, int], _Stored]:
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
        ).where(_between(p.settlement_date, start, end))
    ).all()
    return {
        (_as_date(row[0]), int(row[1])): _Stored(
            row[2], int(row[3]), float(row[4]), float(row[5]), row[6], row[7], row[8]
        )
        for row in rows
    }


def _other_models(conn: Connection, start: date, end: date, models: Sequence[str]) -> list[str]:
    """Catalogue models other than ``models`` with calculations in range (index probes)."""
    c = historical_bitcoin_calculations.c
    m = miner_models.c
    rows = conn.execute(
        select(m.model_key).where(
            m.model_key.not_in(list(models)),
            select(c.miner_model)
            .where(c.miner_model == m.model_key, _between(c.settlement_date, start, end))
            .exists(),
        )
    )
    return [row[0] for row in rows]


def _calc_screen(
    conn: Connection, start: date, end: date, models: Sequence[str], filtered: bool
) -> dict[tuple[date, int], _Screen]:
    """Per-period aggregates of the tracked models' rows (one scan in primary-key order)."""
    c = historical_bitcoin_calculations.c
    query = (
        select(
            c.settlement_date,
            c.settlement_period,
            func.count(),
            func.sum(c.curtailed_energy_mwh),
            func.sum(c.curtailed_energy_mwh * func.length(c.farm_id)),
            func.sum(c.bitcoin_mined),
            func.min(c.difficulty),
            func.max(c.difficulty),
            func.min(c.block_subsidy_btc),
            func.max(c.block_subsidy_btc),
        )
        .where(_between(c.settlement_date, start, end))
        .group_by(c.settlement_date, c.settlement_period)
    )
    if filtered:
        # ``model || ''`` keeps SQLite on the primary key (date, period, …) instead of the
        # (model, date) index, which would need a sort for this grouping.
        query = query.where((c.miner_model + literal("")).in_(list(models)))
    return {
        (_as_date(row[0]), int(row[1])): _Screen(
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


@dataclass(frozen=True, slots=True)
class _Exact:
    farms: int
    present: int
    stale_matched: int
    orphans: int


def _per_mwh(power_w: float, hashrate_th: float, difficulty: float, subsidy: float) -> float:
    """BTC per MWh, computed as ``calculations.calculate`` does (``btc_for_energy(1.0, …)``)."""
    if power_w <= 0 or hashrate_th <= 0 or difficulty <= 0 or subsidy < 0:
        return math.nan
    return mining.btc(1.0, hashrate_th, power_w, difficulty, subsidy)


def _row_stale(
    values: tuple[float, float, float, float, float, float],
    energy: float,
    ref: tuple[float | None, float | None],
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
        close(row_energy, energy)
        and close(difficulty, ref_difficulty)
        and close(subsidy, ref_subsidy)
        and close(hashrate, model[0])
        and close(power, model[1])
    ):
        return True
    return not close(btc, row_energy * _per_mwh(power, hashrate, difficulty, subsidy), abs_=1e-15)


def _exact_periods(
    conn: Connection,
    refs: Mapping[tuple[date, int], tuple[float | None, float | None]],
    models: Sequence[str],
    figures: Mapping[str, tuple[float, float]],
) -> tuple[dict[tuple[date, int], _Exact], dict[tuple[date, str], tuple[float, float]]]:
    """Row-by-row counts for the given periods against their reference conditions, one date
    at a time (index range reads; the comparison is done here, exactly as the definitions say).

    Also returns Σ BTC and Σ energy per (date, model) for every date it read in full.
    """
    by_date: dict[date, list[int]] = defaultdict(list)
    for d, p in refs:
        by_date[d].append(p)
    tracked = set(models)
    r = curtailment_records.c
    c = historical_bitcoin_calculations.c
    out: dict[tuple[date, int], _Exact] = {}
    sums: dict[tuple[date, str], tuple[float, float]] = {}
    for day, periods in sorted(by_date.items()):
        whole = len(periods) == periods_in_day(day)
        records_query = select(r.settlement_period, r.farm_id, r.volume).where(
            r.settlement_date == day
        )
        calc_query = select(
            c.settlement_period,
            c.farm_id,
            c.miner_model,
            c.curtailed_energy_mwh,
            c.difficulty,
            c.block_subsidy_btc,
            c.hashrate_th,
            c.power_w,
            c.bitcoin_mined,
        ).where(c.settlement_date == day)
        if not whole:
            records_query = records_query.where(r.settlement_period.in_(periods))
            calc_query = calc_query.where(c.settlement_period.in_(periods))
        volumes: dict[tuple[int, str], list[float]] = defaultdict(list)
        for period, farm, volume in conn.execute(records_query):
            volumes[(period, farm)].append(volume)
        energies = {key: -math.fsum(v) for key, v in volumes.items()}
        farms: dict[int, int] = defaultdict(int)
        for period, _farm in energies:
            farms[period] += 1
        counts: dict[int, list[int]] = {p: [0, 0, 0] for p in periods}  # present, stale, orphan
        model_rows: dict[str, tuple[list[float], list[float]]] = {}
        factors: dict[tuple[float, float, float, float], float] = {}
        for period, farm, model, e, d, s, h, pw, btc in conn.execute(calc_query).all():
            if whole:
                btcs, mwhs = model_rows.setdefault(model, ([], []))
                btcs.append(btc)
                mwhs.append(e)
            if model not in tracked:
                continue
            tally = counts.setdefault(period, [0, 0, 0])
            energy = energies.get((period, farm))
            if energy is None:
                tally[2] += 1
                continue
            tally[0] += 1
            ref = refs.get((day, period), (None, None))
            fig = figures.get(model)
            # Fast path: a fresh row repeats its inputs bit for bit.
            if fig is not None and (e, d, s, h, pw) == (energy, ref[0], ref[1], fig[0], fig[1]):
                factor = factors.get((d, s, h, pw))
                if factor is None:
                    factor = factors[(d, s, h, pw)] = _per_mwh(pw, h, d, s)
                if btc == e * factor:
                    continue
            if _row_stale((e, d, s, h, pw, btc), energy, ref, fig):
                tally[1] += 1
        for period in periods:
            present, stale, orphans = counts.get(period, [0, 0, 0])
            out[(day, period)] = _Exact(farms.get(period, 0), present, stale, orphans)
        if whole:
            for model, (btcs, mwhs) in model_rows.items():
                sums[(day, model)] = (math.fsum(btcs), math.fsum(mwhs))
    return out, sums


def _btc_per_date_model(
    conn: Connection, dates: Sequence[date] | None, start: date, end: date, only: Sequence[str]
) -> dict[tuple[date, str], tuple[float, float]]:
    """Σ bitcoin and Σ energy per (date, model): for ``dates`` (all models, one date at a time),
    or in the range for the models in ``only``."""
    c = historical_bitcoin_calculations.c
    out: dict[tuple[date, str], tuple[float, float]] = {}
    if dates is not None:
        for day in dates:
            grouped: dict[str, tuple[list[float], list[float]]] = {}
            for model, btc, energy in conn.execute(
                select(c.miner_model, c.bitcoin_mined, c.curtailed_energy_mwh).where(
                    c.settlement_date == day
                )
            ):
                btcs, mwhs = grouped.setdefault(model, ([], []))
                btcs.append(btc)
                mwhs.append(energy)
            for model, (btcs, mwhs) in grouped.items():
                out[(day, model)] = (math.fsum(btcs), math.fsum(mwhs))
        return out
    if not only:
        return out
    rows = conn.execute(
        select(
            c.settlement_date,
            c.miner_model,
            func.sum(c.bitcoin_mined),
            func.sum(c.curtailed_energy_mwh),
        )
        .where(_between(c.settlement_date, start, end), c.miner_model.in_(list(only)))
        .group_by(c.settlement_date, c.miner_model)
    )
    for d, model, btc, energy in rows:
        out[(_as_date(d), model)] = (float(btc), float(energy))
    return out


# -- summaries ----------------------------------------------------------------------------------

_CURTAILMENT_FIELDS = ("total_curtailed_energy", "total_payment", "record_count")
_BITCOIN_FIELDS = ("bitcoin_mined", "curtailed_energy_mwh")


def _values_equal(stored: Mapping[str, float], expected: Mapping[str, float]) -> bool:
    return all(close(float(stored[k]), float(expected[k])) for k in expected)


def _month_span(start: date, end: date) -> tuple[date, date]:
    """First and last date of the whole months that ``start..end`` touches."""
    return month_bounds(start)[0], month_bounds(end)[1] - timedelta(days=1)


def _curtailment_values(row: Any) -> dict[str, float]:
    return {
        "total_curtailed_energy": float(row.total_curtailed_energy),
        "total_payment": float(row.total_payment),
        "record_count": float(row.record_count),
    }


def _bitcoin_values(pair: tuple[float, float] | None) -> dict[str, float] | None:
    if pair is None:
        return None
    return {"bitcoin_mined": pair[0], "curtailed_energy_mwh": pair[1]}


class _SummaryChecker:
    """Compares the six summary tables with the sums of their base rows."""

    def __init__(self, conn: Connection, start: date, end: date, dates: Sequence[date]) -> None:
        self.conn = conn
        self.start = start
        self.end = end
        self.dates = dates
        self.out: list[SummaryMismatch] = []
        self.month_date: dict[str, date] = {}
        self.farm_day_sums: dict[date, dict[str, float]] = {}
        self.bitcoin_farm_day_sums: dict[tuple[date, str], tuple[float, float]] = {}

    def add(
        self,
        table: str,
        key: str,
        model: str | None,
        stored: dict[str, float] | None,
        expected: dict[str, float] | None,
        settlement_date: date | None,
    ) -> bool:
        """Record a mismatch (an absent row counts as zeros); True when there was one."""
        zeros = dict.fromkeys(_BITCOIN_FIELDS if model else _CURTAILMENT_FIELDS, 0.0)
        if table == "daily_summaries":
            zeros["farm_count"] = 0.0
        if stored is None and (expected is None or _values_equal(zeros, expected)):
            return False
        if stored is not None and _values_equal(stored, expected or zeros):
            return False
        self.out.append(SummaryMismatch(table, key, model, stored, expected, settlement_date))
        return True

    def check(
        self,
        reports: Mapping[date, DateReport],
        records_by_date: Mapping[date, tuple[float, float, int]],
        farms: Mapping[date, int],
        btc_expected: Mapping[tuple[date, str], tuple[float, float]],
    ) -> None:
        conn = self.conn
        first, last = _month_span(self.start, self.end)
        in_range = set(self.dates)
        d_ = daily_summaries.c
        daily = {
            _as_date(row.summary_date): row
            for row in conn.execute(
                select(daily_summaries).where(_between(d_.summary_date, first, last))
            )
        }
        # The date whose rebuild fixes a month or a year: the first in range with a daily row,
        # else the first in range.
        month_date: dict[str, date] = {}
        year_date: dict[str, date] = {}
        for d in self.dates:
            for name, chosen in ((year_month(d), month_date), (f"{d.year:04d}", year_date)):
                if name not in chosen or (chosen[name] not in daily and d in daily):
                    chosen[name] = d
        months = sorted(month_date)
        years = sorted(year_date)
        self.month_date = month_date

        for d in self.dates:
            base = records_by_date.get(d)
            row = daily.get(d)
            expected = None
            if base is not None:
                expected = {
                    "total_curtailed_energy": base[0],
                    "total_payment": base[1],
                    "record_count": float(base[2]),
                    "farm_count": float(farms.get(d, 0)),
                }
            stored = None
            if row is not None:
                stored = _curtailment_values(row) | {"farm_count": float(row.farm_count)}
            if self.add("daily_summaries", d.isoformat(), None, stored, expected, d):
                reports[d].summary_mismatches += 1

        b_ = bitcoin_daily_summaries.c
        bdaily: dict[tuple[date, str], tuple[float, float]] = {
            (_as_date(row.summary_date), row.miner_model): (
                float(row.bitcoin_mined),
                float(row.curtailed_energy_mwh),
            )
            for row in conn.execute(
                select(bitcoin_daily_summaries).where(_between(b_.summary_date, first, last))
            )
        }
        for day, model in sorted(set(btc_expected) | {k for k in bdaily if k[0] in in_range}):
            if self.add(
                "bitcoin_daily_summaries",
                day.isoformat(),
                model,
                _bitcoin_values(bdaily.get((day, model))),
                _bitcoin_values(btc_expected.get((day, model))),
                day,
            ):
                reports[day].summary_mismatches += 1

        # Monthly ← daily rows, yearly ← monthly rows (curtailment).
        month_sums: dict[str, dict[str, float]] = {}
        for d, row in daily.items():
            sums = month_sums.setdefault(year_month(d), dict.fromkeys(_CURTAILMENT_FIELDS, 0.0))
            for name, value in _curtailment_values(row).items():
                sums[name] += value
        m_ = monthly_summaries.c
        monthly = {
            row.year_month: row
            for row in conn.execute(
                select(monthly_summaries).where(
                    m_.year_month.between(f"{years[0]}-01", f"{years[-1]}-12")
                )
            )
        }
        for ym in months:
            mrow = monthly.get(ym)
            stored = None if mrow is None else _curtailment_values(mrow)
            self.add("monthly_summaries", ym, None, stored, month_sums.get(ym), month_date[ym])
        year_sums: dict[str, dict[str, float]] = {}
        for ym, mrow in monthly.items():
            sums = year_sums.setdefault(ym[:4], dict.fromkeys(_CURTAILMENT_FIELDS, 0.0))
            for name, value in _curtailment_values(mrow).items():
                sums[name] += value
        y_ = yearly_summaries.c
        yearly = {
            row.year: row
            for row in conn.execute(select(yearly_summaries).where(y_.year.in_(years)))
        }
        for y in years:
            yrow = yearly.get(y)
            stored = None if yrow is None else _curtailment_values(yrow)
            self.add("yearly_summaries", y, None, stored, year_sums.get(y), year_date[y])

        # The same for the bitcoin summaries, per model.
        bm_sums: dict[tuple[str, str], tuple[float, float]] = {}
        for (d, model), (btc, energy) in bdaily.items():
            old = bm_sums.get((year_month(d), model), (0.0, 0.0))
            bm_sums[(year_month(d), model)] = (old[0] + btc, old[1] + energy)
        bm_ = bitcoin_monthly_summaries.c
        bmonthly: dict[tuple[str, str], tuple[float, float]] = {
            (row.year_month, row.miner_model): (
                float(row.bitcoin_mined),
                float(row.curtailed_energy_mwh),
            )
            for row in conn.execute(
                select(bitcoin_monthly_summaries).where(
                    bm_.year_month.between(f"{years[0]}-01", f"{years[-1]}-12")
                )
            )
        }
        wanted_months = set(months)
        for ym, model in sorted(k for k in set(bm_sums) | set(bmonthly) if k[0] in wanted_months):
            self.add(
                "bitcoin_monthly_summaries",
                ym,
                model,
                _bitcoin_values(bmonthly.get((ym, model))),
                _bitcoin_values(bm_sums.get((ym, model))),
                month_date[ym],
            )
        by_sums: dict[tuple[str, str], tuple[float, float]] = {}
        for (ym, model), (btc, energy) in bmonthly.items():
            old = by_sums.get((ym[:4], model), (0.0, 0.0))
            by_sums[(ym[:4], model)] = (old[0] + btc, old[1] + energy)
        by_ = bitcoin_yearly_summaries.c
        byearly: dict[tuple[str, str], tuple[float, float]] = {
            (row.year, row.miner_model): (float(row.bitcoin_mined), float(row.curtailed_energy_mwh))
            for row in conn.execute(select(bitcoin_yearly_summaries).where(by_.year.in_(years)))
        }
        wanted_years = set(years)
        for y, model in sorted(k for k in set(by_sums) | set(byearly) if k[0] in wanted_years):
            self.add(
                "bitcoin_yearly_summaries",
                y,
                model,
                _bitcoin_values(byearly.get((y, model))),
                _bitcoin_values(by_sums.get((y, model))),
                year_date[y],
            )

    # -- farm-day summaries ------------------------------------------------------------------

    def check_farm_days(
        self,
        reports: Mapping[date, DateReport],
        expected: Mapping[date, dict[str, float]],
        btc_expected: Mapping[tuple[date, str], tuple[float, float]],
        exact: bool,
    ) -> None:
        """``farm_daily_summaries`` and ``bitcoin_farm_daily_summaries`` against their base rows.

        Screened per date (and model) in one ``GROUP BY`` each: row count = farms, Σ MWh, Σ £,
        Σ records, Σ MWh × len(farm id), Σ ``btc_per_th_per_w`` = Σ K(period) × period MWh and
        Σ pending MWh against the records' figures (Σ BTC and Σ MWh per model against the
        calculations'). A date that fails the screen, or every date with ``exact``, is compared
        farm by farm with what the rebuild would write. One mismatch per table, date (and model).
        """
        conn = self.conn
        fd = farm_daily_summaries.c
        span = _month_span(self.start, self.end)  # whole months, for check_farm_months
        stored_fd: dict[date, dict[str, float]] = {}
        for row in conn.execute(
            select(
                fd.summary_date,
                func.count(),
                func.sum(fd.curtailed_energy_mwh),
                func.sum(fd.payment_gbp),
                func.sum(fd.record_count),
                func.sum(fd.curtailed_energy_mwh * func.length(fd.farm_id)),
                func.sum(fd.btc_per_th_per_w),
                func.sum(fd.pending_energy_mwh),
            )
            .where(_between(fd.summary_date, *span))
            .group_by(fd.summary_date)
        ):
            stored_fd[_as_date(row[0])] = dict(
                zip(_FARM_DAY_FIELDS, (float(v or 0.0) for v in row[1:]), strict=True)
            )
        self.farm_day_sums = stored_fd
        for d in self.dates:
            stored = stored_fd.get(d)
            exp = expected.get(d)
            if stored is None and exp is None:
                continue
            screened = (stored is not None and exp is not None and _values_equal(stored, exp)) or (
                stored is None and exp is not None and exp["farm_rows"] == 0
            )
            if self._drilled(
                ("farm_daily_summaries", d.isoformat(), None, d),
                stored,
                exp,
                screened,
                partial(self._farm_day_rows_differ, d),
                exact,
            ):
                reports[d].summary_mismatches += 1

        b = bitcoin_farm_daily_summaries.c
        stored_b: dict[tuple[date, str], tuple[float, float]] = {
            (_as_date(row[0]), row[1]): (float(row[2]), float(row[3]))
            for row in conn.execute(
                select(
                    b.summary_date,
                    b.miner_model,
                    func.sum(b.bitcoin_mined),
                    func.sum(b.curtailed_energy_mwh),
                )
                .where(_between(b.summary_date, *span))
                .group_by(b.summary_date, b.miner_model)
            )
        }
        self.bitcoin_farm_day_sums = stored_b
        in_range = set(self.dates)
        keys = {k for k in set(btc_expected) | set(stored_b) if k[0] in in_range}
        drill_day = cache(self._bitcoin_farm_day_rows_differ)
        for day, model in sorted(keys):
            stored_pair = _bitcoin_values(stored_b.get((day, model)))
            exp_pair = _bitcoin_values(btc_expected.get((day, model)))
            screened = (
                stored_pair is not None
                and exp_pair is not None
                and _values_equal(stored_pair, exp_pair)
            )
            if self._drilled(
                ("bitcoin_farm_daily_summaries", day.isoformat(), model, day),
                stored_pair,
                exp_pair,
                screened,
                partial(_model_count, drill_day, day, model),
                exact,
            ):
                reports[day].summary_mismatches += 1

    def _drilled(
        self,
        where: tuple[str, str, str | None, date],
        stored: Mapping[str, float] | None,
        expected: Mapping[str, float] | None,
        screened: bool,
        rows_differ: Callable[[], int],
        exact: bool,
    ) -> bool:
        """Record a mismatch of a per-farm table (table, key, model, date to fix): compared row by
        row when the screen failed or with ``exact``. True when there was one."""
        bad = rows_differ() if (not screened or exact) else 0
        if screened and not bad:
            return False
        table, key, model, settlement_date = where
        self.out.append(
            SummaryMismatch(
                table,
                key,
                model,
                None if stored is None else dict(stored) | {"mismatched_rows": float(bad)},
                None if expected is None else dict(expected) | {"mismatched_rows": 0.0},
                settlement_date,
            )
        )
        return True

    # -- per-farm-month roll-ups ----------------------------------------------------------

    def check_farm_months(self, exact: bool) -> None:
        """``farm_monthly_summaries`` and ``bitcoin_farm_monthly_summaries`` against the
        farm-day rows (as :meth:`check_farm_days` read them) and the dates' GBP prices.

        Screened per month (and model): each column's Σ against Σ over the month's dates of
        the farm-day sums, the value as Σ date's figure × date's price (BTC is summed per date
        before the price is applied, which changes only the rounding) and the unpriced figure
        from the dates without a price. A month that fails the screen, or every month with
        ``exact``, is compared BM unit by BM unit with what the rebuild would write.
        """
        if not self.month_date:
            return
        first, last = _month_span(self.start, self.end)
        g = btc_prices.c
        prices = {
            _as_date(row[0]): float(row[1])
            for row in self.conn.execute(
                select(g.price_date, g.price).where(
                    g.currency == PRICE_CURRENCY, _between(g.price_date, first, last)
                )
            )
        }
        expected: dict[str, dict[str, float]] = {}
        for d, sums in self.farm_day_sums.items():
            month = expected.setdefault(year_month(d), dict.fromkeys(_FARM_MONTH_FIELDS, 0.0))
            for name in _FARM_MONTH_FIELDS[:6]:
                month[name] += sums[name]
            factor = sums["btc_per_th_per_w"]
            if d in prices:
                month["btc_per_th_per_w_gbp"] += factor * prices[d]
            else:
                month["unpriced_btc_per_th_per_w"] += factor
        fm = farm_monthly_summaries.c
        stored = {
            row[0]: dict(zip(_FARM_MONTH_FIELDS, (float(v or 0.0) for v in row[1:]), strict=True))
            for row in self.conn.execute(
                select(
                    fm.year_month,
                    func.sum(fm.curtailed_energy_mwh),
                    func.sum(fm.payment_gbp),
                    func.sum(fm.record_count),
                    func.sum(fm.curtailed_energy_mwh * func.length(fm.farm_id)),
                    func.sum(fm.btc_per_th_per_w),
                    func.sum(fm.pending_energy_mwh),
                    func.sum(fm.btc_per_th_per_w_gbp),
                    func.sum(fm.unpriced_btc_per_th_per_w),
                )
                .where(fm.year_month.in_(sorted(self.month_date)))
                .group_by(fm.year_month)
            )
        }
        for ym in sorted(self.month_date):
            have, want = stored.get(ym), expected.get(ym)
            screened = (have is None and want is None) or (
                have is not None and want is not None and _values_equal(have, want)
            )
            self._drilled(
                ("farm_monthly_summaries", ym, None, self.month_date[ym]),
                have,
                want,
                screened,
                partial(self._farm_month_rows_differ, ym),
                exact,
            )

        b_expected: dict[tuple[str, str], dict[str, float]] = {}
        for (d, model), (btc, energy) in self.bitcoin_farm_day_sums.items():
            key = (year_month(d), model)
            month = b_expected.setdefault(key, dict.fromkeys(_BITCOIN_FARM_MONTH_FIELDS, 0.0))
            month["bitcoin_mined"] += btc
            month["curtailed_energy_mwh"] += energy
            if d in prices:
                month["value_gbp"] += btc * prices[d]
            else:
                month["unpriced_btc"] += btc
        bm = bitcoin_farm_monthly_summaries.c
        b_stored = {
            (row[0], row[1]): dict(
                zip(_BITCOIN_FARM_MONTH_FIELDS, (float(v or 0.0) for v in row[2:]), strict=True)
            )
            for row in self.conn.execute(
                select(
                    bm.year_month,
                    bm.miner_model,
                    func.sum(bm.bitcoin_mined),
                    func.sum(bm.curtailed_energy_mwh),
                    func.sum(bm.value_gbp),
                    func.sum(bm.unpriced_btc),
                )
                .where(bm.year_month.in_(sorted(self.month_date)))
                .group_by(bm.year_month, bm.miner_model)
            )
        }
        drill_month = cache(self._bitcoin_farm_month_rows_differ)
        wanted = set(self.month_date)
        for ym, model in sorted(k for k in set(b_expected) | set(b_stored) if k[0] in wanted):
            have, want = b_stored.get((ym, model)), b_expected.get((ym, model))
            screened = have is not None and want is not None and _values_equal(have, want)
            self._drilled(
                ("bitcoin_farm_monthly_summaries", ym, model, self.month_date[ym]),
                have,
                want,
                screened,
                partial(_model_count, drill_month, ym, model),
                exact,
            )

    def _farm_month_rows_differ(self, ym: str) -> int:
        """Rows of the month that differ from (or are missing in / extra to) the rebuild."""
        fm = farm_monthly_summaries.c
        have = {
            row[0]: tuple(row[1:])
            for row in self.conn.execute(
                select(
                    fm.farm_id,
                    fm.lead_party_name,
                    fm.curtailed_energy_mwh,
                    fm.payment_gbp,
                    fm.record_count,
                    fm.btc_per_th_per_w,
                    fm.pending_energy_mwh,
                    fm.btc_per_th_per_w_gbp,
                    fm.unpriced_btc_per_th_per_w,
                    fm.first_unpriced_date,
                    fm.last_unpriced_date,
                ).where(fm.year_month == ym)
            )
        }
        return len(_differing_keys(farm_monthly_rows(self.conn, ym), have))

    def _bitcoin_farm_month_rows_differ(self, ym: str) -> dict[str, int]:
        """Per model: rows of the month that differ from the rebuild."""
        bm = bitcoin_farm_monthly_summaries.c
        have = {
            (row[0], row[1]): tuple(row[2:])
            for row in self.conn.execute(
                select(
                    bm.farm_id,
                    bm.miner_model,
                    bm.bitcoin_mined,
                    bm.curtailed_energy_mwh,
                    bm.value_gbp,
                    bm.unpriced_btc,
                    bm.first_unpriced_date,
                    bm.last_unpriced_date,
                ).where(bm.year_month == ym)
            )
        }
        want = bitcoin_farm_monthly_rows(self.conn, ym)
        return dict(Counter(model for _, model in _differing_keys(want, have)))

    def _farm_day_rows_differ(self, day: date) -> int:
        """Farm-day rows of ``day`` that differ from (or are missing in / extra to) the rebuild."""
        fd = farm_daily_summaries.c
        want = farm_daily_rows(self.conn, day)
        have = {
            row[0]: tuple(row[1:])
            for row in self.conn.execute(
                select(
                    fd.farm_id,
                    fd.lead_party_name,
                    fd.curtailed_energy_mwh,
                    fd.payment_gbp,
                    fd.record_count,
                    fd.btc_per_th_per_w,
                    fd.pending_energy_mwh,
                ).where(fd.summary_date == day)
            )
        }
        return len(_differing_keys(want, have))

    def _bitcoin_farm_day_rows_differ(self, day: date) -> dict[str, int]:
        """Per model: bitcoin farm-day rows of ``day`` that differ from the calculations' sums."""
        b = bitcoin_farm_daily_summaries.c
        have = {
            (row[0], row[1]): (float(row[2]), float(row[3]))
            for row in self.conn.execute(
                select(b.farm_id, b.miner_model, b.bitcoin_mined, b.curtailed_energy_mwh).where(
                    b.summary_date == day
                )
            )
        }
        c = historical_bitcoin_calculations.c
        models = sorted(
            {m for _, m in have}
            | set(
                self.conn.execute(
                    select(c.miner_model).where(c.settlement_date == day).distinct()
                ).scalars()
            )
        )
        want = bitcoin_farm_daily_rows(self.conn, day, models)
        return dict(Counter(model for _, model in _differing_keys(want, have)))


_FARM_DAY_FIELDS = (
    "farm_rows",
    "curtailed_energy_mwh",
    "payment_gbp",
    "record_count",
    "energy_x_farm_id_length",
    "btc_per_th_per_w",
    "pending_energy_mwh",
)


_FARM_MONTH_FIELDS = (
    "curtailed_energy_mwh",
    "payment_gbp",
    "record_count",
    "energy_x_farm_id_length",
    "btc_per_th_per_w",
    "pending_energy_mwh",
    "btc_per_th_per_w_gbp",
    "unpriced_btc_per_th_per_w",
)
_BITCOIN_FARM_MONTH_FIELDS = ("bitcoin_mined", "curtailed_energy_mwh", "value_gbp", "unpriced_btc")


# -- the status ---------------------------------------------------------------------------------


def _totals_equal(stored: _Stored, records: _Records | None) -> bool:
    n, energy, payment = (records.n, records.energy, records.payment) if records else (0, 0.0, 0.0)
    return (
        stored.record_count == n
        and close(stored.energy, energy, abs_=1e-6)
        and close(stored.payment, payment, abs_=1e-6)
    )


def _screen_clean(
    rec: _Records, scr: _Screen, exp: Expected, models: int, ratio_sum: float, with_conditions: bool
) -> bool:
    """Per-period invariants that hold when every row follows from its farm-period, its
    conditions and its model's figures: rows = farms × models, Σ energy = models × Σ records,
    Σ energy × len(farm id) likewise, one difficulty and subsidy, Σ BTC = K × Σ(H/P) × energy."""
    if scr.n != rec.farms * models:
        return False
    if not (
        close(scr.energy, models * rec.energy) and close(scr.energy_len, models * rec.energy_len)
    ):
        return False
    if scr.d_min is None or scr.d_max is None or scr.s_min is None or scr.s_max is None:
        return False
    if not (close(scr.d_min, scr.d_max) and close(scr.s_min, scr.s_max)):
        return False
    expected_btc = _btc_factor(scr.d_min, scr.s_min) * ratio_sum * rec.energy
    if not close(scr.btc, expected_btc, rel=1e-8):
        return False
    if with_conditions:
        return close(scr.d_min, exp.difficulty) and close(scr.s_min, exp.block_subsidy_btc)
    return True


def get_reconciliation_status(
    conn: Connection,
    models: Sequence[str],
    *,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
    timeline: NetworkTimeline | None = None,
    exact: bool = False,
) -> ReconciliationStatus:
    """Counts of every problem kind over ``start..end`` (default: every stored date).

    Large tables are read once each with ``GROUP BY``. Without ``exact`` the calculations are
    screened per period (rows = farms × models, Σ energy and Σ energy × len(farm id) = models ×
    the records', one difficulty and subsidy equal to the period's expected conditions,
    Σ BTC = K × Σ(H/P) × energy), and every period that fails is counted row by row, one date at
    a time; ``exact`` counts every period row by row (slower, same definitions).
    """
    import time

    began = time.perf_counter()
    models = list(dict.fromkeys(models))
    today = settlement_today(now)
    if start is None or end is None:
        low, high = data_bounds(conn)
        start = start or low
        end = end or high
    status = ReconciliationStatus(start, end, models, exact)
    if start is None or end is None:
        return status
    end = min(end, today)
    status.end = end
    if start > end:
        return status
    previous = _tune_session(conn)
    try:
        _fill_status(conn, status, start, end, now, timeline)
    finally:
        _restore_session(conn, previous)
    status.elapsed_s = time.perf_counter() - began
    return status


def _fill_status(
    conn: Connection,
    status: ReconciliationStatus,
    start: date,
    end: date,
    now: datetime | None,
    timeline: NetworkTimeline | None,
) -> None:
    from curtailcoin.reference import load_miner_models, load_timeline

    models = status.models
    exact = status.exact
    timeline = timeline or load_timeline(conn)
    dates = date_range(start, end)
    expected = expected_conditions(timeline, dates)
    catalogue = load_miner_models(conn)
    ratios = {k: catalogue[k].hashrate_th / catalogue[k].power_w for k in models if k in catalogue}
    figures = {k: (m.hashrate_th, m.power_w) for k, m in catalogue.items()}
    ratio_sum = sum(ratios.values())
    n_models = len(models)

    stored = _stored_periods(conn, start, end)
    records = _records_per_period(conn, start, end)
    farms = _farms_per_date(conn, start, end)
    others = _other_models(conn, start, end, models)
    screen = {} if exact else _calc_screen(conn, start, end, models, filtered=bool(others))

    reports = {d: DateReport(d, expected_period_count(d, now)) for d in dates}
    drill: dict[tuple[date, int], tuple[float | None, float | None]] = {}
    conflict: set[tuple[date, int]] = set()
    exact_dates: set[date] = set()
    factorised: dict[date, list[tuple[float, float]]] = defaultdict(list)  # (K, energy)

    for d in dates:
        rep = reports[d]
        rep.farms = farms.get(d, 0)
        for p in range(1, periods_in_day(d) + 1):
            key = (d, p)
            exp = expected[key]
            s = stored.get(key)
            rec = records.get(key)
            scr = screen.get(key)
            fetched = s is not None and s.status in SUCCESSFUL_STATUSES
            if fetched:
                rep.periods_fetched += 1
            elif p <= rep.periods_expected:
                rep.unfetched_periods.append(p)
                if s is not None and s.error:
                    rep.incomplete_reasons[p] = s.error
            n_fp = rec.farms if rec else 0
            if rec is not None:
                rep.records += rec.n
                rep.curtailed_energy_mwh += rec.energy
                rep.payment_gbp += rec.payment
                rep.farm_periods += n_fp
            if s is not None and s.status in STORED_STATUSES and not _totals_equal(s, rec):
                rep.period_total_mismatches.append(p)
            has_conflict = s is not None and not _conditions_equal(s.difficulty, s.subsidy, exp)
            if has_conflict:
                rep.stale_condition_periods.append(p)

            if exp.pending:
                if n_fp:
                    rep.pending += n_fp * n_models
                    rep.pending_periods.append(p)
                if exact:
                    drill[key] = (None, None)
                    conflict.add(key)
                elif scr is not None:  # rows for a pending period: all stale
                    rep.stale += scr.n
                    rep.stale_periods.append(p)
                    exact_dates.add(d)
                continue

            rep.expected_calculations += n_fp * n_models
            ref = (
                (exp.difficulty, exp.block_subsidy_btc) if s is None else (s.difficulty, s.subsidy)
            )
            if exact:
                drill[key] = ref
                if has_conflict:
                    conflict.add(key)
                continue
            if scr is None:
                if n_fp:
                    rep.missing += n_fp * n_models
                    rep.missing_periods.append(p)
                    exact_dates.add(d)
                continue
            if rec is None:  # calculations without any records: all stale
                rep.stale += scr.n
                rep.stale_periods.append(p)
                exact_dates.add(d)
                continue
            if _screen_clean(rec, scr, exp, n_models, ratio_sum, not has_conflict):
                if has_conflict:  # each row can match the period row or the epoch table, not both
                    rep.stale += scr.n
                    rep.stale_periods.append(p)
                    exact_dates.add(d)
                else:
                    rep.fresh_calculations += scr.n
                    assert exp.difficulty is not None and exp.block_subsidy_btc is not None
                    factorised[d].append(
                        (_btc_factor(exp.difficulty, exp.block_subsidy_btc), rec.energy)
                    )
                continue
            drill[key] = ref
            if has_conflict:
                conflict.add(key)

    exact_counts, full_sums = _exact_periods(conn, drill, models, figures)
    for key, ex in exact_counts.items():
        d, p = key
        rep = reports[d]
        pending = expected[key].pending
        if key in conflict:
            stale = ex.present + ex.orphans
            fresh = 0
        else:
            stale = ex.stale_matched + ex.orphans
            fresh = ex.present - ex.stale_matched
        missing = 0 if pending else ex.farms * n_models - ex.present
        rep.stale += stale
        rep.missing += missing
        rep.fresh_calculations += fresh
        if stale:
            rep.stale_periods.append(p)
        if missing:
            rep.missing_periods.append(p)
        if ex.present or ex.orphans:
            exact_dates.add(d)
    for rep in reports.values():
        rep.stale_periods.sort()
        rep.missing_periods.sort()

    # Σ BTC per (date, model): exact sums where any period was not clean, else factorised.
    btc_expected: dict[tuple[date, str], tuple[float, float]] = {}
    btc_expected.update(_btc_per_date_model(conn, None, start, end, others))
    for d in [d for d in dates if d in factorised and d not in exact_dates]:
        pieces = factorised[d]
        energy = math.fsum(e for _, e in pieces)
        for model, ratio in ratios.items():
            btc = math.fsum(k * ratio * e for k, e in pieces)
            btc_expected[(d, model)] = (btc, energy)
    if exact_dates:
        read = {d for d, _ in full_sums}
        for d in exact_dates:  # models without rows on such a date: nothing expected
            for model in models:
                btc_expected.pop((d, model), None)
        btc_expected.update({k: v for k, v in full_sums.items() if k[0] in exact_dates})
        btc_expected.update(_btc_per_date_model(conn, sorted(exact_dates - read), start, end, ()))

    records_by_date: dict[date, tuple[float, float, int]] = {}
    for (d, _p), rec in records.items():
        energy, payment, count = records_by_date.get(d, (0.0, 0.0, 0))
        records_by_date[d] = (energy + rec.energy, payment + rec.payment, count + rec.n)
    checker = _SummaryChecker(conn, start, end, dates)
    checker.check(reports, records_by_date, farms, btc_expected)

    # What the farm-day rows of each date must add up to (see _SummaryChecker.check_farm_days).
    farm_days: dict[date, dict[str, float]] = {}
    for (d, p), rec in records.items():
        s = stored.get((d, p))
        sums = farm_days.get(d)
        if sums is None:
            sums = farm_days[d] = dict.fromkeys(_FARM_DAY_FIELDS, 0.0)
            sums["farm_rows"] = float(farms.get(d, 0))
        sums["curtailed_energy_mwh"] += rec.energy
        sums["payment_gbp"] += rec.payment
        sums["record_count"] += rec.n
        sums["energy_x_farm_id_length"] += rec.energy_len
        if s is not None and s.difficulty is not None and s.subsidy is not None:
            sums["btc_per_th_per_w"] += _btc_factor(s.difficulty, s.subsidy) * rec.energy
        else:
            sums["pending_energy_mwh"] += rec.energy
    checker.check_farm_days(reports, farm_days, btc_expected, exact)
    checker.check_farm_months(exact)

    status.per_date = [reports[d] for d in dates]
    status.summary_details = _prefer_problem_dates(checker.out, reports)
    status.suspects = load_suspects(conn, start, end)
    for suspect in status.suspects:
        reports[suspect.settlement_date].suspect = suspect.reason


def _prefer_problem_dates(
    mismatches: list[SummaryMismatch], reports: Mapping[date, DateReport]
) -> list[SummaryMismatch]:
    """Attach a month's or a year's mismatch to a date that is being fixed anyway (its rebuild
    rebuilds the month and the year), so that fixing needs no extra date."""
    busy = {d for d, r in reports.items() if not r.complete}
    busy |= {m.settlement_date for m in mismatches if m.settlement_date and len(m.key) == 10}
    out = []
    for level in (7, 4):  # months (YYYY-MM), then years (YYYY)
        for m in mismatches:
            if len(m.key) != level:
                continue
            mine = sorted(d for d in busy if d.isoformat().startswith(m.key))
            if mine and m.settlement_date not in mine:
                m = SummaryMismatch(m.table, m.key, m.miner_model, m.stored, m.expected, mine[0])
            if m.settlement_date is not None:
                busy.add(m.settlement_date)
            out.append(m)
    return [m for m in mismatches if len(m.key) == 10] + out


def check_date_reconciliation_status(
    conn: Connection,
    settlement_date: date,
    models: Sequence[str],
    *,
    now: datetime | None = None,
    timeline: NetworkTimeline | None = None,
) -> tuple[DateReport, list[SummaryMismatch]]:
    """The seed's ``checkDateReconciliationStatus``: one date, counted row by row."""
    status = get_reconciliation_status(
        conn,
        models,
        start=settlement_date,
        end=settlement_date,
        now=now,
        timeline=timeline,
        exact=True,
    )
    if not status.per_date:
        return DateReport(settlement_date, expected_period_count(settlement_date, now)), []
    return status.per_date[0], status.summary_details
