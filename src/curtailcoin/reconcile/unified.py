"""The unified reconciliation (the seed's ``unified_reconciliation.ts``).

``status`` and ``analyze`` read; ``run``, ``date``, ``range``, ``critical`` and ``spot-fix`` fix,
up to ``batch_size`` dates at a time, each under its date lock, recording progress in
``reconciliation_checkpoint.json`` after every date. A run that is interrupted (even by
``kill -9``) and started again with the same command resumes with the dates still pending; each
date's work is idempotent (a date is replaced in one transaction), so the database ends as after
an uninterrupted run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text

from curtailcoin.config import Settings
from curtailcoin.db.curtailment_tables import curtailment_records, settlement_periods
from curtailcoin.db.engine import read_snapshot
from curtailcoin.ingest import FAILED, FETCHED_INCOMPLETE
from curtailcoin.miners import MinerModel
from curtailcoin.reconcile.checkpoints import (
    RECONCILIATION_CHECKPOINT,
    CheckpointLock,
    ReconciliationCheckpoint,
    load_checkpoint,
    now_ms,
    save_checkpoint,
)
from curtailcoin.reconcile.definitions import (
    ReconciliationStatus,
    data_bounds,
    get_reconciliation_status,
)
from curtailcoin.reconcile.fix import (
    DateOutcome,
    ReconcileContext,
    process_critical_date,
    process_date,
    spot_fix,
)
from curtailcoin.reference import load_timeline
from curtailcoin.settlement import date_range, settlement_today
from curtailcoin.sources.elexon import ElexonClient

log = logging.getLogger("curtailcoin.reconcile")

DEFAULT_BATCH_SIZE = 10
"""Dates processed at the same time (the seed's ``DEFAULT_BATCH_SIZE``)."""


@dataclass
class RunSummary:
    """What a reconciliation run did; ``failed`` maps each failed date to its reason."""

    command: str
    outcomes: list[DateOutcome] = field(default_factory=list)
    earlier: dict[str, str] = field(default_factory=dict)  # date → status in the resumed run
    earlier_failed: dict[str, str] = field(default_factory=dict)
    resumed: bool = False
    checkpoint: str | None = None
    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> dict[str, str]:
        out = dict(self.earlier_failed)
        for o in self.outcomes:
            if not o.ok:
                out[o.settlement_date.isoformat()] = o.reason or o.status
        return out

    @property
    def failed_dates(self) -> list[str]:
        return sorted(self.failed)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def suspect(self) -> dict[str, str]:
        """Dates whose answer the drift guard held back, with the reason."""
        return {
            o.settlement_date.isoformat(): o.reason or "suspect"
            for o in self.outcomes
            if o.status == "suspect"
        }

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "ok": not self.failed,
            "dates_checked": len(self.outcomes),
            "clean": self.count("clean"),
            "fixed": self.count("fixed"),
            "partial": self.count("partial"),
            "failed": len(self.failed),
            "failed_dates": [{"date": d, "reason": r} for d, r in sorted(self.failed.items())],
            "suspect": len(self.suspect),
            "suspect_dates": [{"date": d, "reason": r} for d, r in sorted(self.suspect.items())],
            "resumed": self.resumed,
            "already_done": sorted(self.earlier),
            "checkpoint": self.checkpoint,
            "requests": self.requests,
            "retries": self.retries,
            "timeouts": self.timeouts,
            "elapsed_s": round(self.elapsed_s, 3),
            "notes": self.notes,
            "dates": [o.to_json() for o in self.outcomes],
        }


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
        if not owned:
            note = f"checkpoint {path} is in use by another run: this run is not resumable"
            summary.notes.append(note)
            log.warning(note)
        else:
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

        base_timeouts = cp.stats.timeouts if cp else 0
        base_retries = cp.stats.retries if cp else 0
        requests_before = ctx.requests

        def on_done(outcome: DateOutcome) -> None:
            if cp is None:
                return
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
            cp.stats.timeouts = base_timeouts + ctx.counters.timeouts + ctx.client.stats.timeouts
            cp.stats.retries = base_retries + ctx.counters.retries + ctx.client.stats.retries
            cp.lastProcessedDate = day
            cp.lastUpdateTime = now_ms()
            save_checkpoint(path, cp.to_json())

        log.info(
            "reconciliation started",
            extra={"command": command, "dates": len(pending), "batch_size": batch_size},
        )
        summary.outcomes = await process_dates(ctx, pending, batch_size, work, on_done)
        summary.requests = ctx.requests - requests_before
        summary.retries = ctx.counters.retries + ctx.client.stats.retries
        summary.timeouts = ctx.counters.timeouts + ctx.client.stats.timeouts
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


