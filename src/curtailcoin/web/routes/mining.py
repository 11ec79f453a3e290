"""Mining-potential routes: the Bitcoin a date's, month's or year's curtailed energy could have
mined with a miner model, and its value."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import Connection

from curtailcoin.web import params as pv
from curtailcoin.web.csvout import mining_columns, table_response
from curtailcoin.web.deps import AppContext, Conn, Ctx
from curtailcoin.web.routes import resolve
from curtailcoin.web.routes.common import (
    CSV_OK,
    DATE_DOC,
    ERRORS,
    DatePath,
    FarmIdQ,
    Format,
    FormatQ,
    LeadPartyQ,
    ModelQ,
    MonthPath,
    YearPath,
)
from curtailcoin.web.schemas import MiningPotential
from curtailcoin.web.service.bitcoin import mining_potential

router = APIRouter()


def _mining(
    ctx: AppContext,
    conn: Connection,
    scope_args: tuple[pv.Timeframe, str, tuple[str, str]],
    filters: tuple[str | None, str | None],
    miner_model: str | None,
    format: Format,
) -> Any:
    timeframe, value, loc = scope_args
    lead, farm = resolve.filters(conn, *filters)
    model = resolve.model(conn, ctx, miner_model)
    scope = resolve.fixed_scope(timeframe, value, loc, lead, farm)
    result = mining_potential(conn, scope, model, ctx.settings.tracked_models)
    if format != "json":
        return table_response(
            format,
            f"mining-potential-{scope.label}-{model.key}",
            mining_columns("date" if timeframe == "month" else "month", model.key),
            result.rows,
        )
    return result


@router.get(
    "/api/mining-potential/daily",
    response_model=MiningPotential,
    tags=["mining potential"],
    summary="Bitcoin that the curtailed energy of a date could have mined (seed form: ?date=)",
    responses=ERRORS,
)
def mining_daily_query(
    ctx: Ctx,
    conn: Conn,
    date: Annotated[str, Query(pattern=pv.DATE_PATTERN, description=DATE_DOC)],
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
    miner_model: ModelQ = None,
) -> Any:
    return _mining(
        ctx, conn, ("day", date, ("query", "date")), (lead_party, farm_id), miner_model, "json"
    )


@router.get(
    "/api/mining-potential/daily/{date}",
    response_model=MiningPotential,
    tags=["mining potential"],
    summary="Bitcoin that the curtailed energy of a date could have mined",
    responses=ERRORS,
)
def mining_daily(
    ctx: Ctx,
    conn: Conn,
    date: DatePath,
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
    miner_model: ModelQ = None,
) -> Any:
    return _mining(
        ctx, conn, ("day", date, ("path", "date")), (lead_party, farm_id), miner_model, "json"
    )


@router.get(
    "/api/mining-potential/monthly/{yearMonth}",
    response_model=MiningPotential,
    tags=["mining potential"],
    summary="Bitcoin potential of a month, with daily rows",
    responses={**ERRORS, **CSV_OK},
)
def mining_monthly(
    ctx: Ctx,
    conn: Conn,
    year_month: MonthPath,
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
    miner_model: ModelQ = None,
    format: FormatQ = "json",
) -> Any:
    return _mining(
        ctx,
        conn,
        ("month", year_month, ("path", "yearMonth")),
        (lead_party, farm_id),
        miner_model,
        format,
    )


@router.get(
    "/api/mining-potential/yearly/{year}",
    response_model=MiningPotential,
    tags=["mining potential"],
    summary="Bitcoin potential of a year, with monthly rows",
    responses={**ERRORS, **CSV_OK},
)
def mining_yearly(
    ctx: Ctx,
    conn: Conn,
    year: YearPath,
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
    miner_model: ModelQ = None,
    format: FormatQ = "json",
) -> Any:
    return _mining(
        ctx, conn, ("year", year, ("path", "year")), (lead_party, farm_id), miner_model, format
    )


@router.get(
    "/api/curtailment/mining-potential",
    response_model=MiningPotential,
    tags=["mining potential"],
    summary="The earlier system's path of /api/mining-potential/daily (default: latest date)",
    responses=ERRORS,
)
def curtailment_mining_potential(
    ctx: Ctx,
    conn: Conn,
    date: Annotated[
        str | None,
        Query(
            pattern=pv.DATE_PATTERN,
            description=DATE_DOC + "; default the latest date with curtailment",
        ),
    ] = None,
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
    miner_model: ModelQ = None,
) -> Any:
    lead, farm = resolve.filters(conn, lead_party, farm_id)
    model = resolve.model(conn, ctx, miner_model)
    scope = resolve.scope(conn, "day", date, ("timeframe", "date"), lead, farm)
    return mining_potential(conn, scope, model, ctx.settings.tracked_models)


@router.get(
    "/api/curtailment/monthly-mining-potential/{yearMonth}",
    response_model=MiningPotential,
    tags=["mining potential"],
    summary="The earlier system's path of /api/mining-potential/monthly/{yearMonth}",
    responses=ERRORS,
)
def curtailment_monthly_mining_potential(
    ctx: Ctx,
    conn: Conn,
    year_month: MonthPath,
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
    miner_model: ModelQ = None,
) -> Any:
    return _mining(
        ctx,
        conn,
        ("month", year_month, ("path", "yearMonth")),
        (lead_party, farm_id),
        miner_model,
        "json",
    )
