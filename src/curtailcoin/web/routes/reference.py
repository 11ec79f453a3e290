"""Reference routes: the data range, the lead parties and the miner catalogue."""

from __future__ import annotations

from fastapi import APIRouter

from curtailcoin.web import params as pv
from curtailcoin.web.deps import Conn, Ctx
from curtailcoin.web.queries import reference as reference_q
from curtailcoin.web.routes.common import ERRORS, DatePath
from curtailcoin.web.schemas import DataRangeOut, MinerModelOut
from curtailcoin.web.service import reference

router = APIRouter()


@router.get(
    "/api/data-range",
    response_model=DataRangeOut,
    tags=["reference"],
    summary="Dates with data, today's settlement date and the latest prices",
    responses=ERRORS,
)
def data_range(ctx: Ctx, conn: Conn) -> DataRangeOut:
    return reference.data_range(
        conn, ctx.settings.tracked_models, ctx.default_model, simulated=ctx.simulated
    )


@router.get(
    "/api/lead-parties",
    response_model=list[str],
    tags=["reference"],
    summary="Lead parties with curtailment records (sorted)",
    responses=ERRORS,
)
def lead_parties(conn: Conn) -> list[str]:
    return reference_q.lead_parties(conn)


@router.get(
    "/api/lead-parties/{date}",
    response_model=list[str],
    tags=["reference"],
    summary="Lead parties with curtailment records on a date",
    responses=ERRORS,
)
def lead_parties_on(conn: Conn, date: DatePath) -> list[str]:
    return reference_q.lead_parties_on(conn, pv.parse_day(date, ("path", "date")))


@router.get(
    "/api/miner-models",
    response_model=list[MinerModelOut],
    tags=["reference"],
    summary="The miner catalogue (any model works in every route)",
    responses=ERRORS,
)
def miner_models(ctx: Ctx, conn: Conn) -> list[MinerModelOut]:
    return reference.miner_models(conn, ctx.settings.tracked_models)
