"""``curtailcoin worker`` on SQLite: the same jobs on the same schedule, in-process.

The schedule itself (both clock changes) is covered in ``test_schedule.py``; here the real
process runs against the local test servers on the real clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from curtailcoin.db.engine import get_engine
from curtailcoin.jobs.schedule import INGEST_TODAY, dates_for_today_tick, runs_between
from curtailcoin.settlement import periods_started
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.mempool import MempoolTestServer
from support.entrypoint import run_cli
from support.worker import cli_env, elexon, mempool, start_cli, stop, wait_for

__all__ = ["elexon", "mempool"]  # fixtures


@pytest.fixture
def env(
    tmp_path: Path, elexon: ElexonTestServer, mempool: MempoolTestServer
) -> Iterator[dict[str, str]]:
    yield cli_env(
        f"sqlite:///{tmp_path / 'worker.db'}",
        tmp_path,
        elexon,
        mempool,
        # only the 15-minute job (the others need more servers), and on start-up run the last
        # tick whenever it was (at most 15 minutes ago)
        CURTAILCOIN_WORKER_JOBS="ingest_today",
        CURTAILCOIN_WORKER_PERIODIC_MAX_DELAY_S="900",
    )


def expected_dates(started: datetime, finished: datetime) -> set[str]:
    """Dates of the ticks a worker started at ``started`` runs (those of the last 15 minutes)."""
    ticks = runs_between(INGEST_TODAY, started - timedelta(seconds=900), finished)
    return {
        d.isoformat()
        for tick in ticks
        for d in dates_for_today_tick(tick)
        if periods_started(d, finished) > 0
    }


def fetched_dates(url: str) -> dict[str, int]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(
            text(
                "SELECT settlement_date, count(*) FROM settlement_periods "
                "WHERE fetch_status LIKE 'fetched%' GROUP BY settlement_date"
            )
        ).all()
    return {str(d): int(n) for d, n in rows}


@pytest.mark.slow
def test_worker_runs_the_schedule_in_process_and_stops_on_sigterm(
    env: dict[str, str], tmp_path: Path
) -> None:
    started = datetime.now(UTC)
    log = tmp_path / "worker.log"
    process = start_cli("worker", env=env, log=log)
    try:
        state_file = tmp_path / "checkpoints" / "worker_state.json"

        def done() -> bool:
            if not state_file.exists():
                return False
            state = json.loads(state_file.read_text())
            return "ingest_today" in state["last_runs"] and not state["queued"]

        wait_for(done, timeout=60, interval=0.2, what="the 15-minute job and its dates")
        second = run_cli("worker", "--burst", env=env)  # SQLite runs one worker
        assert second.returncode == 1
        assert "another curtailcoin worker is already running" in second.stderr
    finally:
        code = stop(process)
    assert code == 0, log.read_text()
    output = log.read_text()
    assert "worker started" in output and "worker stopped" in output

    finished = datetime.now(UTC)
    expected = expected_dates(started, finished)
    stored = fetched_dates(env["CURTAILCOIN_DATABASE_URL"])
    assert set(stored) == expected
    for day, count in stored.items():  # every period published by then
        d = date.fromisoformat(day)
        assert periods_started(d, started) <= count <= periods_started(d, finished)

    status = run_cli("jobs", "status", "--json", env=env)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["backend"] == "sqlite (in-process)"
    assert report["worker_state"]["last_runs"]["ingest_today"]["ok"] is True
    assert report["worker_state"]["done"] == len(expected)
    assert report["schedule"][0]["job"] == "ingest_today"


@pytest.mark.slow
def test_burst_runs_what_is_due_and_exits(env: dict[str, str]) -> None:
    started = datetime.now(UTC)
    result = run_cli("worker", "--burst", env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    stored = fetched_dates(env["CURTAILCOIN_DATABASE_URL"])
    assert set(stored) == expected_dates(started, datetime.now(UTC))
    assert "date finished" in result.stderr
