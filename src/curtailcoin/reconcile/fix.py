"""What fixes what, one date at a time, under the date's lock.

=========================  =================================================================
problem                    fix
=========================  =================================================================
incomplete, source drift,  refetch: ``pipeline.fetch`` then ``pipeline.reingest.write_fetched``
period totals mismatch     (the whole date when the source check has fetched every period
                           anyway — its answers are reused, no second request — else only the
                           periods concerned)
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, func, select, union

from curtailcoin.backoff import delay_s
from curtailcoin.config import Settings
from curtailcoin.coverage import expected_periods
from curtailcoin.db.curtailment_tables import (
    curtailment_records,
    historical_bitcoin_calculations,
    settlement_periods,
)
from curtailcoin.db.engine import read_snapshot
from curtailcoin.db.reference_tables import bm_units
from curtailcoin.db.summary_tables import (
    bitcoin_daily_summaries,
    bitcoin_farm_daily_summaries,
    bitcoin_monthly_summaries,
    bitcoin_yearly_summaries,
)
from curtailcoin.miners import MinerModel
from curtailcoin.network import NetworkTimeline
from curtailcoin.pipeline.derive import derive_date
from curtailcoin.pipeline.fetch import FetchedDate, ensure_network_conditions, fetch_periods
from curtailcoin.pipeline.inputs import BadInput, validate_date
from curtailcoin.pipeline.reingest import prepare_database, resolve_model_keys, write_fetched
from curtailcoin.pipeline.store import replace_farm_period
from curtailcoin.reconcile.definitions import (
    DateReport,
    SummaryMismatch,
    check_date_reconciliation_status,
    expected_conditions,
)
from curtailcoin.reconcile.locks import DateLocks
from curtailcoin.reconcile.retry import (
    RetryCounters,
    describe_error,
    error_category,
    is_timeout_error,
)
from curtailcoin.reconcile.source import (
    Totals,
    check_source,
    compact_periods,
    first_error,
    headline_totals,
    verify_against_acceptances,
)
from curtailcoin.reference import load_timeline
from curtailcoin.registry import refresh_registry, wind_units
from curtailcoin.settlement import check_period, month_bounds, year_month
from curtailcoin.sources.elexon import AcceptanceVolume, ElexonClient, PeriodResult
from curtailcoin.sources.http import RetryPolicy, SourceError, UnreachableSourceError
from curtailcoin.suspects import clear_suspect

log = logging.getLogger("curtailcoin.reconcile")

T = TypeVar("T")

MAX_RETRIES = 3
"""Attempts per date for transient errors (the seed's ``MAX_RETRIES``)."""


class FetchFailed(SourceError):
    """Periods of a date could not be fetched; ``transient`` says whether a retry may help."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass
class ReconcileContext:
    """What every date of a run shares: the database, one Elexon client (so its concurrency cap
    and rate limit bind across dates), the per-date locks and the retry counters."""

    engine: Engine
    settings: Settings
    models: list[MinerModel]
    client: ElexonClient
    locks: DateLocks
    now: datetime | None = None
    counters: RetryCounters = field(default_factory=RetryCounters)
    lock_timeout_s: float = 600.0
    own_client: bool = True
    extra_requests: int = 0  # made by other clients (the careful one of ``critical``)
    _wind: dict[str, str | None] | None = None
    _wind_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def create(
        cls,
        engine: Engine,
        settings: Settings,
        *,
        models: list[MinerModel] | None = None,
        client: ElexonClient | None = None,
        now: datetime | None = None,
    ) -> ReconcileContext:
        prepare_database(engine)
        if models is None:
            models = resolve_model_keys(engine, settings.tracked_models)
        return cls(
            engine=engine,
            settings=settings,
            models=list(models),
            client=client or ElexonClient.from_settings(settings),
            locks=DateLocks(engine),
            now=now,
            own_client=client is None,
        )

    @property
    def model_keys(self) -> list[str]:
        return [m.key for m in self.models]

    @property
    def requests(self) -> int:
        return self.client.stats.requests + self.extra_requests

    async def wind(self) -> dict[str, str | None]:
        """The wind units, after a registry refresh if it is older than the configured age."""
        async with self._wind_lock:
            if self._wind is None:
                try:
                    await refresh_registry(
                        self.engine,
                        self.client,
                        max_age=timedelta(seconds=self.settings.bmunit_refresh_max_age_s),
                    )
                except UnreachableSourceError:
                    raise
                except SourceError as exc:
                    log.warning(
                        "BM unit registry refresh failed; using the stored list",
                        extra={"error": str(exc)},
                    )
                with self.engine.connect() as conn:
                    self._wind = wind_units(conn)
            return self._wind

    async def aclose(self) -> None:
        await asyncio.to_thread(self.locks.close)
        if self.own_client:
            await self.client.aclose()


@dataclass
class DateOutcome:
    """What happened to one date. ``ok``: clean, or every problem fixed (pending aside)."""

    settlement_date: date
    status: str = "clean"  # clean | fixed | partial | failed | suspect | skipped
    actions: list[str] = field(default_factory=list)
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    reason: str | None = None
    records: int = 0
    pending: int = 0
    drift_periods: list[int] = field(default_factory=list)
    requests: int = 0
    attempts: int = 1
    elapsed_s: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in ("clean", "fixed", "skipped")

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.settlement_date.isoformat(),
            "status": self.status,
            "ok": self.ok,
            "actions": self.actions,
            "problems_before": self.before,
            "problems_after": self.after,
            "reason": self.reason,
            "records": self.records,
            "pending": self.pending,
            "source_drift_periods": self.drift_periods,
            "requests": self.requests,
            "attempts": self.attempts,
            "elapsed_s": round(self.elapsed_s, 3),
            **self.details,
        }


def _thread_safe(engine: Engine) -> bool:
    url = engine.url
    return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))


async def run_db(engine: Engine, function: Callable[..., T], *args: Any) -> T:
    """Blocking database work off the event loop (other dates' requests keep flowing)."""
    if _thread_safe(engine):
        return await asyncio.to_thread(function, *args)
    return function(*args)


def check_date(
    engine: Engine, settlement_date: date, models: list[str], now: datetime | None
) -> tuple[DateReport, list[SummaryMismatch]]:
    """The date's report, counted row by row, and the summary rows its rebuild would fix."""
    with read_snapshot(engine) as conn:
        report, mismatches = check_date_reconciliation_status(
            conn, settlement_date, models, now=now
        )
    return report, mismatches


def problems_of(report: DateReport, mismatches: list[SummaryMismatch]) -> list[str]:
    kinds = list(report.problems)
    if mismatches and "summary_mismatch" not in kinds:
        kinds.append("summary_mismatch")
    return kinds


def _summary_models(conn: Connection, settlement_date: date, tracked: list[str]) -> list[str]:
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
        summarised = _summary_models(conn, settlement_date, models)
        computed = models if calculations else []
        others = [m for m in summarised if m not in computed]
        derive_date(conn, settlement_date, computed, also_summarise=others)


async def _fix_database_level(
    ctx: ReconcileContext, settlement_date: date, out: DateOutcome
) -> tuple[DateReport, list[SummaryMismatch]]:
    """Recalculate and resummarise what the records (now) call for; return the final check."""
    engine = ctx.engine
    keys = ctx.model_keys
    report, mismatches = await run_db(engine, check_date, engine, settlement_date, keys, ctx.now)
    if report.pending_periods or report.stale_condition_periods:
        warnings: list[str] = []
        await ensure_network_conditions(engine, ctx.settings, settlement_date, warnings)
        for warning in warnings:
            log.warning(warning, extra={"date": settlement_date.isoformat()})
        report, mismatches = await run_db(
            engine, check_date, engine, settlement_date, keys, ctx.now
        )
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
        report, mismatches = await run_db(
            engine, check_date, engine, settlement_date, keys, ctx.now
        )
    return report, mismatches


async def _fix_or_keep(
    ctx: ReconcileContext, settlement_date: date, out: DateOutcome
) -> tuple[DateReport, list[SummaryMismatch]]:
    """The database-level fixes, except for a suspect date: nothing of it changes."""
    if out.status == "suspect":
        engine = ctx.engine
        return await run_db(engine, check_date, engine, settlement_date, ctx.model_keys, ctx.now)
    return await _fix_database_level(ctx, settlement_date, out)


def _finish(out: DateOutcome, report: DateReport, mismatches: list[SummaryMismatch]) -> None:
    out.after = problems_of(report, mismatches)
    out.records = report.records
    out.pending = report.pending
    if out.status in ("failed", "suspect"):
        return
    if out.after:
        out.status = "partial"
        out.reason = "still wrong after fixing: " + ", ".join(f"{kind}" for kind in out.after)
    elif out.before:
        out.status = "fixed"
    else:
        out.status = "clean"


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
    engine = ctx.engine
    out = DateOutcome(settlement_date)
    report, mismatches = await run_db(
        engine, check_date, engine, settlement_date, ctx.model_keys, ctx.now
    )
    checked: Mapping[int, PeriodResult] = {}  # the source check's answers, a moment old
    source_failed: dict[int, str] = {}
    source_transient = False
    was_suspect = report.suspect is not None
    source = source or was_suspect  # Elexon decides whether the held-back answer still stands
    if source:
        wind = await ctx.wind()
        check = await check_source(
            engine,
            ctx.client,
            settlement_date,
            expected_periods(settlement_date, ctx.now),
            wind,
            tolerance_mwh=ctx.settings.source_tolerance_mwh,
            tolerance_gbp=ctx.settings.source_tolerance_gbp,
        )
        report.drift_periods = check.drift_periods
        out.drift_periods = check.drift_periods
        checked = check.results
        source_failed = check.failed
        source_transient = check.transient_failure
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
        if source_failed:
            log.error(
                "source check failed",
                extra={"date": day, "periods": compact_periods(source_failed)},
            )
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
        whole = source or not report.periods_fetched
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
            engine,
            ctx.settings,
            fetched,
            models=ctx.models,
            now=ctx.now,
            skip_verify=True,
            accept_shrink=accept_shrink,
            detected_by="reconcile",
        )
        if result.suspect:
            _held_back(out, result.suspect_reason)
        else:
            out.actions.append(
                (
                    "reingested the date"
                    if whole
                    else f"reingested periods {compact_periods(refetch)}"
                )
                + (" (suspect answer accepted)" if result.shrink_accepted else "")
            )
            log.info(
                "date refetched",
                extra={"date": day, "periods": "all" if whole else compact_periods(refetch)},
            )
    elif source_failed:
        # Nothing to refetch as far as we know, but the check itself is incomplete.
        raise FetchFailed(
            f"source check failed for periods {compact_periods(source_failed)} "
            f"({first_error(source_failed)})",
            transient=source_transient,
        )
    elif was_suspect:
        # Every period answered and agrees with what is stored: nothing is held back any more.
        await run_db(engine, _clear_suspect, engine, settlement_date)
        out.actions.append("cleared the suspect mark: Elexon's answer agrees with the stored data")
        log.info("suspect mark cleared", extra={"date": day})

    report, mismatches = await _fix_or_keep(ctx, settlement_date, out)
    _finish(out, report, mismatches)
    out.requests = ctx.requests - requests_before
    out.elapsed_s = time.perf_counter() - started
    return out


def _held_back(out: DateOutcome, reason: str | None) -> None:
    """The date's answer is suspect: the stored data stays; the operator decides."""
    day = out.settlement_date.isoformat()
    out.status = "suspect"
    out.reason = (
        f"suspect: {reason}; the stored data is kept; apply it with "
        f"curtailcoin reconcile date {day} --accept-shrink"
    )
    out.actions.append("kept the stored data (the answer is suspect)")
    # ``reingest_date`` has logged the WARNING line with the date and the reason.


def _clear_suspect(engine: Engine, settlement_date: date) -> None:
    with engine.begin() as conn:
        clear_suspect(conn, settlement_date)


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


# -- critical -----------------------------------------------------------------------------------


def careful_client(settings: Settings) -> ElexonClient:
    """One request at a time, a quarter of any cap, 3× the timeout, twice the retries."""
    rate = settings.requests_per_second
    return ElexonClient.from_settings(
        settings,
        concurrency=1,
        requests_per_second=None if rate is None else max(0.25, rate / 4),
        timeout_s=settings.request_timeout_s * 3,
        policy=RetryPolicy(
            max_tries=min(20, settings.max_tries * 2),
            max_time_s=settings.max_retry_time_s * 2,
            backoff_base_s=settings.backoff_base_s * 2,
            backoff_max_s=settings.backoff_max_s * 2,
        ),
    )


async def process_critical_date(ctx: ReconcileContext, settlement_date: date) -> DateOutcome:
    """The seed's ``processCriticalDate``: reprocess a troublesome date with extra care.

    One period at a time through a careful client; each period's wind lines are verified against
    the acceptance-volumes endpoint (refetched once on a disagreement). Verified periods are
    stored together (the whole date atomically when all are verified); a period that cannot be
    fetched or verified keeps its previous data and fails the date with the reason.
    """
    started = time.perf_counter()
    day = settlement_date.isoformat()
    out = DateOutcome(settlement_date)
    careful = careful_client(ctx.settings)
    engine = ctx.engine
    try:
        async with ctx.locks.hold(settlement_date, timeout_s=ctx.lock_timeout_s):
            report, mismatches = await run_db(
                engine, check_date, engine, settlement_date, ctx.model_keys, ctx.now
            )
            out.before = problems_of(report, mismatches)
            wind = await ctx.wind()
            volumes: list[AcceptanceVolume] = await careful.fetch_acceptance_volumes(
                settlement_date
            )
            verified: dict[int, PeriodResult] = {}
            failed: dict[int, str] = {}
            unverified: dict[int, list[str]] = {}
            periods = expected_periods(settlement_date, ctx.now)
            for period in periods:
                for attempt in (1, 2):
                    results = await careful.fetch_stack_periods(
                        settlement_date, [period], keep=wind.__contains__
                    )
                    result = results[period]
                    if result.error is not None:
                        failed[period] = str(result.error)
                        break
                    problems = verify_against_acceptances(
                        settlement_date,
                        period,
                        result.lines,
                        volumes,
                        wind,
                        ctx.settings.source_tolerance_mwh,
                    )
                    if not problems:
                        verified[period] = result
                        unverified.pop(period, None)
                        break
                    unverified[period] = problems
                    if attempt == 1:  # the day's volumes may predate a revision: once more
                        volumes = await careful.fetch_acceptance_volumes(settlement_date)
                headline = (
                    headline_totals(verified[period].lines, wind) if period in verified else None
                )
                problem = failed.get(period) or "; ".join(unverified.get(period, []))
                log.info(
                    "critical period",
                    extra={
                        "date": day,
                        "period": period,
                        "verified": period in verified,
                        "records": headline.records if headline else None,
                        "problem": problem[:300] or None,
                    },
                )
            out.details["periods_verified"] = len(verified)
            out.details["periods_expected"] = len(periods)
            out.details["unverified_periods"] = {
                str(p): v[:5] for p, v in sorted(unverified.items())
            }
            if verified:
                whole = len(verified) == len(periods)
                fetched = FetchedDate(settlement_date, verified, wind, whole_date=whole)
                written = await write_fetched(
                    engine,
                    ctx.settings,
                    fetched,
                    models=ctx.models,
                    now=ctx.now,
                    skip_verify=True,
                    detected_by="critical",
                )
                if written.suspect:
                    _held_back(out, written.suspect_reason)
                else:
                    what = "the date" if whole else "periods " + compact_periods(verified)
                    out.actions.append(
                        f"reingested {what} (each period verified against acceptance volumes)"
                    )
            report, mismatches = await _fix_or_keep(ctx, settlement_date, out)
            _finish(out, report, mismatches)
            if (failed or unverified) and out.status != "suspect":
                out.status = "failed"
                parts = []
                if failed:
                    parts.append(
                        f"fetch failed for periods {compact_periods(failed)} "
                        f"({first_error(failed)})"
                    )
                if unverified:
                    first = min(unverified)
                    parts.append(
                        f"periods {compact_periods(unverified)} disagree with the acceptance "
                        f"volumes (period {first}: {unverified[first][0]})"
                    )
                out.reason = "; ".join(parts)
    except (BadInput, UnreachableSourceError, asyncio.CancelledError):
        raise
    except Exception as exc:
        out.status = "failed"
        out.reason = f"{error_category(exc)}: {describe_error(exc)}"
        log.error("critical date failed", extra={"date": day, "reason": out.reason})
    finally:
        out.requests = careful.stats.requests
        ctx.extra_requests += careful.stats.requests
        await careful.aclose()
    out.elapsed_s = time.perf_counter() - started
    return out


# -- spot fix -----------------------------------------------------------------------------------


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
        select(r.volume, r.payment).where(
            r.settlement_date == settlement_date,
            r.settlement_period == period,
            r.farm_id == farm,
        )
    ).all()
    c = historical_bitcoin_calculations.c
    calcs = conn.execute(
        select(c.miner_model, c.bitcoin_mined).where(
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
        summarised = _summary_models(conn, settlement_date, models)
        others = [m for m in summarised if m not in models]
        derive_date(conn, settlement_date, models, [period], farm, also_summarise=others)
        after = _farm_period(conn, settlement_date, period, farm)
    return before, after


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
    try:
        async with ctx.locks.hold(settlement_date, timeout_s=ctx.lock_timeout_s):
            wind = await ctx.wind()
            fetched = await fetch_periods(ctx.client, settlement_date, [period], wind)
            if not fetched.ok:
                raise FetchFailed(
                    f"fetch failed for period {period}: {fetched.failed[period]}",
                    transient=fetched.any_transient,
                )
            result = fetched.results[period]
            warnings: list[str] = []
            timeline = await ensure_network_conditions(
                ctx.engine, ctx.settings, settlement_date, warnings
            )
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
            out.details.update(
                before=before, after=after, source=Totals.to_json(source), warnings=warnings
            )
            out.actions.append(
                f"replaced period {period} of {farm}: {before['records']} → {after['records']} "
                "records, calculations and summaries rebuilt"
            )
            out.before = ["spot_fix"] if before != after else []
            report, mismatches = await run_db(
                ctx.engine, check_date, ctx.engine, settlement_date, ctx.model_keys, ctx.now
            )
            out.status = "fixed" if out.before else "clean"
            out.after = problems_of(report, mismatches)  # the rest of the date, for information
            out.records = report.records
            log.info(
                "spot fix",
                extra={
                    "date": day,
                    "period": period,
                    "farm": farm,
                    "records_before": before["records"],
                    "records_after": after["records"],
                },
            )
    except (BadInput, UnreachableSourceError, asyncio.CancelledError):
        raise
    except Exception as exc:
        out.status = "failed"
        out.reason = f"{error_category(exc)}: {describe_error(exc)}"
        log.error("spot fix failed", extra={"date": day, "period": period, "farm": farm})
    out.requests = ctx.requests - requests_before
    out.elapsed_s = time.perf_counter() - started
    return out
