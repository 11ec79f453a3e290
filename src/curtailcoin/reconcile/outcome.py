"""What reconciliation did: one date's outcome and a run's summary (the JSON the CLI prints)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from curtailcoin.reconcile.report import DateReport, SummaryMismatch


@dataclass
class DateOutcome:
    """What happened to one date. ``ok``: clean, or every problem fixed (pending aside)."""

    settlement_date: date
    status: str = "clean"  # clean | fixed | partial | failed | suspect | skipped
    actions: list[str] = field(default_factory=list)
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    reason: str | None = None
    records: int = 0
    pending: int = 0
    drift_periods: list[int] = field(default_factory=list)
    requests: int = 0
    attempts: int = 1
    elapsed_s: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in ("clean", "fixed", "skipped")

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.settlement_date.isoformat(),
            "status": self.status,
            "ok": self.ok,
            "actions": self.actions,
            "problems_before": self.before,
            "problems_after": self.after,
            "reason": self.reason,
            "records": self.records,
            "pending": self.pending,
            "source_drift_periods": self.drift_periods,
            "requests": self.requests,
            "attempts": self.attempts,
            "elapsed_s": round(self.elapsed_s, 3),
            **self.details,
        }


def problems_of(report: DateReport, mismatches: list[SummaryMismatch]) -> list[str]:
    """The report's problem kinds, with ``summary_mismatch`` when a rebuild would change rows."""
    kinds = list(report.problems)
    if mismatches and "summary_mismatch" not in kinds:
        kinds.append("summary_mismatch")
    return kinds


def settle(out: DateOutcome, report: DateReport, mismatches: list[SummaryMismatch]) -> None:
    """The outcome's final status from the check after the fixes (failed and suspect stay)."""
    out.after = problems_of(report, mismatches)
    out.records = report.records
    out.pending = report.pending
    if out.status in ("failed", "suspect"):
        return
    if out.after:
        out.status = "partial"
        out.reason = "still wrong after fixing: " + ", ".join(f"{kind}" for kind in out.after)
    elif out.before:
        out.status = "fixed"
    else:
        out.status = "clean"


def hold_back(out: DateOutcome, reason: str | None) -> None:
    """The date's answer is suspect: the stored data stays; the operator decides."""
    day = out.settlement_date.isoformat()
    out.status = "suspect"
    out.reason = (
        f"suspect: {reason}; the stored data is kept; apply it with "
        f"curtailcoin reconcile date {day} --accept-shrink"
    )
    out.actions.append("kept the stored data (the answer is suspect)")
    # ``reingest_date`` has logged the WARNING line with the date and the reason.


@dataclass
class RunSummary:
    """What a reconciliation run did; ``failed`` maps each failed date to its reason."""

    command: str
    outcomes: list[DateOutcome] = field(default_factory=list)
    earlier: dict[str, str] = field(default_factory=dict)  # date → status in the resumed run
    earlier_failed: dict[str, str] = field(default_factory=dict)
    resumed: bool = False
    checkpoint: str | None = None
    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> dict[str, str]:
        out = dict(self.earlier_failed)
        for o in self.outcomes:
            if not o.ok:
                out[o.settlement_date.isoformat()] = o.reason or o.status
        return out

    @property
    def failed_dates(self) -> list[str]:
        return sorted(self.failed)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def suspect(self) -> dict[str, str]:
        """Dates whose answer the drift guard held back, with the reason."""
        return {
            o.settlement_date.isoformat(): o.reason or "suspect"
            for o in self.outcomes
            if o.status == "suspect"
        }

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "ok": not self.failed,
            "dates_checked": len(self.outcomes),
            "clean": self.count("clean"),
            "fixed": self.count("fixed"),
            "partial": self.count("partial"),
            "failed": len(self.failed),
            "failed_dates": [{"date": d, "reason": r} for d, r in sorted(self.failed.items())],
            "suspect": len(self.suspect),
            "suspect_dates": [{"date": d, "reason": r} for d, r in sorted(self.suspect.items())],
            "resumed": self.resumed,
            "already_done": sorted(self.earlier),
            "checkpoint": self.checkpoint,
            "requests": self.requests,
            "retries": self.retries,
            "timeouts": self.timeouts,
            "elapsed_s": round(self.elapsed_s, 3),
            "notes": self.notes,
            "dates": [o.to_json() for o in self.outcomes],
        }
