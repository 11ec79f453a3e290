"""``POST /api/ingest/{date}``: a token-protected reingest of one date, one at a time per date
(in this process, then across processes by the date's lock)."""

from __future__ import annotations

import asyncio
import threading
from datetime import date
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from curtailcoin.config import Settings
from curtailcoin.db.locks import DateLocks
from curtailcoin.pipeline import BadInput, ReingestResult, reingest_date
from curtailcoin.simulated import is_local_url
from curtailcoin.web import params as pv
from curtailcoin.web.deps import AppContext, require_token
from curtailcoin.web.errors import ApiError
from curtailcoin.web.routes.common import ERRORS, DatePath
from curtailcoin.web.schemas import ErrorResponse, GenerationFetchOut, IngestOut

router = APIRouter()

_ingest_locks: dict[date, threading.Lock] = {}
_ingest_guard = threading.Lock()


def _ingest_out(result: ReingestResult) -> IngestOut:
    return IngestOut(
        date=result.settlement_date,
        complete=result.complete,
        written=result.written,
        periods=result.periods,
        periods_fetched=result.periods_fetched,
        records=result.records,
        farms=result.farms,
        curtailed_energy=result.curtailed_mwh,
        total_payment=result.payment_gbp,
        bitcoin=result.bitcoin,
        failed_periods={str(k): v for k, v in sorted(result.failed_periods.items())},
        incomplete_periods={str(k): v for k, v in sorted(result.incomplete_periods.items())},
        pending_periods=result.pending_periods,
        warnings=result.warnings,
        suspect=result.suspect_reason if result.suspect else None,
        generation=None
        if result.generation is None
        else {
            name: GenerationFetchOut(**part) for name, part in result.generation.to_json().items()
        },
    )


def _reingest_locked(engine: Engine, settings: Settings, day: date) -> ReingestResult | None:
    """The reingest under the cross-process per-date lock of the CLI, the reconciliation and
    the worker; None when another run holds it."""
    locks = DateLocks(engine)
    try:
        if not locks.try_acquire(day):
            return None
        return asyncio.run(reingest_date(engine, settings, day, detected_by="api"))
    finally:
        locks.close()


@router.post(
    "/api/ingest/{date}",
    response_model=IngestOut,
    tags=["ingestion"],
    summary="Reingest a date from Elexon (Authorization: Bearer <CURTAILCOIN_API_TOKEN>)",
    responses={
        401: {"model": ErrorResponse, "description": "Missing or wrong token"},
        403: {"model": ErrorResponse, "description": "Disabled: no token configured"},
        409: {
            "model": ErrorResponse,
            "description": "That date is being ingested already, or the database is a demo's "
            "(simulated data) and Elexon is not a local test server",
        },
        502: {
            "model": IngestOut,
            "description": "A fetch failed or the answer is suspect; the stored date is unchanged",
        },
        **ERRORS,
    },
    dependencies=[Depends(require_token)],
)
async def ingest(request: Request, date: DatePath) -> Any:
    ctx: AppContext = request.app.state.ctx
    day = pv.parse_day(date, ("path", "date"))
    if ctx.simulated and not is_local_url(ctx.settings.elexon_base_url):
        raise ApiError(
            409,
            "this server's database holds simulated data (curtailcoin demo): real data from "
            f"{ctx.settings.elexon_base_url} is not written into it",
        )
    with _ingest_guard:
        lock = _ingest_locks.setdefault(day, threading.Lock())
    if not lock.acquire(blocking=False):
        raise ApiError(409, f"{day} is being ingested already; try again when it finishes")
    try:
        try:
            maybe = await anyio.to_thread.run_sync(_reingest_locked, ctx.engine, ctx.settings, day)
        except BadInput as exc:
            raise pv.InputError(("path", "date"), str(exc)) from None
        if maybe is None:
            raise ApiError(409, f"{day} is being processed by another run; try again later")
        result = maybe
    finally:
        lock.release()
    out = _ingest_out(result)
    if not result.written:
        return JSONResponse(out.model_dump(mode="json", by_alias=True), status_code=502)
    return out
