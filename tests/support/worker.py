"""Shared helpers for the worker, backfill and schedule tests (no tests of its own).

The CLI runs as a subprocess through the installed ``curtailcoin`` entry point, against the
local Elexon test server and a database of the test session.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from curtailcoin.db.engine import get_engine
from curtailcoin.db.schema import metadata
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.mempool import MempoolTestServer
from support.entrypoint import CURTAILCOIN

QUEUE_TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)
#: data tables compared between two runs, and the columns that record *when* a row was written
DATA_TABLES = (
    "settlement_periods",
    "bid_stack_lines",
    "curtailment_records",
    "historical_bitcoin_calculations",
    "daily_summaries",
    "monthly_summaries",
    "yearly_summaries",
    "bitcoin_daily_summaries",
    "bitcoin_monthly_summaries",
    "bitcoin_yearly_summaries",
)
WRITE_TIME_COLUMNS = {"id", "fetched_at", "calculated_at", "updated_at"}


def clean_database(url: str) -> Engine:
    """Empty every table of a migrated database, the queue's included (PostgreSQL)."""
    engine = get_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join([*(f'"{t.name}"' for t in metadata.sorted_tables), *QUEUE_TABLES])
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            # date_versions last: deleting summaries bumps it (migration 0008's triggers)
            for table in sorted(
                reversed(metadata.sorted_tables), key=lambda t: t.name == "date_versions"
            ):
                conn.execute(table.delete())
    return engine


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """The session's PostgreSQL database, emptied (data and queue)."""
    clean_database(pg_database)
    return pg_database


@pytest.fixture(scope="module")
def elexon() -> Iterator[ElexonTestServer]:
    with ElexonTestServer() as server:
        yield server


@pytest.fixture(scope="module")
def mempool() -> Iterator[MempoolTestServer]:
    with MempoolTestServer() as server:
        yield server


def cli_env(
    database_url: str,
    tmp_path: Path,
    elexon: ElexonTestServer,
    mempool: MempoolTestServer | None = None,
    **extra: str,
) -> dict[str, str]:
    """Environment for a CLI subprocess: this test's database, servers and directories."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CURTAILCOIN_")}
    env.update(
        {
            "CURTAILCOIN_DATABASE_URL": database_url,
            "CURTAILCOIN_ELEXON_BASE_URL": elexon.base_url,
            "CURTAILCOIN_MEMPOOL_BASE_URL": mempool.base_url
            if mempool
            else "http://127.0.0.1:9/api",
            "CURTAILCOIN_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
            "CURTAILCOIN_CONFIG_FILE": str(tmp_path / "none.toml"),
            "CURTAILCOIN_BACKOFF_BASE_S": "0.01",
            "CURTAILCOIN_BACKOFF_MAX_S": "0.05",
            "CURTAILCOIN_MAX_TRIES": "3",
            "CURTAILCOIN_REQUEST_TIMEOUT_S": "5",
            # the queue's tests, not the generation's (test_generation_db covers the worker's)
            "CURTAILCOIN_FETCH_GENERATION": "false",
            "CURTAILCOIN_REQUESTS_PER_SECOND": "1000",
            "CURTAILCOIN_CONCURRENCY": "16",
            "CURTAILCOIN_WORKER_HEARTBEAT_S": "0.5",
            "CURTAILCOIN_WORKER_STALLED_AFTER_S": "2",
            "CURTAILCOIN_WORKER_STALLED_CHECK_S": "0.5",
            "CURTAILCOIN_WORKER_POLL_S": "0.2",
            "CURTAILCOIN_WORKER_RETRY_BASE_S": "0.2",
            "CURTAILCOIN_WORKER_RETRY_MAX_S": "1",
            "CURTAILCOIN_WORKER_SHUTDOWN_GRACE_S": "10",
        }
    )
    env.update(extra)
    return env


def start_cli(
    *args: str, env: dict[str, str], log: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start the CLI in the background with stdout+stderr going to ``log``."""
    handle = log.open("wb")
    try:
        return subprocess.Popen(
            [CURTAILCOIN, *args], env=env, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT
        )
    finally:
        handle.close()


def wait_for(
    predicate: Callable[[], Any], *, timeout: float, interval: float = 0.1, what: str = ""
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> int:
    """SIGTERM and wait (SIGKILL if it does not stop)."""
    if process.poll() is None:
        process.terminate()
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


def job_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status")
        )
        return {str(status): int(n) for status, n in rows}


def table_contents(engine: Engine, table: str) -> list[tuple[Any, ...]]:
    """A table's rows without write-time columns, floats rounded, sorted."""
    with engine.connect() as conn:
        result = conn.execute(text(f"SELECT * FROM {table}"))
        keep = [i for i, c in enumerate(result.keys()) if c not in WRITE_TIME_COLUMNS]
        rows = []
        for row in result:
            values = []
            for i in keep:
                value = row[i]
                if isinstance(value, float):
                    value = round(value, 6) if math.isfinite(value) else value
                values.append(value)
            rows.append(tuple(values))
    return sorted(rows, key=repr)


def duplicate_records(engine: Engine) -> int:
    """Curtailment records sharing their natural key (there must be none)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM (SELECT 1 FROM curtailment_records "
                    "GROUP BY settlement_date, settlement_period, farm_id, acceptance_id, "
                    "bid_offer_pair_id, sequence_number HAVING count(*) > 1) AS d"
                )
            ).scalar_one()
        )


def stored_day(engine: Engine, day: date) -> tuple[int, float]:
    """(records, curtailed MWh) stored for a date."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*), coalesce(sum(-volume), 0) FROM curtailment_records "
                "WHERE settlement_date = :d"
            ),
            {"d": day},
        ).one()
    return int(row[0]), float(row[1])


LOG_EVENT = re.compile(
    r"curtailcoin\.jobs date (?P<event>started|finished|failed) job_id=(?P<job>\d+) .*?"
    r"worker=\"(?P<worker>[^\"]+)\" date=\"(?P<date>[\d-]+)\" t=(?P<t>[\d.]+)"
)


def job_intervals(logs: list[Path]) -> dict[str, list[tuple[float, float, str, int]]]:
    """Per date: (start, end, worker, job id) of every processing, from the workers' logs."""
    starts: dict[tuple[str, int], tuple[float, str]] = {}
    out: dict[str, list[tuple[float, float, str, int]]] = {}
    for log in logs:
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            match = LOG_EVENT.search(line)
            if not match:
                continue
            key = (match["worker"], int(match["job"]))
            if match["event"] == "started":
                starts[key] = (float(match["t"]), match["date"])
            else:
                begun, day = starts.pop(key)
                out.setdefault(day, []).append((begun, float(match["t"]), key[0], key[1]))
    return out
