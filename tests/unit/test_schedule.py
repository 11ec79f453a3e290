"""The worker's schedule in Europe/London time, on ordinary days and both 2025 clock changes.

Pure: no database, no network. The procrastinate registration is checked by running its own
periodic deferrer logic (``PeriodicDeferrer.get_previous_tasks``) over whole days.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from typing import Any

import pytest
from procrastinate.periodic import PeriodicDeferrer

from curtailcoin.jobs.app import create_app
from curtailcoin.jobs.local import LocalScheduler
from curtailcoin.jobs.schedule import (
    DAILY_RECONCILIATION,
    INGEST_TODAY,
    LONDON,
    REFRESH_REFERENCE,
    SCHEDULE,
    UPDATE_PRICES,
    WEEKLY_RECONCILIATION,
    ScheduleEntry,
    dates_for_today_tick,
    due_entries,
    is_due,
    next_run,
    run_instant,
    runs_between,
    utc_crons,
)
from curtailcoin.jobs.settings import WorkerSettings

SPRING = date(2025, 3, 30)  # 01:00 GMT -> 02:00 BST: a 23-hour day
AUTUMN = date(2025, 10, 26)  # 02:00 BST -> 01:00 GMT: a 25-hour day


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def london_day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LONDON).astimezone(UTC)
    return start, end


# --- the pure functions ---------------------------------------------------------------------


def test_utc_crons_cover_both_london_offsets() -> None:
    assert utc_crons(DAILY_RECONCILIATION) == ["0 1 * * *", "0 2 * * *"]
    assert utc_crons(WEEKLY_RECONCILIATION) == ["0 2 * * *", "0 3 * * *"]
    assert utc_crons(REFRESH_REFERENCE) == ["30 0 * * *", "30 23 * * *"]
    assert utc_crons(INGEST_TODAY) == ["*/15 * * * *"]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 3, 29), utc(2025, 3, 29, 2)),  # GMT
        (SPRING, utc(2025, 3, 30, 1)),  # 02:00 BST exists: the first instant of BST
        (date(2025, 3, 31), utc(2025, 3, 31, 1)),  # BST
        (date(2025, 10, 25), utc(2025, 10, 25, 1)),  # BST
        (AUTUMN, utc(2025, 10, 26, 2)),  # 02:00 GMT (02:00 BST never shows on the clock)
        (date(2025, 10, 27), utc(2025, 10, 27, 2)),  # GMT
    ],
)
def test_daily_reconciliation_runs_at_0200_london(day: date, expected: datetime) -> None:
    assert run_instant(DAILY_RECONCILIATION, day) == expected
    assert expected.astimezone(LONDON).strftime("%H:%M") == "02:00"
    assert is_due(DAILY_RECONCILIATION, expected)
    # the other candidate UTC hour of the same London day is not a run
    for other in (expected - timedelta(hours=1), expected + timedelta(hours=1)):
        assert not is_due(DAILY_RECONCILIATION, other)


@pytest.mark.parametrize("day", [SPRING, AUTUMN, date(2025, 1, 15), date(2025, 7, 15)])
def test_each_wall_time_entry_is_due_exactly_once_per_london_day(day: date) -> None:
    start, end = london_day_bounds(day)
    for entry in (REFRESH_REFERENCE, UPDATE_PRICES, DAILY_RECONCILIATION):
        runs = runs_between(entry, start - timedelta(microseconds=1), end - timedelta(seconds=1))
        assert len(runs) == 1, entry.name
        assert runs[0].astimezone(LONDON).date() == day
        assert runs[0].astimezone(LONDON).time() == entry.at


def test_quarter_hour_ticks_follow_the_length_of_the_london_day() -> None:
    for day, hours in ((SPRING, 23), (AUTUMN, 25), (date(2025, 6, 1), 24)):
        start, end = london_day_bounds(day)
        ticks = runs_between(INGEST_TODAY, start - timedelta(seconds=1), end - timedelta(seconds=1))
        assert len(ticks) == hours * 4
        assert ticks[0] == start
        assert all(b - a == timedelta(minutes=15) for a, b in pairwise(ticks))


def test_weekly_reconciliation_on_sundays_across_both_clock_changes() -> None:
    # Both clock changes of 2025 fall on a Sunday.
    assert run_instant(WEEKLY_RECONCILIATION, SPRING) == utc(2025, 3, 30, 2)  # 03:00 BST
    assert run_instant(WEEKLY_RECONCILIATION, AUTUMN) == utc(2025, 10, 26, 3)  # 03:00 GMT
    assert run_instant(WEEKLY_RECONCILIATION, date(2025, 3, 31)) is None
    assert next_run(WEEKLY_RECONCILIATION, utc(2025, 3, 30, 2)) == utc(2025, 4, 6, 2)
    assert next_run(WEEKLY_RECONCILIATION, utc(2025, 10, 20)) == utc(2025, 10, 26, 3)
    month = runs_between(WEEKLY_RECONCILIATION, utc(2025, 10, 1), utc(2025, 11, 1))
    assert [r.astimezone(LONDON).day for r in month] == [5, 12, 19, 26]


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (utc(2025, 3, 29, 23, 59), utc(2025, 3, 30, 1)),
        (utc(2025, 3, 30, 1), utc(2025, 3, 31, 1)),
        (utc(2025, 3, 29, 2), utc(2025, 3, 30, 1)),  # only 23 hours later
        (utc(2025, 10, 25, 1), utc(2025, 10, 26, 2)),  # 25 hours later
        (utc(2025, 10, 26, 1, 30), utc(2025, 10, 26, 2)),
        (utc(2025, 10, 26, 2), utc(2025, 10, 27, 2)),
    ],
)
def test_next_daily_run_across_clock_changes(after: datetime, expected: datetime) -> None:
    assert next_run(DAILY_RECONCILIATION, after) == expected


def test_missing_and_repeated_wall_times_run_once() -> None:
    at_0130 = ScheduleEntry("x", "test entry", at=time(1, 30))
    # spring: 01:30 does not exist; the run happens at 01:30 UTC = 02:30 BST
    assert run_instant(at_0130, SPRING) == utc(2025, 3, 30, 1, 30)
    assert is_due(at_0130, utc(2025, 3, 30, 1, 30))
    assert not is_due(at_0130, utc(2025, 3, 30, 0, 30))
    # autumn: 01:30 happens twice; only the first (BST, 00:30 UTC) is a run
    assert run_instant(at_0130, AUTUMN) == utc(2025, 10, 26, 0, 30)
    assert is_due(at_0130, utc(2025, 10, 26, 0, 30))
    assert not is_due(at_0130, utc(2025, 10, 26, 1, 30))
    for day in (SPRING, AUTUMN):
        start, end = london_day_bounds(day)
        assert len(runs_between(at_0130, start, end)) == 1


def test_next_run_of_quarter_hours() -> None:
    assert next_run(INGEST_TODAY, utc(2025, 3, 30, 0, 59, 59)) == utc(2025, 3, 30, 1)
    assert next_run(INGEST_TODAY, utc(2025, 3, 30, 1)) == utc(2025, 3, 30, 1, 15)
    assert is_due(INGEST_TODAY, utc(2025, 10, 26, 1, 45))
    assert not is_due(INGEST_TODAY, utc(2025, 10, 26, 1, 46))
    assert not is_due(INGEST_TODAY, utc(2025, 10, 26, 1, 45, 1))


def test_today_tick_adds_yesterday_in_the_first_local_hour() -> None:
    # 23:15 UTC on 25 Oct is 00:15 BST on the 26th
    assert dates_for_today_tick(utc(2025, 10, 25, 23, 15)) == [date(2025, 10, 25), AUTUMN]
    # 00:15 UTC on the 26th is 01:15 BST: today only
    assert dates_for_today_tick(utc(2025, 10, 26, 0, 15)) == [AUTUMN]
    # 00:15 UTC on 30 March is 00:15 GMT
    assert dates_for_today_tick(utc(2025, 3, 30, 0, 15)) == [date(2025, 3, 29), SPRING]
    assert dates_for_today_tick(utc(2025, 3, 30, 1, 0)) == [SPRING]  # 02:00 BST


def test_entry_validation() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ScheduleEntry("bad", "both", every_minutes=15, at=time(2))
    with pytest.raises(ValueError, match="divide 60"):
        ScheduleEntry("bad", "odd", every_minutes=7)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_due(DAILY_RECONCILIATION, datetime(2025, 1, 1, 2))
    assert DAILY_RECONCILIATION.when == "daily 02:00 Europe/London"
    assert WEEKLY_RECONCILIATION.when == "sun 03:00 Europe/London"


# --- procrastinate's own deferrer over whole days ---------------------------------------------


@cache  # a pure function of the day, asked by two tests per day: walked once (~1 s a day)
def deferred_over(day: date) -> tuple[tuple[str, datetime], ...]:
    """Every (task, scheduled instant) procrastinate's deferrer produces during a London day."""
    app = create_app("postgresql://unused@127.0.0.1/unused", worker_settings=WorkerSettings())
    deferrer = PeriodicDeferrer(registry=app.periodic_registry, max_delay=600)
    start, end = london_day_bounds(day)
    out: list[tuple[str, datetime]] = []
    at = start.timestamp()
    while at < end.timestamp():
        for periodic_task, timestamp in deferrer.get_previous_tasks(at=at):
            out.append((periodic_task.task.name, datetime.fromtimestamp(timestamp, UTC)))
        at += 60
    return tuple((name, instant) for name, instant in out if start <= instant < end)


