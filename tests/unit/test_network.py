"""Tests for difficulty/subsidy step functions, time weighting and the known-difficulty rule."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curtailcoin.epochs import (
    Epoch,
    load_packaged_epochs,
    merge_mempool_epochs,
    parse_mempool_adjustments,
)
from curtailcoin.halvings import Halving, load_packaged_halvings
from curtailcoin.mining import btc_for_energy
from curtailcoin.network import NetworkTimeline, PeriodConditions
from curtailcoin.network_data import NetworkDataError

HALF_HOUR = timedelta(minutes=30)
EPOCHS = load_packaged_epochs()
HALVINGS = load_packaged_halvings()
BY_NUMBER = {e.epoch: e for e in EPOCHS}
TIMELINE = NetworkTimeline(EPOCHS, HALVINGS)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def start_of(number: int) -> datetime:
    start = BY_NUMBER[number].start_time_utc
    assert start is not None
    return start


def period(start: datetime, length: timedelta = HALF_HOUR) -> PeriodConditions:
    return TIMELINE.conditions(start, start + length)


def synthetic_payload(numbers: range, first: datetime) -> list[list[float]]:
    """A mempool-style body (newest first) for ``numbers``, two weeks apart from ``first``."""
    rows: list[list[float]] = []
    for i, number in enumerate(numbers):
        when = first + timedelta(days=14 * i, minutes=7 * i)
        existing = BY_NUMBER.get(number)
        difficulty = existing.difficulty if existing else 1.3e14 + number
        rows.append([int(when.timestamp()), number * 2016, difficulty, 1.01])
    return rows[::-1]


# -- packaged tables ---------------------------------------------------------------------------


def test_packaged_epochs() -> None:
    assert [e.epoch for e in EPOCHS] == list(range(474))
    unknown = [e for e in EPOCHS if e.start_time_utc is None]
    assert [e.epoch for e in unknown] == list(range(468, 474))
    assert {e.start_time_source for e in unknown} == {"unknown_use_live_api"}
    assert BY_NUMBER[436].difficulty == 110_451_907_374_649.52
    assert BY_NUMBER[436].start_time_utc == utc(2025, 1, 12, 20, 1, 51)
    assert BY_NUMBER[416].difficulty == pytest.approx(86_388_558_925_171.02, abs=0.01)
    assert BY_NUMBER[0].difficulty == 1.0
    assert BY_NUMBER[16].difficulty == pytest.approx(1.1828995343, rel=1e-10)  # file says 1.18
    assert BY_NUMBER[467].start_time_is_estimated
    assert TIMELINE.latest_known_start() == utc(2026, 3, 20, 21, 43, 53)


def test_packaged_halvings() -> None:
    assert [(h.height, h.subsidy_after_btc) for h in HALVINGS] == [
        (0, 50.0),
        (210_000, 25.0),
        (420_000, 12.5),
        (630_000, 6.25),
        (840_000, 3.125),
        (1_050_000, 1.5625),
    ]
    assert HALVINGS[4].time_utc == utc(2024, 4, 20, 0, 9, 27)
    assert HALVINGS[1].time_utc == utc(2012, 11, 28, 15, 24, 38)
    assert HALVINGS[5].time_utc is None
    assert HALVINGS[5].status == "future_estimate"


# -- one segment: exactly the epoch's values --------------------------------------------------


def epoch_number_at(t: datetime) -> int:
    """Independent linear scan: the last epoch whose known start is at or before ``t``."""
    return max(e.epoch for e in EPOCHS if e.start_time_utc is not None and e.start_time_utc <= t)


@pytest.mark.parametrize(
    ("start", "subsidy"),
    [
        (utc(2025, 1, 17, 12, 0), 3.125),
        (utc(2016, 1, 1, 0, 0), 25.0),
        (utc(2022, 6, 30, 23, 30), 6.25),
        (utc(2010, 7, 1, 0, 0), 50.0),
    ],
)
def test_single_segment_is_exact(start: datetime, subsidy: float) -> None:
    number = epoch_number_at(start)
    assert epoch_number_at(start + HALF_HOUR) == number  # no change inside
    conditions = period(start)
    assert conditions.pending_reason is None
    assert conditions.difficulty == BY_NUMBER[number].difficulty
    assert conditions.block_subsidy_btc == subsidy
    assert len(conditions.segments) == 1
    (segment,) = conditions.segments
    assert (segment.epoch, segment.weight) == (number, 1.0)
    assert (segment.start_utc, segment.end_utc) == (start, start + HALF_HOUR)


# -- time weighting ----------------------------------------------------------------------------


def test_halving_period_time_weighted() -> None:
    start = utc(2024, 4, 20, 0, 0)  # the period containing block 840,000 at 00:09:27Z
    conditions = period(start)
    before, after = 9 * 60 + 27, 30 * 60 - (9 * 60 + 27)
    assert [(s.block_subsidy_btc, s.weight) for s in conditions.segments] == [
        (6.25, before / 1800),
        (3.125, after / 1800),
    ]
    assert conditions.block_subsidy_btc == pytest.approx(
        (6.25 * before + 3.125 * after) / 1800, rel=1e-15
    )
    assert conditions.block_subsidy_btc == pytest.approx(4.109375, rel=1e-15)
    # The difficulty did not change (epoch 416 runs 2024-04-10 to 04-24): exactly its value.
    assert conditions.difficulty == BY_NUMBER[416].difficulty
    assert {s.epoch for s in conditions.segments} == {416}
    # The formula with the effective pair equals the time-weighted sum of the two pieces.
    assert conditions.difficulty is not None and conditions.block_subsidy_btc is not None
    btc = btc_for_energy(100.0, 100.0, 3050.0, conditions.difficulty, conditions.block_subsidy_btc)
    pieces = sum(
        btc_for_energy(100.0 * s.weight, 100.0, 3050.0, s.difficulty, s.block_subsidy_btc)
        for s in conditions.segments
    )
    assert btc == pytest.approx(pieces, rel=1e-14)


def test_difficulty_change_inside_period() -> None:
    change = start_of(436)  # 2025-01-12T20:01:51Z, mid-period
    start = utc(2025, 1, 12, 20, 0)
    assert start < change < start + HALF_HOUR
    conditions = period(start)
    w_old, w_new = 111 / 1800, 1689 / 1800  # 1 min 51 s at epoch 435, the rest at 436
    d_old, d_new = BY_NUMBER[435].difficulty, BY_NUMBER[436].difficulty
    assert [(s.epoch, s.difficulty, s.weight) for s in conditions.segments] == [
        (435, d_old, w_old),
        (436, d_new, w_new),
    ]
    assert conditions.segments[0].end_utc == change == conditions.segments[1].start_utc
    assert conditions.block_subsidy_btc == 3.125
    assert conditions.difficulty is not None
    hand = 1.0 / (w_old / d_old + w_new / d_new)  # harmonic time-weighted mean
    assert conditions.difficulty == pytest.approx(hand, rel=1e-15)
    assert d_old < conditions.difficulty < d_new
    btc = btc_for_energy(50.0, 13.5, 1323.0, conditions.difficulty, 3.125)
    hand_btc = btc_for_energy(50.0 * w_old, 13.5, 1323.0, d_old, 3.125) + btc_for_energy(
        50.0 * w_new, 13.5, 1323.0, d_new, 3.125
    )
    assert btc == pytest.approx(hand_btc, rel=1e-14)


def test_difficulty_and_halving_in_one_period() -> None:
    t0 = utc(2030, 1, 1)
    epochs = [
        Epoch(0, 0, t0, "test", 1e12),
        Epoch(1, 2016, t0 + timedelta(minutes=10), "test", 2e12),
        Epoch(2, 4032, t0 + timedelta(days=14), "test", 3e12),
    ]
    halvings = [
        Halving(0, t0 - timedelta(days=1), 50.0, "genesis"),
        Halving(3000, t0 + timedelta(minutes=20), 25.0, "historical"),
    ]
    conditions = NetworkTimeline(epochs, halvings).conditions(t0, t0 + HALF_HOUR)
    assert [(s.difficulty, s.block_subsidy_btc) for s in conditions.segments] == [
        (1e12, 50.0),
        (2e12, 50.0),
        (2e12, 25.0),
    ]
    assert conditions.block_subsidy_btc == pytest.approx(125 / 3, rel=1e-15)
    ratio = (50 / 1e12 + 50 / 2e12 + 25 / 2e12) / 3
    assert conditions.difficulty is not None and conditions.block_subsidy_btc is not None
    assert conditions.block_subsidy_btc / conditions.difficulty == pytest.approx(ratio, rel=1e-15)


def test_periods_on_boundaries() -> None:
    change = start_of(436)
    after = TIMELINE.conditions(change, change + HALF_HOUR)
    assert [s.epoch for s in after.segments] == [436]
    assert after.difficulty == BY_NUMBER[436].difficulty
    before = TIMELINE.conditions(change - HALF_HOUR, change)
    assert [s.epoch for s in before.segments] == [435]
    assert before.difficulty == BY_NUMBER[435].difficulty

    halving = utc(2024, 4, 20, 0, 9, 27)
    assert TIMELINE.conditions(halving, halving + HALF_HOUR).block_subsidy_btc == 3.125
    assert TIMELINE.conditions(halving - HALF_HOUR, halving).block_subsidy_btc == 6.25
    assert len(TIMELINE.conditions(halving - HALF_HOUR, halving).segments) == 1


def test_other_time_zones_are_converted() -> None:
    london = ZoneInfo("Europe/London")
    local = datetime(2024, 4, 20, 1, 0, tzinfo=london)  # BST: 00:00Z
    assert TIMELINE.conditions(local, local + HALF_HOUR) == period(utc(2024, 4, 20, 0, 0))


def test_bad_periods_raise() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TIMELINE.conditions(datetime(2025, 1, 1), datetime(2025, 1, 1, 0, 30))
    with pytest.raises(ValueError, match="not after its start"):
        TIMELINE.conditions(utc(2025, 1, 1), utc(2025, 1, 1))


def test_before_genesis_is_pending() -> None:
    conditions = period(utc(2009, 1, 1))
    assert conditions.is_pending
    assert conditions.pending_reason is not None
    assert "before the first epoch" in conditions.pending_reason
    assert not conditions.needs_refresh


# -- the known-difficulty rule ----------------------------------------------------------------


def test_last_six_epochs_unknown_make_periods_pending() -> None:
    conditions = period(utc(2026, 3, 21, 0, 0))
    assert conditions.is_pending
    assert (conditions.difficulty, conditions.block_subsidy_btc, conditions.segments) == (
        None,
        None,
        (),
    )
    assert conditions.needs_refresh
    reason = conditions.pending_reason
    assert reason is not None and "\n" not in reason
    assert "2026-03-21T00:00:00Z" in reason  # the instant
    assert "2026-03-20T21:43:53Z" in reason  # the latest known epoch start
    assert "epoch 468" in reason


def test_period_straddling_the_last_known_start_is_pending() -> None:
    last = start_of(467)  # epoch 468 exists with no start time
    straddling = period(utc(2026, 3, 20, 21, 30))
    assert straddling.is_pending and straddling.needs_refresh
    assert straddling.pending_reason is not None
    assert "at 2026-03-20T21:43:53Z" in straddling.pending_reason
    # Up to the start of epoch 467 everything is known (epoch 467's start is known).
    assert period(utc(2026, 3, 20, 21, 0)).difficulty == BY_NUMBER[466].difficulty
    assert TIMELINE.conditions(last - HALF_HOUR, last).difficulty == BY_NUMBER[466].difficulty
    assert not TIMELINE.needs_refresh(last)
    assert TIMELINE.needs_refresh(last + timedelta(seconds=1))
    assert not TIMELINE.needs_refresh(utc(2020, 1, 1))


def test_no_later_epoch_allows_21_days() -> None:
    timeline = NetworkTimeline([e for e in EPOCHS if e.epoch <= 467], HALVINGS)
    last = start_of(467)
    limit = last + timedelta(days=21)  # 2026-04-10T21:43:53Z
    assert timeline.conditions(utc(2026, 4, 5), utc(2026, 4, 5, 0, 30)).difficulty == (
        BY_NUMBER[467].difficulty
    )
    ending_at_limit = timeline.conditions(limit - HALF_HOUR, limit)
    assert ending_at_limit.difficulty == BY_NUMBER[467].difficulty
    beyond = timeline.conditions(limit - timedelta(minutes=10), limit + timedelta(minutes=20))
    assert beyond.is_pending and beyond.needs_refresh
    assert beyond.pending_reason is not None
    assert "after 2026-04-10T21:43:53Z" in beyond.pending_reason
    assert "2026-03-20T21:43:53Z" in beyond.pending_reason
    assert not timeline.needs_refresh(limit)
    assert timeline.needs_refresh(limit + timedelta(seconds=1))


def test_missing_epoch_in_the_middle_is_pending() -> None:
    timeline = NetworkTimeline([e for e in EPOCHS if e.epoch != 300], HALVINGS)
    inside_299 = start_of(299) + timedelta(days=1)
    conditions = timeline.conditions(inside_299, inside_299 + HALF_HOUR)
    assert conditions.is_pending and conditions.needs_refresh
    assert conditions.pending_reason is not None
    assert "epoch 300 is missing" in conditions.pending_reason
    assert timeline.needs_refresh(inside_299 + HALF_HOUR)
    assert not timeline.needs_refresh(start_of(299))


def test_merge_makes_pending_periods_known() -> None:
    first = start_of(467) + timedelta(days=14, hours=2)
    payload = synthetic_payload(range(468, 474), first)
    merged = TIMELINE.with_mempool_adjustments(parse_mempool_adjustments(payload))
    pending_before = period(utc(2026, 3, 21, 0, 0))
    assert pending_before.is_pending
    known = merged.conditions(utc(2026, 3, 21, 0, 0), utc(2026, 3, 21, 0, 30))
    assert known.pending_reason is None
    assert known.difficulty == BY_NUMBER[467].difficulty
    start_473 = merged.latest_known_start()
    assert start_473 == first + timedelta(days=14 * 5, minutes=35)
    later = merged.conditions(start_473 + timedelta(days=3), start_473 + timedelta(days=3, hours=1))
    assert later.difficulty == BY_NUMBER[473].difficulty
    assert later.block_subsidy_btc == 3.125
    assert not merged.needs_refresh(start_473 + timedelta(days=21))
    assert merged.needs_refresh(start_473 + timedelta(days=22))
    sources = {e.epoch: e.start_time_source for e in merged.epochs}
    assert all(sources[n] == "mempool.space" for n in range(468, 474))


# -- mempool.space -----------------------------------------------------------------------------


def test_parse_mempool_adjustments() -> None:
    payload = [
        [1703311464, 822528, 72006146478567.1, 1.06983],
        [1702124096, 820512, 67305906902031.39, 1.0],
        [1231006505, 0, 1, 0],  # mempool's genesis row: integer difficulty, ratio 0
    ]
    parsed = parse_mempool_adjustments(payload)
    assert parsed == [
        (utc(2009, 1, 3, 18, 15, 5), 0, 1.0),
        (datetime.fromtimestamp(1702124096, UTC), 820512, 67305906902031.39),
        (datetime.fromtimestamp(1703311464, UTC), 822528, 72006146478567.1),
    ]
    assert parse_mempool_adjustments([]) == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"data": []}, "expected a JSON list"),
        ("[]", "expected a JSON list"),
        ([[1703311464, 822528, 7.2e13]], "expected \\[timestamp"),
        ([[1703311464, 822528, 7.2e13, 1.0, 5]], "expected \\[timestamp"),
        ([None], "expected \\[timestamp"),
        ([[1703311464, 822528, "7.2e13", 1.0]], "difficulty is not a number"),
        ([[True, 822528, 7.2e13, 1.0]], "timestamp is not a number"),
        ([[1703311464.5, 822528, 7.2e13, 1.0]], "timestamp is not a non-negative integer"),
        ([[1703311464, -2016, 7.2e13, 1.0]], "height is not a non-negative integer"),
        ([[1703311464, 822529, 7.2e13, 1.0]], "not a multiple of 2016"),
        ([[1703311464, 822528, -7.2e13, 1.0]], "out of range"),
        ([[1703311464, 822528, math.nan, 1.0]], "not finite"),
        ([[1703311464, 822528, 7.2e13, math.inf]], "not finite"),
        ([[1, 2016, 1.0, 1.0], [2, 2016, 1.0, 1.0]], "appears twice"),
        ([[10**20, 2016, 1.0, 1.0]], "out of range"),
    ],
)
def test_parse_mempool_rejects_malformed(payload: object, message: str) -> None:
    with pytest.raises(NetworkDataError, match=message) as info:
        parse_mempool_adjustments(payload)
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


def test_merge_rules() -> None:
    adjustments = [
        (start_of(436) + timedelta(minutes=5), 436 * 2016, BY_NUMBER[436].difficulty),  # exact
        (start_of(437) + timedelta(minutes=5), 437 * 2016, BY_NUMBER[437].difficulty),  # estimated
        (utc(2026, 4, 3), 468 * 2016, BY_NUMBER[468].difficulty * (1 + 1e-12)),  # unknown
        (utc(2026, 9, 1), 480 * 2016, 1.5e14),  # new
    ]
    merged = {e.epoch: e for e in merge_mempool_epochs(EPOCHS, adjustments)}
    assert merged[436] == BY_NUMBER[436]  # a known exact time is never replaced
    assert merged[437].start_time_utc == start_of(437) + timedelta(minutes=5)
    assert merged[437].start_time_source == "mempool.space"
    assert merged[437].difficulty == BY_NUMBER[437].difficulty
    assert merged[468].start_time_utc == utc(2026, 4, 3)
    assert merged[468].start_time_source == "mempool.space"
    assert merged[480] == Epoch(480, 480 * 2016, utc(2026, 9, 1), "mempool.space", 1.5e14)
    assert len(merged) == len(EPOCHS) + 1
    assert BY_NUMBER[437].start_time_source.startswith("estimated")  # inputs untouched


def test_merge_rejects_conflicting_difficulty() -> None:
    bad = [(start_of(436), 436 * 2016, BY_NUMBER[436].difficulty * (1 + 1e-8))]
    with pytest.raises(NetworkDataError, match="disagrees"):
        merge_mempool_epochs(EPOCHS, bad)


def test_timeline_rejects_inconsistent_epochs() -> None:
    swapped = [
        *EPOCHS[:10],
        Epoch(10, 10 * 2016, start_of(8), "test", 1.0),
        *EPOCHS[11:],
    ]
    with pytest.raises(NetworkDataError, match="not after epoch"):
        NetworkTimeline(swapped, HALVINGS)
    with pytest.raises(NetworkDataError, match="expected 20160"):
        NetworkTimeline([*EPOCHS[:10], Epoch(10, 20000, None, "x", 1.0)], HALVINGS)
    with pytest.raises(NetworkDataError, match="appears twice"):
        NetworkTimeline([*EPOCHS, EPOCHS[5]], HALVINGS)


# -- the ~2028 halving ---------------------------------------------------------------------------


def test_period_in_2028_is_pending() -> None:
    conditions = period(utc(2028, 4, 1))
    assert conditions.is_pending and conditions.needs_refresh
    assert conditions.pending_reason is not None
    assert "2028-04-01T00:00:00Z" in conditions.pending_reason
    assert "latest known epoch start" in conditions.pending_reason


def _timeline_to_2028(last_epoch: int) -> NetworkTimeline:
    first = start_of(467) + timedelta(days=14)
    payload = synthetic_payload(range(468, last_epoch + 1), first)
    return TIMELINE.with_mempool_adjustments(parse_mempool_adjustments(payload))


def test_unknown_halving_time_makes_its_epoch_pending() -> None:
    timeline = _timeline_to_2028(521)
    epochs = {e.epoch: e for e in timeline.epochs}
    start_519, start_520 = epochs[519].start_time_utc, epochs[520].start_time_utc
    assert start_519 is not None and start_520 is not None
    # Epoch 519 ends below height 1,050,000: the subsidy is surely still 3.125.
    before = timeline.conditions(
        start_519 + timedelta(days=1), start_519 + timedelta(days=1, hours=1)
    )
    assert before.block_subsidy_btc == 3.125
    assert before.difficulty == epochs[519].difficulty
    # Epoch 520 (heights 1,048,320-1,050,335) contains the halving, whose time is unknown.
    inside = timeline.conditions(
        start_520 + timedelta(days=1), start_520 + timedelta(days=1, hours=1)
    )
    assert inside.is_pending
    assert inside.pending_reason is not None
    assert "halving at height 1050000" in inside.pending_reason
    assert not inside.needs_refresh  # epoch data cannot tell when block 1,050,000 came


def test_unknown_halving_near_the_end_of_the_table_needs_refresh() -> None:
    timeline = _timeline_to_2028(519)  # the last epoch; the next one may hold the halving
    start_519 = timeline.latest_known_start()
    assert start_519 is not None
    conditions = timeline.conditions(start_519 + timedelta(days=1), start_519 + timedelta(days=2))
    assert conditions.is_pending and conditions.needs_refresh
    assert conditions.pending_reason is not None
    assert "or the next one" in conditions.pending_reason
    # One epoch earlier (518, followed by the known 519) is fine.
    start_518 = start_519 - timedelta(days=14, minutes=7)
    assert timeline.conditions(start_518, start_518 + HALF_HOUR).block_subsidy_btc == 3.125


# -- properties --------------------------------------------------------------------------------

_GENESIS = utc(2009, 1, 3, 18, 15, 5)
_LAST_KNOWN = utc(2026, 3, 20, 21, 43, 53)
_SPAN = int((_LAST_KNOWN - _GENESIS).total_seconds())


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=_SPAN - 1),
    st.integers(min_value=1, max_value=40 * 86400),
)
def test_effective_values_match_segments(offset_s: int, length_s: int) -> None:
    start = _GENESIS + timedelta(seconds=offset_s)
    end = min(start + timedelta(seconds=length_s), _LAST_KNOWN)
    conditions = TIMELINE.conditions(start, end)
    assert conditions.pending_reason is None
    assert conditions.difficulty is not None and conditions.block_subsidy_btc is not None
    segments = conditions.segments
    assert segments[0].start_utc == start and segments[-1].end_utc == end
    assert all(a.end_utc == b.start_utc for a, b in itertools.pairwise(segments))
    assert math.fsum(s.weight for s in segments) == pytest.approx(1.0, rel=1e-12)
    ratio = math.fsum(s.weight * s.block_subsidy_btc / s.difficulty for s in segments)
    assert conditions.block_subsidy_btc / conditions.difficulty == pytest.approx(ratio, rel=1e-12)
    difficulties = [s.difficulty for s in segments]
    subsidies = [s.block_subsidy_btc for s in segments]
    slack = 1 + 1e-12
    assert min(difficulties) / slack <= conditions.difficulty <= max(difficulties) * slack
    assert min(subsidies) / slack <= conditions.block_subsidy_btc <= max(subsidies) * slack
    if len(set(difficulties)) == 1 and len(set(subsidies)) == 1:
        assert (conditions.difficulty, conditions.block_subsidy_btc) == (
            difficulties[0],
            subsidies[0],
        )
