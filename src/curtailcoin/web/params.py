"""Validation of every API input: a 422 whose message names the field and what is allowed."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal

from curtailcoin.miners import MinerModel
from curtailcoin.settlement import FIRST_SETTLEMENT_DATE, month_bounds, settlement_today

EARLIEST = FIRST_SETTLEMENT_DATE
"""Earliest settlement date accepted (NETA go-live), the CLI's too."""

DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
MONTH_PATTERN = r"^[0-9]{4}-[0-9]{2}$"
YEAR_PATTERN = r"^[0-9]{4}$"
VALUE_PATTERN = r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"
NAME_MAX = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Timeframe = Literal["day", "month", "year"]
TIMEFRAME_ALIASES: dict[str, Timeframe] = {
    "day": "day",
    "daily": "day",
    "month": "month",
    "monthly": "month",
    "year": "year",
    "yearly": "year",
}


class InputError(ValueError):
    """Bad input: ``loc`` is where (``("query", "minerModel")``), the message what is allowed."""

    def __init__(self, loc: tuple[str, str], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def parse_day(text: str, loc: tuple[str, str], now: datetime | None = None) -> date:
    if not re.fullmatch(DATE_PATTERN, text):
        raise InputError(loc, f"{loc[1]} {text!r} is not a date: expected YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError(loc, f"{loc[1]} {text!r} is not a valid calendar date") from None
    _check_range(day, day, text, loc, now)
    return day


def parse_month(text: str, loc: tuple[str, str], now: datetime | None = None) -> tuple[int, int]:
    if not re.fullmatch(MONTH_PATTERN, text):
        raise InputError(loc, f"{loc[1]} {text!r} is not a month: expected YYYY-MM")
    year, month = int(text[:4]), int(text[5:])
    if not 1 <= month <= 12:
        raise InputError(loc, f"{loc[1]} {text!r} has month {month}: allowed 01..12")
    # too early: no settlement date in the month (year 0 is not even a Python date)
    if year < EARLIEST.year or month_bounds(date(year, month, 1))[1] <= EARLIEST:
        raise InputError(loc, f"{loc[1]} {text!r} is too early: allowed from {EARLIEST:%Y-%m}")
    first = date(year, month, 1)
    _check_range(first, first, text, loc, now)
    return year, month


def parse_year(text: str, loc: tuple[str, str], now: datetime | None = None) -> int:
    if not re.fullmatch(YEAR_PATTERN, text):
        raise InputError(loc, f"{loc[1]} {text!r} is not a year: expected YYYY")
    year = int(text)
    if year < EARLIEST.year:
        raise InputError(loc, f"{loc[1]} {text!r} is too early: allowed from {EARLIEST.year}")
    _check_range(date(year, 1, 1), date(year, 1, 1), text, loc, now)
    return year


def _check_range(
    first: date, _last: date, text: str, loc: tuple[str, str], now: datetime | None
) -> None:
    today = settlement_today(now)
    if first > today:
        raise InputError(
            loc, f"{loc[1]} {text!r} is in the future: allowed up to {today} (Europe/London)"
        )
    if first < EARLIEST and len(text) == 10:
        raise InputError(loc, f"{loc[1]} {text!r} is too early: allowed from {EARLIEST}")


def parse_timeframe(text: str, loc: tuple[str, str]) -> Timeframe:
    value = TIMEFRAME_ALIASES.get(text.strip().lower())
    if value is None:
        raise InputError(
            loc,
            f"{loc[1]} {text!r} is not allowed: use day, month or year (or daily, monthly, yearly)",
        )
    return value


def check_name(text: str | None, loc: tuple[str, str], max_length: int = NAME_MAX) -> str | None:
    """A lead party or BM unit name: trimmed, no control characters, bounded length."""
    if text is None:
        return None
    value = text.strip()
    if not value:
        raise InputError(loc, f"{loc[1]} is empty: omit it or give a name")
    if len(value) > max_length:
        raise InputError(loc, f"{loc[1]} is longer than {max_length} characters")
    if _CONTROL.search(value):
        raise InputError(loc, f"{loc[1]} contains control characters")
    return value


def resolve_model(
    text: str | None, catalogue: dict[str, MinerModel], default: str, loc: tuple[str, str]
) -> MinerModel:
    key = (text or default).strip().upper()
    model = catalogue.get(key)
    if model is None:
        shown = (text or default)[:40]
        raise InputError(loc, f"unknown {loc[1]} {shown!r}: allowed {', '.join(sorted(catalogue))}")
    return model
