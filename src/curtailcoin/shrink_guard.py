"""The drift guard: is a valid answer that would remove most of a stored date plausible?

Elexon can answer well-formed JSON that is wrong in bulk — ``{"data": []}`` for every period,
every price zero, every volume a thousandth. Such an answer passes every parser, so the only
defence is to compare it with what it would replace. This module holds that comparison, as pure
arithmetic on headline totals (records, curtailed MWh, £ to the farms) of the periods being
replaced: it says *suspect* or not and, when suspect, one line saying what would have changed.
The caller keeps the stored data and asks the operator to decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_MAX_DROP = 0.5
"""A measure may fall by at most this share of its stored value."""

DEFAULT_MIN_RECORDS = 100
"""Below this many stored records the guard does not apply (small dates change a lot)."""


@dataclass(frozen=True)
class HeadlineTotals:
    """Headline totals over some periods of one date (SPEC §4)."""

    records: int
    curtailed_energy_mwh: float
    payment_gbp: float
    stack_lines: int | None = None  # every line of an answer (all units); None = not known

    def describe(self) -> str:
        """``6,844 records (61,591.2 MWh, £1,063,201.55)``, or ``0 records``."""
        if not self.records:
            return "0 records"
        return (
            f"{self.records:,} records ({self.curtailed_energy_mwh:,.1f} MWh, "
            f"{_gbp(self.payment_gbp)})"
        )


@dataclass(frozen=True)
class ShrinkLimits:
    """The guard's settings (``CURTAILCOIN_SHRINK_MAX_DROP`` / ``_MIN_RECORDS``)."""

    max_drop: float = DEFAULT_MAX_DROP
    min_records: int = DEFAULT_MIN_RECORDS

    def __post_init__(self) -> None:
        if not 0.0 < self.max_drop <= 1.0:
            raise ValueError(f"max_drop must be in (0, 1], not {self.max_drop}")
        if self.min_records < 0:
            raise ValueError(f"min_records must be ≥ 0, not {self.min_records}")


@dataclass(frozen=True)
class ShrinkVerdict:
    """The guard's answer; ``reason`` is one line when ``suspect``."""

    suspect: bool
    stored: HeadlineTotals
    fetched: HeadlineTotals
    periods: tuple[int, ...] | None  # the periods compared; None = the whole date
    reason: str | None = None
    rules: tuple[str, ...] = ()


def _gbp(value: float) -> str:
    return f"-£{-value:,.2f}" if value < 0 else f"£{value:,.2f}"


def _fell_by(stored: float, fetched: float) -> float:
    """The share of ``stored`` (> 0) that ``fetched`` lost; ≤ 0 when it did not fall."""
    return (stored - fetched) / stored


def describe_periods(periods: Sequence[int]) -> str:
    """``1-3, 7`` for ``[1, 2, 3, 7]``."""
    runs: list[list[int]] = []
    for p in sorted(set(periods)):
        if runs and p == runs[-1][1] + 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def judge(
    stored: HeadlineTotals,
    fetched: HeadlineTotals,
    limits: ShrinkLimits | None = None,
    periods: Sequence[int] | None = None,
) -> ShrinkVerdict:
    """Compare what is stored with the answer that would replace it.

    Suspect (when the stored periods hold at least ``min_records`` records) if

    * every fetched period is empty (no stack line at all) while records were stored;
    * every payment of the answer is zero where the stored £ were not;
    * records, curtailed MWh or (positive) £ fall by more than ``max_drop`` of their stored value.

    Growing, equal and slightly smaller answers are never suspect.
    """
    limits = limits or ShrinkLimits()
    compared = None if periods is None else tuple(sorted(periods))
    if stored.records < max(1, limits.min_records):
        return ShrinkVerdict(False, stored, fetched, compared)
    rules: list[str] = []
    if fetched.stack_lines == 0:
        rules.append("every period empty")  # what the drops would say, said plainly
    else:
        zero_pay = bool(fetched.records) and fetched.payment_gbp == 0.0 and stored.payment_gbp != 0
        if zero_pay:
            rules.append("every payment zero")
        drops = [
            ("records", _fell_by(stored.records, fetched.records)),
            (
                "curtailed MWh",
                _fell_by(stored.curtailed_energy_mwh, fetched.curtailed_energy_mwh)
                if stored.curtailed_energy_mwh > 0
                else 0.0,
            ),
            (
                "£",
                _fell_by(stored.payment_gbp, fetched.payment_gbp)
                if stored.payment_gbp > 0 and not zero_pay
                else 0.0,
            ),
        ]
        rules += [
            f"{name} fell by {share:.0%} (more than {limits.max_drop:.0%})"
            for name, share in drops
            if share > limits.max_drop
        ]
    if not rules:
        return ShrinkVerdict(False, stored, fetched, compared)
    scope = "" if compared is None else f" in periods {describe_periods(compared)}"
    reason = (
        f"the answer would replace {stored.describe()} with {fetched.describe()}{scope}: "
        + "; ".join(rules)
    )
    return ShrinkVerdict(True, stored, fetched, compared, reason, tuple(rules))
