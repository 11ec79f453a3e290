"""The JSON API: the seed system's paths, with consistent units and signs (see ``schemas``)."""

from __future__ import annotations

import asyncio
import hmac
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Connection, Engine, select

from curtailcoin import __version__
from curtailcoin.config import Settings
from curtailcoin.db.engine import read_snapshot
from curtailcoin.db.schema import btc_prices
from curtailcoin.miners import MinerModel
from curtailcoin.pipeline import BadInput, ReingestResult, reingest_date
from curtailcoin.reconcile.locks import DateLocks
from curtailcoin.settlement import settlement_today
from curtailcoin.web import params as pv
from curtailcoin.web import service
from curtailcoin.web.cache import note_snapshot_version
from curtailcoin.web.csvout import csv_response
from curtailcoin.web.queries import reference
from curtailcoin.web.queries.scope import Scope, day_scope, month_scope, year_scope
from curtailcoin.web.schemas import (
    DailySummary,
    DataRangeOut,
    ErrorResponse,
    GroupedData,
    Health,
    HourlyCurtailment,
    IngestOut,
    LeadPartyFarms,
    MinerModelOut,
    MiningPotential,
    MonthlySummary,
    ReconciliationOut,
    TopFarm,
    YearlySummary,
)

router = APIRouter()

ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "Invalid input; the message names the field"},
    503: {"model": ErrorResponse, "description": "Database unavailable"},
}
CSV_OK: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "JSON, or CSV with format=csv",
    },
}


class ApiError(Exception):
    """An error answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers


@dataclass
class AppContext:
    settings: Settings
    started_at: datetime
    _engine: Engine | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _slots: tuple[asyncio.AbstractEventLoop, anyio.CapacityLimiter] | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from curtailcoin.db.engine import get_engine

            with self._lock:
                if self._engine is None:
                    self._engine = get_engine(self.settings.database_url)
        return self._engine

    def snapshot_slots(self) -> anyio.CapacityLimiter:
        """The limit of :data:`MAX_SNAPSHOTS`, one per event loop (a test client has its own)."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, anyio.CapacityLimiter(MAX_SNAPSHOTS))
        return self._slots[1]

    @property
    def default_model(self) -> str:
        return self.settings.tracked_models[0] if self.settings.tracked_models else "S19J_PRO"


def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


# Requests reading the database at once, per process: fewer than the smallest connection pool
# (15 on SQLite, 20 on PostgreSQL), so a request never holds a worker thread while it waits for
# a connection (with every thread waiting, no connection could be given back), and a handful of
# threads share the interpreter better than forty. The others wait in the event loop.
MAX_SNAPSHOTS = 8


async def snapshot(
    request: Request, ctx: Annotated[AppContext, Depends(context)]
) -> AsyncIterator[Connection]:
    """The request's one read transaction: every figure of a response (totals and their rows,
    prices, completeness, input checks) comes from one snapshot, whatever writers commit
    meanwhile. The response cache learns that snapshot's data version from here."""
    async with ctx.snapshot_slots():
        opened = read_snapshot(ctx.engine)

        def enter() -> Connection:
            conn = opened.__enter__()
            try:
                note_snapshot_version(request.scope, conn)  # the snapshot's first read
            except BaseException as exc:
                opened.__exit__(type(exc), exc, exc.__traceback__)
                raise
            return conn

        conn = await anyio.to_thread.run_sync(enter)
        try:
            yield conn
        finally:
            await anyio.to_thread.run_sync(opened.__exit__, None, None, None)


Ctx = Annotated[AppContext, Depends(context)]
Conn = Annotated[Connection, Depends(snapshot)]

DATE_DOC = "Settlement date (Europe/London day), YYYY-MM-DD, not in the future"
LeadPartyQ = Annotated[
    str | None,
    Query(
        alias="leadParty",
        max_length=pv.NAME_MAX,
        description="Only this lead party (exact name, see /api/lead-parties)",
    ),
]
FarmIdQ = Annotated[
    str | None,
    Query(alias="farmId", max_length=64, description="Only this Elexon BM unit id"),
]
ModelQ = Annotated[
    str | None,
    Query(
        alias="minerModel",
        max_length=40,
        description="Miner model key (see /api/miner-models); default the first tracked model",
    ),
]
FormatQ = Annotated[
    Literal["json", "csv"], Query(description="json (default) or csv for a download")
]


