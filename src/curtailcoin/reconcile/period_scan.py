"""One pass over every period in range: fetch status, records, headline totals, conditions,
and what the calculation screen says — fresh, missing, stale, pending, or to be counted row by
row (``drill``). The counts go into each date's :class:`~.report.DateReport`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from curtailcoin.coverage import STORED_STATUSES, SUCCESSFUL_STATUSES
from curtailcoin.reconcile.aggregates import CalcScreen, PeriodRecords, StoredPeriod
from curtailcoin.reconcile.calc_check import Conditions, ExactCounts, btc_factor, screen_clean
from curtailcoin.reconcile.expected import Expected, PeriodKey
from curtailcoin.reconcile.report import DateReport
from curtailcoin.reconcile.tolerance import close
from curtailcoin.settlement import periods_in_day


@dataclass
class PeriodInputs:
    """What the scan reads: the aggregates of the range and the models' figures."""

    models: list[str]
    exact: bool
    expected: Mapping[PeriodKey, Expected]
    stored: Mapping[PeriodKey, StoredPeriod]
    records: Mapping[PeriodKey, PeriodRecords]
    farms: Mapping[date, int]
    screen: Mapping[PeriodKey, CalcScreen]
    ratios: Mapping[str, float]  # tracked model → hashrate TH/s per W
    ratio_sum: float  # Σ of ``ratios`` (in their order)


def _totals_equal(stored: StoredPeriod, records: PeriodRecords | None) -> bool:
    """The records still add up to the headline totals recorded at the fetch."""
    n, energy_mwh, payment_gbp = (
        (records.n, records.energy_mwh, records.payment_gbp) if records else (0, 0.0, 0.0)
    )
    return (
        stored.record_count == n
        and close(stored.energy_mwh, energy_mwh, abs_=1e-6)
        and close(stored.payment_gbp, payment_gbp, abs_=1e-6)
    )


def _conditions_equal(stored: StoredPeriod, other: Expected) -> bool:
    return close(stored.difficulty, other.difficulty) and close(
        stored.block_subsidy_btc, other.block_subsidy_btc
    )


def _count_fetch(rep: DateReport, p: int, s: StoredPeriod | None) -> None:
    if s is not None and s.status in SUCCESSFUL_STATUSES:
        rep.periods_fetched += 1
    elif p <= rep.periods_expected:
        rep.unfetched_periods.append(p)
        if s is not None and s.error:
            rep.incomplete_reasons[p] = s.error


def _count_records(rep: DateReport, rec: PeriodRecords | None) -> None:
    if rec is not None:
        rep.records += rec.n
        rep.curtailed_energy_mwh += rec.energy_mwh
        rep.payment_gbp += rec.payment_gbp
        rep.farm_periods += rec.farms


