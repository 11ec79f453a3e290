"""What the database holds for a date: the seed's ``checkCurtailmentData`` and
``clearCurtailmentRecords``, and the reasons of incomplete periods grouped by cause.

Storing fetched periods (the headline rule, period replacement) is ``pipeline.store``; the fetch
statuses are ``coverage``'s. Both are re-exported here under their old names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, delete, func, select

from curtailcoin.coverage import (
    FAILED,
    FETCHED_EMPTY,
    FETCHED_INCOMPLETE,
    FETCHED_WITH_DATA,
    MISSING,
    STORED_STATUSES,
    SUCCESSFUL_STATUSES,
)
from curtailcoin.db.curtailment_tables import curtailment_records, settlement_periods
from curtailcoin.db.summary_tables import daily_summaries
from curtailcoin.pipeline.store import (
    LINE_COLUMNS,
    RECORD_COLUMNS,
    StoredDate,
    incomplete_reason,
    is_curtailment,
    payment_gbp,
    replace_farm_period,
    replace_periods,
)
from curtailcoin.settlement import periods_in_day


def reason_cause(reason: str) -> str:
    """A stored reason without its per-period line counts, so periods alike group together."""
    return re.sub(r" null on \d+ ", " null on ", reason)


def group_by_cause(reasons: Mapping[int, str]) -> list[tuple[list[int], str]]:
    """Periods grouped by :func:`reason_cause` of their reason, first period first."""
    groups: dict[str, list[int]] = {}
    for period, reason in sorted(reasons.items()):
        groups.setdefault(reason_cause(reason), []).append(period)
    return [(periods, cause) for cause, periods in groups.items()]


def clear_curtailment_records(conn: Connection, settlement_date: date) -> int:
    """Delete a date's curtailment records (the seed's ``clearCurtailmentRecords``)."""
    stmt = delete(curtailment_records).where(
        curtailment_records.c.settlement_date == settlement_date
    )
    return conn.execute(stmt).rowcount or 0


@dataclass(frozen=True)
class CurtailmentCheck:
    """What the database holds for a date (the seed's ``checkCurtailmentData``)."""

    settlement_date: date
    records: int
    farms: int
    curtailed_energy_mwh: float
    payment_gbp: float
    periods_with_records: int
    periods_fetched: int
    periods_expected: int
    summary_present: bool
    incomplete_periods: dict[int, str]  # fetched_incomplete periods and their reasons


def check_curtailment_data(conn: Connection, settlement_date: date) -> CurtailmentCheck:
    r = curtailment_records.c
    totals = conn.execute(
        select(
            func.count(),
            func.count(func.distinct(r.farm_id)),
            func.coalesce(-func.sum(r.volume_mwh), 0.0),
            func.coalesce(func.sum(r.payment_gbp), 0.0),
            func.count(func.distinct(r.settlement_period)),
        ).where(r.settlement_date == settlement_date)
    ).one()
    p = settlement_periods.c
    fetched = conn.execute(
        select(func.count()).where(
            p.settlement_date == settlement_date, p.fetch_status.in_(SUCCESSFUL_STATUSES)
        )
    ).scalar_one()
    incomplete = conn.execute(
        select(p.settlement_period, p.error)
        .where(p.settlement_date == settlement_date, p.fetch_status == FETCHED_INCOMPLETE)
        .order_by(p.settlement_period)
    ).all()
    summary = conn.execute(
        select(daily_summaries.c.summary_date).where(
            daily_summaries.c.summary_date == settlement_date
        )
    ).first()
    return CurtailmentCheck(
        settlement_date=settlement_date,
        records=int(totals[0]),
        farms=int(totals[1]),
        curtailed_energy_mwh=float(totals[2]),
        payment_gbp=float(totals[3]),
        periods_with_records=int(totals[4]),
        periods_fetched=int(fetched),
        periods_expected=periods_in_day(settlement_date),
        summary_present=summary is not None,
        incomplete_periods={int(period): str(error or "") for period, error in incomplete},
    )


__all__ = [
    "FAILED",
    "FETCHED_EMPTY",
    "FETCHED_INCOMPLETE",
    "FETCHED_WITH_DATA",
    "LINE_COLUMNS",
    "MISSING",
    "RECORD_COLUMNS",
    "STORED_STATUSES",
    "SUCCESSFUL_STATUSES",
    "CurtailmentCheck",
    "StoredDate",
    "check_curtailment_data",
    "clear_curtailment_records",
    "group_by_cause",
    "incomplete_reason",
    "is_curtailment",
    "payment_gbp",
    "reason_cause",
    "replace_farm_period",
    "replace_periods",
]
