"""Farm routes: lead parties with their BM units, the top lead parties, the farm table, and a
date's curtailed lead parties."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from curtailcoin.web import params as pv
from curtailcoin.web.csvout import (
    LEAD_PARTY_FARMS_COLUMNS,
    farm_table_columns,
    farm_table_lines,
    table_response,
    top_farm_columns,
)
from curtailcoin.web.deps import Conn, Ctx
from curtailcoin.web.legacy_schemas import CurtailedLeadParty
from curtailcoin.web.queries.scope import day_scope
from curtailcoin.web.routes import resolve
from curtailcoin.web.routes.common import (
    CSV_OK,
    DATE_DOC,
    ERRORS,
    FarmIdQ,
    FormatQ,
    LeadPartyQ,
    ModelQ,
    TimeframeQ,
    ValueQ,
)
from curtailcoin.web.schemas import GroupedData, LeadPartyFarms, TopFarm
from curtailcoin.web.service import farms

router = APIRouter()


@router.get(
    "/api/mining-potential/farms",
    response_model=list[LeadPartyFarms],
    tags=["farms"],
    summary="Lead parties with curtailment in a period and their BM units, by energy",
    responses={**ERRORS, **CSV_OK},
)
def mining_farms(
    conn: Conn,
    date: Annotated[
        str | None,
        Query(max_length=10, pattern=pv.VALUE_PATTERN, description="YYYY-MM-DD, YYYY-MM or YYYY"),
    ] = None,
    timeframe: TimeframeQ = None,
    format: FormatQ = "json",
) -> Any:
    scope = resolve.scope(conn, timeframe, date, ("timeframe", "date"), None, None)
    result = farms.farms_by_lead_party(conn, scope)
    if format != "json":
        return table_response(
            format, f"lead-parties-{scope.label}", LEAD_PARTY_FARMS_COLUMNS, result
        )
    return result


@router.get(
    "/api/mining-potential/top-farms",
    response_model=list[TopFarm],
    tags=["farms"],
    summary="Top lead parties by curtailed energy: payments vs Bitcoin value",
    responses={**ERRORS, **CSV_OK},
)
def top_farms(
    ctx: Ctx,
    conn: Conn,
    period: TimeframeQ = None,
    value: ValueQ = None,
    miner_model: ModelQ = None,
    limit: Annotated[int, Query(ge=1, le=100, description="How many lead parties")] = 5,
    format: FormatQ = "json",
) -> Any:
    model = resolve.model(conn, ctx, miner_model)
    scope = resolve.scope(conn, period, value, ("period", "value"), None, None)
    result = farms.top_farms(conn, scope, model, ctx.settings.tracked_models, limit)
    if format != "json":
        return table_response(
            format, f"top-farms-{scope.label}-{model.key}", top_farm_columns(model.key), result
        )
    return result


@router.get(
    "/api/farm-tables/grouped-data",
    response_model=GroupedData,
    tags=["farms"],
    summary="The farm table: lead parties with their BM units (MWh, £ to farms, BTC, value)",
    responses={**ERRORS, **CSV_OK},
)
def grouped_data(
    ctx: Ctx,
    conn: Conn,
    timeframe: TimeframeQ = None,
    value: ValueQ = None,
    miner_model: ModelQ = None,
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
    format: FormatQ = "json",
) -> Any:
    lead, farm = resolve.filters(conn, lead_party, farm_id)
    model = resolve.model(conn, ctx, miner_model)
    scope = resolve.scope(conn, timeframe, value, ("timeframe", "value"), lead, farm)
    result = farms.grouped_data(conn, scope, model, ctx.settings.tracked_models)
    if format != "json":
        return table_response(
            format,
            f"farms-{scope.label}-{model.key}",
            farm_table_columns(model.key),
            farm_table_lines(result),
        )
    return result


@router.get(
    "/api/production/curtailed-lead-parties",
    response_model=list[CurtailedLeadParty],
    tags=["farms"],
    summary="Lead parties with curtailment on a date: BM unit count, MWh and £, by energy",
    responses=ERRORS,
)
def curtailed_lead_parties(
    conn: Conn,
    date: Annotated[str, Query(pattern=pv.DATE_PATTERN, description=DATE_DOC)],
) -> list[CurtailedLeadParty]:
    day = pv.parse_day(date, ("query", "date"))
    return farms.curtailed_lead_parties(conn, day_scope(day, None, None))
