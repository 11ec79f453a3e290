"""Running reconciliation over dates, resumably: the sliding window of dates in flight and
``reconciliation_checkpoint.json`` kept up to date after every date.

A run that is interrupted (even by ``kill -9``) and started again with the same command resumes
with the dates still pending; each date's work is idempotent (a date is replaced in one
transaction), so the database ends as after an uninterrupted run. ``run_single_date`` is the one
checkpointed body of the single-date commands (``date``, ``critical``, ``spot-fix``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from curtailcoin.config import Settings
from curtailcoin.db.curtailment_tables import curtailment_records
from curtailcoin.miners import MinerModel
from curtailcoin.reconcile.checkpoints import (
    RECONCILIATION_CHECKPOINT,
    CheckpointLock,
    ReconciliationCheckpoint,
    load_checkpoint,
    now_ms,
    save_checkpoint,
)
from curtailcoin.reconcile.context import ReconcileContext
from curtailcoin.reconcile.outcome import DateOutcome, RunSummary
from curtailcoin.sources.elexon import ElexonClient

log = logging.getLogger("curtailcoin.reconcile")


async def process_dates(
    ctx: ReconcileContext,
    dates: Sequence[date],
    batch_size: int,
    work: Callable[[date], Awaitable[DateOutcome]],
    on_done: Callable[[DateOutcome], None] | None = None,
) -> list[DateOutcome]:
    """The seed's ``processDates``: up to ``batch_size`` dates at a time (a sliding window, so a
    slow date never holds a batch back); ``on_done`` runs after each date."""
    window = asyncio.Semaphore(max(1, batch_size))
    outcomes: dict[date, DateOutcome] = {}

    async def one(day: date) -> None:
        async with window:
            outcome = await work(day)
        outcomes[day] = outcome
        if on_done is not None:
            on_done(outcome)

    await asyncio.gather(*(one(d) for d in dates))
    return [outcomes[d] for d in dates]


def _records_per_date(engine: Engine, dates: Sequence[date]) -> dict[date, int]:
    if not dates:
        return {}
    r = curtailment_records.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(r.settlement_date, func.count())
            .where(r.settlement_date.between(min(dates), max(dates)))
            .group_by(r.settlement_date)
        ).all()
    return {d: int(n) for d, n in rows}


async def _open_checkpoint(
    ctx: ReconcileContext,
    path: Path,
    command: str,
    pending: list[date],
    resume: bool,
    summary: RunSummary,
) -> tuple[ReconciliationCheckpoint, list[date]]:
    """The checkpoint this run keeps (resumed, or new) and the dates still to do; saved."""
    summary.checkpoint = str(path)
    data = load_checkpoint(path)
    if (
        resume
        and data is not None
        and data.get("status") == "running"
        and data.get("command") == command
    ):
        cp = ReconciliationCheckpoint.from_json(data)
        pending = [date.fromisoformat(d) for d in cp.pendingDates]
        summary.resumed = True
        summary.earlier = dict.fromkeys(cp.completedDates, "done")
        summary.earlier_failed = {f["date"]: f["reason"] for f in cp.failedDates}
        log.info(
            "resuming from checkpoint",
            extra={
                "checkpoint": str(path),
                "pending": len(pending),
                "completed": len(cp.completedDates),
            },
        )
    else:
        if data is not None and data.get("status") == "running":
            note = (
                f"discarded the unfinished checkpoint of `{data.get('command')}` "
                f"({len(data.get('pendingDates') or [])} dates pending)"
            )
            summary.notes.append(note)
            log.warning(note)
        records = await asyncio.to_thread(_records_per_date, ctx.engine, pending)
        cp = ReconciliationCheckpoint(
            command=command, pendingDates=[d.isoformat() for d in pending]
        )
        cp.stats.totalRecords = sum(records.values())
    save_checkpoint(path, cp.to_json())
    return cp, pending


def _record(
    ctx: ReconcileContext,
    path: Path,
    cp: ReconciliationCheckpoint,
    outcome: DateOutcome,
    base: tuple[int, int],
) -> None:
    """One date done: the checkpoint's lists and stats updated and saved."""
    day = outcome.settlement_date.isoformat()
    if day in cp.pendingDates:
        cp.pendingDates.remove(day)
    if outcome.ok:
        if day not in cp.completedDates:
            cp.completedDates.append(day)
        cp.stats.successfulRecords += outcome.records
    else:
        cp.failedDates = [f for f in cp.failedDates if f["date"] != day]
        cp.failedDates.append({"date": day, "reason": outcome.reason or outcome.status})
        cp.stats.failedRecords += outcome.records
    cp.stats.processedRecords += outcome.records
    base_timeouts, base_retries = base
    cp.stats.timeouts = base_timeouts + ctx.timeouts
    cp.stats.retries = base_retries + ctx.retries
    cp.lastProcessedDate = day
    cp.lastUpdateTime = now_ms()
    save_checkpoint(path, cp.to_json())


