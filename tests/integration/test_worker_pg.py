"""``curtailcoin worker`` on PostgreSQL (procrastinate): scale-out, locks, dead workers, periodic.

Every test here needs the PostgreSQL of the test session (``CURTAILCOIN_TEST_PG_URL``).
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from procrastinate.periodic import PeriodicDeferrer
from sqlalchemy import text

from curtailcoin.config import get_settings
from curtailcoin.db.engine import get_engine
from curtailcoin.db.locks import DateLocks
from curtailcoin.jobs import work
from curtailcoin.jobs.app import (
    BACKFILL_PRIORITY,
    TODAY_PRIORITY,
    ClientHolder,
    create_app,
    defer_ingest_date,
)
from curtailcoin.jobs.schedule import LONDON
from curtailcoin.jobs.settings import WorkerSettings
from curtailcoin.testservers.elexon import ElexonTestServer
from support.entrypoint import run_cli
from support.worker import (
    clean_database,
    cli_env,
    duplicate_records,
    elexon,
    job_counts,
    job_intervals,
    pg_url,
    start_cli,
    stop,
    stored_day,
    wait_for,
)

__all__ = ["elexon", "pg_url"]  # fixtures

pytestmark = pytest.mark.slow


@pytest.mark.slow
def test_three_workers_process_30_dates_each_once_at_a_time(
    pg_url: str, elexon: ElexonTestServer, tmp_path: Path
) -> None:
    days = [date(2025, 4, 1) + timedelta(days=i) for i in range(30)]
    for i, day in enumerate(days):
        elexon.set_day(day, "heavy" if i == 0 else "light" if i % 5 == 1 else "calm")
    env = cli_env(pg_url, tmp_path, elexon)
    engine = get_engine(pg_url)

    queued = run_cli("backfill", "2025-04-01", "2025-04-30", "--enqueue", "--json", env=env)
    assert queued.returncode == 0, queued.stderr
    assert json.loads(queued.stdout) == {"queued": 30, "already_queued": 0}
    # the queueing lock: a date waiting in the queue is not queued twice
    again = run_cli("backfill", "2025-04-01", "2025-04-30", "--enqueue", "--json", env=env)
    assert json.loads(again.stdout) == {"queued": 0, "already_queued": 30}
    # the lock: a second job for a third of the dates (bypassing the queueing lock) must never
    # run alongside the first one, although six job slots in three processes are free
    twice = days[::3]
    asyncio.run(_defer_duplicates(pg_url, twice))
    assert job_counts(engine) == {"todo": 40}

    logs = [tmp_path / f"worker-{i}.log" for i in range(3)]
    workers = [
        start_cli("worker", "--no-schedule", "--concurrency", "2", env=env, log=log) for log in logs
    ]
    try:

        def drained() -> bool:
            counts = job_counts(engine)
            return counts.get("todo", 0) == 0 and counts.get("doing", 0) == 0

        wait_for(drained, timeout=90, interval=0.2, what="the queue to drain")
    finally:
        codes = [stop(w) for w in workers]
    assert codes == [0, 0, 0]  # SIGTERM: graceful stop

    assert job_counts(engine) == {"succeeded": 40}
    intervals = job_intervals(logs)
    assert sorted(intervals) == [d.isoformat() for d in days]
    assert {day: len(spans) for day, spans in intervals.items()} == {
        d.isoformat(): 2 if d in twice else 1 for d in days
    }
    for iso_day, spans in intervals.items():
        spans.sort()
        for (_, end_a, *_), (start_b, *_) in pairwise(spans):
            assert start_b >= end_a, f"{iso_day} processed twice at once: {spans}"
    per_worker = Counter(worker for spans in intervals.values() for _, _, worker, _ in spans)
    assert len(per_worker) == 3, per_worker  # every worker took a share

    assert duplicate_records(engine) == 0
    for day in days:
        expected = elexon.expected_headline(day)
        records, mwh = stored_day(engine, day)
        assert records == expected.records, day
        assert mwh == pytest.approx(expected.curtailed_mwh, abs=1e-6)
    with engine.connect() as conn:
        complete = conn.execute(
            text(
                "SELECT count(DISTINCT settlement_date) FROM settlement_periods "
                "WHERE fetch_status LIKE 'fetched%' GROUP BY settlement_date HAVING count(*) = 48"
            )
        ).all()
    assert len(complete) == 30

    status = run_cli("jobs", "status", "--json", env=env)
    assert status.returncode == 0, status.stderr
    reported = json.loads(status.stdout)
    assert reported["counts"]["done"] == 40
    assert reported["counts"]["queued"] == reported["counts"]["running"] == 0


async def _defer_duplicates(url: str, days: list[date]) -> None:
    app = create_app(url, schedule=False)
    async with app.open_async():
        for day in days:
            await app.configure_task("ingest_date", lock=day.isoformat()).defer_async(
                settlement_date=day.isoformat()
            )


@pytest.mark.slow
def test_a_killed_workers_date_is_completed_by_another(
    pg_url: str, elexon: ElexonTestServer, tmp_path: Path
) -> None:
    day = date(2025, 5, 10)
    elexon.set_day(day, "light")
    # slow requests, two at a time: the date takes a few seconds, long enough to kill mid-way
    env = cli_env(pg_url, tmp_path, elexon, CURTAILCOIN_CONCURRENCY="2")
    engine = get_engine(pg_url)
    elexon.latency_s = 0.15
    try:
        assert run_cli("backfill", "2025-05-10", "2025-05-10", "--enqueue", env=env).returncode == 0
        first = start_cli("worker", "--no-schedule", env=env, log=tmp_path / "a.log")
        try:
            wait_for(lambda: job_counts(engine).get("doing"), timeout=20, what="the job to start")
            wait_for(
                lambda: elexon.requests_matching("/stack/all/bid/2025-05-10/"),
                timeout=10,
                what="the first requests",
            )
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        assert job_counts(engine) == {"doing": 1}  # left behind by the dead worker

        # The dead worker is reported stalled once its heartbeat is older than the threshold.
        def stalled() -> bool:
            status = json.loads(run_cli("jobs", "status", "--json", env=env).stdout)
            return bool(status["running"]) and status["running"][0]["stalled"]

        wait_for(stalled, timeout=10, interval=0.5, what="the job to be reported stalled")

        elexon.latency_s = 0.0
        second = start_cli("worker", "--no-schedule", env=env, log=tmp_path / "b.log")
        try:
            wait_for(lambda: job_counts(engine) == {"succeeded": 1}, timeout=30, what="the retry")
        finally:
            assert stop(second) == 0
    finally:
        elexon.latency_s = 0.0
    log_b = (tmp_path / "b.log").read_text()
    assert "stalled job of a dead worker re-queued" in log_b
    assert 'date finished job_id=1 task="ingest_date" attempt=2' in log_b
    with engine.connect() as conn:
        attempts = conn.execute(text("SELECT attempts FROM procrastinate_jobs")).scalar_one()
    assert attempts == 2  # the interrupted run and the completed one
    assert duplicate_records(engine) == 0
    assert stored_day(engine, day)[0] == elexon.expected_headline(day).records


@pytest.mark.parametrize("day", [date(2025, 3, 30), date(2025, 10, 26)])
@pytest.mark.slow
async def test_periodic_jobs_deferred_once_per_run_on_clock_change_days(
    pg_url: str, day: date, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two workers' deferrers race over a whole clock-change day; each run is deferred once,
    and running the jobs does each London-time job's work once, at the right instant."""
    monkeypatch.setenv("CURTAILCOIN_DATABASE_URL", pg_url)
    monkeypatch.setenv("CURTAILCOIN_CHECKPOINT_DIR", str(tmp_path))
    get_settings.cache_clear()
    wsettings = WorkerSettings(retry_base_s=0, max_attempts=1)
    apps = [create_app(pg_url, worker_settings=wsettings) for _ in range(2)]
    start = datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LONDON).astimezone(UTC)

    for app in apps:
        await app.open_async()
    try:
        deferrers = [PeriodicDeferrer(registry=app.periodic_registry) for app in apps]
        at = start.timestamp()
        while at < end.timestamp():
            # both "workers" try to defer the same runs at the same time
            await asyncio.gather(
                *(d.defer_jobs(list(d.get_previous_tasks(at=at))) for d in deferrers)
            )
            at += 300

        engine = get_engine(pg_url)
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT task_name, (args->>'timestamp')::bigint, count(*) "
                    "FROM procrastinate_jobs GROUP BY 1, 2"
                )
            ).all()
        deferred_jobs = sum(n for *_, n in rows)
        assert rows and all(n == 1 for *_, n in rows)  # each run deferred once, not twice
        hours = 23 if day.month == 3 else 25
        in_day = [task for task, ts, _ in rows if start <= datetime.fromtimestamp(ts, UTC) < end]
        per_task = Counter(in_day)
        assert per_task["ingest_today"] == hours * 4
        # 02:00 London is deferred at both candidate UTC times (01:00 and 02:00); one is a no-op
        assert per_task["daily_reconciliation"] == 2

        # Run every deferred job with the work stubbed; each London-time job works once.
        calls: list[tuple[str, datetime | date]] = []

        def record(name: str) -> Any:
            async def fake(*args: Any, now: datetime | None = None, **kwargs: Any) -> None:
                calls.append((name, now or datetime.now(UTC)))

            return fake

        for name in ("update_prices", "daily_reconciliation", "weekly_reconciliation"):
            monkeypatch.setattr(work, f"{name}_job", record(name))
        monkeypatch.setattr(work, "refresh_reference_job", record("refresh_reference"))

        async def fake_ingest(settings: Any, settlement_date: date, **kwargs: Any) -> Any:
            calls.append(("ingest_date", settlement_date))
            return work.DateOutcome(settlement_date, ok=True)

        monkeypatch.setattr(work, "ingest_date_job", fake_ingest)
        holder = ClientHolder(get_settings())
        # a worker without a schedule of its own: it must not defer the real clock's runs
        runner = create_app(pg_url, schedule=False, worker_settings=wsettings)
        apps.append(runner)
        await runner.open_async()
        await runner.run_worker_async(
            wait=False,
            concurrency=1,
            install_signal_handlers=False,
            listen_notify=False,
            additional_context={"clients": holder},
        )
        await holder.aclose()
    finally:
        for app in apps:
            await app.close_async()

    done = Counter(name for name, _ in calls)
    assert done == {
        "refresh_reference": 1,
        "update_prices": 1,
        "daily_reconciliation": 1,
        "weekly_reconciliation": 1,  # both days are Sundays
        "ingest_date": 2,  # the day before (first local hour) and the day itself
    }
    daily = [at for name, at in calls if name == "daily_reconciliation"]
    assert isinstance(daily[0], datetime)
    assert daily[0].astimezone(LONDON).strftime("%H:%M") == "02:00"
    assert daily[0] == (
        datetime(2025, 3, 30, 1, tzinfo=UTC)
        if day.month == 3
        else datetime(2025, 10, 26, 2, tzinfo=UTC)
    )
    assert sorted(d for name, d in calls if name == "ingest_date") == [
        day - timedelta(days=1),
        day,
    ]
    assert job_counts(get_engine(pg_url)) == {"succeeded": deferred_jobs + 2}
    clean_database(pg_url)


