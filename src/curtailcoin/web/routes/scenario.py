"""Site-economics routes (issue 12): a fleet at a site run only when it was curtailed, a sweep of
fleet sizes, and the site's curtailment duration curve — the CLI's ``curtailcoin scenario``
calls (``economics.scenario``) behind validated query parameters.

Every input is checked (``web.scenario_params``) before the site's energies are read, each
failure a 422 naming the parameter; work per request is bounded (≤ 10 years, ≤ 200 sizes: one
``sizes × periods`` array, no query per size).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from curtailcoin.economics.scenario import (
    ScenarioRequest,
    SizingRequest,
    fleet_of,
    run_duration_curve,
    run_scenario,
    run_sizing,
)
from curtailcoin.web import scenario_params as sp
from curtailcoin.web.csvout import table_response
from curtailcoin.web.deps import Conn, Ctx
from curtailcoin.web.routes.common import CSV_OK, ERRORS, FormatQ
from curtailcoin.web.scenario_params import AssumptionsD, ModelQ, SiteRangeD, SizesQ, ThresholdsQ
from curtailcoin.web.scenario_schemas import DurationOut, Grain, ScenarioOut, SizingOut
from curtailcoin.web.service.scenario import (
    DURATION_COLUMNS,
    SIZE_COLUMNS,
    UnpricedDates,
    rollup_columns,
    scenario_out,
    sizing_out,
)

router = APIRouter()
TAG = "site economics"


@router.get(
    "/api/scenario",
    response_model=ScenarioOut,
    response_model_by_alias=True,
    tags=[TAG],
    summary="A fleet at a site, run only when the site was curtailed: energy, BTC, £, payback",
    responses={**ERRORS, **CSV_OK},
)
def scenario(
    ctx: Ctx,
    conn: Conn,
    where: SiteRangeD,
    assumed: AssumptionsD,
    miner_model: ModelQ = None,
    miners: Annotated[
        int | None, Query(ge=1, le=10_000_000, description="Fleet size, miners")
    ] = None,
    mw: Annotated[
        float | None,
        Query(gt=0, le=100_000, allow_inf_nan=False, description="Fleet size, MW (whole miners)"),
    ] = None,
    grain: Annotated[
        Grain, Query(description="Rows per day, month or year; total: the total only")
    ] = "month",
    format: FormatQ = "json",
) -> Any:
    model = sp.model_of(conn, miner_model, ctx.default_model)
    key = model.key
    sp.at("mw" if mw is not None else "miners", lambda: fleet_of(model, miners, mw))
    request = ScenarioRequest(
        where.site,
        key,
        where.start,
        where.end,
        miners,
        mw,
        assumed,
        "year" if grain == "total" else grain,
    )
    result = sp.at("fees", lambda: run_scenario(conn, request))  # refused: no fee history
    unpriced = UnpricedDates.read(conn, where.start, where.end, assumed.btc_price_gbp is not None)
    out = scenario_out(result, grain, unpriced)
    if format != "json":
        rows = [out.total] if grain == "total" else out.rows
        name = f"scenario-{where.start}-{where.end}-{key}-{grain}"
        return table_response(format, name, rollup_columns(grain), rows)
    return out


@router.get(
    "/api/scenario/sizing",
    response_model=SizingOut,
    response_model_by_alias=True,
    tags=[TAG],
    summary="The scenario over a sweep of fleet sizes, the best size, and the duration curve",
    responses={**ERRORS, **CSV_OK},
)
def sizing(
    ctx: Ctx,
    conn: Conn,
    where: SiteRangeD,
    assumed: AssumptionsD,
    miner_model: ModelQ = None,
    sizes: SizesQ = "1:500:50",
    thresholds: ThresholdsQ = None,
    format: FormatQ = "json",
) -> Any:
    model = sp.model_of(conn, miner_model, ctx.default_model)
    key = model.key
    grid = sp.at("sizes", lambda: sp.parse_sizes(sizes))
    for size in grid:
        sp.at("sizes", lambda size=size: fleet_of(model, None, size))  # type: ignore[misc]
    limits = sp.at("thresholds", lambda: sp.parse_thresholds(thresholds))
    request = SizingRequest(where.site, key, where.start, where.end, grid, assumed, limits)
    result = sp.at("fees", lambda: run_sizing(conn, request))
    unpriced = UnpricedDates.read(conn, where.start, where.end, assumed.btc_price_gbp is not None)
    out = sizing_out(result, unpriced)
    if format != "json":
        name = f"sizing-{where.start}-{where.end}-{key}"
        return table_response(format, name, SIZE_COLUMNS, out.sizes)
    return out


@router.get(
    "/api/scenario/duration-curve",
    response_model=DurationOut,
    response_model_by_alias=True,
    tags=[TAG],
    summary="Hours with at least x MW curtailed at the site (the curtailment duration curve)",
    responses={**ERRORS, **CSV_OK},
)
def duration(
    conn: Conn,
    where: SiteRangeD,
    thresholds: ThresholdsQ = None,
    format: FormatQ = "json",
) -> Any:
    limits = sp.at("thresholds", lambda: sp.parse_thresholds(thresholds))
    result = run_duration_curve(conn, where.site, where.start, where.end, limits)
    out = DurationOut.model_validate(
        {
            "site": result.site,
            "site_units": result.site_units,
            "start": result.start,
            "end": result.end,
            "duration_curve": [
                {"mw": p.mw, "hours": p.hours, "hours_per_year": p.hours_per_year}
                for p in result.duration_curve
            ],
        }
    )
    if format != "json":
        name = f"duration-curve-{where.start}-{where.end}"
        return table_response(format, name, DURATION_COLUMNS, out.duration_curve)
    return out
