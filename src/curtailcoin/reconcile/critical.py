"""``reconcile critical``: reprocess a troublesome date with extra care (the seed's
``processCriticalDate``).

One period at a time through a careful client (one request at a time, longer timeouts, more
retries); each period's wind lines are verified against the acceptance-volumes endpoint and
refetched once on a disagreement (the day's volumes may predate a revision). Verified periods
are stored together (the whole date atomically when all are verified); a period that cannot be
fetched or verified keeps its previous data and fails the date with the reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from curtailcoin.config import Settings
from curtailcoin.coverage import expected_periods
from curtailcoin.pipeline.fetch import FetchedDate
from curtailcoin.pipeline.reingest import write_fetched
from curtailcoin.reconcile.context import ReconcileContext, run_locked
from curtailcoin.reconcile.outcome import DateOutcome, hold_back, problems_of, settle
from curtailcoin.reconcile.recalculate import fix_or_keep
from curtailcoin.reconcile.source import (
    compact_periods,
    first_error,
    headline_totals,
    verify_against_acceptances,
)
from curtailcoin.sources.elexon import AcceptanceVolume, ElexonClient, PeriodResult
from curtailcoin.sources.http import RetryPolicy

log = logging.getLogger("curtailcoin.reconcile")


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


@dataclass
class CarefulFetch:
    """The date's periods so far: verified answers, fetch errors and disagreements."""

    volumes: list[AcceptanceVolume]
    verified: dict[int, PeriodResult] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    unverified: dict[int, list[str]] = field(default_factory=dict)

    def problem(self, period: int) -> str:
        return self.failed.get(period) or "; ".join(self.unverified.get(period, []))

    def reason(self) -> str:
        """Why the date failed: the periods not fetched and those that disagree."""
        parts = []
        if self.failed:
            parts.append(
                f"fetch failed for periods {compact_periods(self.failed)} "
                f"({first_error(self.failed)})"
            )
        if self.unverified:
            first = min(self.unverified)
            parts.append(
                f"periods {compact_periods(self.unverified)} disagree with the acceptance "
                f"volumes (period {first}: {self.unverified[first][0]})"
            )
        return "; ".join(parts)


async def _fetch_period(
    careful: ElexonClient,
    settlement_date: date,
    period: int,
    wind: Mapping[str, str | None],
    tolerance_mwh: float,
    state: CarefulFetch,
) -> None:
    """One period, verified against the acceptance volumes; a second try on a disagreement."""
    for attempt in (1, 2):
        results = await careful.fetch_stack_periods(
            settlement_date, [period], keep=wind.__contains__
        )
        result = results[period]
        if result.error is not None:
            state.failed[period] = str(result.error)
            return
        problems = verify_against_acceptances(
            settlement_date, period, result.lines, state.volumes, wind, tolerance_mwh
        )
        if not problems:
            state.verified[period] = result
            state.unverified.pop(period, None)
            return
        state.unverified[period] = problems
        if attempt == 1:  # the day's volumes may predate a revision: once more
            state.volumes = await careful.fetch_acceptance_volumes(settlement_date)


def _log_period(
    settlement_date: date, period: int, wind: Mapping[str, str | None], state: CarefulFetch
) -> None:
    verified = state.verified.get(period)
    headline = headline_totals(verified.lines, wind) if verified is not None else None
    log.info(
        "critical period",
        extra={
            "date": settlement_date.isoformat(),
            "period": period,
            "verified": verified is not None,
            "records": headline.records if headline else None,
            "problem": state.problem(period)[:300] or None,
        },
    )


async def _store_verified(
    ctx: ReconcileContext,
    out: DateOutcome,
    state: CarefulFetch,
    wind: dict[str, str | None],
    periods: list[int],
) -> None:
    """The verified periods in one write (the whole date when every period is verified)."""
    whole = len(state.verified) == len(periods)
    fetched = FetchedDate(out.settlement_date, state.verified, wind, whole_date=whole)
    written = await write_fetched(
        ctx.engine,
        ctx.settings,
        fetched,
        models=ctx.models,
        now=ctx.now,
        skip_verify=True,
        detected_by="critical",
    )
    if written.suspect:
        hold_back(out, written.suspect_reason)
    else:
        what = "the date" if whole else "periods " + compact_periods(state.verified)
        out.actions.append(f"reingested {what} (each period verified against acceptance volumes)")


async def _reprocess(ctx: ReconcileContext, careful: ElexonClient, out: DateOutcome) -> None:
    """The date's check, each period fetched and verified, the verified ones stored, the fixes."""
    settlement_date = out.settlement_date
    report, mismatches = await ctx.check(settlement_date)
    out.before = problems_of(report, mismatches)
    wind = await ctx.wind()
    state = CarefulFetch(await careful.fetch_acceptance_volumes(settlement_date))
    periods = expected_periods(settlement_date, ctx.now)
    for period in periods:
        await _fetch_period(
            careful, settlement_date, period, wind, ctx.settings.source_tolerance_mwh, state
        )
        _log_period(settlement_date, period, wind, state)
    out.details["periods_verified"] = len(state.verified)
    out.details["periods_expected"] = len(periods)
    out.details["unverified_periods"] = {str(p): v[:5] for p, v in sorted(state.unverified.items())}
    if state.verified:
        await _store_verified(ctx, out, state, wind, periods)
    report, mismatches = await fix_or_keep(ctx, settlement_date, out)
    settle(out, report, mismatches)
    if (state.failed or state.unverified) and out.status != "suspect":
        out.status = "failed"
        out.reason = state.reason()


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
    try:
        await run_locked(
            ctx,
            out,
            lambda: _reprocess(ctx, careful, out),
            lambda o: log.error("critical date failed", extra={"date": day, "reason": o.reason}),
        )
    finally:
        out.requests = careful.stats.requests
        ctx.extra_requests += careful.stats.requests
        await careful.aclose()
    out.elapsed_s = time.perf_counter() - started
    return out
