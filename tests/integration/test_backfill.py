"""``curtailcoin backfill``: resumable after a kill, failures reported, bad input refused.

Run through the installed CLI against the local Elexon test server, on SQLite files.
"""

from __future__ import annotations

import json
import signal
from datetime import date, timedelta
from pathlib import Path

import pytest

from curtailcoin.backfill import Checkpoint
from curtailcoin.config import Settings
from curtailcoin.db.engine import get_engine
from curtailcoin.testservers.elexon import ElexonTestServer
from support.entrypoint import run_cli
from support.worker import (
    DATA_TABLES,
    cli_env,
    duplicate_records,
    elexon,
    start_cli,
    table_contents,
    wait_for,
)

__all__ = ["elexon"]  # fixture

START, END = date(2025, 6, 1), date(2025, 6, 12)
DAYS = [START + timedelta(days=i) for i in range((END - START).days + 1)]


@pytest.fixture(scope="module", autouse=True)
def scenario(elexon: ElexonTestServer) -> None:
    for i, day in enumerate(DAYS):
        elexon.set_day(day, "light" if i % 3 == 0 else "calm")


def sqlite_url(tmp_path: Path, name: str) -> str:
    return f"sqlite:///{tmp_path / name}"


@pytest.mark.slow
def test_interrupted_and_resumed_equals_uninterrupted(
    elexon: ElexonTestServer, tmp_path: Path
) -> None:
    whole_url = sqlite_url(tmp_path, "whole.db")
    whole = run_cli(
        "backfill", str(START), str(END), "--concurrency", "2", "--json",
        env=cli_env(whole_url, tmp_path / "a", elexon),
    )  # fmt: skip
    assert whole.returncode == 0, whole.stderr
    summary = json.loads(whole.stdout)
    assert summary["done"] == len(DAYS) and summary["failed"] == 0 and summary["ok"]

    resumed_url = sqlite_url(tmp_path, "resumed.db")
    env = cli_env(resumed_url, tmp_path / "b", elexon)
    log = tmp_path / "backfill.log"
    elexon.latency_s = 0.01  # a little slower, so the kill lands mid-range
    try:
        process = start_cli(
            "backfill", str(START), str(END), "--concurrency", "2", env=env, log=log
        )
        wait_for(
            lambda: log.read_text().count(" ok periods=") >= 4, timeout=60, what="4 dates done"
        )
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        elexon.latency_s = 0.0
    progress = log.read_text()
    assert "[4/12]" in progress or "[5/12]" in progress  # one line per date off a terminal
    checkpoint = json.loads(
        Checkpoint.path_for(
            Settings(checkpoint_dir=tmp_path / "b" / "checkpoints"), START, END
        ).read_text()
    )
    assert checkpoint["finished"] is False and checkpoint["watermark"] is not None

    again = run_cli("backfill", str(START), str(END), "--concurrency", "2", "--json", env=env)
    assert again.returncode == 0, again.stderr
    resumed = json.loads(again.stdout)
    assert resumed["skipped"] >= 3  # what the killed run finished is not done again
    assert resumed["done"] + resumed["skipped"] == len(DAYS) and resumed["ok"]

    a, b = get_engine(whole_url), get_engine(resumed_url)
    for table in DATA_TABLES:
        assert table_contents(a, table) == table_contents(b, table), table
    assert duplicate_records(b) == 0
    assert len(table_contents(b, "daily_summaries")) == len(DAYS)


@pytest.mark.slow
def test_a_failing_date_is_reported_and_retried_on_the_next_run(
    elexon: ElexonTestServer, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path, "fail.db")
    env = cli_env(url, tmp_path, elexon)
    bad = date(2025, 6, 3)
    fault = elexon.fail_period(bad, 17)  # 503 every time
    try:
        first = run_cli("backfill", "2025-06-01", "2025-06-05", "--json", env=env)
    finally:
        elexon.faults.remove(fault)
    assert first.returncode == 1, first.stderr
    summary = json.loads(first.stdout)
    assert summary["done"] == 4 and summary["failed"] == 1 and not summary["ok"]
    assert list(summary["failures"]) == ["2025-06-03"]
    assert "period(s) failed to fetch (17)" in summary["failures"]["2025-06-03"]
    with get_engine(url).connect() as conn:  # the failed date was not written at all
        from sqlalchemy import text

        stored = conn.execute(
            text("SELECT count(*) FROM settlement_periods WHERE settlement_date = :d"),
            {"d": bad},
        ).scalar_one()
    assert stored == 0

    # the human summary names the date and says what to do
    human = run_cli("backfill", "2025-06-01", "2025-06-05", env=env)
    assert human.returncode == 0, human.stderr  # the fault is gone: only 06-03 is redone
    assert "Skipped (done in an earlier run)" in human.stdout
    assert "2025-06-03 ok" in human.stderr and "2025-06-01 skipped" in human.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["2025-06-10", "2025-06-01"], "start 2025-06-10 is after end 2025-06-01"),
        (["2025-13-01", "2025-06-01"], "invalid date '2025-13-01'"),
        (["2025-06-01", "2999-01-01"], "is in the future"),
        (["2025-06-01", "2025-06-02", "--concurrency", "0"], "--concurrency 0"),
        (["2025-06-01", "2025-06-02", "--enqueue"], "--enqueue needs PostgreSQL"),
    ],
)
@pytest.mark.slow
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    elexon: ElexonTestServer, tmp_path: Path, args: list[str], message: str
) -> None:
    db = tmp_path / "untouched.db"
    result = run_cli("backfill", *args, env=cli_env(f"sqlite:///{db}", tmp_path, elexon))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not db.exists()
    assert not (tmp_path / "checkpoints").exists()


def test_checkpoint_watermark_stays_small() -> None:
    """Out-of-order completions are kept only until the watermark passes them."""
    checkpoint = Checkpoint(START, END, Path("/nonexistent"))
    for day in (DAYS[1], DAYS[2], DAYS[4]):
        checkpoint.mark(day, None)
    assert checkpoint.watermark is None and len(checkpoint.done_beyond) == 3
    checkpoint.mark(DAYS[0], None)
    assert checkpoint.watermark == DAYS[2] and checkpoint.done_beyond == {DAYS[4]}
    checkpoint.mark(DAYS[3], "boom")  # a failure is settled too, and remembered
    assert checkpoint.watermark == DAYS[4] and checkpoint.done_beyond == set()
    assert not checkpoint.is_done(DAYS[3]) and checkpoint.is_done(DAYS[4])
    checkpoint.mark(DAYS[3], None)  # retried successfully
    assert checkpoint.is_done(DAYS[3]) and not checkpoint.failed
