"""Backfill a date range: reingest and calculate every date, resumably, at the configured rate.

* Several dates are in flight at once (``concurrency``), all sharing **one** Elexon client, so
  the configured concurrency cap and request rate bind across the whole run, not per date.
* A pipeline: each date's answers are written by a writer process (``backfill_writer``) while
  the other dates in flight are fetched, so fetching and writing do not share one CPU (GIL).
  Each date is still held under its lock (``db.locks``) from its fetch until its write
  committed.
* Dates are streamed from the range and each result is reduced to counters at once: memory does
  not grow with the length of the range.
* After every finished date a checkpoint (``<checkpoint_dir>/backfill_START_END.json``) is
  written atomically (temporary file + rename). It holds a *watermark* (every date up to it is
  settled: done or failed) plus the few dates finished beyond it, and the failed dates with
  their reasons. A run killed at any point and started again with the same range skips what is
  done and retries what failed; each date is one transaction, so a date is either stored whole
  or not at all, and redoing a date is idempotent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from curtailcoin.backfill_writer import DateWriter
from curtailcoin.config import Settings
from curtailcoin.db.engine import get_engine
from curtailcoin.db.locks import DateLocks, LockBusyError
from curtailcoin.jobs.local import write_json_atomic
from curtailcoin.jobs.work import DATE_LOCK_TIMEOUT_S, DateOutcome
from curtailcoin.pipeline import BadInput, prepare_database, validate_range
from curtailcoin.pipeline.fetch import fetch_date
from curtailcoin.pipeline.reingest import resolve_model_keys
from curtailcoin.price_updates import price_written_dates
from curtailcoin.registry import refresh_or_keep
from curtailcoin.settlement import periods_started, settlement_today
from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.sources.http import SourceError, UnreachableSourceError

log = logging.getLogger("curtailcoin.backfill")

CHECKPOINT_VERSION = 1


def iter_dates(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


@dataclass
class Checkpoint:
    """Resumable progress through ``[start, end]`` (small whatever the length of the range)."""

    start: date
    end: date
    path: Path
    watermark: date | None = None  # every date <= watermark is settled (done or failed)
    done_beyond: set[date] = field(default_factory=set)
    failed: dict[date, str] = field(default_factory=dict)
    in_flight: set[date] = field(default_factory=set)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    finished: bool = False

    @staticmethod
    def path_for(settings: Settings, start: date, end: date) -> Path:
        name = f"backfill_{start.isoformat()}_{end.isoformat()}.json"
        return Path(settings.checkpoint_dir) / name

    @classmethod
    def load(cls, settings: Settings, start: date, end: date, *, restart: bool) -> Checkpoint:
        path = cls.path_for(settings, start, end)
        fresh = cls(start, end, path)
        if restart or not path.exists():
            return fresh
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("version") != CHECKPOINT_VERSION or raw.get("finished"):
                return fresh
            return cls(
                start,
                end,
                path,
                watermark=date.fromisoformat(raw["watermark"]) if raw.get("watermark") else None,
                done_beyond={date.fromisoformat(d) for d in raw.get("done_beyond", [])},
                failed={date.fromisoformat(d): str(r) for d, r in raw.get("failed", {}).items()},
                started_at=str(raw.get("started_at") or fresh.started_at),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning(
                "unreadable backfill checkpoint ignored",
                extra={"path": str(path), "error": str(exc)},
            )
            return fresh

    def is_done(self, day: date) -> bool:
        """Finished successfully in an earlier (or this) run."""
        if day in self.failed:
            return False
        return (self.watermark is not None and day <= self.watermark) or day in self.done_beyond

    def _settled(self, day: date) -> bool:
        return self.is_done(day) or day in self.failed

    def mark(self, day: date, error: str | None) -> None:
        self.in_flight.discard(day)
        if error is None:
            self.failed.pop(day, None)
            if self.watermark is None or day > self.watermark:
                self.done_beyond.add(day)
        else:
            self.failed[day] = error
        # advance the watermark over every settled date
        nxt = self.start if self.watermark is None else self.watermark + timedelta(days=1)
        while nxt <= self.end and nxt not in self.in_flight and self._settled(nxt):
            self.done_beyond.discard(nxt)
            self.watermark = nxt
            nxt += timedelta(days=1)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": CHECKPOINT_VERSION,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "watermark": self.watermark.isoformat() if self.watermark else None,
            "done_beyond": sorted(d.isoformat() for d in self.done_beyond),
            "failed": {d.isoformat(): r for d, r in sorted(self.failed.items())},
            "started_at": self.started_at,
            "updated_at": datetime.now(UTC).isoformat(),
            "finished": self.finished,
        }

    def save(self) -> None:
        write_json_atomic(self.path, self.to_json())


@dataclass
class BackfillStats:
    """Counters only: the run's memory does not depend on the number of dates."""

    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    periods: int = 0
    records: int = 0
    requests: int = 0
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    interrupted: bool = False

    @property
    def settled(self) -> int:
        return self.done + self.skipped + self.failed

    @property
    def elapsed_s(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    @property
    def periods_per_s(self) -> float:
        elapsed = self.elapsed_s
        return self.periods / elapsed if elapsed > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "dates": self.total,
            "done": self.done,
            "skipped": self.skipped,
            "failed": self.failed,
            "periods": self.periods,
            "records": self.records,
            "requests": self.requests,
            "elapsed_s": round(self.elapsed_s, 3),
            "periods_per_s": round(self.periods_per_s, 2),
            "interrupted": self.interrupted,
        }


