"""Reingest a settlement date end to end: fetch every period, then replace the date atomically.

This is the seed's ``reingest-data.ts`` and ``complete_reingestion_process.ts``: all periods are
fetched first; only when every one succeeded does one transaction replace the date's raw lines,
records, statuses, calculations and summaries. A failure leaves the database as it was.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Engine, func, select

from curtailcoin.calculations import (
    VerificationRow,
    calculate,
    clear_bitcoin_calculations,
    verify_calculations,
)
from curtailcoin.config import Settings
from curtailcoin.db.schema import historical_bitcoin_calculations
from curtailcoin.ingest import check_curtailment_data, replace_periods
from curtailcoin.miners import MinerModel, resolve_models
from curtailcoin.network import NetworkTimeline
from curtailcoin.reference import (
    ensure_reference_data,
    load_miner_models,
    load_timeline,
    refresh_difficulty,
)
from curtailcoin.registry import ensure_snapshot, refresh_registry, wind_units
from curtailcoin.settlement import (
    FIRST_SETTLEMENT_DATE,
    period_end_utc,
    period_start_utc,
    periods_in_day,
    periods_started,
    settlement_today,
)
from curtailcoin.shrink_guard import ShrinkVerdict, judge
from curtailcoin.sources.elexon import ElexonClient, PeriodResult
from curtailcoin.sources.http import SourceError, UnreachableSourceError
from curtailcoin.sources.mempool import mempool_client
from curtailcoin.summaries import (
    rebuild_bitcoin_summaries,
    rebuild_curtailment_summaries,
)
from curtailcoin.suspects import (
    clear_suspect,
    fetched_totals,
    record_suspect,
    shrink_limits,
    stored_totals,
)

log = logging.getLogger("curtailcoin.pipeline")


class BadInput(ValueError):
    """Input the user must correct (exit code 2); the message is one line."""


def validate_date(settlement_date: date, now: datetime | None = None) -> None:
    """``BadInput`` unless the date is one Elexon can have settlement data for: from NETA
    go-live (``FIRST_SETTLEMENT_DATE``) to today, so no fetch or write is ever attempted."""
    today = settlement_today(now)
    if settlement_date < FIRST_SETTLEMENT_DATE:
        raise BadInput(
            f"date {settlement_date.isoformat()} is before the first settlement date: allowed "
            f"from {FIRST_SETTLEMENT_DATE.isoformat()} (NETA go-live) to {today.isoformat()}"
        )
    if settlement_date > today:
        raise BadInput(
            f"date {settlement_date.isoformat()} is in the future: allowed up to "
            f"{today.isoformat()} (today, Europe/London)"
        )


def max_days(end: date | None = None, now: datetime | None = None) -> int:
    """The most days a span ending on ``end`` (default today) can have: back to the first
    settlement date, never further."""
    last = end or settlement_today(now)
    return (last - FIRST_SETTLEMENT_DATE).days + 1


def validate_days(
    days: int, option: str = "--days", end: date | None = None, now: datetime | None = None
) -> None:
    """``BadInput`` unless ``1 <= days <= max_days(end)`` (a span of real settlement dates)."""
    last = end or settlement_today(now)
    most = max_days(last)
    if not 1 <= days <= most:
        raise BadInput(
            f"{option} {days} is not allowed: use 1..{most} (the days from "
            f"{FIRST_SETTLEMENT_DATE.isoformat()} to {last.isoformat()})"
        )


def validate_range(start: date, end: date, now: datetime | None = None) -> None:
    """``BadInput`` unless both dates are valid and ``start <= end``."""
    validate_date(start, now)
    validate_date(end, now)
    if start > end:
        raise BadInput(
            f"start {start.isoformat()} is after end {end.isoformat()}: allowed START <= END"
        )


@dataclass
class ReingestResult:
    """What a reingest did; ``to_json`` is the CLI's ``--json`` object."""

    settlement_date: date
    periods: int
    periods_requested: int = 0
    periods_fetched: int = 0
    failed_periods: dict[int, str] = field(default_factory=dict)
    failure_causes: dict[int, str] = field(default_factory=dict)  # the error, period-free
    incomplete_periods: dict[int, str] = field(default_factory=dict)  # stored, figure missing
    written: bool = False
    records: int = 0
    farms: int = 0
    curtailed_mwh: float = 0.0
    payment_gbp: float = 0.0
    bitcoin: dict[str, float] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)
    pending_periods: list[int] = field(default_factory=list)
    bitcoin_skipped: bool = False
    verification: list[VerificationRow] = field(default_factory=list)
    verified: bool = False
    warnings: list[str] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    fetch_seconds: float = 0.0
    write_seconds: float = 0.0
    # the drift guard: an implausible answer is held back (``suspect``) unless accepted
    shrink: ShrinkVerdict | None = None
    shrink_accepted: bool = False

    @property
    def suspect(self) -> bool:
        """The answer was held back: the stored data was kept."""
        return self.shrink is not None and self.shrink.suspect and not self.shrink_accepted

    @property
    def suspect_reason(self) -> str | None:
        return self.shrink.reason if self.shrink is not None and self.shrink.suspect else None

    @property
    def verification_ok(self) -> bool:
        return all(row.ok for row in self.verification)

    @property
    def complete(self) -> bool:
        """Every period fetched and stored; every farm-period calculated for every model."""
        return (
            self.written
            and not self.suspect
            and self.periods_fetched == self.periods
            and not self.failed_periods
            and not self.incomplete_periods
            and (self.bitcoin_skipped or not self.pending_periods)
            and (not self.verified or self.verification_ok)
        )

    def to_json(self) -> dict[str, object]:
        return {
            "date": self.settlement_date.isoformat(),
            "periods": self.periods,
            "periods_fetched": self.periods_fetched,
            "records": self.records,
            "farms": self.farms,
            "curtailed_mwh": self.curtailed_mwh,
            "payment_gbp": self.payment_gbp,
            "bitcoin": dict(self.bitcoin),
            "complete": self.complete,
            "failed_periods": {str(k): v for k, v in sorted(self.failed_periods.items())},
            "incomplete_periods": {str(k): v for k, v in sorted(self.incomplete_periods.items())},
            "pending_periods": self.pending_periods,
            "written": self.written,
            "verified": self.verified,
            "warnings": self.warnings,
            "suspect": self.suspect,
            "suspect_reason": self.suspect_reason,
            "shrink_accepted": self.shrink_accepted,
        }


