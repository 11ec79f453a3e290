"""``curtailcoin worker`` on PostgreSQL: a procrastinate worker plus the stalled-job sweeper.

procrastinate 3.x records a heartbeat per worker (``procrastinate_workers.last_heartbeat``)
but does not re-queue the jobs of a dead worker by itself: it offers
``JobManager.get_stalled_jobs`` (jobs in ``doing`` whose worker's heartbeat is older than a
threshold, or whose worker row is gone) and ``retry_job``. Every ``curtailcoin worker`` runs
:func:`sweep_stalled_jobs` every ``stalled_check_s`` seconds, so a worker killed with
``SIGKILL`` (or a machine lost) has its jobs picked up by the others once its heartbeat is
``stalled_after_s`` old. Two sweepers racing on the same job are harmless: ``retry_job`` only
moves a job that is still ``doing``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from procrastinate import App
from procrastinate import exceptions as pexc
from procrastinate.jobs import Status

from curtailcoin.config import Settings
from curtailcoin.db.engine import get_engine
from curtailcoin.jobs.app import ClientHolder, create_app, worker_name
from curtailcoin.jobs.settings import WorkerSettings
from curtailcoin.pipeline import prepare_database

log = logging.getLogger("curtailcoin.jobs")


async def sweep_stalled_jobs(app: App, stalled_after_s: float) -> list[int]:
    """Put the jobs of workers silent for ``stalled_after_s`` back in the queue; their ids."""
    retried: list[int] = []
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after_s):
        assert job.id is not None
        extra: dict[str, Any] = {
            "job_id": job.id,
            "task": job.task_name,
            "lock": job.lock,
            "dead_worker": job.worker_id,
        }
        try:
            await app.job_manager.retry_job(job)
        except pexc.ConnectorException as exc:
            # Still 'doing' elsewhere (a racing sweeper moved it) or the date was queued again
            # meanwhile (queueing lock): the newer job does the work; close this one.
            status = await app.job_manager.get_job_status_async(job.id)
            if status == Status.DOING:
                await app.job_manager.finish_job_by_id_async(
                    job.id, status=Status.FAILED, delete_job=False
                )
                log.warning(
                    "stalled job superseded by a queued one; marked failed",
                    extra={**extra, "error": str(exc)[:200]},
                )
            continue
        retried.append(job.id)
        log.warning("stalled job of a dead worker re-queued", extra=extra)
    return retried


async def _sweeper(app: App, wsettings: WorkerSettings) -> None:
    while True:
        try:
            await sweep_stalled_jobs(app, wsettings.stalled_after_s)
        except Exception as exc:  # keep sweeping; a dropped connection is retried next time
            log.warning("stalled-job sweep failed", extra={"error": str(exc)[:300]})
        await asyncio.sleep(wsettings.stalled_check_s)


async def run_queue_worker(
    settings: Settings,
    wsettings: WorkerSettings,
    *,
    schedule: bool = True,
    concurrency: int | None = None,
    burst: bool = False,
) -> None:
    """Run one procrastinate worker until SIGTERM/SIGINT (or, with ``burst``, an empty queue)."""
    engine = get_engine(settings.database_url)  # migrates, including the procrastinate schema
    prepare_database(engine)
    app = create_app(settings.database_url, schedule=schedule, worker_settings=wsettings)
    holder = ClientHolder(settings)
    name = worker_name()
    async with app.open_async():
        sweeper = asyncio.create_task(_sweeper(app, wsettings), name="stalled-job sweeper")
        log.info(
            "worker started",
            extra={
                "worker": name,
                "concurrency": concurrency or wsettings.concurrency,
                "schedule": schedule,
            },
        )
        try:
            await app.run_worker_async(
                name=name,
                concurrency=concurrency or wsettings.concurrency,
                wait=not burst,
                additional_context={"clients": holder},
            )
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await holder.aclose()
            log.info("worker stopped", extra={"worker": name})