def _filters(
    conn: Connection, lead_party: str | None, farm_id: str | None
) -> tuple[str | None, str | None]:
    lead = pv.check_name(lead_party, ("query", "leadParty"))
    farm = pv.check_name(farm_id, ("query", "farmId"), 64)
    if lead is not None and not reference.lead_party_exists(conn, lead):
        raise pv.InputError(
            ("query", "leadParty"), f"unknown leadParty {lead!r}: see /api/lead-parties"
        )
    if farm is not None and not reference.farm_exists(conn, farm):
        raise pv.InputError(("query", "farmId"), f"unknown farmId {farm!r}: not a known BM unit")
    return lead, farm


def _model(conn: Connection, ctx: AppContext, text: str | None) -> MinerModel:
    return pv.resolve_model(
        text, reference.miner_catalogue(conn), ctx.default_model, ("query", "minerModel")
    )


def _latest_day(conn: Connection) -> date:
    rng = reference.data_range(conn)
    return rng.last_date_with_curtailment or rng.last_date or settlement_today()


def _scope(
    conn: Connection,
    timeframe_text: str | None,
    value_text: str | None,
    names: tuple[str, str],
    lead: str | None,
    farm: str | None,
) -> Scope:
    """A scope from a timeframe and a value (either may be omitted)."""
    tf_loc = ("query", names[0])
    value_loc = ("query", names[1])
    timeframe = pv.parse_timeframe(timeframe_text, tf_loc) if timeframe_text else None
    if value_text is None:
        latest = _latest_day(conn)
        timeframe = timeframe or "day"
        value_text = {
            "day": latest.isoformat(),
            "month": latest.isoformat()[:7],
            "year": latest.isoformat()[:4],
        }[timeframe]
    if timeframe is None:
        timeframe = {10: "day", 7: "month", 4: "year"}.get(len(value_text), "day")  # type: ignore[assignment]
    if timeframe == "day":
        return day_scope(pv.parse_day(value_text, value_loc), lead, farm)
    if timeframe == "month":
        year, month = pv.parse_month(value_text, value_loc)
        return month_scope(year, month, lead, farm)
    return year_scope(pv.parse_year(value_text, value_loc), lead, farm)


# --- service and reference routes ------------------------------------------------------------


@router.get("/health", response_model=Health, tags=["service"], summary="Liveness and database")
def health(ctx: Ctx) -> Health:
    try:
        with ctx.engine.connect() as conn:
            conn.execute(select(1)).scalar_one()
        database: Literal["ok", "unavailable"] = "ok"
    except Exception:
        database = "unavailable"
    return Health(
        status="ok" if database == "ok" else "degraded",
        start_time=ctx.started_at,
        database=database,
        version=__version__,
    )


@router.get(
    "/api/data-range",
    response_model=DataRangeOut,
    tags=["reference"],
    summary="Dates with data, today's settlement date and the latest prices",
    responses=ERRORS,
)
def data_range(ctx: Ctx, conn: Conn) -> DataRangeOut:
    rng = reference.data_range(conn)
    prices = service.PriceBook.load(conn, settlement_today(), settlement_today())
    return DataRangeOut(
        first_date=rng.first_date,
        last_date=rng.last_date,
        last_date_with_curtailment=rng.last_date_with_curtailment,
        today=settlement_today(),
        latest_price={c: prices.latest_value(c) for c in ("GBP", "USD")},
        tracked_models=list(ctx.settings.tracked_models),
        default_model=ctx.default_model,
    )


@router.get(
    "/api/lead-parties",
    response_model=list[str],
    tags=["reference"],
    summary="Lead parties with curtailment records (sorted)",
    responses=ERRORS,
)
def lead_parties(conn: Conn) -> list[str]:
    return reference.lead_parties(conn)


@router.get(
    "/api/lead-parties/{date}",
    response_model=list[str],
    tags=["reference"],
    summary="Lead parties with curtailment records on a date",
    responses=ERRORS,
)
def lead_parties_on(
    conn: Conn, date: Annotated[str, Path(pattern=pv.DATE_PATTERN, description=DATE_DOC)]
) -> list[str]:
    return reference.lead_parties_on(conn, pv.parse_day(date, ("path", "date")))


@router.get(
    "/api/miner-models",
    response_model=list[MinerModelOut],
    tags=["reference"],
    summary="The miner catalogue (any model works in every route)",
    responses=ERRORS,
)
def miner_models(ctx: Ctx, conn: Conn) -> list[MinerModelOut]:
    tracked = list(ctx.settings.tracked_models)
    models = reference.miner_catalogue(conn).values()
    ordered = sorted(models, key=lambda m: (m.key not in tracked, m.efficiency_j_per_th, m.key))
    return [service.model_out(m, tracked) for m in ordered]


# --- summaries -------------------------------------------------------------------------------


