"""Completeness in responses: every response's ``dataStatus``, and the reconciliation status of
``/api/reconciliation/status`` (the definitions of ``reconcile status``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import Connection

from curtailcoin.web.queries.scope import Scope
from curtailcoin.web.queries.status import DataStatus, data_status
from curtailcoin.web.schemas import DataStatusOut, ReconciliationDate, ReconciliationOut

MAX_LISTED_DATES = 62


def status_out(status: DataStatus) -> DataStatusOut:
    return DataStatusOut(
        state=status.state,
        periods_expected=status.periods_expected,
        periods_fetched=status.periods_fetched,
        periods_failed=status.periods_failed,
        periods_incomplete=status.periods_incomplete,
        periods_missing=status.periods_missing,
        days_expected=status.days_expected,
        days_complete=status.days_complete,
        incomplete_dates=status.incomplete_dates[:MAX_LISTED_DATES],
        missing_periods=status.missing_periods,
        incomplete_periods=status.incomplete_periods,
        pending_periods=status.pending_periods,
        last_fetched_at=status.last_fetched_at,
    )


def reconciliation(
    conn: Connection,
    start: date,
    end: date,
    tracked_models: Sequence[str],
    now: datetime | None = None,
    *,
    generation: bool = False,
) -> ReconciliationOut:
    """``reconcile status`` over ``start..end`` (the reconciliation module's definitions);
    ``generation``: a date's missing wind generation makes it incomplete, as in the CLI."""
    from curtailcoin.reconcile.status import get_reconciliation_status

    rs = get_reconciliation_status(
        conn, list(tracked_models), start=start, end=end, now=now, generation=generation
    )
    scope = Scope("month", f"{start}..{end}", start, end + timedelta(days=1))
    return ReconciliationOut(
        start=rs.start,
        end=rs.end,
        models=list(rs.models),
        dates_checked=rs.dates_checked,
        incomplete_dates=rs.incomplete_dates,
        generation_incomplete_dates=[
            r.settlement_date for r in rs.per_date if r.generation_reasons
        ],
        generation_pending_dates=[r.settlement_date for r in rs.per_date if r.generation_pending],
        missing_calculations=rs.total("missing"),
        stale_calculations=rs.total("stale"),
        pending_calculations=rs.total("pending"),
        summary_mismatches=rs.summary_mismatches,
        completion_percentage=rs.completion_percentage,
        problem_dates=rs.problem_dates,
        suspect_dates=rs.suspect_dates,
        per_date=[
            ReconciliationDate(
                date=r.settlement_date,
                records=r.records,
                periods_expected=r.periods_expected,
                periods_fetched=r.periods_fetched,
                missing=r.missing,
                stale=r.stale,
                pending=r.pending,
                complete=r.complete,
                problems=r.problems,
                generation_reasons=dict(r.generation_reasons),
                generation_pending=dict(r.generation_pending),
            )
            for r in rs.per_date
        ],
        data_status=status_out(data_status(conn, scope, now)),
    )