def prepare_database(engine: Engine) -> None:
    """Load the shipped reference data and BM unit snapshot where missing."""
    with engine.begin() as conn:
        ensure_reference_data(conn)
        ensure_snapshot(conn)


def resolve_model_keys(engine: Engine, names: Sequence[str]) -> list[MinerModel]:
    """Resolve model keys against the database catalogue (``BadInput`` when unknown)."""
    with engine.connect() as conn:
        catalogue = load_miner_models(conn)
    try:
        return resolve_models(names, catalogue)
    except ValueError as exc:
        raise BadInput(str(exc)) from None


def _pending_periods(timeline: NetworkTimeline, settlement_date: date) -> list[int]:
    return [
        p
        for p in range(1, periods_in_day(settlement_date) + 1)
        if timeline.conditions(
            period_start_utc(settlement_date, p), period_end_utc(settlement_date, p)
        ).difficulty
        is None
    ]


async def ensure_network_conditions(
    engine: Engine, settings: Settings, settlement_date: date, warnings: list[str]
) -> NetworkTimeline:
    """The timeline, refreshed from mempool.space when a period lies beyond the known epochs."""
    with engine.connect() as conn:
        timeline = load_timeline(conn)
    last_end = period_end_utc(settlement_date, periods_in_day(settlement_date))
    if timeline.needs_refresh(last_end):
        try:
            async with mempool_client(settings) as client:
                await refresh_difficulty(engine, client)
        except (SourceError, ValueError) as exc:
            warnings.append(f"difficulty refresh from mempool.space failed: {exc}")
            log.warning("difficulty refresh failed", extra={"error": str(exc)})
        with engine.connect() as conn:
            timeline = load_timeline(conn)
    return timeline


