"""The procrastinate application: tasks, the periodic schedule and the retry policy (PostgreSQL).

* ``ingest_date(settlement_date)``: one idempotent task per date, always deferred through
  :func:`defer_ingest_date` with ``queueing_lock`` = the date (never queued twice) and ``lock`` =
  the date (never processed twice at once); failures are retried by the queue with exponential
  backoff and jitter (:class:`BackoffRetry`), permanent failures are not.
* One periodic task per :data:`~curtailcoin.jobs.schedule.SCHEDULE` entry, registered under
  every UTC cron its London wall time can fall on; the job runs its work only when
  :func:`~curtailcoin.jobs.schedule.is_due` says the scheduled instant is the day's run.
  procrastinate records each deferral under the unique key ``(task, periodic_id, timestamp)``
  in ``procrastinate_periodic_defers``, so each run is deferred once however many workers run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from procrastinate import (
    App,
    BaseRetryStrategy,
    JobContext,
    PsycopgConnector,
    RetryDecision,
)
from procrastinate import exceptions as pexc
from procrastinate.jobs import Job
from sqlalchemy.engine import make_url

from curtailcoin import backoff
from curtailcoin.config import Settings, get_settings
from curtailcoin.db.dialect import backend, is_postgresql
from curtailcoin.db.engine import get_engine
from curtailcoin.db.locks import DateLocks
from curtailcoin.jobs import work
from curtailcoin.jobs.schedule import (
    DAILY_RECONCILIATION,
    INGEST_TODAY,
    REFRESH_REFERENCE,
    UPDATE_PRICES,
    WEEKLY_RECONCILIATION,
    ScheduleEntry,
    is_due,
    utc_crons,
)
from curtailcoin.jobs.settings import WorkerSettings, get_worker_settings
from curtailcoin.sources.elexon import ElexonClient

log = logging.getLogger("curtailcoin.jobs")

INGEST_TASK = "ingest_date"
#: periodic jobs run before queued dates; dates deferred by a backfill come last
PERIODIC_PRIORITY = 10
TODAY_PRIORITY = 5
DEFAULT_PRIORITY = 0
BACKFILL_PRIORITY = -5


def conninfo(database_url: str) -> str:
    """A libpq connection string for psycopg from a SQLAlchemy URL (any PostgreSQL driver)."""
    url = make_url(database_url)
    if not is_postgresql(url):
        raise ValueError(
            f"the task queue needs PostgreSQL; CURTAILCOIN_DATABASE_URL is {backend(url)}"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class BackoffRetry(BaseRetryStrategy):
    """Exponential backoff with jitter; no retry for permanent failures or after ``max_attempts``.

    The wait is :func:`curtailcoin.backoff.delay_s` (the one backoff policy).
    """

    max_attempts: int = 6
    base_s: float = 30.0
    max_s: float = 3600.0

    def delay_s(self, attempts: int) -> float:
        """The wait after ``attempts`` failed attempts."""
        return backoff.delay_s(attempts + 1, self.base_s, self.max_s)

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, work.JobFailed) and not exception.transient:
            return None
        if job.attempts + 1 >= self.max_attempts:
            return None
        retry_at = datetime.now(UTC) + timedelta(seconds=self.delay_s(job.attempts))
        decision: RetryDecision = RetryDecision(retry_at=retry_at)
        return decision


async def defer_ingest_date(
    app: App, settlement_date: date, *, priority: int = DEFAULT_PRIORITY
) -> int | None:
    """Queue ``ingest_date`` for a date; None when the date is already queued (not yet started).

    A date already waiting keeps its place but gets the higher of the two priorities, so that
    today's tick is never stuck behind a backfill that queued the same date at a low priority.
    """
    day = settlement_date.isoformat()
    try:
        job_id: int = await app.configure_task(
            INGEST_TASK, lock=day, queueing_lock=day, priority=priority
        ).defer_async(settlement_date=day)
    except pexc.AlreadyEnqueued:
        await app.connector.execute_query_async(
            "UPDATE procrastinate_jobs SET priority = %(priority)s "
            "WHERE queueing_lock = %(day)s AND status = 'todo' AND priority < %(priority)s",
            day=day,
            priority=priority,
        )
        log.info("date already queued", extra={"date": day})
        return None
    log.info("date queued", extra={"date": day, "job_id": job_id})
    return job_id


class ClientHolder:
    """A worker process's shared resources, created in the worker's event loop on first use.

    One Elexon client (the concurrency cap and the rate limit bind across the process's jobs)
    and one set of per-date locks (the reconciliation's: a worker never processes a date that a
    reconciliation or a backfill is processing).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: ElexonClient | None = None
        self._locks: DateLocks | None = None

    def get(self) -> ElexonClient:
        if self._client is None:
            self._client = ElexonClient.from_settings(self.settings)
        return self._client

    def locks(self) -> DateLocks:
        if self._locks is None:
            self._locks = DateLocks(get_engine(self.settings.database_url))
        return self._locks

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._locks is not None:
            await asyncio.to_thread(self._locks.close)
            self._locks = None


def _holder(context: JobContext) -> ClientHolder:
    holder = (context.additional_context or {}).get("clients")
    if isinstance(holder, ClientHolder):
        return holder
    raise RuntimeError("the worker was started without its resources (additional_context)")


def _client(context: JobContext) -> ElexonClient:
    return _holder(context).get()


def _job_extra(context: JobContext, **more: Any) -> dict[str, Any]:
    return {
        "job_id": context.job.id,
        "task": context.job.task_name,
        "attempt": context.job.attempts + 1,
        "worker": context.worker_name or worker_name(),
        **more,
    }


def create_app(
    database_url: str | None = None,
    *,
    schedule: bool = True,
    worker_settings: WorkerSettings | None = None,
    entries: tuple[ScheduleEntry, ...] | None = None,
) -> App:
    """The procrastinate app on ``database_url`` (default: the configured database).

    With ``schedule`` the periodic jobs of ``entries`` (default: the worker settings' selection
    of :data:`SCHEDULE`) are registered; every task is registered in any case.
    """
    settings_url = database_url or get_settings().database_url
    wsettings = worker_settings or get_worker_settings()
    if entries is None:
        entries = wsettings.scheduled_entries()
    app = _new_app(settings_url, wsettings)
    retry = BackoffRetry(
        max_attempts=wsettings.max_attempts,
        base_s=wsettings.retry_base_s,
        max_s=wsettings.retry_max_s,
    )
    app.task(name=INGEST_TASK, pass_context=True, retry=retry)(_ingest_date)
    for entry, retries, job in _PERIODIC_JOBS:
        _register_periodic(app, entry, retries, job, wsettings, schedule and entry in entries)
    return app


def _new_app(settings_url: str, wsettings: WorkerSettings) -> App:
    return App(
        connector=PsycopgConnector(
            conninfo=conninfo(settings_url),
            min_size=1,
            max_size=max(4, wsettings.concurrency + 3),
            kwargs={"connect_timeout": 10},
        ),
        worker_defaults={
            "concurrency": wsettings.concurrency,
            "update_heartbeat_interval": wsettings.heartbeat_s,
            "stalled_worker_timeout": wsettings.stalled_after_s,
            "fetch_job_polling_interval": wsettings.poll_s,
            "shutdown_graceful_timeout": wsettings.shutdown_grace_s,
        },
        periodic_defaults={"max_delay": wsettings.periodic_max_delay_s},
    )


async def _ingest_date(context: JobContext, settlement_date: str) -> dict[str, Any]:
    """The ``ingest_date`` task: one date, under the date lock it was deferred with."""
    day = date.fromisoformat(settlement_date)
    if context.job.lock != settlement_date:
        raise work.JobFailed(
            f"ingest_date for {settlement_date} was deferred without its date lock; "
            "queue dates with `curtailcoin backfill --enqueue` or defer_ingest_date()",
            transient=False,
        )
    extra = _job_extra(context, date=settlement_date)
    log.info("date started", extra={**extra, "t": time.time()})
    try:
        holder = _holder(context)
        outcome = await work.ingest_date_job(
            get_settings(), day, client=holder.get(), locks=holder.locks()
        )
    except Exception as exc:
        log.warning("date failed", extra={**extra, "t": time.time(), "error": str(exc)[:500]})
        raise
    log.info(
        "date finished",
        extra={
            **extra,
            "t": time.time(),
            "records": outcome.records,
            "periods": outcome.periods_fetched,
        },
    )
    return outcome.to_json()


#: a periodic job's work: (the job's context, the scheduled instant) → its result
PeriodicWork = Callable[[JobContext, datetime], Awaitable[Any]]


def _register_periodic(
    app: App,
    entry: ScheduleEntry,
    retries: int,
    job: PeriodicWork,
    wsettings: WorkerSettings,
    scheduled: bool,
) -> None:
    """Register ``entry``'s task; when ``scheduled``, under each of the entry's UTC crons."""

    async def run(context: JobContext, timestamp: int) -> Any:
        return await _run_if_due(entry, context, timestamp, job)

    task = app.task(
        name=entry.name,
        pass_context=True,
        retry=BackoffRetry(
            max_attempts=retries, base_s=wsettings.retry_base_s, max_s=wsettings.retry_max_s
        ),
        priority=PERIODIC_PRIORITY,
        lock=f"periodic:{entry.name}",
    )(run)
    if scheduled:
        for cron in utc_crons(entry):
            app.periodic(cron=cron, periodic_id=f"utc {cron}")(task)


async def _run_if_due(
    entry: ScheduleEntry, context: JobContext, timestamp: int, job: PeriodicWork
) -> Any:
    """Run ``job`` only when the UTC instant is the entry's London run of the day."""
    instant = datetime.fromtimestamp(timestamp, UTC)
    extra = _job_extra(context, scheduled=instant.isoformat())
    if not is_due(entry, instant):
        log.debug("not due at this UTC time (other London offset)", extra=extra)
        return {"due": False, "scheduled": instant.isoformat()}
    log.info("periodic job started", extra=extra)
    result = await job(context, instant)
    log.info("periodic job finished", extra=extra)
    return {"due": True, "scheduled": instant.isoformat(), "result": _jsonable(result)}


async def _ingest_today(context: JobContext, instant: datetime) -> Any:
    async def submit(day: date) -> None:
        await defer_ingest_date(context.app, day, priority=TODAY_PRIORITY)

    return [d.isoformat() for d in await work.ingest_today_tick(instant, submit)]


async def _refresh_reference(context: JobContext, instant: datetime) -> Any:
    return await work.refresh_reference_job(get_settings(), client=_client(context))


async def _update_prices(context: JobContext, instant: datetime) -> Any:
    return await work.update_prices_job(get_settings(), now=instant)


async def _daily_reconciliation(context: JobContext, instant: datetime) -> Any:
    return await work.daily_reconciliation_job(get_settings(), now=instant)


async def _weekly_reconciliation(context: JobContext, instant: datetime) -> Any:
    return await work.weekly_reconciliation_job(get_settings(), now=instant)


#: every periodic job: its schedule entry, how many attempts, its work
_PERIODIC_JOBS: tuple[tuple[ScheduleEntry, int, PeriodicWork], ...] = (
    (INGEST_TODAY, 3, _ingest_today),
    (REFRESH_REFERENCE, 3, _refresh_reference),
    (UPDATE_PRICES, 3, _update_prices),
    (DAILY_RECONCILIATION, 2, _daily_reconciliation),
    (WEEKLY_RECONCILIATION, 2, _weekly_reconciliation),
)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return _jsonable(to_json())
    return str(value)