@dataclass
class BackfillResult:
    stats: BackfillStats
    failures: dict[date, str]
    checkpoint_path: Path
    prices_missing: dict[date, str] = field(default_factory=dict)  # never a failure of the run

    @property
    def ok(self) -> bool:
        return not self.failures and not self.stats.interrupted

    def to_json(self) -> dict[str, Any]:
        return {
            **self.stats.to_json(),
            "ok": self.ok,
            "failures": {d.isoformat(): r for d, r in sorted(self.failures.items())},
            "prices_missing": {d.isoformat(): r for d, r in sorted(self.prices_missing.items())},
            "checkpoint": str(self.checkpoint_path),
        }


ProgressCallback = Callable[[date, DateOutcome | None, BackfillStats], None]


async def backfill(
    settings: Settings,
    start: date,
    end: date,
    *,
    concurrency: int = 4,
    restart: bool = False,
    on_date: ProgressCallback | None = None,
    client: ElexonClient | None = None,
    now: datetime | None = None,
) -> BackfillResult:
    """Reingest and calculate every date of ``[start, end]`` with ``concurrency`` dates in flight.

    ``on_date(day, outcome, stats)`` is called after each date (``outcome`` None = skipped, done
    in an earlier run). Raises ``BadInput`` for a bad range before anything is written. Dates
    are written by a spawned writer process (``backfill_writer``): a script that calls this
    needs the ``if __name__ == "__main__":`` guard (without it, this process writes them).
    """
    validate_range(start, end, now)
    if concurrency < 1:
        raise BadInput(f"concurrency {concurrency} is not allowed: use 1 or more")
    engine = get_engine(settings.database_url)
    prepare_database(engine)
    writer = DateWriter(engine, settings, resolve_model_keys(engine, settings.tracked_models))
    shared = client or ElexonClient.from_settings(settings)
    run = _Run(
        engine,
        writer,
        settings,
        Checkpoint.load(settings, start, end, restart=restart),
        BackfillStats(total=(end - start).days + 1),
        shared,
        DateLocks(engine),  # the reconciliation's per-date locks
        on_date,
        now,
        settlement_today(now),
        shared.stats.requests,
    )
    # One registry refresh up front instead of one per date in flight.
    await refresh_or_keep(engine, shared, settings.bmunit_refresh_max_age_s)
    dates = iter_dates(start, end)  # shared: each date goes to exactly one of the lanes
    if not all(run.checkpoint.is_done(day) for day in iter_dates(start, end)):
        writer.start()  # its start-up overlaps the first dates' fetch
    try:
        await asyncio.gather(*(run.lane(dates) for _ in range(concurrency)))
        # The range's prices at once (dates already priced cost no request).
        priced = await price_written_dates(engine, settings, start, end, now=now)
    except asyncio.CancelledError:
        run.stats.interrupted = True
        raise
    finally:
        await run.finish(close_client=client is None)
    return BackfillResult(
        run.stats, dict(run.checkpoint.failed), run.checkpoint.path, dict(priced.failed)
    )


