"""The reconciliation commands as library calls: ``run``, ``range``, ``date``, ``critical``,
``spot-fix`` (fixing, checkpointed, up to ``batch_size`` dates at a time, each under its date
lock) and the source part of ``status --source`` (reading). The seed's
``unified_reconciliation.ts``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Engine

from curtailcoin.config import Settings
from curtailcoin.coverage import FAILED, expected_periods
from curtailcoin.db.engine import read_snapshot
from curtailcoin.miners import MinerModel
from curtailcoin.pipeline.generation import fetch_generation
from curtailcoin.reconcile.aggregates import data_bounds
from curtailcoin.reconcile.context import ReconcileContext, run_db
from curtailcoin.reconcile.critical import process_critical_date
from curtailcoin.reconcile.fix_date import process_date
from curtailcoin.reconcile.generation_check import stored_generation_drift
from curtailcoin.reconcile.outcome import RunSummary
from curtailcoin.reconcile.report import DateReport, ReconciliationStatus
from curtailcoin.reconcile.runner import run_single_date, run_with_checkpoint, with_context
from curtailcoin.reconcile.source import check_source, first_error
from curtailcoin.reconcile.spot_fix import spot_fix
from curtailcoin.reconcile.status import get_reconciliation_status
from curtailcoin.settlement import date_range, settlement_today
from curtailcoin.sources.elexon import ElexonClient

log = logging.getLogger("curtailcoin.reconcile")

DEFAULT_BATCH_SIZE = 10
"""Dates processed at the same time (the seed's ``DEFAULT_BATCH_SIZE``)."""


def stored_span(engine: Engine, now: datetime | None = None) -> tuple[date, date] | None:
    with engine.connect() as conn:
        low, high = data_bounds(conn)
    if low is None or high is None:
        return None
    return low, min(high, settlement_today(now))


def find_dates_with_missing_calculations(
    engine: Engine,
    models: Sequence[str],
    limit: int | None = 100,
    *,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
) -> list[date]:
    """The seed's ``findDatesWithMissingCalculations``: dates whose calculations are missing or
    stale (set-based over the range; ``limit`` dates at most, oldest first)."""
    with read_snapshot(engine) as conn:
        status = get_reconciliation_status(conn, models, start=start, end=end, now=now)
    dates = [r.settlement_date for r in status.per_date if r.missing or r.stale]
    return dates if limit is None else dates[:limit]


async def process_date_range(
    engine: Engine,
    settings: Settings,
    start: date | None = None,
    end: date | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    source: bool = True,
    resume: bool = True,
    models: list[MinerModel] | None = None,
    client: ElexonClient | None = None,
    now: datetime | None = None,
    accept_shrink: bool = False,
) -> RunSummary:
    """The seed's ``processDateRange``: every date of ``start..end`` checked (against Elexon
    too, unless ``source`` is False) and fixed, ``batch_size`` dates at a time.

    Without ``start`` and ``end`` (the weekly job) it is :func:`reconcile_all`: every stored
    date with a problem, found set-based, without a source check of every date.
    """
    if start is None and end is None:
        return await reconcile_all(
            engine, settings, batch_size=batch_size, models=models, client=client, now=now
        )
    if start is None or end is None:
        span = stored_span(engine, now)
        if span is None:
            return RunSummary("range")
        start = start or span[0]
        end = end or span[1]
    dates = date_range(start, end)
    command = f"range {start.isoformat()} {end.isoformat()}" + ("" if source else " --no-source")
    command += " --accept-shrink" if accept_shrink else ""

    async def body(ctx: ReconcileContext) -> RunSummary:
        return await run_with_checkpoint(
            ctx,
            command,
            dates,
            batch_size,
            lambda d: process_date(ctx, d, source=source, accept_shrink=accept_shrink),
            resume=resume,
        )

    return await with_context(engine, settings, models, client, now, body)


async def reconcile_all(
    engine: Engine,
    settings: Settings,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    start: date | None = None,
    end: date | None = None,
    source: bool = False,
    resume: bool = True,
    models: list[MinerModel] | None = None,
    client: ElexonClient | None = None,
    now: datetime | None = None,
) -> RunSummary:
    """``reconcile run``: find every date with a problem (set-based) and fix them.

    A resumed run continues with the dates its checkpoint still lists as pending.
    """

    async def body(ctx: ReconcileContext) -> RunSummary:
        def find() -> ReconciliationStatus:
            with read_snapshot(engine) as conn:
                status = get_reconciliation_status(
                    conn,
                    ctx.model_keys,
                    start=start,
                    end=end,
                    now=now,
                    generation=settings.fetch_generation,
                )
            return status

        status = await asyncio.to_thread(find)
        dates = status.problem_dates
        log.info(
            "dates with a problem found",
            extra={"dates": len(dates), "checked": status.dates_checked},
        )
        return await run_with_checkpoint(
            ctx,
            "run",
            dates,
            batch_size,
            lambda d: process_date(ctx, d, source=source),
            resume=resume,
        )

    return await with_context(engine, settings, models, client, now, body)


async def reconcile_date(
    engine: Engine,
    settings: Settings,
    settlement_date: date,
    *,
    source: bool = True,
    models: list[MinerModel] | None = None,
    client: ElexonClient | None = None,
    now: datetime | None = None,
    accept_shrink: bool = False,
) -> RunSummary:
    """``reconcile date D``: check one date (and every period against Elexon), fix it.

    ``accept_shrink`` is the operator's decision on a suspect answer: apply it.
    """

    return await run_single_date(
        engine,
        settings,
        models,
        client,
        now,
        f"date {settlement_date.isoformat()}",
        settlement_date,
        lambda ctx, d: process_date(ctx, d, source=source, accept_shrink=accept_shrink),
    )


async def critical_date(
    engine: Engine,
    settings: Settings,
    settlement_date: date,
    *,
    models: list[MinerModel] | None = None,
    client: ElexonClient | None = None,
    now: datetime | None = None,
) -> RunSummary:
    """``reconcile critical D``: see
    :func:`~curtailcoin.reconcile.critical.process_critical_date`."""
    return await run_single_date(
        engine,
        settings,
        models,
        client,
        now,
        f"critical {settlement_date.isoformat()}",
        settlement_date,
        process_critical_date,
    )


async def spot_fix_date(
    engine: Engine,
    settings: Settings,
    settlement_date: date,
    period: int,
    farm: str,
    *,
    models: list[MinerModel] | None = None,
    client: ElexonClient | None = None,
    now: datetime | None = None,
) -> RunSummary:
    """``reconcile spot-fix D PERIOD FARM``: see
    :func:`~curtailcoin.reconcile.spot_fix.spot_fix`."""
    return await run_single_date(
        engine,
        settings,
        models,
        client,
        now,
        f"spot-fix {settlement_date.isoformat()} {period} {farm}",
        settlement_date,
        lambda ctx, d: spot_fix(ctx, d, period, farm),
    )


async def _generation_against_source(
    ctx: ReconcileContext, status: ReconciliationStatus, report: DateReport
) -> None:
    """The date's stored generation totals against a fresh AGWS / B1610 answer (drift), and a
    dataset Elexon did not answer for as the date's source error."""
    day = report.settlement_date
    fetched = await fetch_generation(ctx.client, day, await ctx.wind(), now=ctx.now)
    report.generation_drift = await run_db(
        ctx.engine, stored_generation_drift, ctx.engine, fetched, ctx.settings.source_tolerance_mwh
    )
    for answer in (fetched.national, fetched.units):
        if answer.status == FAILED:
            status.source_errors.setdefault(
                day.isoformat(), f"generation {answer.dataset}: {answer.error}"
            )


async def add_source_drift(
    engine: Engine,
    settings: Settings,
    status: ReconciliationStatus,
    *,
    client: ElexonClient | None = None,
    now: datetime | None = None,
) -> None:
    """Check every period of every date of ``status`` against Elexon (``status --source``)."""

    async def body(ctx: ReconcileContext) -> RunSummary:
        wind = await ctx.wind()

        window = asyncio.Semaphore(4)  # dates at a time; the client caps the requests

        async def one(index: int) -> None:
            report = status.per_date[index]
            day = report.settlement_date
            async with window:
                check = await check_source(
                    engine,
                    ctx.client,
                    day,
                    expected_periods(day, now),
                    wind,
                    tolerance_mwh=settings.source_tolerance_mwh,
                    tolerance_gbp=settings.source_tolerance_gbp,
                )
            report.drift_periods = check.drift_periods
            if check.failed:
                status.source_errors[day.isoformat()] = first_error(check.failed)
            if settings.fetch_generation:
                await _generation_against_source(ctx, status, report)

        await asyncio.gather(*(one(i) for i in range(len(status.per_date))))
        status.source_checked = True
        return RunSummary("status --source")

    await with_context(engine, settings, None, client, now, body)
