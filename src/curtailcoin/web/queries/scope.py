"""A query scope: a day, a month or a year (half-open date range) and optional filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from curtailcoin.settlement import local_hours

Timeframe = Literal["day", "month", "year"]


@dataclass(frozen=True)
class Scope:
    """A day, month or year (``start`` inclusive, ``end`` exclusive) and optional filters."""

    timeframe: Timeframe
    label: str
    start: date
    end: date
    lead_party: str | None = None
    farm_id: str | None = None

    @property
    def filtered(self) -> bool:
        return self.lead_party is not None or self.farm_id is not None

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days)]


def day_scope(day: date, lead_party: str | None = None, farm_id: str | None = None) -> Scope:
    return Scope("day", day.isoformat(), day, day + timedelta(days=1), lead_party, farm_id)


def month_scope(
    year: int, month: int, lead_party: str | None = None, farm_id: str | None = None
) -> Scope:
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return Scope("month", f"{year:04d}-{month:02d}", start, end, lead_party, farm_id)


def year_scope(year: int, lead_party: str | None = None, farm_id: str | None = None) -> Scope:
    return Scope("year", f"{year:04d}", date(year, 1, 1), date(year + 1, 1, 1), lead_party, farm_id)


def hour_periods(day: date) -> list[tuple[str, datetime, tuple[int, ...]]]:
    """The day's local clock hours (23, 24 or 25) and their periods."""
    return [(h.label, h.start_utc, h.periods) for h in local_hours(day)]