@dataclass
class _Run:
    """One backfill's shared state: every lane fetches through one client (one request budget)
    and hands its date to the one writer, so the other lanes keep fetching the next dates while
    it is stored."""

    engine: Engine
    writer: DateWriter
    settings: Settings
    checkpoint: Checkpoint
    stats: BackfillStats
    client: ElexonClient
    locks: DateLocks
    on_date: ProgressCallback | None
    now: datetime | None
    today: date
    requests_before: int

    async def lane(self, dates: Iterator[date]) -> None:
        """Take the next date of the range until none is left."""
        for day in dates:
            if self.checkpoint.is_done(day):
                self.stats.skipped += 1
                self._report(day, None)
                continue
            self.checkpoint.in_flight.add(day)
            self._settle(day, await self._ingest(day))

    async def _ingest(self, day: date) -> DateOutcome:
        """Fetch the date and have it written, under its lock (as ``jobs.work.ingest_one_date``,
        whose outcome rules the writer applies): a source failure is the date's, never raised."""
        now = self.now or datetime.now(UTC)
        if periods_started(day, now) == 0:  # just after midnight: nothing published yet
            return DateOutcome(day, ok=True, skipped=True)
        try:
            async with self.locks.hold(day, timeout_s=DATE_LOCK_TIMEOUT_S):
                fetched = await fetch_date(
                    self.engine,
                    self.settings,
                    self.client,
                    day,
                    now=now,
                    generation=self.settings.fetch_generation,
                )
                return await self.writer.write(fetched, now)
        except LockBusyError as exc:
            return DateOutcome(day, ok=False, error=str(exc), transient=True)
        except UnreachableSourceError:
            raise
        except SourceError as exc:
            return DateOutcome(day, ok=False, error=str(exc))

    def _settle(self, day: date, outcome: DateOutcome) -> None:
        """Checkpoint the date, count it, report it."""
        if day == self.today and outcome.ok and not outcome.skipped:
            # Today is never "done": its later periods are not published yet.
            self.checkpoint.in_flight.discard(day)
        else:
            self.checkpoint.mark(day, None if outcome.ok else outcome.error or "failed")
        self.checkpoint.save()
        stats = self.stats
        stats.periods += outcome.periods_fetched
        stats.records += outcome.records
        stats.requests = self.client.stats.requests - self.requests_before
        if outcome.ok:
            stats.done += 1
        else:
            stats.failed += 1
            log.error("date failed", extra={"date": day.isoformat(), "error": outcome.error})
        self._report(day, outcome)

    def _report(self, day: date, outcome: DateOutcome | None) -> None:
        if self.on_date:
            self.on_date(day, outcome, self.stats)

    async def finish(self, *, close_client: bool) -> None:
        """Final counters and checkpoint; the client (when the run's own) and locks closed."""
        self.stats.finished = time.perf_counter()
        self.stats.requests = self.client.stats.requests - self.requests_before
        if close_client:
            await self.client.aclose()
        await self.writer.close()
        await asyncio.to_thread(self.locks.close)
        if not self.stats.interrupted:
            self.checkpoint.finished = not self.checkpoint.failed
        self.checkpoint.in_flight.clear()
        self.checkpoint.save()


async def enqueue_range(settings: Settings, start: date, end: date) -> tuple[int, int]:
    """Defer one ``ingest_date`` job per date (PostgreSQL); returns (queued, already queued)."""
    from curtailcoin.jobs.app import BACKFILL_PRIORITY, create_app, defer_ingest_date

    validate_range(start, end)
    get_engine(settings.database_url)  # migrated, including the queue's schema
    app = create_app(settings.database_url, schedule=False)
    queued = already = 0
    async with app.open_async():
        for day in iter_dates(start, end):
            job_id = await defer_ingest_date(app, day, priority=BACKFILL_PRIORITY)
            if job_id is None:
                already += 1
            else:
                queued += 1
    return queued, already
