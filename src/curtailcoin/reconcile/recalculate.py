"""The database-level fixes of a date: recalculate and resummarise what its records call for.

Missing or stale calculations and stale period conditions are recalculated (the periods'
difficulty/subsidy refreshed from the epoch table first, then ``pipeline.derive.derive_date``);
a summary mismatch alone is resummarised (the date's daily rows, its month and its year). A
pending date is tried once more after a refresh of the epoch table from mempool.space.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import Connection, Engine, select, union

from curtailcoin.db.curtailment_tables import historical_bitcoin_calculations, settlement_periods
from curtailcoin.db.summary_tables import (
    bitcoin_daily_summaries,
    bitcoin_farm_daily_summaries,
    bitcoin_monthly_summaries,
    bitcoin_yearly_summaries,
)
from curtailcoin.network import NetworkTimeline
from curtailcoin.pipeline.derive import derive_date
from curtailcoin.pipeline.fetch import ensure_network_conditions
from curtailcoin.reconcile.context import ReconcileContext, run_db
from curtailcoin.reconcile.expected import expected_conditions
from curtailcoin.reconcile.outcome import DateOutcome
from curtailcoin.reconcile.report import DateReport, SummaryMismatch
from curtailcoin.reference import load_timeline
from curtailcoin.settlement import month_bounds, year_month
from curtailcoin.share_summaries import has_generation, rebuild_generation_summaries

log = logging.getLogger("curtailcoin.reconcile")


def summary_models(conn: Connection, settlement_date: date, tracked: list[str]) -> list[str]:
    """Tracked models plus every model with a calculation or a summary in the date's month/year."""
    first, following = month_bounds(settlement_date)
    c = historical_bitcoin_calculations.c
    bd = bitcoin_daily_summaries.c
    bfd = bitcoin_farm_daily_summaries.c
    bm = bitcoin_monthly_summaries.c
    by = bitcoin_yearly_summaries.c
    query = union(
        select(c.miner_model).where(c.settlement_date == settlement_date).distinct(),
        select(bfd.miner_model).where(bfd.summary_date == settlement_date).distinct(),
        select(bd.miner_model).where(bd.summary_date >= first, bd.summary_date < following),
        select(bm.miner_model).where(bm.year_month == year_month(settlement_date)),
        select(by.miner_model).where(by.year == f"{settlement_date.year:04d}"),
    )
    found = [row[0] for row in conn.execute(query)]
    return list(dict.fromkeys([*tracked, *sorted(found)]))


def refresh_period_conditions(
    conn: Connection, settlement_date: date, timeline: NetworkTimeline
) -> int:
    """Set each stored period's difficulty/subsidy to what the epoch table gives now."""
    expected = expected_conditions(timeline, [settlement_date])
    p = settlement_periods.c
    rows = conn.execute(
        select(p.settlement_period, p.difficulty, p.block_subsidy_btc).where(
            p.settlement_date == settlement_date
        )
    ).all()
    changed = 0
    for period, difficulty, subsidy in rows:
        exp = expected.get((settlement_date, period))
        if exp is None:
            continue
        if (difficulty, subsidy) != (exp.difficulty, exp.block_subsidy_btc):
            conn.execute(
                settlement_periods.update()
                .where(p.settlement_date == settlement_date, p.settlement_period == period)
                .values(difficulty=exp.difficulty, block_subsidy_btc=exp.block_subsidy_btc)
            )
            changed += 1
    return changed


def recalculate(
    engine: Engine,
    settlement_date: date,
    models: list[str],
    timeline: NetworkTimeline,
    *,
    calculations: bool,
) -> None:
    """One transaction: (conditions + calculations), then every summary of the date."""
    with engine.begin() as conn:
        if calculations:
            refresh_period_conditions(conn, settlement_date, timeline)
        summarised = summary_models(conn, settlement_date, models)
        computed = models if calculations else []
        others = [m for m in summarised if m not in computed]
        derive_date(conn, settlement_date, computed, also_summarise=others)
        if has_generation(conn, settlement_date):
            rebuild_generation_summaries(conn, settlement_date)


async def _fix_database_level(
    ctx: ReconcileContext, settlement_date: date, out: DateOutcome
) -> tuple[DateReport, list[SummaryMismatch]]:
    """Recalculate and resummarise what the records (now) call for; return the final check."""
    engine = ctx.engine
    keys = ctx.model_keys
    report, mismatches = await ctx.check(settlement_date)
    if report.pending_periods or report.stale_condition_periods:
        warnings: list[str] = []
        await ensure_network_conditions(engine, ctx.settings, settlement_date, warnings)
        for warning in warnings:
            log.warning(warning, extra={"date": settlement_date.isoformat()})
        report, mismatches = await ctx.check(settlement_date)
    calc = bool(report.missing or report.stale or report.stale_condition_periods)
    if calc or report.summary_mismatches or mismatches:
        with engine.connect() as conn:
            timeline = load_timeline(conn)
        await run_db(
            engine,
            lambda: recalculate(engine, settlement_date, keys, timeline, calculations=calc),
        )
        out.actions.append("recalculated and resummarised" if calc else "resummarised")
        log.info(
            "date recalculated" if calc else "date resummarised",
            extra={
                "date": settlement_date.isoformat(),
                "missing": report.missing,
                "stale": report.stale,
                "summary_mismatches": len(mismatches),
            },
        )
        report, mismatches = await ctx.check(settlement_date)
    return report, mismatches


async def fix_or_keep(
    ctx: ReconcileContext, settlement_date: date, out: DateOutcome
) -> tuple[DateReport, list[SummaryMismatch]]:
    """The database-level fixes, except for a suspect date: nothing of it changes."""
    if out.status == "suspect":
        return await ctx.check(settlement_date)
    return await _fix_database_level(ctx, settlement_date, out)