async def fetch_periods(
    client: ElexonClient,
    settlement_date: date,
    periods: Sequence[int],
    wind: Mapping[str, str | None] | None = None,
) -> dict[int, PeriodResult]:
    """Fetch the periods; with ``wind`` only wind units' lines are parsed in full."""
    keep = None if wind is None else wind.__contains__
    return await client.fetch_stack_periods(settlement_date, periods, keep=keep)


async def reingest_date(
    engine: Engine,
    settings: Settings,
    settlement_date: date,
    *,
    models: Sequence[MinerModel] | None = None,
    skip_bitcoin: bool = False,
    skip_verify: bool = False,
    clear_all_models: bool = False,
    client: ElexonClient | None = None,
    periods: Sequence[int] | None = None,
    now: datetime | None = None,
    prefetched: Mapping[int, PeriodResult] | None = None,
    accept_shrink: bool = False,
    detected_by: str = "reingest",
) -> ReingestResult:
    """Fetch every published period of the date, then replace the date in one transaction.

    ``models`` defaults to the tracked models; ``clear_all_models`` (complete reingestion) also
    removes the date's calculations of every other model. ``periods`` restricts the fetch to
    some periods (those periods alone are replaced). ``prefetched`` holds periods the caller has
    just fetched (wind lines kept, e.g. by a source check): their successful results are used
    instead of fetching them again. Raises ``BadInput`` for a future date.

    An answer the drift guard finds implausible (``shrink_guard.judge`` over the periods being
    replaced) is not written: the date is recorded in ``suspect_dates`` (by ``detected_by``)
    and ``result.suspect`` is set — unless ``accept_shrink``, which applies it.
    """
    validate_date(settlement_date, now)
    prepare_database(engine)
    if models is None:
        models = resolve_model_keys(engine, settings.tracked_models)
    count = periods_in_day(settlement_date)
    result = ReingestResult(settlement_date, count, models=[m.key for m in models])
    result.bitcoin_skipped = skip_bitcoin
    own_client = client is None
    elexon = client or ElexonClient.from_settings(settings)
    try:
        try:
            await refresh_registry(
                engine, elexon, max_age=timedelta(seconds=settings.bmunit_refresh_max_age_s)
            )
        except UnreachableSourceError:
            raise  # offline or a wrong base URL: one line, not 48 failed periods
        except SourceError as exc:
            result.warnings.append(f"BM unit registry refresh failed, using stored list: {exc}")
            log.warning("bm unit refresh failed", extra={"error": str(exc)})
        whole_date = periods is None
        wanted = (
            list(periods)
            if periods is not None
            else list(range(1, periods_started(settlement_date, now) + 1))
        )
        result.periods_requested = len(wanted)
        started = time.perf_counter()
        requests_before = elexon.stats.requests
        retries_before = elexon.stats.retries
        timeouts_before = elexon.stats.timeouts
        with engine.connect() as conn:
            wind = wind_units(conn)
        reuse = {p: r for p, r in (prefetched or {}).items() if p in wanted and r.ok}
        results = dict(reuse)
        if len(reuse) < len(wanted):
            to_fetch = [p for p in wanted if p not in reuse]
            results.update(await fetch_periods(elexon, settlement_date, to_fetch, wind))
        result.fetch_seconds = time.perf_counter() - started
        result.requests = elexon.stats.requests - requests_before
        result.retries = elexon.stats.retries - retries_before
        result.timeouts = elexon.stats.timeouts - timeouts_before
    finally:
        if own_client:
            await elexon.aclose()

    result.failed_periods = {p: str(r.error) for p, r in results.items() if r.error is not None}
    result.failure_causes = {p: r.cause for p, r in results.items() if r.cause is not None}
    if result.failed_periods:
        log.error(
            "fetch failed; date left unchanged",
            extra={"date": settlement_date.isoformat(), "periods": sorted(result.failed_periods)},
        )
        _fill_stored_totals(engine, result)
        return result

    timeline = await ensure_network_conditions(engine, settings, settlement_date, result.warnings)

    def write_and_verify() -> None:
        started = time.perf_counter()
        with engine.begin() as conn:
            result.shrink = _judge_answer(conn, settings, result, results, wind, whole_date)
            if result.shrink.suspect and not accept_shrink:
                record_suspect(conn, settlement_date, result.shrink, detected_by)
                return
            result.shrink_accepted = result.shrink.suspect
            clear_suspect(conn, settlement_date)
            stored = replace_periods(
                conn, settlement_date, results, wind, timeline, whole_date=whole_date
            )
            keys = [m.key for m in models]
            if clear_all_models and not skip_bitcoin:
                # complete reingestion: no calculation of any other model survives the date
                c = historical_bitcoin_calculations.c
                stored_models = conn.execute(
                    select(c.miner_model).distinct().where(c.settlement_date == settlement_date)
                ).scalars()
                keys = list(dict.fromkeys([*keys, *stored_models]))
                clear_bitcoin_calculations(conn, settlement_date)
            if not skip_bitcoin:
                calculate(
                    conn,
                    settlement_date,
                    [m.key for m in models],
                    None if whole_date else sorted(results),
                )
            # the date's own rows are written; the month/year roll-ups wait for other dates
            rebuild_curtailment_summaries(conn, settlement_date)
            if not skip_bitcoin:
                rebuild_bitcoin_summaries(conn, settlement_date, keys)
        result.write_seconds = time.perf_counter() - started
        result.written = True
        result.pending_periods = list(stored.pending_periods)
        _fill_stored_totals(engine, result)
        if not skip_verify and not skip_bitcoin:
            with engine.connect() as conn:
                result.verification = verify_calculations(conn, settlement_date, list(models))
            result.verified = True

    # The database work is blocking: run it in a thread so that the event loop keeps serving
    # other dates' requests and a worker's heartbeat (an in-memory SQLite stays on this thread).
    if _thread_safe(engine):
        await asyncio.to_thread(write_and_verify)
    else:
        write_and_verify()
    if result.suspect:
        _fill_stored_totals(engine, result)
        log.warning(
            "date suspect; stored data kept",
            extra={
                "date": settlement_date.isoformat(),
                "reason": result.suspect_reason,
                "detected_by": detected_by,
            },
        )
        return result
    if result.shrink_accepted:
        log.warning(
            "suspect answer applied on request",
            extra={"date": settlement_date.isoformat(), "reason": result.suspect_reason},
        )
    log.info(
        "date reingested",
        extra={
            "date": settlement_date.isoformat(),
            "records": result.records,
            "periods_fetched": result.periods_fetched,
            "fetch_s": round(result.fetch_seconds, 3),
            "write_s": round(result.write_seconds, 3),
        },
    )
    return result


