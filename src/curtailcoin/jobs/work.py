"""What the scheduled and queued jobs do: plain async functions shared by both backends.

procrastinate (PostgreSQL, :mod:`curtailcoin.jobs.app`) and the in-process scheduler (SQLite,
:mod:`curtailcoin.jobs.local`) both call these, so a job behaves the same whichever runs it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine

from curtailcoin.config import Settings
from curtailcoin.coverage import B1610_PUBLICATION_LAG_DAYS
from curtailcoin.db.engine import get_engine
from curtailcoin.db.locks import DateLocks, LockBusyError
from curtailcoin.jobs.schedule import dates_for_today_tick
from curtailcoin.pipeline import BadInput, ReingestResult, prepare_database, reingest_date
from curtailcoin.reconcile import commands as reconcile_commands
from curtailcoin.reconcile import daily as reconcile_daily
from curtailcoin.reconcile.outcome import RunSummary
from curtailcoin.settlement import periods_started, settlement_today
from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.sources.http import SourceError

log = logging.getLogger("curtailcoin.jobs")


class JobFailed(RuntimeError):
    """A job did not finish its work. ``transient``: a later retry may succeed."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass
class DateOutcome:
    """A date's reingest, reduced to what a job or a backfill reports."""

    settlement_date: date
    ok: bool
    skipped: bool = False
    periods_fetched: int = 0
    periods_requested: int = 0
    records: int = 0
    requests: int = 0
    error: str | None = None
    transient: bool = True
    warnings: list[str] = field(default_factory=list)
    suspect: bool = False  # the drift guard held the answer back: an operator decides

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.settlement_date.isoformat(),
            "ok": self.ok,
            "skipped": self.skipped,
            "periods_fetched": self.periods_fetched,
            "periods_requested": self.periods_requested,
            "records": self.records,
            "error": self.error,
            "suspect": self.suspect,
        }


def _describe_failure(result: ReingestResult) -> str:
    if result.suspect:
        day = result.settlement_date.isoformat()
        return (
            f"suspect: {result.suspect_reason}; the stored data is kept; apply it with "
            f"curtailcoin reingest {day} --accept-shrink"
        )
    if result.failed_periods:
        first = min(result.failed_periods)
        return (
            f"{len(result.failed_periods)} period(s) failed to fetch "
            f"({', '.join(map(str, sorted(result.failed_periods)))}); "
            f"period {first}: {result.failed_periods[first]}"
        )
    if not result.written:
        return "nothing was written"
    if result.incomplete_periods:
        first = min(result.incomplete_periods)
        return (
            f"{len(result.incomplete_periods)} period(s) stored with a figure missing "
            f"({', '.join(map(str, sorted(result.incomplete_periods)))}); "
            f"period {first}: {result.incomplete_periods[first]}"
        )
    if result.pending_periods:
        return "difficulty unknown (pending) for period(s) " + ", ".join(
            map(str, result.pending_periods)
        )
    if result.verified and not result.verification_ok:
        return "verification found farm-periods without calculations"
    return "incomplete"


def date_outcome(result: ReingestResult, now: datetime) -> DateOutcome:
    """A date's reingest reduced to its outcome (shared by the jobs and the backfill's writer)."""
    settlement_date = result.settlement_date
    is_today = settlement_date == settlement_today(now)
    # Today is fine once every period published so far is stored; other dates must be complete.
    ok = (result.written and result.coverage.complete_so_far) if is_today else result.complete
    outcome = DateOutcome(
        settlement_date,
        ok=ok,
        periods_fetched=result.periods_fetched,
        periods_requested=result.periods_requested,
        records=result.records,
        requests=result.requests,
        error=None if ok else _describe_failure(result),
        # a null figure in the answer is Elexon's to fix (the daily look-back refetches the
        # date); a suspect answer waits for a decision: neither is worth an automatic retry
        transient=result.transient
        and not result.suspect
        and not (result.written and result.incomplete_periods),
        warnings=list(result.warnings),
        suspect=result.suspect,
    )
    if result.written and result.pending_periods and not result.failed_periods:
        # Difficulty not yet known: the data are stored; a later run fills in the Bitcoin.
        outcome.transient = True
    return outcome


