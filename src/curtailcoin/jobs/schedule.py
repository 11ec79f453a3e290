"""The worker's schedule in Europe/London wall-clock time, as pure functions.

procrastinate's periodic cron (and croniter) counts in UTC. A job "at 02:00 London" is therefore
registered under every UTC time that 02:00 London can be (01:00 UTC in summer, 02:00 UTC in
winter: :func:`utc_crons`), and the job itself runs only when :func:`is_due` says the scheduled
UTC instant *is* the day's run (the other candidate is a no-op). The in-process scheduler for
SQLite uses :func:`next_run` over the same entries, so both paths follow the same clock.

Clock changes (Europe/London; a wall time is read with ``fold=0``, PEP 495):

* spring (e.g. 2025-03-30, 01:00 GMT → 02:00 BST): a wall time in the missing hour (01:xx)
  runs at the same UTC instant as 01:xx GMT, i.e. at 02:xx BST, once;
* autumn (e.g. 2025-10-26, 02:00 BST → 01:00 GMT): a wall time in the repeated hour (01:xx)
  runs at its first occurrence (BST) only.

02:00 itself exists exactly once on both days (01:00 UTC and 02:00 UTC respectively).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class ScheduleEntry:
    """One scheduled job: every ``every_minutes`` or daily/weekly at a London wall time."""

    name: str
    description: str
    every_minutes: int | None = None
    at: time | None = None
    weekday: int | None = None  # 0 = Monday … 6 = Sunday; None = every day

    def __post_init__(self) -> None:
        if (self.every_minutes is None) == (self.at is None):
            raise ValueError(f"schedule entry {self.name!r}: give exactly one of every/at")
        if self.every_minutes is not None and (
            self.every_minutes <= 0 or 60 % self.every_minutes != 0
        ):
            raise ValueError(f"schedule entry {self.name!r}: every_minutes must divide 60")
        if self.weekday is not None and not 0 <= self.weekday <= 6:
            raise ValueError(f"schedule entry {self.name!r}: weekday must be 0..6")
        if self.at is not None and (self.at.second or self.at.microsecond or self.at.tzinfo):
            raise ValueError(f"schedule entry {self.name!r}: at must be a naive HH:MM")

    @property
    def when(self) -> str:
        """Human-readable schedule, e.g. ``every 15 min`` or ``sun 03:00 Europe/London``."""
        if self.every_minutes is not None:
            return f"every {self.every_minutes} min"
        assert self.at is not None
        day = "daily" if self.weekday is None else WEEKDAYS[self.weekday]
        return f"{day} {self.at.strftime('%H:%M')} Europe/London"


INGEST_TODAY = ScheduleEntry(
    "ingest_today", "today's published periods (and yesterday's just after midnight)", 15
)
REFRESH_REFERENCE = ScheduleEntry(
    "refresh_reference", "BM unit registry and difficulty epochs", at=time(0, 30)
)
UPDATE_PRICES = ScheduleEntry("update_prices", "BTC prices", at=time(0, 45))
DAILY_RECONCILIATION = ScheduleEntry(
    "daily_reconciliation",
    "daily check: last 2 days, plus a 7-day source look-back",
    at=time(2, 0),
)
WEEKLY_RECONCILIATION = ScheduleEntry(
    "weekly_reconciliation", "unified reconciliation", at=time(3, 0), weekday=6
)

SCHEDULE: tuple[ScheduleEntry, ...] = (
    INGEST_TODAY,
    REFRESH_REFERENCE,
    UPDATE_PRICES,
    DAILY_RECONCILIATION,
    WEEKLY_RECONCILIATION,
)


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    return instant.astimezone(UTC)


def london_offsets(years: Iterable[int] = range(2000, 2040)) -> list[timedelta]:
    """Every UTC offset Europe/London takes (GMT and BST), sorted."""
    offsets: set[timedelta] = set()
    for year in years:
        for month in (1, 7):
            offset = datetime(year, month, 1, 12, tzinfo=LONDON).utcoffset()
            assert offset is not None
            offsets.add(offset)
    return sorted(offsets)


def run_instant(entry: ScheduleEntry, day: date) -> datetime | None:
    """The UTC instant of a wall-time entry's run on a London date (None if not that weekday)."""
    if entry.at is None:
        raise ValueError(f"schedule entry {entry.name!r} has no wall time")
    if entry.weekday is not None and day.weekday() != entry.weekday:
        return None
    return datetime.combine(day, entry.at, tzinfo=LONDON).astimezone(UTC)


def is_due(entry: ScheduleEntry, instant: datetime) -> bool:
    """Whether the scheduled UTC ``instant`` is a run of ``entry`` (exactly once per run)."""
    instant = _utc(instant)
    if instant.second or instant.microsecond:
        return False
    if entry.every_minutes is not None:
        return instant.minute % entry.every_minutes == 0
    return run_instant(entry, instant.astimezone(LONDON).date()) == instant


def utc_crons(entry: ScheduleEntry) -> list[str]:
    """UTC cron expressions covering every instant at which ``entry`` can be due.

    A wall-time entry gets one cron per London UTC offset (two: GMT and BST); the day of week
    is left to :func:`is_due`, because the UTC day may differ from the London day.
    """
    if entry.every_minutes is not None:
        if entry.every_minutes == 1:
            return ["* * * * *"]
        return [f"*/{entry.every_minutes} * * * *"]
    assert entry.at is not None
    crons = []
    for offset in london_offsets():
        wall = datetime.combine(date(2000, 1, 3), entry.at, tzinfo=UTC) - offset
        crons.append(f"{wall.minute} {wall.hour} * * *")
    return sorted(set(crons))


def next_run(entry: ScheduleEntry, after: datetime) -> datetime:
    """The first run of ``entry`` strictly after ``after`` (a UTC instant)."""
    after = _utc(after)
    if entry.every_minutes is not None:
        step = timedelta(minutes=entry.every_minutes)
        floor = after.replace(second=0, microsecond=0)
        floor -= timedelta(minutes=floor.minute % entry.every_minutes)
        return floor + step
    day = after.astimezone(LONDON).date() - timedelta(days=1)
    for _ in range(16):
        instant = run_instant(entry, day)
        if instant is not None and instant > after:
            return instant
        day += timedelta(days=1)
    raise AssertionError(f"no run of {entry.name!r} within two weeks of {after}")  # unreachable


def runs_between(entry: ScheduleEntry, start: datetime, end: datetime) -> list[datetime]:
    """Every run of ``entry`` in ``(start, end]`` (UTC instants), in order."""
    out: list[datetime] = []
    instant = next_run(entry, start)
    end = _utc(end)
    while instant <= end:
        out.append(instant)
        instant = next_run(entry, instant)
    return out


def due_entries(
    entries: Sequence[ScheduleEntry], start: datetime, end: datetime
) -> list[tuple[datetime, ScheduleEntry]]:
    """Every (run instant, entry) in ``(start, end]``, ordered by instant then schedule order."""
    runs = [
        (instant, index)
        for index, e in enumerate(entries)
        for instant in runs_between(e, start, end)
    ]
    return [(instant, entries[index]) for instant, index in sorted(runs)]


def dates_for_today_tick(instant: datetime) -> list[date]:
    """Settlement dates the 15-minute tick at ``instant`` should ingest.

    Today's date (Europe/London); during the first hour of the day also yesterday, whose last
    periods were published after the previous day's final ticks.
    """
    local = _utc(instant).astimezone(LONDON)
    today = local.date()
    if local.hour == 0:
        return [today - timedelta(days=1), today]
    return [today]
