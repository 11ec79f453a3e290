"""What a reingest did: the CLI's table and ``--json`` object, the API's answer, a job's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from curtailcoin.coverage import Coverage

if TYPE_CHECKING:
    from curtailcoin.calculations import VerificationRow
    from curtailcoin.pipeline.fetch import FetchedDate
    from curtailcoin.pipeline.generation import FetchedGeneration
    from curtailcoin.shrink_guard import ShrinkVerdict


@dataclass
class ReingestResult:
    """What a reingest did; ``to_json`` is the CLI's ``--json`` object."""

    settlement_date: date
    periods: int
    periods_requested: int = 0
    periods_expected: int = 0  # periods that should be stored by now (all but today's)
    periods_fetched: int = 0
    failed_periods: dict[int, str] = field(default_factory=dict)
    failure_causes: dict[int, str] = field(default_factory=dict)  # the error, period-free
    incomplete_periods: dict[int, str] = field(default_factory=dict)  # stored, figure missing
    written: bool = False
    records: int = 0
    farms: int = 0
    curtailed_mwh: float = 0.0
    payment_gbp: float = 0.0
    bitcoin: dict[str, float] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)
    pending_periods: list[int] = field(default_factory=list)
    bitcoin_skipped: bool = False
    verification: list[VerificationRow] = field(default_factory=list)
    verified: bool = False
    warnings: list[str] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    fetch_seconds: float = 0.0
    write_seconds: float = 0.0
    # the drift guard: an implausible answer is held back (``suspect``) unless accepted
    shrink: ShrinkVerdict | None = None
    shrink_accepted: bool = False
    fetch: FetchedDate | None = field(default=None, repr=False)  # each error, as raised
    generation: FetchedGeneration | None = field(default=None, repr=False)  # stored with it

    @property
    def suspect(self) -> bool:
        """The answer was held back: the stored data was kept."""
        return self.shrink is not None and self.shrink.suspect and not self.shrink_accepted

    @property
    def suspect_reason(self) -> str | None:
        return self.shrink.reason if self.shrink is not None and self.shrink.suspect else None

    @property
    def verification_ok(self) -> bool:
        return all(row.ok for row in self.verification)

    @property
    def coverage(self) -> Coverage:
        """The date as now stored, against what it should hold (``coverage.Coverage``)."""
        return Coverage(
            periods=self.periods,
            expected=self.periods_expected,
            fetched=self.periods_fetched,
            failed=self.failed_periods,
            incomplete=self.incomplete_periods,
            pending=self.pending_periods,
        )

    @property
    def transient(self) -> bool:
        """No failed period is one a retry cannot mend (400, a schema breach)."""
        return self.fetch is None or not self.fetch.permanent

    @property
    def complete(self) -> bool:
        """Every period fetched and stored; every farm-period calculated for every model."""
        return (
            self.written
            and not self.suspect
            and self.coverage.complete
            and (self.bitcoin_skipped or not self.pending_periods)
            and (not self.verified or self.verification_ok)
        )

    def to_json(self) -> dict[str, object]:
        return {
            "date": self.settlement_date.isoformat(),
            "periods": self.periods,
            "periods_fetched": self.periods_fetched,
            "records": self.records,
            "farms": self.farms,
            "curtailed_mwh": self.curtailed_mwh,
            "payment_gbp": self.payment_gbp,
            "bitcoin": dict(self.bitcoin),
            "complete": self.complete,
            "failed_periods": {str(k): v for k, v in sorted(self.failed_periods.items())},
            "incomplete_periods": {str(k): v for k, v in sorted(self.incomplete_periods.items())},
            "pending_periods": self.pending_periods,
            "written": self.written,
            "verified": self.verified,
            "warnings": self.warnings,
            "suspect": self.suspect,
            "suspect_reason": self.suspect_reason,
            "shrink_accepted": self.shrink_accepted,
            # each generation dataset's status, rows and reason; null: not fetched with the date
            "generation": None if self.generation is None else self.generation.to_json(),
        }
