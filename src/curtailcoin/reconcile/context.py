"""What every date of a reconciliation run shares, and the one way a date's work runs locked.

The context holds the database, one Elexon client (so its concurrency cap and rate limit bind
across dates), the per-date locks and the retry counters. ``run_locked`` is the body that
``critical`` and ``spot-fix`` share: the date's lock, and a failure turned into the outcome's
reason (bad input, an unreachable source and cancellation end the run instead).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine

from curtailcoin.config import Settings
from curtailcoin.db.dialect import is_in_memory
from curtailcoin.db.engine import read_snapshot
from curtailcoin.db.locks import DateLocks
from curtailcoin.miners import MinerModel
from curtailcoin.pipeline.inputs import BadInput
from curtailcoin.pipeline.reingest import prepare_database, resolve_model_keys
from curtailcoin.reconcile.outcome import DateOutcome
from curtailcoin.reconcile.report import DateReport, SummaryMismatch
from curtailcoin.reconcile.retry import RetryCounters, describe_error, error_category
from curtailcoin.reconcile.status import check_date_reconciliation_status
from curtailcoin.registry import refresh_or_keep, wind_units
from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.sources.http import SourceError, UnreachableSourceError

log = logging.getLogger("curtailcoin.reconcile")

T = TypeVar("T")


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

    @property
    def retries(self) -> int:
        """Date retries and the client's request retries so far."""
        return self.counters.retries + self.client.stats.retries

    @property
    def timeouts(self) -> int:
        return self.counters.timeouts + self.client.stats.timeouts

    async def wind(self) -> dict[str, str | None]:
        """The wind units, after a registry refresh if it is older than the configured age."""
        async with self._wind_lock:
            if self._wind is None:
                await refresh_or_keep(
                    self.engine, self.client, self.settings.bmunit_refresh_max_age_s
                )
                with self.engine.connect() as conn:
                    self._wind = wind_units(conn)
            return self._wind

    async def check(self, settlement_date: date) -> tuple[DateReport, list[SummaryMismatch]]:
        """:func:`check_date` of the date, off the event loop."""
        engine = self.engine
        return await run_db(
            engine,
            check_date,
            engine,
            settlement_date,
            self.model_keys,
            self.now,
            self.settings.fetch_generation,
        )

    async def aclose(self) -> None:
        await asyncio.to_thread(self.locks.close)
        if self.own_client:
            await self.client.aclose()


def _thread_safe(engine: Engine) -> bool:
    return not is_in_memory(engine)


async def run_db(engine: Engine, function: Callable[..., T], *args: Any) -> T:
    """Blocking database work off the event loop (other dates' requests keep flowing)."""
    if _thread_safe(engine):
        return await asyncio.to_thread(function, *args)
    return function(*args)


def check_date(
    engine: Engine,
    settlement_date: date,
    models: list[str],
    now: datetime | None,
    generation: bool = False,
) -> tuple[DateReport, list[SummaryMismatch]]:
    """The date's report, counted row by row, and the summary rows its rebuild would fix."""
    with read_snapshot(engine) as conn:
        report, mismatches = check_date_reconciliation_status(
            conn, settlement_date, models, now=now, generation=generation
        )
    return report, mismatches


async def run_locked(
    ctx: ReconcileContext,
    out: DateOutcome,
    body: Callable[[], Awaitable[None]],
    log_failure: Callable[[DateOutcome], None],
) -> None:
    """``body`` under the date's lock; any other failure fails ``out`` with its reason, which
    ``log_failure`` logs (bad input, an unreachable source and cancellation end the run)."""
    try:
        async with ctx.locks.hold(out.settlement_date, timeout_s=ctx.lock_timeout_s):
            await body()
    except (BadInput, UnreachableSourceError, asyncio.CancelledError):
        raise
    except Exception as exc:
        out.status = "failed"
        out.reason = f"{error_category(exc)}: {describe_error(exc)}"
        log_failure(out)
