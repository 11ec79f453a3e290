"""Per-date locks, checkpoint files and error categories."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from curtailcoin.db.coordination_tables import date_locks
from curtailcoin.reconcile.checkpoints import (
    CheckpointLock,
    DailyCheckpoint,
    ReconciliationCheckpoint,
    load_checkpoint,
    reset_checkpoint,
    save_checkpoint,
)
from curtailcoin.reconcile.locks import DateLocks
from curtailcoin.reconcile.retry import (
    LockBusyError,
    RetryCounters,
    is_timeout_error,
    with_retry,
)
from curtailcoin.sources.http import (
    NotFoundError,
    PermanentSourceError,
    RetriesExhaustedError,
    TransientSourceError,
)

DAY = date(2025, 1, 17)


@pytest.mark.db
def test_date_locks_exclude_other_holders(engine: Engine) -> None:
    first, second = DateLocks(engine), DateLocks(engine)
    try:
        assert first.try_acquire(DAY)
        assert not first.try_acquire(DAY)  # not re-entrant inside one run either
        assert not second.try_acquire(DAY)
        assert second.try_acquire(DAY + timedelta(days=1))
        first.release(DAY)
        assert second.try_acquire(DAY)
        with pytest.raises(LockBusyError):
            asyncio.run(first.acquire(DAY, timeout_s=0.3, poll_s=0.05))
    finally:
        first.close()
        second.close()
    third = DateLocks(engine)
    try:
        assert third.try_acquire(DAY)  # close() gave everything back
    finally:
        third.close()


@pytest.mark.db
def test_a_dead_holders_lock_is_taken_over(engine: Engine) -> None:
    """After ``kill -9`` the date must not stay locked."""
    code = (
        "import os, sys\n"
        "from datetime import date\n"
        "from curtailcoin.db.engine import get_engine\n"
        "from curtailcoin.reconcile.locks import DateLocks\n"
        f"locks = DateLocks(get_engine({str(engine.url.render_as_string(False))!r}))\n"
        f"assert locks.try_acquire(date.fromisoformat({DAY.isoformat()!r}))\n"
        "print('locked', flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "locked", done.stderr
    assert done.returncode == -9
    locks = DateLocks(engine)
    try:
        assert locks.try_acquire(DAY)
    finally:
        locks.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the SQLite lock table
def test_sqlite_lease_expiry_and_live_holders(engine: Engine) -> None:
    assert engine.dialect.name == "sqlite"
    holder = DateLocks(engine, lease_s=3600)
    other = DateLocks(engine)
    try:
        assert holder.try_acquire(DAY)
        assert not other.try_acquire(DAY)  # same live process, lease valid
        with engine.begin() as conn:
            conn.execute(
                update(date_locks).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        assert other.try_acquire(DAY)  # lease expired
        with engine.connect() as conn:
            assert conn.execute(select(date_locks.c.holder)).scalar_one() == other.holder
    finally:
        holder.close()
        other.close()


def test_checkpoints_are_atomic_and_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "cp" / "reconciliation_checkpoint.json"
    cp = ReconciliationCheckpoint(
        command="range 2025-01-01 2025-01-03", pendingDates=["2025-01-03"]
    )
    cp.completedDates = ["2025-01-01", "2025-01-02"]
    cp.stats.totalRecords = 10
    save_checkpoint(path, cp.to_json())
    data = load_checkpoint(path)
    assert data is not None
    assert {
        "lastProcessedDate",
        "pendingDates",
        "completedDates",
        "startTime",
        "lastUpdateTime",
        "stats",
    } <= set(data)
    assert set(data["stats"]) >= {
        "totalRecords",
        "processedRecords",
        "successfulRecords",
        "failedRecords",
        "timeouts",
    }
    assert isinstance(data["startTime"], int) and data["startTime"] > 1_600_000_000_000
    again = ReconciliationCheckpoint.from_json(data)
    assert again.to_json() | {"pid": 0} == cp.to_json() | {"pid": 0}
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left

    daily = DailyCheckpoint(lastRun="2025-03-06", dates=["2025-03-06", "2025-03-05"])
    save_checkpoint(path.with_name("daily.json"), daily.to_json())
    loaded = load_checkpoint(path.with_name("daily.json"))
    assert loaded is not None and DailyCheckpoint.from_json(loaded).dates == daily.dates

    path.write_text("{not json")
    assert load_checkpoint(path) is None  # moved aside, reported
    assert path.with_name(path.name + ".corrupt").exists()
    assert not reset_checkpoint(path)
    save_checkpoint(path, {"x": 1})
    assert reset_checkpoint(path) and not path.exists()


def test_checkpoint_lock_is_exclusive(tmp_path: Path) -> None:
    """``flock`` on separate open files: a second run (here a second open) cannot take it."""
    path = tmp_path / "reconciliation_checkpoint.json"
    lock, other = CheckpointLock(path), CheckpointLock(path)
    assert lock.acquire()
    assert not other.acquire()
    lock.release()
    assert other.acquire()
    other.release()


def test_error_categories() -> None:
    transient = [
        TransientSourceError("HTTP 503", kind="5xx"),
        RetriesExhaustedError(
            "gave up", url="u", tries=6, last=TransientSourceError("t", kind="timeout")
        ),
        OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")),
        OperationalError("SELECT 1", {}, Exception("deadlock detected")),
        TimeoutError("read timed out"),
        ConnectionResetError("connection reset by peer"),
        LockBusyError("locked"),
    ]
    permanent = [
        PermanentSourceError("HTTP 400"),
        NotFoundError("HTTP 404"),
        IntegrityError("INSERT", {}, Exception("duplicate key")),
        ValueError("bad"),
    ]
    assert all(is_timeout_error(e) for e in transient)
    assert not any(is_timeout_error(e) for e in permanent)


def test_with_retry_retries_transient_errors_only() -> None:
    calls = {"n": 0}
    counters = RetryCounters()

    async def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise TimeoutError("timed out")
        return "ok"

    assert asyncio.run(with_retry(flaky, "flaky", base_delay_s=0.001, counters=counters)) == "ok"
    assert calls["n"] == 3 and counters.retries == 2 and counters.timeouts == 2

    async def broken() -> str:
        calls["n"] += 1
        raise ValueError("permanent")

    calls["n"] = 0
    with pytest.raises(ValueError):
        asyncio.run(with_retry(broken, "broken", base_delay_s=0.001))
    assert calls["n"] == 1


def test_checkpoint_json_names_are_the_seeds() -> None:
    daily = DailyCheckpoint(lastRun="2025-03-06").to_json()
    assert list(daily)[:7] == [
        "lastRun",
        "dates",
        "processedDates",
        "lastProcessedDate",
        "status",
        "startTime",
        "endTime",
    ]
    unified = ReconciliationCheckpoint(command="run").to_json()
    assert list(unified)[:6] == [
        "lastProcessedDate",
        "pendingDates",
        "completedDates",
        "startTime",
        "lastUpdateTime",
        "stats",
    ]
    assert json.loads(json.dumps(unified)) == unified


def test_acceptance_volume_verification() -> None:
    """``critical``'s check: each wind unit's stack volume per acceptance = BOAV's."""
    from dataclasses import replace

    from curtailcoin.reconcile.source import verify_against_acceptances
    from curtailcoin.sources.elexon import parse_acceptance_volumes, parse_stack_response
    from curtailcoin.testservers.elexon import ElexonTestServer

    server = ElexonTestServer(seed=2)  # the oracle only; not started
    server.set_day(DAY.isoformat(), "heavy")
    wind = dict.fromkeys(server.wind_unit_ids())
    volumes = parse_acceptance_volumes({"data": server.acceptance_volumes(DAY.isoformat())}, DAY)
    lines, _ = parse_stack_response({"data": server.stack_lines(DAY.isoformat(), 20)}, DAY, 20)
    assert verify_against_acceptances(DAY, 20, lines, volumes, wind, 0.01) == []
    first = next(i for i, x in enumerate(lines) if x.bm_unit_id in wind and x.acceptance_id)
    changed = list(lines)
    changed[first] = replace(lines[first], volume=lines[first].volume - 1.0)
    problems = verify_against_acceptances(DAY, 20, changed, volumes, wind, 0.01)
    unit = lines[first].bm_unit_id
    assert unit is not None
    assert len(problems) == 1 and unit in problems[0]
    dropped = [x for i, x in enumerate(lines) if i != first]
    assert verify_against_acceptances(DAY, 20, dropped, volumes, wind, 0.01)