@pytest.mark.slow
async def test_a_date_held_by_a_reconciliation_waits(
    pg_url: str, elexon: ElexonTestServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The worker takes the reconciliation's per-date lock: it never writes a date that a
    reconciliation (or a backfill) is processing."""
    for key, value in cli_env(pg_url, tmp_path, elexon).items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    day = date(2025, 5, 20)
    elexon.set_day(day, "calm")
    engine = get_engine(pg_url)
    reconciliation = DateLocks(engine)
    assert reconciliation.try_acquire(day)
    app = create_app(pg_url, schedule=False, worker_settings=WorkerSettings())
    holder = ClientHolder(get_settings())
    async with app.open_async():
        await defer_ingest_date(app, day)
        worker = asyncio.create_task(
            app.run_worker_async(
                wait=False,
                install_signal_handlers=False,
                listen_notify=False,
                additional_context={"clients": holder},
            )
        )
        # picked up (polled: how soon is not asserted), then held at the lock however long
        # the machine takes: nothing is stored while reconciliation holds the date
        deadline = asyncio.get_running_loop().time() + 60  # a bound on waiting
        while job_counts(engine) != {"doing": 1}:
            assert asyncio.get_running_loop().time() < deadline, job_counts(engine)
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # let it try the lock (a pass never depends on this)
        assert job_counts(engine) == {"doing": 1}
        assert stored_day(engine, day)[0] == 0 and not worker.done()  # waiting for the lock
        await asyncio.to_thread(reconciliation.release, day)
        await asyncio.wait_for(worker, timeout=30)
    await holder.aclose()
    reconciliation.close()
    assert job_counts(engine) == {"succeeded": 1}
    assert stored_day(engine, day)[0] == elexon.expected_headline(day).records


async def test_queueing_a_waiting_date_again_raises_its_priority(pg_url: str) -> None:
    """Today's tick is never stuck behind a backfill that queued the same date."""
    app = create_app(pg_url, schedule=False, worker_settings=WorkerSettings())
    day = date(2025, 5, 21)
    async with app.open_async():
        first = await defer_ingest_date(app, day, priority=BACKFILL_PRIORITY)
        assert first is not None
        assert await defer_ingest_date(app, day, priority=TODAY_PRIORITY) is None
        assert await defer_ingest_date(app, day, priority=BACKFILL_PRIORITY) is None
    with get_engine(pg_url).connect() as conn:
        rows = conn.execute(text("SELECT id, priority, status::text FROM procrastinate_jobs")).all()
    assert [tuple(r) for r in rows] == [(first, TODAY_PRIORITY, "todo")]