@router.get(
    "/api/summary/daily/{date}",
    response_model=DailySummary,
    tags=["summary"],
    summary="Curtailment of a date: MWh (positive) and £ paid to farms",
    responses=ERRORS,
)
def summary_daily(
    conn: Conn,
    date: Annotated[str, Path(pattern=pv.DATE_PATTERN, description=DATE_DOC)],
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
) -> DailySummary:
    day = pv.parse_day(date, ("path", "date"))
    lead, farm = _filters(conn, lead_party, farm_id)
    return service.daily_summary(conn, day_scope(day, lead, farm))


@router.get(
    "/api/summary/monthly/{yearMonth}",
    response_model=MonthlySummary,
    tags=["summary"],
    summary="Curtailment of a month with its daily rows",
    responses={**ERRORS, **CSV_OK},
)
def summary_monthly(
    conn: Conn,
    year_month: Annotated[
        str, Path(alias="yearMonth", pattern=pv.MONTH_PATTERN, description="YYYY-MM")
    ],
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
    format: FormatQ = "json",
) -> Any:
    year, month = pv.parse_month(year_month, ("path", "yearMonth"))
    lead, farm = _filters(conn, lead_party, farm_id)
    result = service.monthly_summary(conn, month_scope(year, month, lead, farm))
    if format == "csv":
        return csv_response(
            f"curtailment-{result.year_month}.csv",
            ["date", "curtailed_energy_mwh", "payment_to_farms_gbp", "records", "farms"],
            [
                [d.date, d.total_curtailed_energy, d.total_payment, d.record_count, d.farm_count]
                for d in result.days
            ],
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
    year: Annotated[str, Path(pattern=pv.YEAR_PATTERN, description="YYYY")],
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
    format: FormatQ = "json",
) -> Any:
    number = pv.parse_year(year, ("path", "year"))
    lead, farm = _filters(conn, lead_party, farm_id)
    result = service.yearly_summary(conn, year_scope(number, lead, farm))
    if format == "csv":
        return csv_response(
            f"curtailment-{result.year}.csv",
            ["month", "curtailed_energy_mwh", "payment_to_farms_gbp", "records", "farms"],
            [
                [
                    m.year_month,
                    m.total_curtailed_energy,
                    m.total_payment,
                    m.record_count,
                    m.farm_count,
                ]
                for m in result.months
            ],
        )
    return result


# --- hourly ----------------------------------------------------------------------------------


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
    date: Annotated[str, Path(pattern=pv.DATE_PATTERN, description=DATE_DOC)],
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
    miner_model: ModelQ = None,
    format: FormatQ = "json",
) -> Any:
    day = pv.parse_day(date, ("path", "date"))
    lead, farm = _filters(conn, lead_party, farm_id)
    model = _model(conn, ctx, miner_model)
    result = service.hourly(conn, day_scope(day, lead, farm), model, ctx.settings.tracked_models)
    if format == "csv":
        return csv_response(
            f"hourly-{day}-{model.key}.csv",
            [
                "hour_local",
                "start_utc",
                "periods",
                "curtailed_energy_mwh",
                "payment_to_farms_gbp",
                f"bitcoin_{model.key}_btc",
            ],
            [
                [
                    h.hour,
                    h.start_utc.isoformat(),
                    " ".join(map(str, h.periods)),
                    h.curtailed_energy,
                    h.total_payment,
                    h.bitcoin_mined,
                ]
                for h in result.hours
            ],
        )
    return result


# --- mining potential ------------------------------------------------------------------------


