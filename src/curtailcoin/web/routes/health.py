"""``/health``: liveness and whether the database answers (no snapshot: it must not wait)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from sqlalchemy import select

from curtailcoin import __version__
from curtailcoin.web.deps import Ctx
from curtailcoin.web.schemas import Health

router = APIRouter()


@router.get("/health", response_model=Health, tags=["service"], summary="Liveness and database")
def health(ctx: Ctx) -> Health:
    try:
        with ctx.engine.connect() as conn:
            conn.execute(select(1)).scalar_one()
        simulated = ctx.simulated
        database: Literal["ok", "unavailable"] = "ok"
    except Exception:
        database, simulated = "unavailable", False
    return Health(
        status="ok" if database == "ok" else "degraded",
        start_time=ctx.started_at,
        database=database,
        version=__version__,
        simulated_data=simulated,
    )
