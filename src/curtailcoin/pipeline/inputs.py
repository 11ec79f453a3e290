"""Input checks every entry point runs before anything is fetched or written.

Pure (only the settlement calendar): the CLI imports these without the database or HTTP stacks.
"""

from __future__ import annotations

from datetime import date, datetime

from curtailcoin.settlement import FIRST_SETTLEMENT_DATE, settlement_today


class BadInput(ValueError):
    """Input the user must correct (exit code 2); the message is one line."""


def validate_date(settlement_date: date, now: datetime | None = None) -> None:
    """``BadInput`` unless the date is one Elexon can have settlement data for: from NETA
    go-live (``FIRST_SETTLEMENT_DATE``) to today, so no fetch or write is ever attempted."""
    today = settlement_today(now)
    if settlement_date < FIRST_SETTLEMENT_DATE:
        raise BadInput(
            f"date {settlement_date.isoformat()} is before the first settlement date: allowed "
            f"from {FIRST_SETTLEMENT_DATE.isoformat()} (NETA go-live) to {today.isoformat()}"
        )
    if settlement_date > today:
        raise BadInput(
            f"date {settlement_date.isoformat()} is in the future: allowed up to "
            f"{today.isoformat()} (today, Europe/London)"
        )


def max_days(end: date | None = None, now: datetime | None = None) -> int:
    """The most days a span ending on ``end`` (default today) can have: back to the first
    settlement date, never further."""
    last = end or settlement_today(now)
    return (last - FIRST_SETTLEMENT_DATE).days + 1


def validate_days(
    days: int, option: str = "--days", end: date | None = None, now: datetime | None = None
) -> None:
    """``BadInput`` unless ``1 <= days <= max_days(end)`` (a span of real settlement dates)."""
    last = end or settlement_today(now)
    most = max_days(last)
    if not 1 <= days <= most:
        raise BadInput(
            f"{option} {days} is not allowed: use 1..{most} (the days from "
            f"{FIRST_SETTLEMENT_DATE.isoformat()} to {last.isoformat()})"
        )


def validate_range(start: date, end: date, now: datetime | None = None) -> None:
    """``BadInput`` unless both dates are valid and ``start <= end``."""
    validate_date(start, now)
    validate_date(end, now)
    if start > end:
        raise BadInput(
            f"start {start.isoformat()} is after end {end.isoformat()}: allowed START <= END"
        )
