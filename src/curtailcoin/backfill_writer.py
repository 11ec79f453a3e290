"""The backfill's writer: a date's answers are stored in a process of their own while the next
dates are fetched.

Fetching a date (HTTP, JSON, strict parsing) and writing it (rows, calculations, summaries,
verification) each cost about half of its CPU. In one process they share one GIL, so a backfill
ran at the speed of its CPU, several times the network floor, however many dates were in flight.
The writer is one spawned process (no fork of a process that runs threads) with its own engine
(a connection never crosses a thread or a process); the backfill keeps the one Elexon client, the
date locks and the checkpoint. Writes are serialised (one writer, in the order the fetches
finished), each one transaction; a date's outcome comes back only once it committed, so the
checkpoint never marks a date done that is not stored. Its log lines are handed back to the
backfill's handlers. An in-memory SQLite database (one per connection) and a date whose fetch
failed (nothing to write) are handled in the backfill's own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.handlers
import multiprocessing
import os
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from curtailcoin.config import Settings
from curtailcoin.db.dialect import is_in_memory
from curtailcoin.db.engine import get_engine
from curtailcoin.jobs.work import DateOutcome, date_outcome
from curtailcoin.miners import MinerModel
from curtailcoin.pipeline.fetch import FetchedDate
from curtailcoin.pipeline.reingest import write_fetched

log = logging.getLogger("curtailcoin.backfill")


async def write_date(
    engine: Engine,
    settings: Settings,
    fetched: FetchedDate,
    models: Sequence[MinerModel],
    now: datetime,
) -> DateOutcome:
    """Store and derive one fetched date (one transaction) and reduce it to its outcome."""
    result = await write_fetched(
        engine, settings, fetched, models=models, now=now, detected_by="worker"
    )
    return date_outcome(result, now)


class DateWriter:
    """Writes fetched dates, in a writer process when the database allows it."""

    def __init__(self, engine: Engine, settings: Settings, models: Sequence[MinerModel]) -> None:
        self.engine = engine
        self.settings = settings
        self.models = list(models)
        self.in_process = is_in_memory(engine)
        self._pool: ProcessPoolExecutor | None = None
        self._logs: Any = None  # the writer's log queue (a multiprocessing queue)
        self._listener: logging.handlers.QueueListener | None = None

    def start(self) -> None:
        """Start the writer process now: its start-up overlaps the first dates' fetch."""
        if self.in_process or self._pool is not None:
            return
        context = multiprocessing.get_context("spawn")
        if self._listener is None:
            self._logs = context.Queue()
            self._listener = logging.handlers.QueueListener(self._logs, _Forward())
            self._listener.start()
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=context,
            initializer=_init_writer,
            initargs=(self.settings, self.models, self._logs, _forwarded_level(), os.getpid()),
        )
        self._pool.submit(_warm_up)  # imports and the engine, before the first date arrives

    async def write(self, fetched: FetchedDate, now: datetime) -> DateOutcome:
        """The date stored (or held back) and committed; its outcome."""
        if self.in_process or not fetched.ok:
            return await write_date(self.engine, self.settings, fetched, self.models, now)
        self.start()
        assert self._pool is not None
        try:
            return await asyncio.wrap_future(self._pool.submit(_write, fetched, now))
        except BrokenProcessPool as exc:
            # The writer died (killed, out of memory, or it could not start: a script calling
            # backfill() without the ``if __name__ == "__main__":`` guard that spawned processes
            # need). Its transaction rolled back; the date is still ours: write it here, and the
            # rest of the range too.
            log.warning(
                "backfill writer process ended: writing in the backfill's process from now on",
                extra={"date": fetched.settlement_date.isoformat(), "error": str(exc)},
            )
            self.in_process = True
            await self.close()
            return await write_date(self.engine, self.settings, fetched, self.models, now)

    async def close(self) -> None:
        """Let the writer finish the write it is in (nothing queued is started), then stop."""
        pool, self._pool = self._pool, None
        listener, self._listener = self._listener, None
        logs, self._logs = self._logs, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
        if listener is not None:
            await asyncio.to_thread(listener.stop)
            logs.close()
            logs.join_thread()


def _forwarded_level() -> int:
    """The lowest level the backfill's ``curtailcoin`` handlers keep: the writer sends no less."""
    logger = logging.getLogger("curtailcoin")
    levels = [h.level for h in logger.handlers]
    return max(logger.getEffectiveLevel(), min(levels)) if levels else logger.getEffectiveLevel()


class _Forward(logging.Handler):
    """Hands a writer's log record to the backfill's own logger of that name (and handlers)."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger(record.name).handle(record)


# --- in the writer process ---------------------------------------------------------------------

_settings: Settings | None = None
_models: list[MinerModel] = []


def _init_writer(
    settings: Settings, models: list[MinerModel], logs: Any, level: int, backfill_pid: int
) -> None:
    """The writer's settings and models; its ``curtailcoin`` log records go back to the backfill.

    Ctrl-C reaches the whole process group: the writer ignores it and the backfill, which
    stops, lets the write under way commit or roll back as one transaction.
    """
    global _settings, _models
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(backfill_pid)
    _settings, _models = settings, models
    logger = logging.getLogger("curtailcoin")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    logger.addHandler(logging.handlers.QueueHandler(logs))


def _die_with(backfill_pid: int) -> None:
    """Linux: the writer is killed with the backfill (``kill -9`` included), so it never writes
    a date once the backfill, and the date's lock, are gone; the write under way rolls back."""
    if sys.platform == "linux":
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != backfill_pid:  # the backfill ended before the line above
        os._exit(1)


def _warm_up() -> None:
    assert _settings is not None
    get_engine(_settings.database_url)


def _write(fetched: FetchedDate, now: datetime) -> DateOutcome:
    assert _settings is not None
    engine = get_engine(_settings.database_url)
    return asyncio.run(write_date(engine, _settings, fetched, _models, now))