def _judge_answer(
    conn: Connection,
    settings: Settings,
    result: ReingestResult,
    results: Mapping[int, PeriodResult],
    wind: Mapping[str, str | None],
    whole_date: bool,
) -> ShrinkVerdict:
    """The drift guard's verdict on replacing the stored periods with ``results``."""
    periods = None if whole_date else sorted(results)
    return judge(
        stored_totals(conn, result.settlement_date, periods),
        fetched_totals(results, wind),
        shrink_limits(settings),
        periods,
    )


def _thread_safe(engine: Engine) -> bool:
    """False for an in-memory SQLite database (one connection per thread would be empty)."""
    url = engine.url
    return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))


def _fill_stored_totals(engine: Engine, result: ReingestResult) -> None:
    """Headline totals and BTC per model as the database now holds them for the date."""
    with engine.connect() as conn:
        check = check_curtailment_data(conn, result.settlement_date)
        c = historical_bitcoin_calculations.c
        btc = dict(
            conn.execute(
                select(c.miner_model, func.sum(c.bitcoin_mined))
                .where(
                    c.settlement_date == result.settlement_date, c.miner_model.in_(result.models)
                )
                .group_by(c.miner_model)
            ).all()
        )
    result.records = check.records
    result.farms = check.farms
    result.curtailed_mwh = check.curtailed_energy_mwh
    result.payment_gbp = check.payment_gbp
    result.periods_fetched = check.periods_fetched
    result.incomplete_periods = check.incomplete_periods
    result.bitcoin = {key: float(btc.get(key, 0.0)) for key in result.models}
