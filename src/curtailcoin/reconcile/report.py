"""What a reconciliation status reports, overall and per date (SPEC §6–7).

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
*generation incomplete* date
    (when generation is fetched: ``CURTAILCOIN_FETCH_GENERATION``) a date whose AGWS or B1610
    fetch (``generation_fetches``) is absent or not ``fetched_with_data``; the reason is the
    stored status and error. Counted among the *incomplete* dates; its fix refetches the date's
    generation.
*generation pending* date
    a date whose B1610 answered empty before Elexon publishes it (five days after the day:
    ``coverage.b1610_pending``). Like a pending calculation it is not a problem — nothing can
    supply it yet — and is reported apart (``generation_pending``, with the date it is expected
    from); once that date has passed the empty answer is *generation incomplete* and refetched.
*generation drift*
    (with a source check) a dataset whose stored total differs from Elexon's answer now by more
    than ``CURTAILCOIN_SOURCE_TOLERANCE_MWH``; its fix stores the answer.
*suspect* date
    a date whose latest answer from Elexon the drift guard held back (``suspect_dates``): the
    stored data is kept until an operator applies the answer or Elexon agrees again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from curtailcoin.suspects import SuspectDate


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
    generation_reasons: dict[str, str] = field(default_factory=dict)  # dataset → why missing
    generation_drift: dict[str, str] = field(default_factory=dict)  # dataset → stored vs source
    generation_pending: dict[str, str] = field(default_factory=dict)  # dataset → not published

    @property
    def incomplete(self) -> bool:
        return bool(self.unfetched_periods or self.generation_reasons)

    @property
    def needs_generation(self) -> bool:
        """Only a refetch of the date's generation can fix it."""
        return bool(self.generation_reasons or self.generation_drift)

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
        if self.generation_reasons:
            kinds.append("generation_incomplete")
        if self.generation_drift:
            kinds.append("generation_drift")
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
            "generation_reasons": dict(self.generation_reasons),
            "generation_drift": dict(self.generation_drift),
            "generation_pending": dict(self.generation_pending),
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
            "generation_incomplete_dates": [
                r.settlement_date.isoformat() for r in self.per_date if r.generation_reasons
            ],
            "generation_drift_dates": [
                r.settlement_date.isoformat() for r in self.per_date if r.generation_drift
            ],
            "generation_pending_dates": [
                r.settlement_date.isoformat() for r in self.per_date if r.generation_pending
            ],
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
