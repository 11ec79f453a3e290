"""The daily reconciliation check (the seed's ``daily_reconciliation_check.ts``).

Today and the previous ``days − 1`` settlement dates (Europe/London) — plus, for the worker, a
``lookback_days`` window — are each checked in the database (row by row) **and** against Elexon
(every period), and fixed when anything is wrong. With nothing to fix a date costs one stack
request per period and no database write. Dates the checkpoint already lists as processed today
are skipped unless ``force``. Progress is in ``daily_reconciliation_checkpoint.json``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from curtailcoin.config import Settings
from curtailcoin.miners import MinerModel
from curtailcoin.reconcile.checkpoints import (
    DAILY_CHECKPOINT,
    CheckpointLock,
    DailyCheckpoint,
    iso_now,
    load_checkpoint,
    save_checkpoint,
)
from curtailcoin.reconcile.context import ReconcileContext
from curtailcoin.reconcile.fix_date import process_date
from curtailcoin.reconcile.outcome import DateOutcome, RunSummary
from curtailcoin.settlement import settlement_today
from curtailcoin.sources.elexon import ElexonClient

log = logging.getLogger("curtailcoin.reconcile")


def daily_dates(days: int, lookback_days: int = 0, now: datetime | None = None) -> list[date]:
    """Today and the previous ``max(days, lookback_days) − 1`` dates, newest first."""
    today = settlement_today(now)
    return [today - timedelta(days=i) for i in range(max(days, lookback_days, 1))]


async def run_daily_check(
    engine: Engine,
    settings: Settings,
    *,
    days: int = 2,
    force: bool = False,
    lookback_days: int = 0,
    models: list[MinerModel] | None = None,
    client: ElexonClient | None = None,
    now: datetime | None = None,
) -> RunSummary:
    """The seed's ``runDailyCheck``. ``result.failed`` maps each failed date to its reason."""
    started = time.perf_counter()
    today = settlement_today(now).isoformat()
    dates = daily_dates(days, lookback_days, now)
    summary = RunSummary(f"daily --days {days}" + (" --force" if force else ""))
    path = Path(settings.checkpoint_dir) / DAILY_CHECKPOINT
    lock = CheckpointLock(path)
    owned = lock.acquire()
    cp: DailyCheckpoint | None = None
    done: set[str] = set()
    try:
        if not owned:
            note = f"checkpoint {path} is in use by another run: this run is not resumable"
            summary.notes.append(note)
            log.warning(note)
        else:
            summary.checkpoint = str(path)
            data = load_checkpoint(path)
            previous = DailyCheckpoint.from_json(data) if data else None
            if previous is not None and previous.lastRun == today and not force:
                done = set(previous.processedDates)
                summary.resumed = previous.status == "running"
            cp = DailyCheckpoint(
                lastRun=today,
                dates=[d.isoformat() for d in dates],
                processedDates=[d for d in previous.processedDates if d in done]
                if previous
                else [],
                lastProcessedDate=previous.lastProcessedDate if previous and done else None,
            )
            if previous is not None and done:
                cp.results = {k: v for k, v in previous.results.items() if k in done}
            save_checkpoint(path, cp.to_json())

        todo = [d for d in dates if d.isoformat() not in done]
        summary.earlier = {d: (cp.results.get(d, "done") if cp else "done") for d in sorted(done)}
        if done:
            log.info(
                "dates already processed today are skipped (use --force to check them again)",
                extra={"dates": ",".join(sorted(done))},
            )
        ctx = await asyncio.to_thread(
            ReconcileContext.create, engine, settings, models=models, client=client, now=now
        )
        try:
            log.info(
                "daily check started",
                extra={"dates": ",".join(d.isoformat() for d in todo) or "none", "force": force},
            )
            for day in todo:  # one date at a time, newest first (the seed's order)
                outcome: DateOutcome = await process_date(ctx, day, source=True)
                summary.outcomes.append(outcome)
                if cp is not None:
                    iso = day.isoformat()
                    cp.results[iso] = outcome.status
                    cp.lastProcessedDate = iso
                    if outcome.ok:
                        if iso not in cp.processedDates:
                            cp.processedDates.append(iso)
                    else:
                        cp.failedDates = [f for f in cp.failedDates if f["date"] != iso]
                        cp.failedDates.append({"date": iso, "reason": outcome.reason or ""})
                    save_checkpoint(path, cp.to_json())
            summary.requests = ctx.requests
            summary.retries = ctx.retries
            summary.timeouts = ctx.timeouts
        finally:
            await ctx.aclose()
        if cp is not None:
            cp.status = "failed" if summary.failed else "completed"
            cp.endTime = iso_now()
            save_checkpoint(path, cp.to_json())
    finally:
        lock.release()
    summary.elapsed_s = time.perf_counter() - started
    log.info(
        "daily check finished",
        extra={
            "checked": len(summary.outcomes),
            "fixed": summary.count("fixed"),
            "failed": len(summary.failed),
            "requests": summary.requests,
            "elapsed_s": round(summary.elapsed_s, 3),
        },
    )
    return summary