@pytest.mark.parametrize("day", [SPRING, AUTUMN])
def test_procrastinate_periodic_registration_runs_each_job_once_on_clock_change_days(
    day: date,
) -> None:
    deferred = deferred_over(day)
    runs = Counter(name for name, instant in deferred if is_due(_entry(name), instant))
    hours = 23 if day == SPRING else 25
    assert runs == {
        "ingest_today": hours * 4,
        "refresh_reference": 1,
        "update_prices": 1,
        "daily_reconciliation": 1,
        "weekly_reconciliation": 1,  # both days are Sundays
    }
    due_daily = [i for n, i in deferred if n == "daily_reconciliation" and is_due(_entry(n), i)]
    assert [i.astimezone(LONDON).strftime("%H:%M %Z") for i in due_daily] == [
        "02:00 BST" if day == SPRING else "02:00 GMT"
    ]
    # each wall-time job is deferred at both candidate UTC times; one of them is a no-op
    assert Counter(n for n, _ in deferred)["daily_reconciliation"] == 2


def _entry(name: str) -> ScheduleEntry:
    return next(e for e in SCHEDULE if e.name == name)


# --- the in-process scheduler (SQLite path) on the same schedule -------------------------------


@pytest.mark.parametrize("day", [SPRING, AUTUMN])
async def test_local_scheduler_runs_the_same_schedule(day: date, tmp_path: Any) -> None:
    from curtailcoin.config import Settings

    calls: list[tuple[str, datetime]] = []

    def recorder(name: str) -> Any:
        async def run(instant: datetime) -> None:
            calls.append((name, instant))

        return run

    scheduler = LocalScheduler(
        Settings(database_url="sqlite://", checkpoint_dir=tmp_path),
        WorkerSettings(),
        runners={e.name: recorder(e.name) for e in SCHEDULE},
    )
    start, end = london_day_bounds(day)
    # step through the day in irregular chunks, as a sleeping loop would
    cursor = start - timedelta(seconds=1)
    step = timedelta(minutes=7, seconds=13)
    while cursor < end - timedelta(seconds=1):
        nxt = min(cursor + step, end - timedelta(seconds=1))
        await scheduler.run_due(cursor, nxt)
        cursor = nxt
    expected = [(e.name, i) for i, e in due_entries(SCHEDULE, start - timedelta(seconds=1), cursor)]
    assert calls == expected
    deferred = [(n, i) for n, i in deferred_over(day) if is_due(_entry(n), i)]
    assert sorted(calls) == sorted(deferred)  # the same runs as the PostgreSQL path