#: how long a date waits for another run (a reconciliation) to release it
DATE_LOCK_TIMEOUT_S = 600.0


async def ingest_one_date(
    settings: Settings,
    settlement_date: date,
    *,
    client: ElexonClient,
    locks: DateLocks | None = None,
    lock_timeout_s: float = DATE_LOCK_TIMEOUT_S,
    now: datetime | None = None,
    prices: bool = True,
) -> DateOutcome:
    """Reingest and calculate one date; never raises for a source failure (see ``ok``).

    With ``prices`` the BTC prices of a written date are fetched too (a backfill fetches its
    range's at once instead); a price that cannot be had is a warning, never the date's failure.

    With ``locks`` the date is held under the reconciliation's per-date lock meanwhile, so a
    worker, a backfill and a reconciliation never process one date at the same time. Today's
    date counts as ``ok`` when every period published so far was stored. A date with no period
    ended yet (just after midnight) is skipped.
    """
    now = now or datetime.now(UTC)
    started = periods_started(settlement_date, now)
    if started == 0:
        return DateOutcome(settlement_date, ok=True, skipped=True)
    engine = get_engine(settings.database_url)
    try:
        async with (
            locks.hold(settlement_date, timeout_s=lock_timeout_s)
            if locks is not None
            else contextlib.nullcontext()
        ):
            result = await reingest_date(
                engine, settings, settlement_date, client=client, now=now, detected_by="worker"
            )
    except LockBusyError as exc:
        return DateOutcome(settlement_date, ok=False, error=str(exc), transient=True)
    outcome = date_outcome(result, now)
    if prices and result.written:
        outcome.warnings.extend(await _price_date(engine, settings, settlement_date, now))
    return outcome


async def _price_date(
    engine: Engine, settings: Settings, settlement_date: date, now: datetime
) -> list[str]:
    """The date's prices; the reasons a price is missing, as warnings."""
    from curtailcoin.price_updates import price_written_dates

    priced = await price_written_dates(engine, settings, settlement_date, settlement_date, now=now)
    for day, reason in priced.failed.items():
        log.warning("date without a BTC price", extra={"date": day.isoformat(), "reason": reason})
    return [f"no BTC price for {day}: {reason}" for day, reason in priced.failed.items()]


async def ingest_date_job(
    settings: Settings,
    settlement_date: date,
    *,
    client: ElexonClient,
    locks: DateLocks | None = None,
    now: datetime | None = None,
) -> DateOutcome:
    """The ``ingest_date`` job: raises :class:`JobFailed` so the queue retries (or not)."""
    try:
        outcome = await ingest_one_date(
            settings, settlement_date, client=client, locks=locks, now=now
        )
    except BadInput as exc:
        raise JobFailed(str(exc), transient=False) from exc
    if outcome.suspect:
        # Not a failure a retry could mend: the same answer would be held back again.
        log.warning(
            "job ended: date suspect",
            extra={"date": settlement_date.isoformat(), "reason": outcome.error},
        )
        raise JobFailed(f"{settlement_date.isoformat()}: {outcome.error}", transient=False)
    if not outcome.ok:
        raise JobFailed(
            f"{settlement_date.isoformat()}: {outcome.error}", transient=outcome.transient
        )
    return outcome


async def ingest_today_tick(
    instant: datetime, submit: Callable[[date], Awaitable[object]]
) -> list[date]:
    """The 15-minute tick: hand today's date (and yesterday's after midnight) to ``submit``."""
    dates = dates_for_today_tick(instant)
    for day in dates:
        await submit(day)
    return dates


# --- reference data, prices, reconciliation ----------------------------------------------------


