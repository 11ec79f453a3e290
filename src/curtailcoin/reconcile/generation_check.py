"""Reconciliation of a date's wind generation: is it there (``generation_fetches``), is it only
pending (B1610 not published yet: ``coverage.b1610_pending``), and does it still agree with
Elexon (stored totals vs a fresh answer)?"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from curtailcoin.coverage import FETCHED_WITH_DATA, b1610_pending
from curtailcoin.db.generation_tables import NATIONAL_DATASET, UNIT_DATASET, generation_fetches
from curtailcoin.pipeline.generation import FetchedGeneration, stored_generation_totals
from curtailcoin.reconcile.report import DateReport
from curtailcoin.share import pending_reason

DATASETS = (NATIONAL_DATASET, UNIT_DATASET)


def fill_generation_reasons(
    conn: Connection, reports: Sequence[DateReport], now: datetime | None = None
) -> None:
    """Each report's datasets without a complete fetch, with the stored status and reason, and
    its B1610 that is only pending at ``now`` apart (one range read)."""
    if not reports:
        return
    first = min(r.settlement_date for r in reports)
    last = max(r.settlement_date for r in reports)
    f = generation_fetches.c
    stored = {
        (day, dataset): (status, error)
        for day, dataset, status, error in conn.execute(
            select(f.settlement_date, f.dataset, f.fetch_status, f.error).where(
                f.settlement_date >= first, f.settlement_date <= last
            )
        )
    }
    for report in reports:
        for dataset in DATASETS:
            found = stored.get((report.settlement_date, dataset))
            if found is None:
                report.generation_reasons[dataset] = "not fetched"
            elif dataset == UNIT_DATASET and b1610_pending(report.settlement_date, found[0], now):
                report.generation_pending[dataset] = pending_reason(report.settlement_date)
            elif found[0] != FETCHED_WITH_DATA:
                status, error = found
                report.generation_reasons[dataset] = f"{status}: {error}" if error else status


def generation_drift(
    conn: Connection, fetched: FetchedGeneration, tolerance_mwh: float
) -> dict[str, str]:
    """Datasets whose stored total differs from the fresh answer's (both complete) by more
    than ``tolerance_mwh``: dataset → 'stored X MWh, source Y MWh'."""
    stored = stored_generation_totals(conn, fetched.settlement_date)
    source = {
        NATIONAL_DATASET: sum(
            (on or 0.0) + (off or 0.0) for on, off in fetched.national.national.values()
        ),
        UNIT_DATASET: sum(fetched.units.units.values()),
    }
    out: dict[str, str] = {}
    for answer in (fetched.national, fetched.units):
        if answer.status != FETCHED_WITH_DATA:
            continue
        name = answer.dataset
        if abs(stored[name] - source[name]) > tolerance_mwh:
            out[name] = f"stored {stored[name]:,.3f} MWh, source {source[name]:,.3f} MWh"
    return out


def stored_generation_drift(
    engine: Engine, fetched: FetchedGeneration, tolerance_mwh: float
) -> dict[str, str]:
    """:func:`generation_drift` on a connection of its own (for ``run_db``)."""
    with engine.connect() as conn:
        return generation_drift(conn, fetched, tolerance_mwh)