@dataclass
class PeriodScan:
    """The scan's results: counts in ``reports``; the periods to count row by row (with the
    conditions their rows must carry), those whose rows can match neither (``conflict``), the
    dates whose Σ BTC must be read (``exact_dates``) and, for the clean periods of the others,
    (K, MWh) pieces from which Σ BTC per model follows (``factorised``)."""

    inputs: PeriodInputs
    reports: dict[date, DateReport]
    drill: dict[PeriodKey, Conditions] = field(default_factory=dict)
    conflict: set[PeriodKey] = field(default_factory=set)
    exact_dates: set[date] = field(default_factory=set)
    factorised: dict[date, list[tuple[float, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def run(self, dates: Sequence[date]) -> None:
        for d in dates:
            self.reports[d].farms = self.inputs.farms.get(d, 0)
            for p in range(1, periods_in_day(d) + 1):
                self._period(self.reports[d], (d, p))

    def _period(self, rep: DateReport, key: PeriodKey) -> None:
        p = key[1]
        exp = self.inputs.expected[key]
        s = self.inputs.stored.get(key)
        rec = self.inputs.records.get(key)
        _count_fetch(rep, p, s)
        _count_records(rep, rec)
        if s is not None and s.status in STORED_STATUSES and not _totals_equal(s, rec):
            rep.period_total_mismatches.append(p)
        has_conflict = s is not None and not _conditions_equal(s, exp)
        if has_conflict:
            rep.stale_condition_periods.append(p)
        farm_periods = rec.farms if rec else 0
        if exp.pending:
            self._pending(rep, key, farm_periods)
            return
        rep.expected_calculations += farm_periods * len(self.inputs.models)
        ref = (
            (exp.difficulty, exp.block_subsidy_btc)
            if s is None
            else (s.difficulty, s.block_subsidy_btc)
        )
        self._calculated(rep, key, ref, has_conflict, farm_periods)

    def _pending(self, rep: DateReport, key: PeriodKey, farm_periods: int) -> None:
        """No difficulty known: nothing is expected, every row present is stale."""
        if farm_periods:
            rep.pending += farm_periods * len(self.inputs.models)
            rep.pending_periods.append(key[1])
        scr = self.inputs.screen.get(key)
        if self.inputs.exact:
            self.drill[key] = (None, None)
            self.conflict.add(key)
        elif scr is not None:  # rows for a pending period: all stale
            self._all_stale(rep, key, scr.n)

    def _calculated(
        self,
        rep: DateReport,
        key: PeriodKey,
        ref: Conditions,
        has_conflict: bool,
        farm_periods: int,
    ) -> None:
        scr = self.inputs.screen.get(key)
        rec = self.inputs.records.get(key)
        if self.inputs.exact:
            self._to_drill(key, ref, has_conflict)
        elif scr is None:
            if farm_periods:
                rep.missing += farm_periods * len(self.inputs.models)
                rep.missing_periods.append(key[1])
                self.exact_dates.add(key[0])
        elif rec is None:  # calculations without any records: all stale
            self._all_stale(rep, key, scr.n)
        elif not self._clean(key, rec, scr, has_conflict):
            self._to_drill(key, ref, has_conflict)
        elif has_conflict:  # each row can match the period row or the epoch table, not both
            self._all_stale(rep, key, scr.n)
        else:
            self._fresh(rep, key, rec, scr)

    def _clean(
        self, key: PeriodKey, rec: PeriodRecords, scr: CalcScreen, has_conflict: bool
    ) -> bool:
        exp = self.inputs.expected[key]
        n_models = len(self.inputs.models)
        return screen_clean(rec, scr, exp, n_models, self.inputs.ratio_sum, not has_conflict)

    def _to_drill(self, key: PeriodKey, ref: Conditions, has_conflict: bool) -> None:
        self.drill[key] = ref
        if has_conflict:
            self.conflict.add(key)

    def _all_stale(self, rep: DateReport, key: PeriodKey, n: int) -> None:
        rep.stale += n
        rep.stale_periods.append(key[1])
        self.exact_dates.add(key[0])

    def _fresh(self, rep: DateReport, key: PeriodKey, rec: PeriodRecords, scr: CalcScreen) -> None:
        rep.fresh_calculations += scr.n
        exp = self.inputs.expected[key]
        assert exp.difficulty is not None and exp.block_subsidy_btc is not None
        factor = btc_factor(exp.difficulty, exp.block_subsidy_btc)
        self.factorised[key[0]].append((factor, rec.energy_mwh))

    def apply_exact(self, counts: Mapping[PeriodKey, ExactCounts]) -> None:
        """Add the row-by-row counts of the drilled periods; sort each date's period lists."""
        n_models = len(self.inputs.models)
        for key, ex in counts.items():
            d, p = key
            rep = self.reports[d]
            if key in self.conflict:
                stale, fresh = ex.present + ex.orphans, 0
            else:
                stale, fresh = ex.stale_matched + ex.orphans, ex.present - ex.stale_matched
            missing = 0 if self.inputs.expected[key].pending else ex.farms * n_models - ex.present
            rep.stale += stale
            rep.missing += missing
            rep.fresh_calculations += fresh
            if stale:
                rep.stale_periods.append(p)
            if missing:
                rep.missing_periods.append(p)
            if ex.present or ex.orphans:
                self.exact_dates.add(d)
        for rep in self.reports.values():
            rep.stale_periods.sort()
            rep.missing_periods.sort()
