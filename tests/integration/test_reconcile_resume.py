"""Resumability and concurrency: ``kill -9`` in the middle of ``reconcile range`` and start again
(same database as an uninterrupted run), and two runs at once on PostgreSQL (never the same date
at the same time, never a duplicate row)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from curtailcoin.config import Settings
from curtailcoin.db.curtailment_tables import curtailment_records
from curtailcoin.db.engine import get_engine
from curtailcoin.reconcile.commands import process_date_range
from curtailcoin.reconcile.status import get_reconciliation_status
from curtailcoin.testservers.elexon import ElexonTestServer
from support.reconcile import checkpoint_path, cli, count, popen, snapshot

FIRST = date(2025, 1, 10)
DAYS = [FIRST + timedelta(days=i) for i in range(6)]
MODELS = ["S19J_PRO", "S9", "M20S", "S21"]


def _wait_for(predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def _completed(path: Path) -> list[str]:
    try:
        return list(json.loads(path.read_text())["completedDates"])
    except (FileNotFoundError, ValueError, KeyError):
        return []


def _reference(tmp_path: Path, server: ElexonTestServer, first: date, last: date) -> Engine:
    """The same range reconciled without interruption into a fresh SQLite database."""
    url = f"sqlite:///{tmp_path / 'reference.db'}"
    settings = Settings(
        database_url=url,
        elexon_base_url=server.base_url,
        checkpoint_dir=tmp_path / "reference-checkpoints",
        requests_per_second=1000,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
    )
    engine = get_engine(url)
    summary = asyncio.run(process_date_range(engine, settings, first, last, resume=False))
    assert not summary.failed
    return engine


def _clean(engine: Engine) -> bool:
    with engine.connect() as conn:
        status = get_reconciliation_status(conn, MODELS)
        conn.rollback()
    return not status.problem_dates and status.completion_percentage == 100.0


@pytest.mark.db
@pytest.mark.slow
def test_kill_9_mid_range_then_resume_equals_an_uninterrupted_run(
    engine: Engine,
    source_env: dict[str, str],
    elexon_server: ElexonTestServer,
    tmp_path: Path,
) -> None:
    for day in DAYS:
        elexon_server.set_day(day.isoformat(), "light")
    elexon_server.latency_s = 0.04  # about half a second per date
    first, last = DAYS[0].isoformat(), DAYS[-1].isoformat()
    args = ("reconcile", "range", first, last, "--batch-size", "1", "--json")
    path = checkpoint_path(source_env, "reconciliation_checkpoint.json")

    proc = popen(*args, env=source_env)
    _wait_for(lambda: len(_completed(path)) >= 2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    killed = json.loads(path.read_text())
    assert killed["status"] == "running" and killed["pendingDates"]
    done_before = set(killed["completedDates"])

    elexon_server.latency_s = 0.0
    resumed = cli(*args, env=source_env)
    assert resumed.returncode == 0, resumed.stderr
    data = json.loads(resumed.stdout)
    assert data["resumed"] is True
    assert set(data["already_done"]) == done_before
    assert {d["date"] for d in data["dates"]} == set(killed["pendingDates"])
    final = json.loads(path.read_text())
    assert final["status"] == "completed" and final["pendingDates"] == []
    assert sorted(final["completedDates"]) == [d.isoformat() for d in DAYS]  # no duplicates

    reference = _reference(tmp_path, elexon_server, DAYS[0], DAYS[-1])
    assert snapshot(engine) == snapshot(reference)
    assert _clean(engine)


_LOCK_LINE = re.compile(
    r"^(\S+Z) DEBUG curtailcoin\.reconcile date lock (acquired|releasing) date=\"([0-9-]+)\""
)


def _lock_spans(log: Path) -> dict[str, list[tuple[datetime, datetime]]]:
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    opened: dict[str, datetime] = {}
    for line in log.read_text().splitlines():
        match = _LOCK_LINE.match(line)
        if not match:
            continue
        stamp = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
        day = match.group(3)
        if match.group(2) == "acquired":
            opened[day] = stamp
        else:
            spans.setdefault(day, []).append((opened.pop(day), stamp))
    assert not opened
    return spans


@pytest.mark.db
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite serialises writers
@pytest.mark.slow
def test_two_runs_at_once_never_process_the_same_date_together(
    engine: Engine,
    database_url: str,
    source_env: dict[str, str],
    elexon_server: ElexonTestServer,
    tmp_path: Path,
) -> None:
    assert database_url.startswith("postgresql")
    days = DAYS[:4]
    for day in days:
        elexon_server.set_day(day.isoformat(), "light")
    elexon_server.latency_s = 0.02
    args = ("reconcile", "range", days[0].isoformat(), days[-1].isoformat(), "--batch-size", "2")
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [
        popen(*args, "--json", env=dict(source_env, CURTAILCOIN_LOG_FILE=str(log))) for log in logs
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        results.append(json.loads(out))

    # Each date: one run fixed it, the other waited for the lock and found it clean.
    for day in days:
        statuses = sorted(
            d["status"] for r in results for d in r["dates"] if d["date"] == day.isoformat()
        )
        assert statuses == ["clean", "fixed"], (day, statuses)
    spans = [_lock_spans(log) for log in logs]
    for day in days:
        for a_start, a_end in spans[0][day.isoformat()]:
            for b_start, b_end in spans[1][day.isoformat()]:
                assert a_end <= b_start or b_end <= a_start, (day, a_start, a_end, b_start)
    expected = sum(elexon_server.expected_headline(d.isoformat()).records for d in days)
    assert count(engine, curtailment_records) == expected  # no duplicate, no gap
    assert _clean(engine)
