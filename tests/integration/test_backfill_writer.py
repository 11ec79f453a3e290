"""The backfill's writer process (``backfill_writer``): dates are written in it, and a writer that
dies hands its date and the rest of the range to the backfill, which finishes them whole.

Run in process (``backfill()``), on both databases, against the local Elexon test server.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from curtailcoin.backfill import BackfillStats, backfill
from curtailcoin.config import Settings
from curtailcoin.db.engine import get_engine
from curtailcoin.jobs.work import DateOutcome
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.mempool import MempoolTestServer
from support.worker import elexon, mempool

__all__ = ["elexon", "mempool"]  # fixtures

START, END = date(2025, 7, 1), date(2025, 7, 4)
DAYS = [START + timedelta(days=i) for i in range((END - START).days + 1)]


@pytest.mark.slow
def test_a_writer_that_dies_hands_its_dates_to_the_backfill(
    database_url: str, elexon: ElexonTestServer, mempool: MempoolTestServer, tmp_path: Path
) -> None:
    for day in DAYS:
        elexon.set_day(day, "light")
    settings = Settings(
        database_url=database_url,
        elexon_base_url=elexon.base_url,
        mempool_base_url=mempool.base_url,
        checkpoint_dir=tmp_path / "checkpoints",
        fetch_generation=False,
    )
    killed: list[int] = []

    def on_date(day: date, outcome: DateOutcome | None, stats: BackfillStats) -> None:
        if stats.settled == 1:  # the first date was stored by the writer: kill it
            for child in multiprocessing.active_children():
                assert child.pid is not None
                os.kill(child.pid, signal.SIGKILL)
                killed.append(child.pid)

    result = asyncio.run(
        backfill(settings, START, END, concurrency=2, restart=True, on_date=on_date)
    )
    assert killed, "no writer process was running"
    assert result.ok, result.failures
    assert result.stats.done == len(DAYS) and result.stats.failed == 0
    with get_engine(database_url).connect() as conn:
        periods = conn.execute(
            text(
                "SELECT settlement_date, count(*) FROM settlement_periods "
                "WHERE fetch_status IN ('fetched_with_data', 'fetched_empty') "
                "GROUP BY settlement_date ORDER BY settlement_date"
            )
        ).all()
        summaries = conn.execute(text("SELECT count(*) FROM daily_summaries")).scalar_one()
    assert [(str(d)[:10], n) for d, n in periods] == [(d.isoformat(), 48) for d in DAYS]
    assert summaries == len(DAYS)
    assert not multiprocessing.active_children()  # the writer is not left behind