# -- the commands --------------------------------------------------------------------------------


async def _with_context(
    engine: Engine,
    settings: Settings,
    models: list[MinerModel] | None,
    client: ElexonClient | None,
    now: datetime | None,
    body: Callable[[ReconcileContext], Awaitable[RunSummary]],
) -> RunSummary:
    ctx = await asyncio.to_thread(
        ReconcileContext.create, engine, settings, models=models, client=client, now=now
    )
    try:
        return await body(ctx)
    finally:
        await ctx.aclose()


async def _one_date(
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

    return await _with_context(engine, settings, models, client, now, body)


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

    return await _with_context(engine, settings, models, client, now, body)


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
                    conn, ctx.model_keys, start=start, end=end, now=now
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

    return await _with_context(engine, settings, models, client, now, body)


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

    return await _one_date(
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
    """``reconcile critical D``: see :func:`~curtailcoin.reconcile.fix.process_critical_date`."""

    return await _one_date(
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
    """``reconcile spot-fix D PERIOD FARM``: see :func:`~curtailcoin.reconcile.fix.spot_fix`."""

    return await _one_date(
        engine,
        settings,
        models,
        client,
        now,
        f"spot-fix {settlement_date.isoformat()} {period} {farm}",
        settlement_date,
        lambda ctx, d: spot_fix(ctx, d, period, farm),
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
    from curtailcoin.coverage import expected_periods
    from curtailcoin.reconcile.source import check_source, first_error

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

        await asyncio.gather(*(one(i) for i in range(len(status.per_date))))
        status.source_checked = True
        return RunSummary("status --source")

    await _with_context(engine, settings, None, client, now, body)


# -- analyze ------------------------------------------------------------------------------------


@dataclass
class Finding:
    """One kind of problem: how much, where, the likely cause and the commands that fix it."""

    kind: str
    count: int
    dates: list[str]
    cause: str
    commands: list[str]
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "count": self.count,
            "dates": self.dates,
            "likely_cause": self.cause,
            "commands": self.commands,
            **({"details": self.details} if self.details else {}),
        }


@dataclass
class Analysis:
    """The seed's ``analyzeReconciliationStatus``: what is wrong, why, and what to run."""

    status: ReconciliationStatus
    findings: list[Finding] = field(default_factory=list)
    long_running_queries: int | None = None

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        status = self.status.to_json()
        status.pop("per_date", None)
        status.pop("summary_mismatch_details", None)
        return {
            "ok": self.ok,
            "findings": [f.to_json() for f in self.findings],
            "long_running_queries": self.long_running_queries,
            "status": status,
        }


def date_runs(dates: Sequence[date]) -> list[tuple[date, date]]:
    """Consecutive dates grouped: ``[(first, last), …]``."""
    runs: list[tuple[date, date]] = []
    for d in sorted(set(dates)):
        if runs and d == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


def fix_commands(dates: Sequence[date], *, source: bool = True, limit: int = 4) -> list[str]:
    """The commands that fix ``dates``: one per date or run of dates, else ``reconcile run``."""
    runs = date_runs(dates)
    flag = "" if source else " --no-source"
    if not runs:
        return []
    if len(runs) > limit:
        return ["curtailcoin reconcile run"]
    out = []
    for a, b in runs:
        if a == b:
            out.append(f"curtailcoin reconcile date {a.isoformat()}{flag}")
        else:
            out.append(f"curtailcoin reconcile range {a.isoformat()} {b.isoformat()}{flag}")
    return out


def _iso(dates: Sequence[date], limit: int = 20) -> list[str]:
    return [d.isoformat() for d in sorted(dates)[:limit]]


def _fetch_errors(conn: Connection, dates: Sequence[date]) -> dict[str, list[str]]:
    """Stored reasons of failed and fetched-incomplete periods, per date (why it is incomplete)."""
    if not dates:
        return {}
    p = settlement_periods.c
    rows = conn.execute(
        select(p.settlement_date, p.settlement_period, p.error).where(
            p.settlement_date.between(min(dates), max(dates)),
            p.fetch_status.in_((FAILED, FETCHED_INCOMPLETE)),
        )
    ).all()
    out: dict[str, list[str]] = {}
    for d, period, error in rows:
        out.setdefault(d.isoformat(), []).append(f"period {period}: {(error or '')[:200]}")
    return out


def _long_running_queries(conn: Connection) -> int | None:
    """Queries running for more than 5 minutes (PostgreSQL; reported, never terminated)."""
    if conn.dialect.name != "postgresql":
        return None
    return int(
        conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                "AND pid <> pg_backend_pid() AND now() - query_start > interval '5 minutes'"
            )
        ).scalar_one()
    )


def analyze_reconciliation_status(
    conn: Connection,
    status: ReconciliationStatus,
    *,
    now: datetime | None = None,
) -> Analysis:
    """Explain ``status``: each problem kind with its likely cause and the fixing commands."""
    analysis = Analysis(status)
    reports = status.per_date
    today = settlement_today(now)

    incomplete = [r for r in reports if r.incomplete]
    if incomplete:
        never = [r.settlement_date for r in incomplete if r.periods_fetched == 0]
        partly = [r.settlement_date for r in incomplete if r.periods_fetched > 0]
        errors = _fetch_errors(conn, [r.settlement_date for r in incomplete])
        causes = []
        if never:
            causes.append(
                f"{len(never)} date(s) never ingested (no period fetched: the ingestion was not "
                "running, or a backfill stopped)"
            )
        if partly:
            causes.append(
                f"{len(partly)} date(s) partly fetched (a fetch failed after its retries, or "
                "the process stopped mid-way)"
            )
        if any(r.settlement_date == today for r in incomplete):
            causes.append("today's latest periods may simply not be published yet")
        commands = fix_commands([r.settlement_date for r in incomplete], source=False)
        troubled = sorted(errors)[:3]
        commands += [f"curtailcoin reconcile critical {d}" for d in troubled]
        analysis.findings.append(
            Finding(
                "incomplete",
                len(incomplete),
                _iso([r.settlement_date for r in incomplete]),
                "; ".join(causes),
                commands,
                {
                    "unfetched_periods": sum(len(r.unfetched_periods) for r in incomplete),
                    "fetch_errors": {d: e[:3] for d, e in sorted(errors.items())[:5]},
                },
            )
        )

    drift = [r for r in reports if r.drift_periods]
    if drift:
        analysis.findings.append(
            Finding(
                "source_drift",
                sum(len(r.drift_periods or ()) for r in drift),
                _iso([r.settlement_date for r in drift]),
                "Elexon's answer changed since the fetch (a later settlement run revised the "
                "data) beyond the tolerance",
                fix_commands([r.settlement_date for r in drift]),
            )
        )

    totals = [r for r in reports if r.period_total_mismatches]
    if totals:
        analysis.findings.append(
            Finding(
                "period_totals",
                sum(len(r.period_total_mismatches) for r in totals),
                _iso([r.settlement_date for r in totals]),
                "curtailment records were changed after their period was fetched (a manual "
                "edit, or a tool writing records outside the pipeline); only a refetch knows the "
                "right values",
                fix_commands([r.settlement_date for r in totals], source=False),
                {
                    "periods": {
                        r.settlement_date.isoformat(): r.period_total_mismatches[:10]
                        for r in totals[:5]
                    }
                },
            )
        )

    conditions = [r for r in reports if r.stale_condition_periods]
    if conditions:
        analysis.findings.append(
            Finding(
                "stale_conditions",
                sum(len(r.stale_condition_periods) for r in conditions),
                _iso([r.settlement_date for r in conditions]),
                "the difficulty epoch table changed since these periods were stored (a "
                "mempool.space refresh replaced estimated epoch times or supplied a difficulty "
                "that was pending)",
                fix_commands([r.settlement_date for r in conditions], source=False),
            )
        )

    missing = [r for r in reports if r.missing]
    if missing:
        whole = [r for r in missing if r.missing == r.expected_calculations]
        causes = []
        if whole:
            causes.append(
                f"{len(whole)} date(s) have no calculation at all (reingested with "
                "--skip-bitcoin, or a pending difficulty that is known now)"
            )
        if len(whole) < len(missing):
            causes.append(
                "some farm-periods lack rows (rows deleted, a tracked model added, or a "
                "calculation interrupted by an old tool)"
            )
        analysis.findings.append(
            Finding(
                "missing",
                sum(r.missing for r in missing),
                _iso([r.settlement_date for r in missing]),
                "; ".join(causes),
                fix_commands([r.settlement_date for r in missing], source=False),
                {
                    "periods": {
                        r.settlement_date.isoformat(): r.missing_periods[:10] for r in missing[:5]
                    }
                },
            )
        )

    stale = [r for r in reports if r.stale]
    if stale:
        analysis.findings.append(
            Finding(
                "stale",
                sum(r.stale for r in stale),
                _iso([r.settlement_date for r in stale]),
                "calculations no longer follow from their inputs: the records' energy changed "
                "(a revision stored with --skip-bitcoin, or an edit), the period's difficulty or "
                "subsidy changed, or a model's figures were edited",
                fix_commands([r.settlement_date for r in stale], source=False),
                {
                    "periods": {
                        r.settlement_date.isoformat(): r.stale_periods[:10] for r in stale[:5]
                    }
                },
            )
        )

    if status.summary_details:
        tables: dict[str, int] = {}
        for m in status.summary_details:
            tables[m.table] = tables.get(m.table, 0) + 1
        summary_dates = sorted(
            {m.settlement_date for m in status.summary_details if m.settlement_date}
        )
        analysis.findings.append(
            Finding(
                "summary_mismatch",
                len(status.summary_details),
                _iso(summary_dates),
                "summary rows differ from the sums of their base rows (edited by hand, written "
                "by another tool, or a base changed without its summaries being rebuilt)",
                fix_commands(summary_dates, source=False),
                {
                    "tables": tables,
                    "rows": [m.to_json() for m in status.summary_details[:10]],
                },
            )
        )

    if status.suspects:
        analysis.findings.append(
            Finding(
                "suspect",
                len(status.suspects),
                _iso(status.suspect_dates),
                "Elexon's latest answer would remove most of the stored data (every period "
                "empty, every payment zero, or a measure falling by more than "
                "CURTAILCOIN_SHRINK_MAX_DROP): the drift guard kept the stored data. Check the "
                "source; apply the answer only if it is right",
                [s.accept_command for s in status.suspects[:4]],
                {"reasons": {s.settlement_date.isoformat(): s.reason for s in status.suspects}},
            )
        )

    pending = [r for r in reports if r.pending]
    if pending:
        timeline = load_timeline(conn)
        latest = timeline.latest_known_start()
        analysis.findings.append(
            Finding(
                "pending",
                sum(r.pending for r in pending),
                _iso([r.settlement_date for r in pending]),
                "no known difficulty for these periods yet (the latest epoch with a known start "
                f"began {latest.isoformat() if latest else 'never'}); they are calculated as "
                "soon as the epoch table knows them — never with a default",
                [
                    "curtailcoin difficulty refresh",
                    *fix_commands([r.settlement_date for r in pending], source=False),
                ],
            )
        )
    analysis.long_running_queries = _long_running_queries(conn)
    return analysis