def _mining(
    ctx: AppContext,
    conn: Connection,
    scope_args: tuple[str, str, tuple[str, str]],
    lead_party: str | None,
    farm_id: str | None,
    miner_model: str | None,
    format: str,
) -> Any:
    timeframe, value, loc = scope_args
    lead, farm = _filters(conn, lead_party, farm_id)
    model = _model(conn, ctx, miner_model)
    if timeframe == "day":
        scope = day_scope(pv.parse_day(value, loc), lead, farm)
    elif timeframe == "month":
        year, month = pv.parse_month(value, loc)
        scope = month_scope(year, month, lead, farm)
    else:
        scope = year_scope(pv.parse_year(value, loc), lead, farm)
    result = service.mining_potential(conn, scope, model, ctx.settings.tracked_models)
    if format == "csv":
        return csv_response(
            f"mining-potential-{scope.label}-{model.key}.csv",
            [
                "date" if timeframe == "month" else "month",
                "curtailed_energy_mwh",
                "payment_to_farms_gbp",
                f"bitcoin_{model.key}_btc",
                "value_gbp_at_date_price",
            ],
            [
                [row.key, row.curtailed_energy, row.total_payment, row.bitcoin_mined, row.value_gbp]
                for row in result.rows
            ],
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
        ctx, conn, ("day", date, ("query", "date")), lead_party, farm_id, miner_model, "json"
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
    date: Annotated[str, Path(pattern=pv.DATE_PATTERN, description=DATE_DOC)],
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
    miner_model: ModelQ = None,
) -> Any:
    return _mining(
        ctx, conn, ("day", date, ("path", "date")), lead_party, farm_id, miner_model, "json"
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
    year_month: Annotated[
        str, Path(alias="yearMonth", pattern=pv.MONTH_PATTERN, description="YYYY-MM")
    ],
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
    miner_model: ModelQ = None,
    format: FormatQ = "json",
) -> Any:
    return _mining(
        ctx,
        conn,
        ("month", year_month, ("path", "yearMonth")),
        lead_party,
        farm_id,
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
    year: Annotated[str, Path(pattern=pv.YEAR_PATTERN, description="YYYY")],
    lead_party: LeadPartyQ = None,
    farm_id: FarmIdQ = None,
    miner_model: ModelQ = None,
    format: FormatQ = "json",
) -> Any:
    return _mining(
        ctx, conn, ("year", year, ("path", "year")), lead_party, farm_id, miner_model, format
    )


