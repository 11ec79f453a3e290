"""``reconcile spot-fix``: one farm's rows of one period refetched and replaced (the seed's
``spotFix``), with everything derived from them: its calculations, the date's summaries, the
month's and the year's."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from curtailcoin.db.curtailment_tables import curtailment_records, historical_bitcoin_calculations
from curtailcoin.db.reference_tables import bm_units
from curtailcoin.network import NetworkTimeline
from curtailcoin.pipeline.derive import derive_date
from curtailcoin.pipeline.fetch import ensure_network_conditions, fetch_periods
from curtailcoin.pipeline.inputs import BadInput, validate_date
from curtailcoin.pipeline.store import replace_farm_period
from curtailcoin.reconcile.context import FetchFailed, ReconcileContext, run_db, run_locked
from curtailcoin.reconcile.outcome import DateOutcome, problems_of
from curtailcoin.reconcile.recalculate import summary_models
from curtailcoin.reconcile.source import Totals, headline_totals
from curtailcoin.settlement import check_period
from curtailcoin.sources.elexon import PeriodResult

log = logging.getLogger("curtailcoin.reconcile")


def validate_spot_fix(engine: Engine, settlement_date: date, period: int, farm: str) -> None:
    """Bad input → ``BadInput`` (one line naming the value and what is allowed)."""
    validate_date(settlement_date)
    try:
        check_period(settlement_date, period)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    with engine.connect() as conn:
        unit = conn.execute(
            select(bm_units.c.elexon_bm_unit).where(bm_units.c.elexon_bm_unit == farm)
        ).first()
        seen = conn.execute(
            select(curtailment_records.c.farm_id)
            .where(
                curtailment_records.c.settlement_date == settlement_date,
                curtailment_records.c.farm_id == farm,
            )
            .limit(1)
        ).first()
        units = conn.execute(select(func.count()).select_from(bm_units)).scalar_one()
    if unit is None and seen is None:
        raise BadInput(
            f"unknown farm {farm!r}: not a BM unit in the registry ({units} units) nor a farm "
            f"with records on {settlement_date.isoformat()}; use an Elexon BM unit id such as "
            "T_WHILW-1"
        )


def _farm_period(conn: Connection, settlement_date: date, period: int, farm: str) -> dict[str, Any]:
    r = curtailment_records.c
    rows = conn.execute(
        select(r.volume_mwh, r.payment_gbp).where(
            r.settlement_date == settlement_date,
            r.settlement_period == period,
            r.farm_id == farm,
        )
    ).all()
    c = historical_bitcoin_calculations.c
    calcs = conn.execute(
        select(c.miner_model, c.bitcoin_mined_btc).where(
            c.settlement_date == settlement_date,
            c.settlement_period == period,
            c.farm_id == farm,
        )
    ).all()
    return {
        "records": len(rows),
        "curtailed_mwh": -sum(v for v, _ in rows) + 0.0,
        "payment_gbp": sum(p for _, p in rows if p is not None),
        "bitcoin": {model: btc for model, btc in sorted(calcs)},
    }


def _spot_write(
    engine: Engine,
    settlement_date: date,
    period: int,
    farm: str,
    result: PeriodResult,
    wind: Mapping[str, str | None],
    timeline: NetworkTimeline,
    models: list[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    with engine.begin() as conn:
        before = _farm_period(conn, settlement_date, period, farm)
        replace_farm_period(conn, settlement_date, period, farm, result, wind, timeline)
        summarised = summary_models(conn, settlement_date, models)
        others = [m for m in summarised if m not in models]
        derive_date(conn, settlement_date, models, [period], farm, also_summarise=others)
        after = _farm_period(conn, settlement_date, period, farm)
    return before, after


async def _replace(ctx: ReconcileContext, out: DateOutcome, period: int, farm: str) -> None:
    """Fetch the period, replace the farm's rows and what derives from them, check the date."""
    settlement_date = out.settlement_date
    wind = await ctx.wind()
    fetched = await fetch_periods(ctx.client, settlement_date, [period], wind)
    if not fetched.ok:
        raise FetchFailed(
            f"fetch failed for period {period}: {fetched.failed[period]}",
            transient=fetched.any_transient,
        )
    result = fetched.results[period]
    warnings: list[str] = []
    timeline = await ensure_network_conditions(ctx.engine, ctx.settings, settlement_date, warnings)
    before, after = await run_db(
        ctx.engine,
        _spot_write,
        ctx.engine,
        settlement_date,
        period,
        farm,
        result,
        wind,
        timeline,
        ctx.model_keys,
    )
    source = headline_totals([x for x in result.lines if x.bm_unit_id == farm], wind)
    out.details.update(before=before, after=after, source=Totals.to_json(source), warnings=warnings)
    out.actions.append(
        f"replaced period {period} of {farm}: {before['records']} → {after['records']} "
        "records, calculations and summaries rebuilt"
    )
    out.before = ["spot_fix"] if before != after else []
    report, mismatches = await ctx.check(settlement_date)
    out.status = "fixed" if out.before else "clean"
    out.after = problems_of(report, mismatches)  # the rest of the date, for information
    out.records = report.records
    log.info(
        "spot fix",
        extra={
            "date": settlement_date.isoformat(),
            "period": period,
            "farm": farm,
            "records_before": before["records"],
            "records_after": after["records"],
        },
    )


async def spot_fix(
    ctx: ReconcileContext, settlement_date: date, period: int, farm: str
) -> DateOutcome:
    """The seed's ``spotFix``: refetch one period; replace that farm's lines and records of the
    period and everything derived from them (calculations, the date's summaries, month, year)."""
    started = time.perf_counter()
    requests_before = ctx.requests
    day = settlement_date.isoformat()
    validate_spot_fix(ctx.engine, settlement_date, period, farm)
    out = DateOutcome(settlement_date)
    out.details.update(period=period, farm=farm)
    await run_locked(
        ctx,
        out,
        lambda: _replace(ctx, out, period, farm),
        lambda _: log.error("spot fix failed", extra={"date": day, "period": period, "farm": farm}),
    )
    out.requests = ctx.requests - requests_before
    out.elapsed_s = time.perf_counter() - started
    return out
