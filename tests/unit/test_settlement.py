"""The settlement calendar: 46/48/50-period days, BST and GMT, local hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from curtailcoin.settlement import (
    check_period,
    local_hours,
    month_bounds,
    parse_date,
    period_start_utc,
    periods_in_day,
    periods_started,
    settlement_period_of,
    year_month,
)


@pytest.mark.parametrize(
    ("day", "count"),
    [
        (date(2025, 3, 30), 46),  # spring clock change (last Sunday of March)
        (date(2026, 3, 29), 46),
        (date(2025, 10, 26), 50),  # autumn clock change (last Sunday of October)
        (date(2026, 10, 25), 50),
        (date(2025, 1, 17), 48),
        (date(2026, 7, 10), 48),
        (date(2025, 3, 29), 48),
        (date(2025, 10, 27), 48),
    ],
)
def test_periods_in_day(day: date, count: int) -> None:
    assert periods_in_day(day) == count
    assert len(local_hours(day)) == count // 2


def test_bst_period_one_starts_at_23z_previous_day() -> None:
    assert period_start_utc(date(2026, 7, 10), 1) == datetime(2026, 7, 9, 23, 0, tzinfo=UTC)
    assert period_start_utc(date(2026, 7, 10), 20) == datetime(2026, 7, 10, 8, 30, tzinfo=UTC)


def test_gmt_period_one_starts_at_midnight() -> None:
    assert period_start_utc(date(2025, 1, 17), 1) == datetime(2025, 1, 17, 0, 0, tzinfo=UTC)
    assert period_start_utc(date(2025, 1, 17), 48) == datetime(2025, 1, 17, 23, 30, tzinfo=UTC)


def test_clock_change_days_span_their_real_length() -> None:
    spring, autumn = date(2025, 3, 30), date(2025, 10, 26)
    # Spring: 00:00 GMT → 01:00 jumps to 02:00 BST; the day ends 23:00Z.
    assert period_start_utc(spring, 1) == datetime(2025, 3, 30, 0, 0, tzinfo=UTC)
    assert period_start_utc(spring, 46) == datetime(2025, 3, 30, 22, 30, tzinfo=UTC)
    # Autumn: starts 23:00Z the day before (BST) and ends 24:00Z (GMT).
    assert period_start_utc(autumn, 1) == datetime(2025, 10, 25, 23, 0, tzinfo=UTC)
    assert period_start_utc(autumn, 50) == datetime(2025, 10, 26, 23, 30, tzinfo=UTC)


def test_local_hours_labels_on_clock_change_days() -> None:
    spring = [h.label for h in local_hours(date(2025, 3, 30))]
    assert spring[:3] == ["00:00", "02:00", "03:00"]
    autumn = [h.label for h in local_hours(date(2025, 10, 26))]
    assert autumn[:4] == ["00:00 BST", "01:00 BST", "01:00 GMT", "02:00 GMT"]
    assert local_hours(date(2025, 10, 26))[2].periods == (5, 6)


@pytest.mark.parametrize(("day", "bad"), [(date(2025, 3, 30), 47), (date(2025, 1, 1), 0)])
def test_period_out_of_range_names_allowed_range(day: date, bad: int) -> None:
    with pytest.raises(ValueError, match=rf"settlement period {bad} .* allowed 1\.\.\d+"):
        check_period(day, bad)


def test_period_49_exists_only_on_autumn_day() -> None:
    check_period(date(2025, 10, 26), 50)
    with pytest.raises(ValueError):
        check_period(date(2025, 10, 27), 49)


@given(st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2035, 1, 1)))
def test_period_of_instant_round_trips(naive: datetime) -> None:
    instant = naive.replace(tzinfo=UTC)
    day, period = settlement_period_of(instant)
    start = period_start_utc(day, period)
    assert start <= instant < start + timedelta(minutes=30)


def test_periods_started_today() -> None:
    day = date(2026, 7, 10)
    assert periods_started(day, datetime(2026, 7, 10, 8, 45, tzinfo=UTC)) == 19
    assert periods_started(day, datetime(2026, 7, 12, tzinfo=UTC)) == 48
    assert periods_started(day, datetime(2026, 7, 9, 22, tzinfo=UTC)) == 0


@pytest.mark.parametrize("text", ["2025-13-01", "2025-1-1", "20250101", "yesterday", ""])
def test_parse_date_rejects_malformed(text: str) -> None:
    with pytest.raises(ValueError, match="expected YYYY-MM-DD"):
        parse_date(text)


@pytest.mark.parametrize(
    ("day", "key", "first", "following"),
    [
        (date(2024, 2, 29), "2024-02", date(2024, 2, 1), date(2024, 3, 1)),
        (date(2024, 12, 31), "2024-12", date(2024, 12, 1), date(2025, 1, 1)),
        (date(2025, 1, 1), "2025-01", date(2025, 1, 1), date(2025, 2, 1)),
    ],
)
def test_month_key_and_bounds(day: date, key: str, first: date, following: date) -> None:
    assert year_month(day) == key
    assert month_bounds(day) == (first, following)
