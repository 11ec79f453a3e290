"""``curtailcoin worker`` on SQLite: the same jobs on the same schedule, in-process, one at a time.

There is no queue server, so this module keeps a small in-memory one with the queue's rules:
a date is queued once (a second request while it waits is dropped), runs one at a time, and a
transient failure is retried later with the same backoff as on PostgreSQL. Periodic runs come
from :func:`curtailcoin.jobs.schedule.due_entries`; as with procrastinate, runs missed by more
than ``periodic_max_delay_s`` (the process was down) are skipped, not replayed.

State (last run of each entry, the queue, recent failures) is written atomically to
``<checkpoint_dir>/worker_state.json`` for ``curtailcoin jobs status``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from curtailcoin import backoff
from curtailcoin.config import Settings
from curtailcoin.db.engine import get_engine
from curtailcoin.db.locks import DateLocks
from curtailcoin.files import write_atomic
from curtailcoin.jobs import work
from curtailcoin.jobs.schedule import (
    DAILY_RECONCILIATION,
    INGEST_TODAY,
    REFRESH_REFERENCE,
    SCHEDULE,
    UPDATE_PRICES,
    WEEKLY_RECONCILIATION,
    ScheduleEntry,
    due_entries,
    next_run,
)
from curtailcoin.jobs.settings import WorkerSettings
from curtailcoin.sources.elexon import ElexonClient

log = logging.getLogger("curtailcoin.jobs")

STATE_FILE = "worker_state.json"
Clock = Callable[[], datetime]
Runner = Callable[[datetime], Awaitable[Any]]


def _now() -> datetime:
    return datetime.now(UTC)


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON to ``path`` atomically (``files.write_atomic``), creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(payload, indent=2, sort_keys=True))


@dataclass
class QueuedDate:
    settlement_date: date
    run_at: datetime
    attempts: int = 0
    last_error: str | None = None


@dataclass
class LocalScheduler:
    """One in-process worker: periodic entries plus a queue of dates."""

    settings: Settings
    wsettings: WorkerSettings
    entries: tuple[ScheduleEntry, ...] = SCHEDULE
    clock: Clock = _now
    runners: dict[str, Runner] = field(default_factory=dict)
    client: ElexonClient | None = None
    locks: DateLocks | None = None
    queue: dict[date, QueuedDate] = field(default_factory=dict)
    last_runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    done: int = 0

    def __post_init__(self) -> None:
        defaults: dict[str, Runner] = {
            INGEST_TODAY.name: self._ingest_today,
            REFRESH_REFERENCE.name: self._refresh_reference,
            UPDATE_PRICES.name: lambda at: work.update_prices_job(self.settings, now=at),
            DAILY_RECONCILIATION.name: lambda at: work.daily_reconciliation_job(
                self.settings, now=at
            ),
            WEEKLY_RECONCILIATION.name: lambda at: work.weekly_reconciliation_job(
                self.settings, now=at
            ),
        }
        self.runners = {**defaults, **self.runners}
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    # -- the queue -------------------------------------------------------------------------

    def _client(self) -> ElexonClient:
        if self.client is None:
            self.client = ElexonClient.from_settings(self.settings)
        return self.client

    def _locks(self) -> DateLocks:
        if self.locks is None:
            self.locks = DateLocks(get_engine(self.settings.database_url))
        return self.locks

    async def aclose(self) -> None:
        """Close the client and release the date locks (the loop does it when it stops)."""
        if self.client is not None:
            await self.client.aclose()
            self.client = None
        if self.locks is not None:
            await asyncio.to_thread(self.locks.close)
            self.locks = None

    def submit(self, settlement_date: date) -> bool:
        """Queue a date (the queueing lock: False when it is already waiting)."""
        if settlement_date in self.queue:
            return False
        self.queue[settlement_date] = QueuedDate(settlement_date, self.clock())
        self._wake.set()
        return True

    async def _ingest_today(self, instant: datetime) -> list[str]:
        async def submit(day: date) -> None:
            self.submit(day)

        return [d.isoformat() for d in await work.ingest_today_tick(instant, submit)]

    async def _refresh_reference(self, instant: datetime) -> Any:
        return await work.refresh_reference_job(self.settings, client=self._client())

    async def process_queue(self) -> int:
        """Run every queued date whose time has come, one at a time; how many ran."""
        ran = 0
        while True:
            now = self.clock()
            ready = sorted(
                (q for q in self.queue.values() if q.run_at <= now),
                key=lambda q: (q.run_at, q.settlement_date),
            )
            if not ready or self._stop.is_set():
                return ran
            item = ready[0]
            ran += 1
            day = item.settlement_date.isoformat()
            log.info("date started", extra={"date": day, "attempt": item.attempts + 1})
            try:
                outcome = await work.ingest_date_job(
                    self.settings,
                    item.settlement_date,
                    client=self._client(),
                    locks=self._locks(),
                    now=now,
                )
            except Exception as exc:
                item.attempts += 1
                item.last_error = str(exc)
                transient = not isinstance(exc, work.JobFailed) or exc.transient
                if transient and item.attempts < self.wsettings.max_attempts:
                    item.run_at = self.clock() + timedelta(
                        seconds=backoff.delay_s(
                            item.attempts, self.wsettings.retry_base_s, self.wsettings.retry_max_s
                        )
                    )
                    log.warning(
                        "date failed; will retry",
                        extra={
                            "date": day,
                            "attempt": item.attempts,
                            "error": str(exc)[:300],
                            "retry_at": item.run_at.isoformat(),
                        },
                    )
                else:
                    del self.queue[item.settlement_date]
                    self._record_failure("ingest_date", day, str(exc))
                    log.error("date failed", extra={"date": day, "error": str(exc)[:300]})
            else:
                del self.queue[item.settlement_date]
                self.done += 1
                log.info(
                    "date finished",
                    extra={
                        "date": day,
                        "records": outcome.records,
                        "periods": outcome.periods_fetched,
                    },
                )
            self.save_state()

    def _record_failure(self, job: str, what: str, error: str) -> None:
        self.failures.append(
            {"job": job, "what": what, "error": error[:500], "at": self.clock().isoformat()}
        )
        del self.failures[:-50]

    # -- periodic entries --------------------------------------------------------------------

    async def run_entry(self, entry: ScheduleEntry, instant: datetime) -> bool:
        """Run one scheduled entry for its run at ``instant``; False if it failed."""
        extra = {"task": entry.name, "scheduled": instant.isoformat()}
        log.info("periodic job started", extra=extra)
        ok = True
        try:
            await self.runners[entry.name](instant)
        except Exception as exc:
            ok = False
            self._record_failure(entry.name, instant.isoformat(), str(exc))
            log.error("periodic job failed", extra={**extra, "error": str(exc)[:300]})
        else:
            log.info("periodic job finished", extra=extra)
        self.last_runs[entry.name] = {
            "scheduled": instant.isoformat(),
            "finished": self.clock().isoformat(),
            "ok": ok,
        }
        self.save_state()
        return ok

    async def run_due(self, start: datetime, end: datetime) -> list[tuple[datetime, str]]:
        """Run every entry due in ``(start, end]``; returns (instant, name) of each run."""
        ran = []
        for instant, entry in due_entries(self.entries, start, end):
            if self._stop.is_set():
                break
            await self.run_entry(entry, instant)
            ran.append((instant, entry.name))
        return ran

    def next_wakeup(self, now: datetime) -> datetime:
        candidates = [next_run(e, now) for e in self.entries]
        candidates += [q.run_at for q in self.queue.values()]
        return min(candidates) if candidates else now + timedelta(hours=1)

    # -- the loop ----------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run_forever(self) -> None:
        """Until :meth:`stop`: run due entries, then queued dates, then sleep."""
        last = self.clock() - timedelta(seconds=self.wsettings.periodic_max_delay_s)
        try:
            while not self._stop.is_set():
                now = self.clock()
                await self.run_due(last, now)
                last = now
                await self.process_queue()
                if self._stop.is_set():
                    break
                self._wake.clear()
                wait_s = (self.next_wakeup(self.clock()) - self.clock()).total_seconds()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=max(0.05, wait_s))
        finally:
            await self.aclose()
            self.save_state()

    # -- state for `jobs status` -----------------------------------------------------------

    def state(self) -> dict[str, Any]:
        now = self.clock()
        return {
            "backend": "sqlite (in-process)",
            "pid": os.getpid(),
            "updated_at": now.isoformat(),
            "done": self.done,
            "queued": [
                {
                    "date": q.settlement_date.isoformat(),
                    "run_at": q.run_at.isoformat(),
                    "attempts": q.attempts,
                    "last_error": q.last_error,
                }
                for q in sorted(self.queue.values(), key=lambda q: q.settlement_date)
            ],
            "last_runs": self.last_runs,
            "next_runs": {e.name: next_run(e, now).isoformat() for e in self.entries},
            "failures": self.failures,
        }

    def save_state(self) -> None:
        try:
            write_json_atomic(Path(self.settings.checkpoint_dir) / STATE_FILE, self.state())
        except OSError as exc:
            log.warning("could not write worker state", extra={"error": str(exc)})


def read_state(settings: Settings) -> dict[str, Any] | None:
    path = Path(settings.checkpoint_dir) / STATE_FILE
    try:
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded
