"""How complete the stored data is for a scope, from ``settlement_periods``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, func, select

from curtailcoin.coverage import (
    FAILED,
    FETCHED_INCOMPLETE,
    SUCCESSFUL_STATUSES,
    expected_period_count,
)
from curtailcoin.db.curtailment_tables import settlement_periods
from curtailcoin.settlement import settlement_today
from curtailcoin.web.queries.scope import Scope
from curtailcoin.web.queries.values import as_int

sp = settlement_periods.c


@dataclass
class DataStatus:
    """How complete the stored data is for a scope, from ``settlement_periods``."""

    periods_expected: int = 0
    periods_fetched: int = 0
    periods_failed: int = 0
    periods_incomplete: int = 0  # stored, but a needed figure was null (neither ok nor failed)
    periods_missing: int = 0
    days_expected: int = 0
    days_complete: int = 0
    incomplete_dates: list[date] = field(default_factory=list)
    missing_periods: list[int] = field(default_factory=list)  # day scope only
    incomplete_periods: dict[int, str] = field(default_factory=dict)  # day scope: the reasons
    pending_periods: int = 0  # periods with curtailment and no known difficulty
    last_fetched_at: datetime | None = None

    @property
    def state(self) -> str:
        if self.periods_expected == 0:
            return "not_started"
        if self.periods_fetched == 0:
            return "no_data"
        if self.periods_fetched < self.periods_expected:
            return "incomplete"
        return "complete"

    def add_day(self, day: date, expected: int, fetched: int, failed: int, incomplete: int) -> None:
        self.periods_expected += expected
        self.periods_fetched += fetched
        self.periods_failed += failed
        self.periods_incomplete += incomplete
        self.days_expected += 1
        if fetched == expected:
            self.days_complete += 1
        else:
            self.incomplete_dates.append(day)


def data_status(conn: Connection, scope: Scope, now: datetime | None = None) -> DataStatus:
    """Fetch status of every period of the scope up to now (Europe/London days).

    Aggregated per date in SQL; only today's date (whose periods are still being published)
    and a single-day scope are looked at period by period.
    """
    today = settlement_today(now)
    last = min(scope.end - timedelta(days=1), today)
    status = DataStatus()
    if last < scope.start:
        return status
    per_day = _per_day_counts(conn, scope.start, last)
    stored = {row[0]: row for row in per_day}
    for row in per_day:
        status.pending_periods += as_int(row[3])
        if row[4] is not None and (
            status.last_fetched_at is None or row[4] > status.last_fetched_at
        ):
            status.last_fetched_at = row[4]
    detailed = {today} if scope.start <= today <= last else set()
    if scope.timeframe == "day":
        detailed.add(scope.start)
    periods, reasons = _period_statuses(conn, detailed)
    day = scope.start
    while day <= last:
        expected = expected_period_count(day, now)  # today: the periods started so far
        if day in detailed:
            have, why = periods.get(day, {}), reasons.get(day, {})
            counts = _detailed_counts(status, scope, expected, have, why)
        else:
            counts = _stored_counts(expected, stored.get(day))
        status.add_day(day, expected, *counts)
        day += timedelta(days=1)
    status.periods_missing = status.periods_expected - status.periods_fetched
    return status


def _per_day_counts(conn: Connection, first: date, last: date) -> Sequence[Any]:
    """Per date: (date, ok, failed, pending, last fetched, incomplete) of the stored periods."""
    ok = sp.fetch_status.in_(SUCCESSFUL_STATUSES)
    return conn.execute(
        select(
            sp.settlement_date,
            func.sum(case((ok, 1), else_=0)),
            func.sum(case((sp.fetch_status == FAILED, 1), else_=0)),
            func.sum(case((and_(sp.record_count > 0, sp.difficulty.is_(None)), 1), else_=0)),
            func.max(sp.fetched_at),
            func.sum(case((sp.fetch_status == FETCHED_INCOMPLETE, 1), else_=0)),
        )
        .where(sp.settlement_date >= first, sp.settlement_date <= last)
        .group_by(sp.settlement_date)
    ).all()


def _period_statuses(
    conn: Connection, days: set[date]
) -> tuple[dict[date, dict[int, str]], dict[date, dict[int, str]]]:
    """Each period's fetch status of ``days``, and why an incomplete period is incomplete."""
    periods: dict[date, dict[int, str]] = {}
    reasons: dict[date, dict[int, str]] = {}
    if not days:
        return periods, reasons
    for detail in conn.execute(
        select(sp.settlement_date, sp.settlement_period, sp.fetch_status, sp.error).where(
            sp.settlement_date.in_(sorted(days))
        )
    ):
        periods.setdefault(detail[0], {})[int(detail[1])] = detail[2]
        if detail[2] == FETCHED_INCOMPLETE:
            reasons.setdefault(detail[0], {})[int(detail[1])] = detail[3] or ""
    return periods, reasons


def _detailed_counts(
    status: DataStatus,
    scope: Scope,
    expected: int,
    have: Mapping[int, str],
    reasons: Mapping[int, str],
) -> tuple[int, int, int]:
    """(fetched, failed, incomplete) of a date looked at period by period; a day scope also
    gets its missing periods and the reasons of the incomplete ones."""
    fetched_list = [p for p in range(1, expected + 1) if have.get(p) in SUCCESSFUL_STATUSES]
    fetched = len(fetched_list)
    failed = sum(1 for p in range(1, expected + 1) if have.get(p) == FAILED)
    why = {p: e for p, e in reasons.items() if p <= expected}
    if fetched < expected and scope.timeframe == "day":
        got = set(fetched_list)
        status.missing_periods = [p for p in range(1, expected + 1) if p not in got]
        status.incomplete_periods = dict(sorted(why.items()))
    return fetched, failed, len(why)


def _stored_counts(expected: int, counts: Any) -> tuple[int, int, int]:
    """(fetched, failed, incomplete) of a date from its per-date aggregate (None: nothing)."""
    if counts is None:
        return 0, 0, 0
    return min(expected, as_int(counts[1])), as_int(counts[2]), as_int(counts[5])
