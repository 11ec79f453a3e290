"""Curtailment-share routes: national (AGWS) per period, day, month or year, and per BM unit or
lead party (B1610), each as JSON, CSV or Parquet."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from curtailcoin.web import params as pv
from curtailcoin.web.csvout import Column, table_response
from curtailcoin.web.deps import Conn
from curtailcoin.web.routes import resolve
from curtailcoin.web.routes.common import CSV_OK, DATE_DOC, ERRORS, FormatQ, LeadPartyQ
from curtailcoin.web.service import share
from curtailcoin.web.service.share import MAX_PERIOD_DAYS
from curtailcoin.web.share_schemas import CurtailmentShare, FarmShareRow, FarmShares, ShareRow

router = APIRouter()

FromQ = Annotated[str, Query(alias="from", pattern=pv.DATE_PATTERN, description=DATE_DOC)]
ToQ = Annotated[
    str, Query(alias="to", pattern=pv.DATE_PATTERN, description=DATE_DOC + "; ≥ from, inclusive")
]
GrainQ = Annotated[
    Literal["period", "day", "month", "year"],
    Query(description=f"Rows per period (at most {MAX_PERIOD_DAYS} days), day, month or year"),
]
ByQ = Annotated[
    Literal["leadParty", "bmUnit"],
    Query(description="One row per lead party (default) or per BM unit"),
]

SHARE_COLUMNS: list[Column[ShareRow]] = [
    Column("period", lambda r: r.period, "text"),
    Column("date", lambda r: r.date, "date"),
    Column("settlement_period", lambda r: r.settlement_period, "int"),
    Column("curtailed_energy_mwh", lambda r: r.curtailed_energy_mwh, "float"),
    Column("generated_energy_mwh", lambda r: r.generated_energy_mwh, "float"),
    Column("onshore_wind_mwh", lambda r: r.onshore_wind_mwh, "float"),
    Column("offshore_wind_mwh", lambda r: r.offshore_wind_mwh, "float"),
    Column("curtailment_share", lambda r: r.curtailment_share, "float"),
    Column("missing_reason", lambda r: r.missing_reason, "text"),
]
FARM_SHARE_COLUMNS: list[Column[FarmShareRow]] = [
    Column("lead_party_name", lambda r: r.lead_party_name, "text"),
    Column("farm_id", lambda r: r.farm_id, "text"),
    Column("unit_count", lambda r: r.unit_count, "int"),
    Column("curtailed_energy_mwh", lambda r: r.curtailed_energy_mwh, "float"),
    Column("generated_energy_mwh", lambda r: r.generated_energy_mwh, "float"),
    Column("generation_periods", lambda r: r.generation_periods, "int"),
    Column("expected_periods", lambda r: r.expected_periods, "int"),
    Column("curtailment_share", lambda r: r.curtailment_share, "float"),
    Column("missing_reason", lambda r: r.missing_reason, "text"),
]


def date_range(first_text: str, last_text: str) -> tuple[date, date]:
    """``from`` and ``to`` checked: real settlement dates, not in the future, from ≤ to."""
    first = pv.parse_day(first_text, ("query", "from"))
    last = pv.parse_day(last_text, ("query", "to"))
    if last < first:
        raise pv.InputError(("query", "to"), f"to {last_text!r} is before from {first_text!r}")
    return first, last


@router.get(
    "/api/curtailment-share",
    response_model=CurtailmentShare,
    tags=["curtailment share"],
    summary="National curtailment share: curtailed ÷ (wind generated + curtailed)",
    responses={**ERRORS, **CSV_OK},
)
def curtailment_share(
    conn: Conn,
    from_: FromQ,
    to: ToQ,
    grain: GrainQ = "day",
    format: FormatQ = "json",
) -> Any:
    first, last = date_range(from_, to)
    if grain == "period" and (last - first).days >= MAX_PERIOD_DAYS:
        raise pv.InputError(
            ("query", "to"),
            f"grain=period covers at most {MAX_PERIOD_DAYS} days: {from_}..{to} is "
            f"{(last - first).days + 1}",
        )
    result = share.national_share(conn, first, last, grain)
    if format != "json":
        return table_response(
            format, f"curtailment-share-{first}-{last}", SHARE_COLUMNS, result.rows
        )
    return result


@router.get(
    "/api/curtailment-share/farms",
    response_model=FarmShares,
    tags=["curtailment share"],
    summary="Curtailment share per lead party or BM unit (metered generation, B1610)",
    responses={**ERRORS, **CSV_OK},
)
def curtailment_share_farms(
    conn: Conn,
    from_: FromQ,
    to: ToQ,
    by: ByQ = "leadParty",
    lead_party: LeadPartyQ = None,
    format: FormatQ = "json",
) -> Any:
    first, last = date_range(from_, to)
    lead, _ = resolve.filters(conn, lead_party, None)
    result = share.farm_share(conn, first, last, by, lead)
    if format != "json":
        return table_response(
            format, f"curtailment-share-farms-{first}-{last}", FARM_SHARE_COLUMNS, result.rows
        )
    return result
