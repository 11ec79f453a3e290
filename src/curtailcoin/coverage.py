"""Which periods a date should have, which are stored, and when a date is complete or pending.

One definition for every reader and writer (the pipeline, reconciliation, the worker, the API):
a period is *expected* once it has started (today) or always (past dates); it is *successful*
when fetched with data or fetched empty; it is *pending* when an input it needs is not known
*yet* (the figure follows once it is, so it is neither a failure nor a default): a period with
curtailment whose difficulty the epoch table does not know yet, or a date's B1610 metered
generation answered empty before Elexon publishes it (:func:`b1610_pending`). Pure: no
database, no network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from curtailcoin.settlement import (
    LONDON,
    day_start_utc,
    periods_in_day,
    periods_started,
    settlement_today,
)


class FetchStatus(StrEnum):
    """A period's ``settlement_periods.fetch_status`` (stored and compared as its text)."""

    FETCHED_WITH_DATA = "fetched_with_data"
    FETCHED_EMPTY = "fetched_empty"
    #: fetched and stored, but a figure the product needs was null (the reason is in ``error``)
    FETCHED_INCOMPLETE = "fetched_incomplete"
    MISSING = "missing"
    FAILED = "failed"


#: the members by their short names, as every reader and writer spells them
FETCHED_WITH_DATA = FetchStatus.FETCHED_WITH_DATA
FETCHED_EMPTY = FetchStatus.FETCHED_EMPTY
FETCHED_INCOMPLETE = FetchStatus.FETCHED_INCOMPLETE
MISSING = FetchStatus.MISSING
FAILED = FetchStatus.FAILED
#: the statuses of a complete period; ``fetched_incomplete`` is not one of them
SUCCESSFUL_STATUSES = (FETCHED_WITH_DATA, FETCHED_EMPTY)
#: the statuses of a period whose answer is stored (its rows can be checked against its totals)
STORED_STATUSES = (FETCHED_WITH_DATA, FETCHED_EMPTY, FETCHED_INCOMPLETE)


def expected_period_count(settlement_date: date, now: datetime | None = None) -> int:
    """Periods that should be fetched: all of them, or those started so far for today."""
    if settlement_date >= settlement_today(now):
        return periods_started(settlement_date, now)
    return periods_in_day(settlement_date)


def expected_periods(settlement_date: date, now: datetime | None = None) -> list[int]:
    """The expected periods, 1..:func:`expected_period_count`."""
    return list(range(1, expected_period_count(settlement_date, now) + 1))


def is_pending(difficulty: float | None, subsidy: float | None) -> bool:
    """No calculation is possible yet: the period's network conditions are unknown."""
    return difficulty is None or subsidy is None


def pending_period(records: int, difficulty: float | None, subsidy: float | None) -> bool:
    """A period whose curtailment waits for its difficulty (a period without records never)."""
    return records > 0 and is_pending(difficulty, subsidy)


#: Elexon publishes B1610 "five days after the end of the operational period based on the
#: Interim Information (II) Settlement Run" (its OpenAPI document, ``/datasets/B1610/stream``)
B1610_PUBLICATION_LAG_DAYS = 5


def b1610_published_from(settlement_date: date) -> datetime:
    """When Elexon should have published the date's B1610: local midnight five days after the
    settlement day ends (UTC instant)."""
    return day_start_utc(settlement_date + timedelta(days=1 + B1610_PUBLICATION_LAG_DAYS))


def b1610_publication_date(settlement_date: date) -> date:
    """The Europe/London date from which the date's B1610 should be published."""
    return b1610_published_from(settlement_date).astimezone(LONDON).date()


def b1610_pending(settlement_date: date, status: str | None, now: datetime | None = None) -> bool:
    """The date's B1610 is *pending*: its fetch answered empty and Elexon does not publish it
    before :func:`b1610_published_from` — not a failure and never a default; a refetch once it
    is published fills it in. After that instant an empty answer is a ``fetched_empty`` date
    again (incomplete, refetched by reconciliation)."""
    return status == FETCHED_EMPTY and (now or datetime.now(UTC)) < b1610_published_from(
        settlement_date
    )


@dataclass(frozen=True)
class Coverage:
    """What a date holds against what it should: ``complete`` (the whole day) and
    ``complete_so_far`` (every period started so far, e.g. today's)."""

    periods: int  # periods of the whole day (46/48/50)
    expected: int  # periods that should be stored by now
    fetched: int  # periods stored with a successful status
    failed: Mapping[int, str] = field(default_factory=dict)
    incomplete: Mapping[int, str] = field(default_factory=dict)  # stored, a figure missing
    pending: Sequence[int] = ()

    @property
    def complete_so_far(self) -> bool:
        return self.fetched >= self.expected and not self.failed and not self.incomplete

    @property
    def complete(self) -> bool:
        return self.complete_so_far and self.fetched == self.periods