async def run_with_checkpoint(
    ctx: ReconcileContext,
    command: str,
    dates: Sequence[date],
    batch_size: int,
    work: Callable[[date], Awaitable[DateOutcome]],
    *,
    resume: bool = True,
) -> RunSummary:
    """Process ``dates`` and keep ``reconciliation_checkpoint.json`` up to date after each one.

    An unfinished checkpoint of the same command is resumed (its pending dates only) unless
    ``resume`` is False. When another live run owns the checkpoint file, this run goes on
    without one (the per-date locks still keep the two apart) and says so.
    """
    started = time.perf_counter()
    summary = RunSummary(command)
    path = Path(ctx.settings.checkpoint_dir) / RECONCILIATION_CHECKPOINT
    lock = CheckpointLock(path)
    owned = lock.acquire()
    cp: ReconciliationCheckpoint | None = None
    pending = list(dict.fromkeys(dates))
    try:
        if owned:
            cp, pending = await _open_checkpoint(ctx, path, command, pending, resume, summary)
        else:
            note = f"checkpoint {path} is in use by another run: this run is not resumable"
            summary.notes.append(note)
            log.warning(note)
        base = (cp.stats.timeouts, cp.stats.retries) if cp else (0, 0)
        requests_before = ctx.requests

        def on_done(outcome: DateOutcome) -> None:
            if cp is not None:
                _record(ctx, path, cp, outcome, base)

        log.info(
            "reconciliation started",
            extra={"command": command, "dates": len(pending), "batch_size": batch_size},
        )
        summary.outcomes = await process_dates(ctx, pending, batch_size, work, on_done)
        summary.requests = ctx.requests - requests_before
        summary.retries = ctx.retries
        summary.timeouts = ctx.timeouts
        if cp is not None:
            cp.status = "failed" if summary.failed else "completed"
            cp.lastUpdateTime = now_ms()
            save_checkpoint(path, cp.to_json())
    finally:
        lock.release()
    summary.elapsed_s = time.perf_counter() - started
    log.info(
        "reconciliation finished",
        extra={
            "command": command,
            "checked": len(summary.outcomes),
            "fixed": summary.count("fixed"),
            "failed": len(summary.failed),
            "requests": summary.requests,
            "elapsed_s": round(summary.elapsed_s, 3),
        },
    )
    return summary


async def with_context(
    engine: Engine,
    settings: Settings,
    models: list[MinerModel] | None,
    client: ElexonClient | None,
    now: datetime | None,
    body: Callable[[ReconcileContext], Awaitable[RunSummary]],
) -> RunSummary:
    """``body`` with a fresh context, closed afterwards (its locks and its own client)."""
    ctx = await asyncio.to_thread(
        ReconcileContext.create, engine, settings, models=models, client=client, now=now
    )
    try:
        return await body(ctx)
    finally:
        await ctx.aclose()


async def run_single_date(
    engine: Engine,
    settings: Settings,
    models: list[MinerModel] | None,
    client: ElexonClient | None,
    now: datetime | None,
    command: str,
    settlement_date: date,
    work: Callable[[ReconcileContext, date], Awaitable[DateOutcome]],
) -> RunSummary:
    """A command on a single date: ``work`` under the checkpoint (never resumed)."""

    async def body(ctx: ReconcileContext) -> RunSummary:
        return await run_with_checkpoint(
            ctx, command, [settlement_date], 1, lambda d: work(ctx, d), resume=False
        )

    return await with_context(engine, settings, models, client, now, body)
