"""The GB settlement calendar: a Europe/London day split into 46, 48 or 50 half-hour periods.

Everything here works on UTC instants and ``zoneinfo``; no naive local times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
PERIOD = timedelta(minutes=30)

FIRST_SETTLEMENT_DATE = date(2001, 3, 27)
"""NETA go-live: the first settlement date of the GB balancing mechanism, so the earliest date
Elexon can have settlement data for. Every date input (CLI, API) is checked against it."""


def day_start_utc(settlement_date: date) -> datetime:
    """Local midnight of the settlement date, as a UTC instant."""
    return datetime.combine(settlement_date, time(0), tzinfo=LONDON).astimezone(UTC)


def year_month(day: date) -> str:
    """The ``YYYY-MM`` key of the date's month (the monthly summaries' key)."""
    return f"{day.year:04d}-{day.month:02d}"


def month_bounds(day: date) -> tuple[date, date]:
    """First date of the date's month and first date of the next month."""
    first = day.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1)


@lru_cache(maxsize=8192)
def periods_in_day(settlement_date: date) -> int:
    """46 on the spring clock change, 50 on the autumn one, 48 otherwise (cached: a year's
    completeness asks for every date of it)."""
    start = day_start_utc(settlement_date)
    end = day_start_utc(settlement_date + timedelta(days=1))
    return int((end - start) / PERIOD)


def check_period(settlement_date: date, period: int) -> None:
    """Raise ``ValueError`` naming the allowed range when the period does not exist that day."""
    count = periods_in_day(settlement_date)
    if not 1 <= period <= count:
        raise ValueError(
            f"settlement period {period} does not exist on {settlement_date.isoformat()}: "
            f"allowed 1..{count}"
        )


def period_start_utc(settlement_date: date, period: int) -> datetime:
    """Start of settlement period ``period`` (1-based) as a UTC instant."""
    check_period(settlement_date, period)
    return day_start_utc(settlement_date) + (period - 1) * PERIOD


def period_end_utc(settlement_date: date, period: int) -> datetime:
    return period_start_utc(settlement_date, period) + PERIOD


def settlement_period_of(instant: datetime) -> tuple[date, int]:
    """The (settlement date, period) containing a UTC instant."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    local_date = instant.astimezone(LONDON).date()
    offset = instant - day_start_utc(local_date)
    return local_date, int(offset / PERIOD) + 1


def local_hour_label(settlement_date: date, period: int) -> str:
    """Local clock hour of a period's start, e.g. ``"01:00"`` or ``"01:00 BST"`` / ``"01:00 GMT"``.

    On the autumn clock change the hour 01:00 happens twice; the zone name tells them apart.
    """
    local = period_start_utc(settlement_date, period).astimezone(LONDON)
    hour = f"{local.hour:02d}:00"
    if periods_in_day(settlement_date) == 50:
        return f"{hour} {local.tzname()}"
    return hour


@dataclass(frozen=True)
class LocalHour:
    """One local clock hour of a settlement day and the periods in it."""

    index: int  # 0-based position in the day (0..22, 0..23 or 0..24)
    label: str
    start_utc: datetime
    periods: tuple[int, ...]


def local_hours(settlement_date: date) -> list[LocalHour]:
    """The day's local clock hours: 23, 24 or 25 of them, each with its two periods."""
    count = periods_in_day(settlement_date)
    hours: list[LocalHour] = []
    for first in range(1, count + 1, 2):
        hours.append(
            LocalHour(
                index=len(hours),
                label=local_hour_label(settlement_date, first),
                start_utc=period_start_utc(settlement_date, first),
                periods=(first, first + 1),
            )
        )
    return hours


def settlement_today(now: datetime | None = None) -> date:
    """Today's settlement date (Europe/London)."""
    return (now or datetime.now(UTC)).astimezone(LONDON).date()


def periods_started(settlement_date: date, now: datetime | None = None) -> int:
    """How many of the date's periods have ended by ``now`` (all of them for past dates)."""
    now = now or datetime.now(UTC)
    count = periods_in_day(settlement_date)
    elapsed = now - day_start_utc(settlement_date)
    return max(0, min(count, int(elapsed / PERIOD)))


def parse_date(text: str) -> date:
    """Parse ``YYYY-MM-DD`` strictly, with a one-line message naming the value."""
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"invalid date {text!r}: expected YYYY-MM-DD") from None


def date_range(start: date, end: date) -> list[date]:
    """Inclusive list of dates from ``start`` to ``end``."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
