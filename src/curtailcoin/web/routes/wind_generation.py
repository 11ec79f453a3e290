"""Wind generation routes (the earlier system's ``/api/wind-generation/*`` reads): a date's
stored national wind per period, whether a date has any, and the generation datasets' state."""

from __future__ import annotations

from fastapi import APIRouter

from curtailcoin.web import params as pv
from curtailcoin.web.deps import Conn
from curtailcoin.web.legacy_schemas import (
    WindGenerationCheck,
    WindGenerationDay,
    WindGenerationStatus,
)
from curtailcoin.web.routes.common import ERRORS, DatePath
from curtailcoin.web.service import wind_generation

router = APIRouter()


@router.get(
    "/api/wind-generation/date/{date}",
    response_model=WindGenerationDay,
    tags=["wind generation"],
    summary="A date's national wind generation per settlement period (MWh), with its state",
    responses=ERRORS,
)
def wind_generation_date(conn: Conn, date: DatePath) -> WindGenerationDay:
    day = pv.parse_day(date, ("path", "date"))
    return wind_generation.wind_generation_day(conn, day)


@router.get(
    "/api/wind-generation/check/{date}",
    response_model=WindGenerationCheck,
    tags=["wind generation"],
    summary="Whether a date's national wind generation is stored",
    responses=ERRORS,
)
def wind_generation_check(conn: Conn, date: DatePath) -> WindGenerationCheck:
    day = pv.parse_day(date, ("path", "date"))
    return wind_generation.wind_generation_check(conn, day)


@router.get(
    "/api/wind-generation/status",
    response_model=WindGenerationStatus,
    tags=["wind generation"],
    summary="The generation datasets: dates fetched, latest date, failed dates",
    responses=ERRORS,
)
def wind_generation_status(conn: Conn) -> WindGenerationStatus:
    return wind_generation.wind_generation_status(conn)