async def refresh_reference_job(settings: Settings, *, client: ElexonClient) -> dict[str, Any]:
    """Refresh the BM unit registry, the difficulty epochs and the fees (each independently)."""
    from curtailcoin.reference import refresh_difficulty
    from curtailcoin.registry import refresh_registry
    from curtailcoin.sources.mempool import mempool_client

    engine = get_engine(settings.database_url)
    prepare_database(engine)
    out: dict[str, Any] = {}
    errors: list[str] = []
    try:
        out["bm_units"] = await refresh_registry(engine, client)
    except (SourceError, ValueError) as exc:
        errors.append(f"BM unit refresh failed: {exc}")
    try:
        async with mempool_client(settings) as mempool:
            out["epochs_changed"] = await refresh_difficulty(engine, mempool)
    except (SourceError, ValueError) as exc:
        errors.append(f"difficulty refresh failed: {exc}")
    out.update(await _refresh_fees(engine, settings))
    if errors:
        raise JobFailed("; ".join(errors), transient=True)
    return out


async def _refresh_fees(engine: Engine, settings: Settings) -> dict[str, Any]:
    """Fees per block, refreshed with the reference data; a failure is logged and reported in
    the job's result, never the job's failure (the days stay missing until a later refresh)."""
    from curtailcoin.fees import last_fee_day, period_to_cover, update_fees

    try:
        with engine.connect() as conn:
            period = period_to_cover(last_fee_day(conn), datetime.now(UTC).date())
        result = await update_fees(engine, settings, period)
    except (SourceError, ValueError, OSError) as exc:
        log.warning("fee refresh failed", extra={"error": str(exc)})
        return {"fees_error": f"fee refresh failed: {exc}"}
    return {"fee_rows": result.stored, "fee_period": period}


async def update_prices_job(settings: Settings, *, now: datetime | None = None) -> Any:
    """The daily price update: from the day after the latest stored price up to today."""
    from curtailcoin.price_updates import update_prices
    from curtailcoin.prices import PriceInputError

    engine = get_engine(settings.database_url)
    try:
        result = await update_prices(engine, settings, now=now)
    except PriceInputError as exc:
        raise JobFailed(f"price update: {exc}", transient=False) from exc
    except (SourceError, OSError) as exc:
        raise JobFailed(f"price update failed: {exc}", transient=True) from exc
    if result.failed:
        first = next(iter(result.failed.items()))
        raise JobFailed(
            f"price update: {len(result.failed)} date(s) without a price "
            f"(first {first[0]}: {first[1]})",
            transient=True,
        )
    return {"stored": dict(result.stored), "skipped": result.skipped}


#: the daily check's look-back against Elexon: a week, and at least back to the date whose B1610
#: should be published today (``coverage.b1610_published_from``: the day ends, then the lag),
#: so a date pending at its ingestion is fetched on the day it is published
LOOKBACK_DAYS = max(7, B1610_PUBLICATION_LAG_DAYS + 2)


async def daily_reconciliation_job(
    settings: Settings, *, now: datetime | None = None
) -> dict[str, Any]:
    """The daily check: the last 2 days, plus a look-back against the source (:data:`LOOKBACK_DAYS`)
    that reaches the date whose B1610 Elexon publishes today, so it is fetched then.

    ``now`` is the scheduled instant (it only labels the run): the check itself looks at the
    clock, so a run that starts late still sees every period published by then.
    """
    engine = get_engine(settings.database_url)
    summary = await reconcile_daily.run_daily_check(
        engine, settings, days=2, lookback_days=LOOKBACK_DAYS
    )
    _raise_if_failed(summary, "daily reconciliation")
    return summary.to_json()


async def weekly_reconciliation_job(
    settings: Settings, *, now: datetime | None = None
) -> dict[str, Any]:
    """The unified reconciliation: every stored date with a problem, found and fixed."""
    engine = get_engine(settings.database_url)
    summary = await reconcile_commands.process_date_range(engine, settings)
    _raise_if_failed(summary, "unified reconciliation")
    return summary.to_json()


def _raise_if_failed(summary: RunSummary, what: str) -> None:
    failed = summary.failed
    if failed:
        first = min(failed)
        suspect = summary.suspect
        if suspect:
            log.warning(
                "reconciliation held suspect dates back", extra={"dates": ",".join(sorted(suspect))}
            )
        raise JobFailed(
            f"{what}: {len(failed)} date(s) failed (first {first}: {failed[first]})",
            # suspect dates wait for an operator: retrying would only ask Elexon again
            transient=set(failed) != set(suspect),
        )