TimeframeQ = Annotated[
    str | None,
    Query(
        max_length=10,
        description="day | month | year (also daily | monthly | yearly); inferred from the value "
        "when omitted",
    ),
]
ValueQ = Annotated[
    str | None,
    Query(
        max_length=10,
        pattern=pv.VALUE_PATTERN,
        description="YYYY-MM-DD, YYYY-MM or YYYY matching the timeframe; default the latest date "
        "with curtailment",
    ),
]


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
    scope = _scope(conn, timeframe, date, ("timeframe", "date"), None, None)
    result = service.farms_by_lead_party(conn, scope)
    if format == "csv":
        return csv_response(
            f"lead-parties-{scope.label}.csv",
            ["lead_party", "bm_units", "curtailed_energy_mwh", "payment_to_farms_gbp"],
            [[g.name, " ".join(g.farm_ids), g.curtailed_energy, g.total_payment] for g in result],
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
    model = _model(conn, ctx, miner_model)
    scope = _scope(conn, period, value, ("period", "value"), None, None)
    result = service.top_farms(conn, scope, model, ctx.settings.tracked_models, limit)
    if format == "csv":
        return csv_response(
            f"top-farms-{scope.label}-{model.key}.csv",
            [
                "lead_party",
                "bm_units",
                "curtailed_energy_mwh",
                "payment_to_farms_gbp",
                f"bitcoin_{model.key}_btc",
                "bitcoin_value_gbp_at_date_prices",
                "bitcoin_value_gbp_at_latest_price",
            ],
            [
                [
                    t.name,
                    " ".join(t.farm_ids),
                    t.curtailed_energy,
                    t.curtailment_payment,
                    t.bitcoin_mined,
                    t.bitcoin_value,
                    t.bitcoin_value_at_latest_price,
                ]
                for t in result
            ],
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
    lead, farm = _filters(conn, lead_party, farm_id)
    model = _model(conn, ctx, miner_model)
    scope = _scope(conn, timeframe, value, ("timeframe", "value"), lead, farm)
    result = service.grouped_data(conn, scope, model, ctx.settings.tracked_models)
    if format == "csv":
        rows: list[list[Any]] = []
        for g in result.farms:
            rows.append(
                [
                    "lead_party",
                    g.name,
                    "",
                    g.total_curtailed_energy,
                    g.total_percentage_of_total,
                    g.total_payment,
                    g.payment_per_mwh,
                    g.total_potential_btc,
                    g.btc_value,
                    g.btc_value_at_latest_price,
                ]
            )
            for f in g.farms:
                rows.append(
                    [
                        "bm_unit",
                        g.name,
                        f.farm_id,
                        f.curtailed_energy,
                        f.percentage_of_total,
                        f.payment,
                        f.payment_per_mwh,
                        f.potential_btc,
                        f.btc_value,
                        f.btc_value_at_latest_price,
                    ]
                )
        return csv_response(
            f"farms-{scope.label}-{model.key}.csv",
            [
                "row_type",
                "lead_party",
                "bm_unit",
                "curtailed_energy_mwh",
                "percent_of_total",
                "payment_to_farms_gbp",
                "payment_gbp_per_mwh",
                f"bitcoin_{model.key}_btc",
                "bitcoin_value_gbp_at_date_prices",
                "bitcoin_value_gbp_at_latest_price",
            ],
            rows,
        )
    return result


# --- prices and reconciliation ---------------------------------------------------------------


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
    p = btc_prices.c
    rows = conn.execute(
        select(p.price_date, p.currency, p.price, p.source, p.fetched_at)
        .where(p.price_date >= first, p.price_date <= last)
        .order_by(p.price_date, p.currency)
    ).all()
    items = [
        {
            "date": row.price_date.isoformat(),
            "currency": row.currency,
            "price": row.price,
            "source": row.source,
            "fetchedAt": row.fetched_at.isoformat() if row.fetched_at else None,
        }
        for row in rows
    ]
    if format == "csv":
        return csv_response(
            f"btc-prices-{first}-{last}.csv",
            ["date", "currency", "price", "source"],
            [[i["date"], i["currency"], i["price"], i["source"]] for i in items],
        )
    return {"from": first.isoformat(), "to": last.isoformat(), "prices": items}


@router.get(
    "/api/reconciliation/status",
    response_model=ReconciliationOut,
    tags=["service"],
    summary="Completeness of fetches and tracked calculations over a date range",
    responses=ERRORS,
)
def reconciliation_status(
    ctx: Ctx,
    conn: Conn,
    start: Annotated[
        str | None,
        Query(
            alias="from", pattern=pv.DATE_PATTERN, description="YYYY-MM-DD (default: 30 days ago)"
        ),
    ] = None,
    end: Annotated[
        str | None,
        Query(alias="to", pattern=pv.DATE_PATTERN, description="YYYY-MM-DD (default: today)"),
    ] = None,
) -> ReconciliationOut:
    last = pv.parse_day(end, ("query", "to")) if end else settlement_today()
    first = pv.parse_day(start, ("query", "from")) if start else last - timedelta(days=29)
    if first > last:
        raise pv.InputError(("query", "from"), f"from {first} is after to {last}")
    if (last - first).days > 1100:
        raise pv.InputError(("query", "from"), "the range is longer than 1,100 days")
    return service.reconciliation(conn, first, last, list(ctx.settings.tracked_models))


# --- ingestion (protected) -------------------------------------------------------------------

_ingest_locks: dict[date, threading.Lock] = {}
_ingest_guard = threading.Lock()


def require_token(
    ctx: Ctx,
    authorization: Annotated[
        str | None, Header(description="Bearer <CURTAILCOIN_API_TOKEN>")
    ] = None,
) -> None:
    """Bearer token check in constant time; 403 when no token is configured."""
    token = ctx.settings.api_token
    if not token:
        raise ApiError(
            403, "ingestion over the API is disabled: set CURTAILCOIN_API_TOKEN to enable it"
        )
    challenge = {"WWW-Authenticate": "Bearer"}
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise ApiError(401, "missing bearer token in the Authorization header", challenge)
    given = credentials.strip().encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(given, token.encode("utf-8", "surrogateescape")):
        raise ApiError(401, "invalid bearer token", challenge)


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
    )


@router.post(
    "/api/ingest/{date}",
    response_model=IngestOut,
    tags=["ingestion"],
    summary="Reingest a date from Elexon (Authorization: Bearer <CURTAILCOIN_API_TOKEN>)",
    responses={
        401: {"model": ErrorResponse, "description": "Missing or wrong token"},
        403: {"model": ErrorResponse, "description": "Disabled: no token configured"},
        409: {"model": ErrorResponse, "description": "That date is being ingested already"},
        502: {
            "model": IngestOut,
            "description": "A fetch failed or the answer is suspect; the stored date is unchanged",
        },
        **ERRORS,
    },
    dependencies=[Depends(require_token)],
)
async def ingest(
    request: Request,
    date: Annotated[str, Path(pattern=pv.DATE_PATTERN, description=DATE_DOC)],
) -> Any:
    ctx: AppContext = request.app.state.ctx
    day = pv.parse_day(date, ("path", "date"))
    with _ingest_guard:
        lock = _ingest_locks.setdefault(day, threading.Lock())
    if not lock.acquire(blocking=False):
        raise ApiError(409, f"{day} is being ingested already; try again when it finishes")
    try:
        engine = ctx.engine
        settings = ctx.settings

        def run() -> ReingestResult | None:
            # The cross-process per-date lock of the CLI, the reconciliation and the worker.
            locks = DateLocks(engine)
            try:
                if not locks.try_acquire(day):
                    return None
                return asyncio.run(reingest_date(engine, settings, day, detected_by="api"))
            finally:
                locks.close()

        try:
            maybe = await anyio.to_thread.run_sync(run)
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


def utcnow() -> datetime:
    return datetime.now(UTC)


__all__ = ["ApiError", "AppContext", "Response", "router"]
