"""What fixes what on one date, under the date's lock, with retries of transient failures.

=========================  =================================================================
problem                    fix
=========================  =================================================================
incomplete, source drift,  refetch: ``pipeline.fetch`` then ``pipeline.reingest.write_fetched``
period totals mismatch     (the whole date when the source check has fetched every period
                           anyway — its answers are reused, no second request — else only the
                           periods concerned)
generation incomplete,     refetch the date's generation (``pipeline.generation``): AGWS and
generation drift           B1610 in their own transaction, the stack data untouched (the
                           source check's answer when it fetched one)
missing, stale, stale      recalculate: refresh the periods' difficulty/subsidy from the epoch
period conditions          table, then ``pipeline.derive.derive_date`` (calculations, summaries)
summary mismatch           resummarise: the date's daily rows, its month and its year
pending                    nothing can be done until the epoch table knows the difficulty; a
                           refresh from mempool.space is tried, then the date is recalculated
=========================  =================================================================

A date is checked row by row (``check_date_reconciliation_status``) before and after; nothing is
written when nothing is wrong. Transient errors (timeouts, 5xx, dropped connections, deadlocks,
a date locked by another run) retry the date with backoff; permanent ones fail it at once with a
clear reason, and the other dates go on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from datetime import date

from sqlalchemy import Engine

from curtailcoin.backoff import delay_s
from curtailcoin.coverage import expected_periods
from curtailcoin.pipeline.fetch import fetch_periods
from curtailcoin.pipeline.generation import FetchedGeneration, fetch_generation, store_generation
from curtailcoin.pipeline.inputs import BadInput
from curtailcoin.pipeline.reingest import write_fetched
from curtailcoin.reconcile.context import FetchFailed, ReconcileContext, run_db
from curtailcoin.reconcile.generation_check import stored_generation_drift
from curtailcoin.reconcile.outcome import DateOutcome, hold_back, problems_of, settle
from curtailcoin.reconcile.recalculate import fix_or_keep
from curtailcoin.reconcile.report import DateReport
from curtailcoin.reconcile.retry import describe_error, error_category, is_timeout_error
from curtailcoin.reconcile.source import SourceCheck, check_source, compact_periods, first_error
from curtailcoin.sources.elexon import PeriodResult
from curtailcoin.sources.http import UnreachableSourceError
from curtailcoin.suspects import clear_suspect

log = logging.getLogger("curtailcoin.reconcile")

MAX_RETRIES = 3
"""Attempts per date for transient errors (the seed's ``MAX_RETRIES``)."""


async def _check_source(
    ctx: ReconcileContext, settlement_date: date, report: DateReport, out: DateOutcome
) -> SourceCheck:
    """Every period of the date against Elexon; drift and failures are logged."""
    day = settlement_date.isoformat()
    wind = await ctx.wind()
    check = await check_source(
        ctx.engine,
        ctx.client,
        settlement_date,
        expected_periods(settlement_date, ctx.now),
        wind,
        tolerance_mwh=ctx.settings.source_tolerance_mwh,
        tolerance_gbp=ctx.settings.source_tolerance_gbp,
    )
    report.drift_periods = check.drift_periods
    out.drift_periods = check.drift_periods
    for drift in check.drift:
        log.warning(
            "source drift",
            extra={
                "date": day,
                "period": drift.settlement_period,
                "stored_records": drift.stored.records,
                "source_records": drift.source.records,
                "stored_mwh": round(drift.stored.mwh, 6),
                "source_mwh": round(drift.source.mwh, 6),
                "stored_gbp": round(drift.stored.gbp, 2),
                "source_gbp": round(drift.source.gbp, 2),
            },
        )
    if check.failed:
        log.error(
            "source check failed",
            extra={"date": day, "periods": compact_periods(check.failed)},
        )
    return check


async def _refetch(
    ctx: ReconcileContext,
    refetch: list[int],
    out: DateOutcome,
    *,
    whole: bool,
    checked: Mapping[int, PeriodResult],
    accept_shrink: bool,
) -> None:
    """Fetch the periods ``refetch`` (or the whole date) and write them."""
    settlement_date = out.settlement_date
    wanted = expected_periods(settlement_date, ctx.now) if whole else refetch
    fetched = await fetch_periods(
        ctx.client, settlement_date, wanted, await ctx.wind(), whole_date=whole, reuse=checked
    )
    if not fetched.ok:
        raise FetchFailed(
            f"fetch failed for periods {compact_periods(fetched.failed)} "
            f"({first_error(fetched.failed)})",
            transient=fetched.any_transient,
        )
    result = await write_fetched(
        ctx.engine,
        ctx.settings,
        fetched,
        models=ctx.models,
        now=ctx.now,
        skip_verify=True,
        accept_shrink=accept_shrink,
        detected_by="reconcile",
    )
    if result.suspect:
        hold_back(out, result.suspect_reason)
        return
    out.actions.append(
        ("reingested the date" if whole else f"reingested periods {compact_periods(refetch)}")
        + (" (suspect answer accepted)" if result.shrink_accepted else "")
    )
    log.info(
        "date refetched",
        extra={
            "date": settlement_date.isoformat(),
            "periods": "all" if whole else compact_periods(refetch),
        },
    )


def _store_generation(engine: Engine, fetched: FetchedGeneration) -> None:
    with engine.begin() as conn:
        store_generation(conn, fetched)


async def _refetch_generation(
    ctx: ReconcileContext, out: DateOutcome, fetched: FetchedGeneration | None
) -> None:
    """Store the date's generation (the source check's answer, or a fresh one)."""
    day = out.settlement_date
    if fetched is None:
        fetched = await fetch_generation(ctx.client, day, await ctx.wind(), now=ctx.now)
    await run_db(ctx.engine, _store_generation, ctx.engine, fetched)
    statuses = ", ".join(f"{k} {v['status']}" for k, v in fetched.to_json().items())
    out.actions.append(f"refetched the generation ({statuses})")
    log.info("generation refetched", extra={"date": day.isoformat(), "statuses": statuses})


def _clear_suspect(engine: Engine, settlement_date: date) -> None:
    with engine.begin() as conn:
        clear_suspect(conn, settlement_date)


async def fix_date_comprehensive(
    ctx: ReconcileContext,
    settlement_date: date,
    *,
    source: bool = True,
    accept_shrink: bool = False,
) -> DateOutcome:
    """The seed's ``fixDateComprehensive``: check one date (and, with ``source``, every period
    against Elexon), then fix whatever is wrong. The caller holds the date's lock.

    A refetch whose answer the drift guard holds back leaves the stored data and ends the date
    as ``suspect`` (not retried) unless ``accept_shrink``. A suspect date is always checked
    against Elexon: an answer that agrees with the stored data again clears the mark.
    """
    started = time.perf_counter()
    requests_before = ctx.requests
    day = settlement_date.isoformat()
    out = DateOutcome(settlement_date)
    report, mismatches = await ctx.check(settlement_date)
    was_suspect = report.suspect is not None
    source = source or was_suspect  # Elexon decides whether the held-back answer still stands
    check = await _check_source(ctx, settlement_date, report, out) if source else None
    generation = None
    if source and ctx.settings.fetch_generation:
        wind = await ctx.wind()
        generation = await fetch_generation(ctx.client, settlement_date, wind, now=ctx.now)
        tolerance = ctx.settings.source_tolerance_mwh
        report.generation_drift = await run_db(
            ctx.engine, stored_generation_drift, ctx.engine, generation, tolerance
        )
        for dataset, text in report.generation_drift.items():
            log.warning("generation drift", extra={"date": day, "dataset": dataset, "drift": text})
    out.before = problems_of(report, mismatches)
    if was_suspect:
        out.before.append("suspect")
    log.info(
        "date checked",
        extra={"date": day, "problems": ",".join(out.before) or "none", "source": source},
    )

    refetch = report.needs_refetch
    if refetch:
        # With a source check every period is in hand already: replace the whole date with it.
        await _refetch(
            ctx,
            refetch,
            out,
            whole=source or not report.periods_fetched,
            checked=check.results if check else {},  # the source check's answers, a moment old
            accept_shrink=accept_shrink,
        )
    elif check is not None and check.failed:
        # Nothing to refetch as far as we know, but the check itself is incomplete.
        raise FetchFailed(
            f"source check failed for periods {compact_periods(check.failed)} "
            f"({first_error(check.failed)})",
            transient=check.transient_failure,
        )
    elif was_suspect:
        # Every period answered and agrees with what is stored: nothing is held back any more.
        await run_db(ctx.engine, _clear_suspect, ctx.engine, settlement_date)
        out.actions.append("cleared the suspect mark: Elexon's answer agrees with the stored data")
        log.info("suspect mark cleared", extra={"date": day})

    if ctx.settings.fetch_generation and report.needs_generation:
        await _refetch_generation(ctx, out, generation)

    report, mismatches = await fix_or_keep(ctx, settlement_date, out)
    settle(out, report, mismatches)
    out.requests = ctx.requests - requests_before
    out.elapsed_s = time.perf_counter() - started
    return out


async def process_date(
    ctx: ReconcileContext,
    settlement_date: date,
    *,
    source: bool = True,
    attempt_limit: int = MAX_RETRIES,
    accept_shrink: bool = False,
) -> DateOutcome:
    """The seed's ``processDate``: lock the date, fix it, retry transient failures with backoff.

    Never raises for a date's failure (the outcome says why); other dates go on.
    """
    day = settlement_date.isoformat()
    attempt = 0
    started = time.perf_counter()
    while True:
        attempt += 1
        try:
            async with ctx.locks.hold(settlement_date, timeout_s=ctx.lock_timeout_s):
                outcome = await fix_date_comprehensive(
                    ctx, settlement_date, source=source, accept_shrink=accept_shrink
                )
            outcome.attempts = attempt
            outcome.elapsed_s = time.perf_counter() - started
            log.info(
                "date processed",
                extra={
                    "date": day,
                    "status": outcome.status,
                    "actions": "; ".join(outcome.actions) or "none",
                    "attempts": attempt,
                },
            )
            return outcome
        except (BadInput, UnreachableSourceError, asyncio.CancelledError):
            raise
        except Exception as exc:
            transient = is_timeout_error(exc)
            if transient and attempt < attempt_limit:
                ctx.counters.note(exc)
                wait = delay_s(attempt, max(ctx.settings.backoff_base_s, 0.01) * 2, 60.0)
                log.warning(
                    "date failed; retrying",
                    extra={
                        "date": day,
                        "attempt": attempt,
                        "wait_s": round(wait, 3),
                        "error": describe_error(exc),
                    },
                )
                await asyncio.sleep(wait)
                continue
            reason = f"{error_category(exc)}: {describe_error(exc)}"
            log.error("date failed", extra={"date": day, "attempts": attempt, "reason": reason})
            return DateOutcome(
                settlement_date,
                status="failed",
                reason=reason,
                attempts=attempt,
                elapsed_s=time.perf_counter() - started,
            )
