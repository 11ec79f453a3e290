"""The input of the ``curtailcoin reconcile`` commands: dates, counts, instants, ranges, each
checked before anything is opened (bad input: one line on stderr, exit 2), and the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from curtailcoin.cli.common import EXIT_FAILED, date_argument, engine_for, fail
from curtailcoin.config import Settings
from curtailcoin.pipeline import BadInput, prepare_database, validate_date, validate_days
from curtailcoin.settlement import settlement_today

JSON_HELP = "Print one JSON object on stdout."
VERBOSE_HELP = "Log each event to stderr."

MAX_BATCH_SIZE = 64
"""Dates in flight at once, at most (as ``backfill --concurrency``)."""


def parse_date(text: str, what: str = "date") -> date:
    return date_argument(text, None if what == "date" else what)


def parse_instant(text: str) -> datetime:
    """``--now``: an ISO 8601 instant with a time zone, whose settlement date is allowed."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"invalid --now {text!r}: expected an ISO 8601 instant such as 2025-01-18T02:00Z")
    if value.tzinfo is None:
        fail(f"invalid --now {text!r}: give a time zone (e.g. Z)")
    instant = value.astimezone(UTC)
    try:
        validate_date(settlement_today(instant))
    except BadInput as exc:
        fail(f"--now {text}: {exc}")
    return instant


def parse_days(
    text: str, option: str = "--days", end: date | None = None, now: datetime | None = None
) -> int:
    """A count of days: 1 up to the days from the first settlement date to ``end``."""
    try:
        count = int(text.strip())
    except ValueError:
        fail(f"invalid {option} {text!r}: expected a whole number of days")
    try:
        validate_days(count, option, end, now)
    except BadInput as exc:
        fail(str(exc))
    return count


def range_options(
    start: str | None, end: str | None, days: str | None
) -> tuple[date | None, date | None]:
    """``--start``/``--end``/``--days`` as the first and last date (None: the stored ones)."""
    first = parse_date(start, "--start") if start else None
    last = parse_date(end, "--end") if end else None
    if days is not None:
        if first is not None:
            fail("use --days or --start, not both")
        last = last or settlement_today()
        first = last - timedelta(days=parse_days(days, end=last) - 1)
    if first and last and first > last:
        fail(f"--start {first.isoformat()} is after --end {last.isoformat()}: allowed START <= END")
    return first, last


def accept_needs_source(accept_shrink: bool, no_source: bool) -> None:
    if accept_shrink and no_source:
        fail(
            "--accept-shrink applies Elexon's answer: it needs the source check (drop --no-source)"
        )


def open_database(settings: Settings) -> Engine:
    """The engine, migrated (a failure to prepare it: one line, exit 1)."""
    engine = engine_for(settings)
    try:
        prepare_database(engine)
    except Exception as exc:
        fail(f"cannot prepare database: {exc}", EXIT_FAILED)
    return engine
