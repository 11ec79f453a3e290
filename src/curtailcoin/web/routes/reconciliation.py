"""``/api/reconciliation/status``: completeness of fetches and tracked calculations over a
date range (the definitions of ``curtailcoin reconcile status``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from curtailcoin.settlement import settlement_today
from curtailcoin.web import params as pv
from curtailcoin.web.deps import Conn, Ctx
from curtailcoin.web.routes.common import ERRORS
from curtailcoin.web.schemas import ReconciliationOut
from curtailcoin.web.service.status import reconciliation

router = APIRouter()


@router.get(
    "/api/reconciliation/status",
    response_model=ReconciliationOut,
    tags=["service"],
    summary="Completeness of fetches and tracked calculations over a date range",
    responses=ERRORS,
)
def reconciliation_status(
    ctx: Ctx,
    conn: Conn,
    start: Annotated[
        str | None,
        Query(
            alias="from", pattern=pv.DATE_PATTERN, description="YYYY-MM-DD (default: 30 days ago)"
        ),
    ] = None,
    end: Annotated[
        str | None,
        Query(alias="to", pattern=pv.DATE_PATTERN, description="YYYY-MM-DD (default: today)"),
    ] = None,
) -> ReconciliationOut:
    last = pv.parse_day(end, ("query", "to")) if end else settlement_today()
    first = pv.parse_day(start, ("query", "from")) if start else last - timedelta(days=29)
    if first > last:
        raise pv.InputError(("query", "from"), f"from {first} is after to {last}")
    if (last - first).days > 1100:
        raise pv.InputError(("query", "from"), "the range is longer than 1,100 days")
    settings = ctx.settings
    return reconciliation(
        conn, first, last, list(settings.tracked_models), generation=settings.fetch_generation
    )
