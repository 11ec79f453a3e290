"""Fetch a date's periods into a :class:`FetchedDate`: every answer, and every error as raised.

Fetching is its own step so that each caller (reingest, reconciliation, spot-fix, the worker,
backfill) decides what to do with a failure: the ``SourceError`` of each failed period is kept,
so whether a retry may help (``transient``) is never lost on the way to the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from curtailcoin.config import Settings
from curtailcoin.coverage import expected_periods
from curtailcoin.network import NetworkTimeline
from curtailcoin.reference import load_timeline, refresh_difficulty
from curtailcoin.registry import refresh_or_keep, wind_units
from curtailcoin.settlement import period_end_utc, periods_in_day
from curtailcoin.sources.elexon import ElexonClient, PeriodResult
from curtailcoin.sources.http import (
    RequestStats,
    SourceError,
    start_counted_apart,
)
from curtailcoin.sources.mempool import mempool_client

if TYPE_CHECKING:
    from curtailcoin.pipeline.generation import FetchedGeneration

log = logging.getLogger("curtailcoin.pipeline")


@dataclass
class FetchedDate:
    """The answers for some periods of a date (``whole_date``: every expected period was asked)
    with the wind units they were read against and what fetching cost."""

    settlement_date: date
    results: dict[int, PeriodResult]
    wind: Mapping[str, str | None]
    whole_date: bool = True
    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    generation: FetchedGeneration | None = None  # the date's wind generation, when fetched

    @property
    def errors(self) -> dict[int, SourceError]:
        return {p: r.error for p, r in self.results.items() if r.error is not None}

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results.values())

    @property
    def failed(self) -> dict[int, str]:
        """Each failed period's message."""
        return {p: str(e) for p, e in self.errors.items()}

    @property
    def causes(self) -> dict[int, str]:
        """Each failed period's error without what is specific to the period."""
        return {p: r.cause for p, r in self.results.items() if r.cause is not None}

    @property
    def permanent(self) -> dict[int, str]:
        """The failures a retry cannot mend (400, a schema breach)."""
        return {p: str(e) for p, e in self.errors.items() if not e.transient}

    @property
    def any_transient(self) -> bool:
        return any(e.transient for e in self.errors.values())

    @property
    def periods(self) -> list[int] | None:
        """The periods a write replaces: None for the whole date."""
        return None if self.whole_date else sorted(self.results)


async def fetch_periods(
    client: ElexonClient,
    settlement_date: date,
    periods: Sequence[int],
    wind: Mapping[str, str | None] | asyncio.Future[dict[str, str | None]],
    *,
    whole_date: bool = False,
    reuse: Mapping[int, PeriodResult] | None = None,
) -> FetchedDate:
    """Fetch ``periods`` (wind units' lines parsed in full). Successful answers in ``reuse``
    (e.g. a source check's, a moment ago) stand for their periods: no second request.

    ``wind`` may be a future (a registry refresh under way): the requests go out at once and
    each answer is parsed when the units are known."""
    started = time.perf_counter()
    before = (client.stats.requests, client.stats.retries, client.stats.timeouts)
    results = {p: r for p, r in (reuse or {}).items() if p in set(periods) and r.ok}
    to_fetch = [p for p in periods if p not in results]
    if to_fetch:
        if isinstance(wind, asyncio.Future):
            fetched = await client.fetch_stack_periods(settlement_date, to_fetch, keep_units=wind)
        else:
            fetched = await client.fetch_stack_periods(
                settlement_date, to_fetch, keep=wind.__contains__
            )
        results.update(fetched)
    if isinstance(wind, asyncio.Future):
        wind = await wind
    return FetchedDate(
        settlement_date,
        results,
        wind,
        whole_date=whole_date,
        requests=client.stats.requests - before[0],
        retries=client.stats.retries - before[1],
        timeouts=client.stats.timeouts - before[2],
        seconds=time.perf_counter() - started,
    )


async def refresh_wind(
    engine: Engine, client: ElexonClient, settings: Settings, warnings: list[str]
) -> dict[str, str | None]:
    """The wind units, after a registry refresh when the stored one is older than allowed.

    An unreachable host ends the run (one line, not 48 failed periods); another failure is a
    warning and the stored list is used.
    """
    error = await refresh_or_keep(engine, client, settings.bmunit_refresh_max_age_s)
    if error is not None:
        warnings.append(f"BM unit registry refresh failed, using stored list: {error}")
    with engine.connect() as conn:
        return wind_units(conn)


async def fetch_date(
    engine: Engine,
    settings: Settings,
    client: ElexonClient,
    settlement_date: date,
    *,
    periods: Sequence[int] | None = None,
    now: datetime | None = None,
    generation: bool = False,
) -> FetchedDate:
    """Every expected period of the date (or ``periods``), read against the wind units of a
    registry refresh that runs beside the stack requests (no round trip before them).

    With ``generation`` (a whole date) the date's wind generation (``pipeline.generation``) is
    fetched beside the stacks too, as soon as the wind units are known; it is kept only when
    every period answered (a date that is not written stores no generation either)."""
    warnings: list[str] = []
    wanted = list(periods) if periods is not None else expected_periods(settlement_date, now)
    registry = RequestStats()  # its requests are not the fetch's
    # the registry and the generation go ahead of the stacks: every parse and the generation's
    # unit batches wait for the registry, and the generation's answers are the longest
    wind = start_counted_apart(
        refresh_wind(engine, client, settings, warnings), registry, ahead=True
    )
    side = RequestStats()
    beside = None
    if generation and periods is None:
        beside = start_counted_apart(
            _generation_of(client, settlement_date, wind, now), side, ahead=True
        )
    try:
        fetched = await fetch_periods(
            client, settlement_date, wanted, wind, whole_date=periods is None
        )
        if beside is not None and fetched.ok:
            fetched.generation = await beside
            fetched.generation.requests = side.requests
    finally:
        for task in [t for t in (wind, beside) if t is not None]:
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task  # retrieved: no "exception never retrieved" when the stacks failed
    fetched.warnings[:0] = warnings
    for apart in (registry, side):
        fetched.requests -= apart.requests
        fetched.retries -= apart.retries
        fetched.timeouts -= apart.timeouts
    return fetched


async def _generation_of(
    client: ElexonClient,
    settlement_date: date,
    wind: asyncio.Future[dict[str, str | None]],
    now: datetime | None,
) -> FetchedGeneration:
    from curtailcoin.pipeline.generation import fetch_generation

    # AGWS needs no unit list: it goes out at once, B1610 once the registry is read
    return await fetch_generation(client, settlement_date, wind, now=now)


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
