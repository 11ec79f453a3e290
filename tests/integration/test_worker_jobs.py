"""Each scheduled job's work, run once for real against the local test servers (SQLite).

The schedule is tested in ``test_schedule.py`` and the queue in ``test_worker_pg.py``; here the
jobs themselves: the reference refresh, the price update, the daily and the weekly
reconciliation, through the in-process scheduler exactly as ``curtailcoin worker`` runs them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from curtailcoin.config import Settings
from curtailcoin.db.engine import get_engine
from curtailcoin.db.reference_tables import btc_prices, source_refreshes
from curtailcoin.db.summary_tables import daily_summaries
from curtailcoin.jobs.local import LocalScheduler
from curtailcoin.jobs.schedule import (
    DAILY_RECONCILIATION,
    REFRESH_REFERENCE,
    UPDATE_PRICES,
    WEEKLY_RECONCILIATION,
)
from curtailcoin.jobs.settings import WorkerSettings
from curtailcoin.settlement import settlement_today
from curtailcoin.testservers.coingecko import CoinGeckoTestServer
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.mempool import MempoolTestServer
from support.worker import cli_env, elexon, mempool

__all__ = ["elexon", "mempool"]  # fixtures

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def coingecko() -> Iterator[CoinGeckoTestServer]:
    with CoinGeckoTestServer() as server:
        yield server


@pytest.fixture
def scheduler(
    tmp_path: Path,
    elexon: ElexonTestServer,
    mempool: MempoolTestServer,
    coingecko: CoinGeckoTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> LocalScheduler:
    env = cli_env(
        f"sqlite:///{tmp_path / 'jobs.db'}",
        tmp_path,
        elexon,
        mempool,
        CURTAILCOIN_COINGECKO_BASE_URL=coingecko.base_url,
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    from curtailcoin.config import get_settings

    get_settings.cache_clear()
    settings = Settings()
    engine = get_engine(settings.database_url)
    today = settlement_today()
    for i in range(9):  # quiet days: the reconciliation's reingests stay cheap
        elexon.set_day(today - timedelta(days=i), "calm")
    with engine.begin() as conn:  # prices known up to 3 days ago: the update fetches the rest
        conn.execute(
            btc_prices.insert(),
            [
                {
                    "price_date": today - timedelta(days=3),
                    "currency": currency,
                    "price": 50_000.0,
                    "source": "test",
                    "fetched_at": datetime.now(UTC),
                }
                for currency in ("GBP", "USD")
            ],
        )
    return LocalScheduler(settings, WorkerSettings(), entries=())


def _scheduled(entry_at: datetime) -> datetime:
    return entry_at.replace(second=0, microsecond=0)


async def test_reference_and_price_jobs(scheduler: LocalScheduler) -> None:
    now = _scheduled(datetime.now(UTC))
    assert await scheduler.run_entry(REFRESH_REFERENCE, now)
    assert await scheduler.run_entry(UPDATE_PRICES, now)
    await scheduler.aclose()
    assert not scheduler.failures, scheduler.failures
    engine = get_engine(scheduler.settings.database_url)
    with engine.connect() as conn:
        sources = set(conn.execute(select(source_refreshes.c.source)).scalars())
        priced = conn.execute(select(func.count()).select_from(btc_prices)).scalar_one()
    assert {"bmunits", "difficulty"} <= sources
    assert priced > 2


@pytest.mark.slow
async def test_daily_and_weekly_reconciliation_jobs(scheduler: LocalScheduler) -> None:
    now = _scheduled(datetime.now(UTC))
    assert await scheduler.run_entry(DAILY_RECONCILIATION, now), scheduler.failures
    engine = get_engine(scheduler.settings.database_url)
    today = settlement_today()
    with engine.connect() as conn:
        days = set(conn.execute(select(daily_summaries.c.summary_date)).scalars())
    # the last 2 days and the 7-day look-back were checked and, being empty, ingested
    assert {today - timedelta(days=i) for i in range(1, 7)} <= days
    assert await scheduler.run_entry(WEEKLY_RECONCILIATION, now), scheduler.failures
    await scheduler.aclose()
    assert scheduler.last_runs["weekly_reconciliation"]["ok"] is True
