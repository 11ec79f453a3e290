"""``/api/prices``: the stored daily BTC prices of a date range."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from curtailcoin.settlement import settlement_today
from curtailcoin.web import params as pv
from curtailcoin.web.csvout import PRICE_COLUMNS, table_response
from curtailcoin.web.deps import Conn
from curtailcoin.web.routes.common import CSV_OK, ERRORS, FormatQ
from curtailcoin.web.service.prices import price_list

router = APIRouter()


@router.get(
    "/api/prices",
    tags=["reference"],
    summary="Stored daily BTC prices (1 BTC in GBP and USD; a date's price is its UTC close)",
    responses={**ERRORS, **CSV_OK},
)
def prices(
    conn: Conn,
    start: Annotated[
        str | None, Query(alias="from", pattern=pv.DATE_PATTERN, description="YYYY-MM-DD")
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", pattern=pv.DATE_PATTERN, description="YYYY-MM-DD")
    ] = None,
    format: FormatQ = "json",
) -> Any:
    last = pv.parse_day(end, ("query", "to")) if end else settlement_today()
    first = pv.parse_day(start, ("query", "from")) if start else last - timedelta(days=30)
    if first > last:
        raise pv.InputError(("query", "from"), f"from {first} is after to {last}")
    if (last - first).days > 3660:
        raise pv.InputError(("query", "from"), "the range is longer than 10 years")
    items = price_list(conn, first, last)
    if format != "json":
        return table_response(format, f"btc-prices-{first}-{last}", PRICE_COLUMNS, items)
    return {"from": first.isoformat(), "to": last.isoformat(), "prices": items}
