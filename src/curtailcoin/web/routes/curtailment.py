"""Curtailment routes: a date's, month's or year's totals, a date by local clock hour, and the
rate comparisons (£/MWh paid vs £/MWh of Bitcoin) per hour of a date or per day of a month."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from curtailcoin.web import params as pv
from curtailcoin.web.csvout import (
    DAY_SUMMARY_COLUMNS,
    MONTH_SUMMARY_COLUMNS,
    hour_columns,
    table_response,
)
from curtailcoin.web.deps import Conn, Ctx
from curtailcoin.web.legacy_schemas import RateComparison
from curtailcoin.web.queries.scope import day_scope, month_scope, year_scope
from curtailcoin.web.routes import resolve
from curtailcoin.web.routes.common import (
    CSV_OK,
    ERRORS,
    DatePath,
    FarmIdQ,
    FormatQ,
    LeadPartyQ,
    ModelQ,
    MonthPath,
    YearPath,
)
from curtailcoin.web.schemas import DailySummary, HourlyCurtailment, MonthlySummary, YearlySummary
from curtailcoin.web.service import comparison, curtailment

router = APIRouter()


@router.get(
    "/api/summary/daily/{date}",
    response_model=DailySummary,
    tags=["summary"],
    summary="Curtailment of a date: MWh (positive) and £ paid to farms",
    responses=ERRORS,
)
def summary_daily(
    conn: Conn,
    date: DatePath,
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
) -> DailySummary:
    day = pv.parse_day(date, ("path", "date"))
    lead, farm = resolve.filters(conn, lead_party, farm_id)
    return curtailment.daily_summary(conn, day_scope(day, lead, farm))


@router.get(
    "/api/summary/monthly/{yearMonth}",
    response_model=MonthlySummary,
    tags=["summary"],
    summary="Curtailment of a month with its daily rows",
    responses={**ERRORS, **CSV_OK},
)
def summary_monthly(
    conn: Conn,
    year_month: MonthPath,
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
    format: FormatQ = "json",
) -> Any:
    year, month = pv.parse_month(year_month, ("path", "yearMonth"))
    lead, farm = resolve.filters(conn, lead_party, farm_id)
    result = curtailment.monthly_summary(conn, month_scope(year, month, lead, farm))
    if format != "json":
        return table_response(
            format, f"curtailment-{result.year_month}", DAY_SUMMARY_COLUMNS, result.days
        )
    return result


@router.get(
    "/api/summary/yearly/{year}",
    response_model=YearlySummary,
    tags=["summary"],
    summary="Curtailment of a year with its monthly rows",
    responses={**ERRORS, **CSV_OK},
)
def summary_yearly(
    conn: Conn,
    year: YearPath,
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
    format: FormatQ = "json",
) -> Any:
    number = pv.parse_year(year, ("path", "year"))
    lead, farm = resolve.filters(conn, lead_party, farm_id)
    result = curtailment.yearly_summary(conn, year_scope(number, lead, farm))
    if format != "json":
        return table_response(
            format, f"curtailment-{result.year}", MONTH_SUMMARY_COLUMNS, result.months
        )
    return result


@router.get(
    "/api/curtailment/hourly/{date}",
    response_model=HourlyCurtailment,
    tags=["curtailment"],
    summary="Curtailment and Bitcoin per local clock hour (23, 24 or 25 hours)",
    responses={**ERRORS, **CSV_OK},
)
def curtailment_hourly(
    ctx: Ctx,
    conn: Conn,
    date: DatePath,
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
    miner_model: ModelQ = None,
    format: FormatQ = "json",
) -> Any:
    day = pv.parse_day(date, ("path", "date"))
    lead, farm = resolve.filters(conn, lead_party, farm_id)
    model = resolve.model(conn, ctx, miner_model)
    result = curtailment.hourly(
        conn, day_scope(day, lead, farm), model, ctx.settings.tracked_models
    )
    if format != "json":
        return table_response(
            format, f"hourly-{day}-{model.key}", hour_columns(model.key), result.hours
        )
    return result


@router.get(
    "/api/curtailment/hourly-comparison/{date}",
    response_model=RateComparison,
    tags=["curtailment"],
    summary="Per local hour: £/MWh paid to farms vs £/MWh of Bitcoin (the date's price)",
    responses=ERRORS,
)
def curtailment_hourly_comparison(
    ctx: Ctx,
    conn: Conn,
    date: DatePath,
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
    miner_model: ModelQ = None,
) -> RateComparison:
    day = pv.parse_day(date, ("path", "date"))
    lead, farm = resolve.filters(conn, lead_party, farm_id)
    model = resolve.model(conn, ctx, miner_model)
    return comparison.hourly_comparison(
        conn, day_scope(day, lead, farm), model, ctx.settings.tracked_models
    )


@router.get(
    "/api/curtailment/monthly-comparison/{yearMonth}",
    response_model=RateComparison,
    tags=["curtailment"],
    summary="Per day of a month: £/MWh paid to farms vs £/MWh of Bitcoin (each day's price)",
    responses=ERRORS,
)
def curtailment_monthly_comparison(
    ctx: Ctx,
    conn: Conn,
    year_month: MonthPath,
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
    miner_model: ModelQ = None,
) -> RateComparison:
    year, month = pv.parse_month(year_month, ("path", "yearMonth"))
    lead, farm = resolve.filters(conn, lead_party, farm_id)
    model = resolve.model(conn, ctx, miner_model)
    return comparison.monthly_comparison(
        conn, month_scope(year, month, lead, farm), model, ctx.settings.tracked_models
    )
