"""The drift guard's verdicts (pure): what is suspect, what goes through."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from curtailcoin.shrink_guard import HeadlineTotals, ShrinkLimits, describe_periods, judge

HEAVY = HeadlineTotals(6844, 61591.2, 1063201.55)
LIMITS = ShrinkLimits(max_drop=0.5, min_records=100)

records = st.integers(min_value=0, max_value=100_000)
mwh = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)
gbp = st.floats(min_value=-1e7, max_value=1e8, allow_nan=False)
limits = st.builds(
    ShrinkLimits,
    max_drop=st.floats(min_value=0.01, max_value=1.0),
    min_records=st.integers(min_value=0, max_value=1000),
)


def test_every_period_empty_names_the_figures() -> None:
    verdict = judge(HEAVY, HeadlineTotals(0, 0.0, 0.0, stack_lines=0), LIMITS)
    assert verdict.suspect
    assert verdict.reason == (
        "the answer would replace 6,844 records (61,591.2 MWh, £1,063,201.55) with 0 records: "
        "every period empty"
    )


def test_every_payment_zero() -> None:
    verdict = judge(HEAVY, HeadlineTotals(6844, 61591.2, 0.0, stack_lines=9000), LIMITS)
    assert verdict.suspect and verdict.rules == ("every payment zero",)
    assert "with 6,844 records (61,591.2 MWh, £0.00)" in (verdict.reason or "")


def test_a_measure_falling_by_more_than_the_share() -> None:
    tiny = HeadlineTotals(6844, 6.8, 1063201.55, stack_lines=9000)
    verdict = judge(HEAVY, tiny, LIMITS)
    assert verdict.suspect
    assert verdict.rules == ("curtailed MWh fell by 100% (more than 50%)",)
    half = HeadlineTotals(3000, 61591.2, 1063201.55, stack_lines=9000)
    assert judge(HEAVY, half, LIMITS).rules == ("records fell by 56% (more than 50%)",)
    assert not judge(HEAVY, half, ShrinkLimits(max_drop=0.6)).suspect


def test_small_revisions_and_small_dates_go_through() -> None:
    revised = HeadlineTotals(6700, 60000.0, 1.0e6, stack_lines=9000)
    assert not judge(HEAVY, revised, LIMITS).suspect
    small = HeadlineTotals(99, 500.0, 9000.0)
    assert not judge(small, HeadlineTotals(0, 0.0, 0.0, stack_lines=0), LIMITS).suspect


def test_periods_in_the_reason() -> None:
    verdict = judge(HEAVY, HeadlineTotals(0, 0.0, 0.0, stack_lines=0), LIMITS, [3, 1, 2, 7])
    assert verdict.periods == (1, 2, 3, 7)
    assert "with 0 records in periods 1-3, 7: every period empty" in (verdict.reason or "")
    assert describe_periods([5]) == "5"


def test_negative_payment_is_shown_with_its_sign() -> None:
    assert HeadlineTotals(2, 1.0, -12.5).describe() == "2 records (1.0 MWh, -£12.50)"


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="max_drop"):
        ShrinkLimits(max_drop=0.0)
    with pytest.raises(ValueError, match="min_records"):
        ShrinkLimits(min_records=-1)


@given(records, mwh, gbp, records, mwh, gbp, limits)
def test_growing_or_equal_answers_are_never_suspect(
    n: int, e: float, p: float, dn: int, de: float, dp: float, lim: ShrinkLimits
) -> None:
    stored = HeadlineTotals(n, e, p)
    grown = HeadlineTotals(n + dn, e + de, p + abs(dp) if p > 0 else p, stack_lines=n + dn + 1)
    assert not judge(stored, grown, lim).suspect
    assert not judge(stored, HeadlineTotals(n, e, p, stack_lines=n + 1), lim).suspect


@given(records, mwh, gbp, limits)
def test_an_empty_answer_over_min_records_is_always_suspect(
    n: int, e: float, p: float, lim: ShrinkLimits
) -> None:
    verdict = judge(HeadlineTotals(n, e, p), HeadlineTotals(0, 0.0, 0.0, stack_lines=0), lim)
    assert verdict.suspect == (n >= max(1, lim.min_records))
    if verdict.suspect:
        assert verdict.reason and verdict.reason.endswith("every period empty")


@given(records, mwh, gbp, records, mwh, gbp, limits)
def test_below_min_records_nothing_is_suspect(
    n: int, e: float, p: float, fn: int, fe: float, fp: float, lim: ShrinkLimits
) -> None:
    stored = HeadlineTotals(min(n, max(0, lim.min_records - 1)), e, p)
    assert not judge(stored, HeadlineTotals(fn, fe, fp, stack_lines=0), lim).suspect
