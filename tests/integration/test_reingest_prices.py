"""Prices come with the data: ``reingest``, ``backfill`` and the worker's date job fetch the BTC
prices of the dates they write, and a price that cannot be had never fails them (it is shown
missing with its reason, as a failed price update's is)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func, select

from curtailcoin.config import get_settings
from curtailcoin.db.curtailment_tables import settlement_periods
from curtailcoin.db.reference_tables import btc_prices
from curtailcoin.jobs.work import ingest_one_date
from curtailcoin.prices import day_prices
from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.testservers.mempool import MempoolTestServer
from support.entrypoint import CURTAILCOIN

pytestmark = pytest.mark.db

DAY = "2025-01-17"


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CURTAILCOIN, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


def _prices(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(btc_prices)).scalar_one())


@pytest.mark.slow
def test_reingest_stores_the_dates_price(
    source_env: dict[str, str], engine: Engine, mempool_server: MempoolTestServer
) -> None:
    done = _run(["reingest", DAY, "--json"], source_env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    expected = mempool_server.prices.quote(date(2025, 1, 18))  # the close: 00:00 UTC next day
    assert expected is not None
    assert out["prices"]["GBP"] == {"price": expected["GBP"], "source": "mempool.space"}
    assert out["prices"]["USD"]["price"] == expected["USD"] and out["prices"]["missing"] == {}
    with engine.connect() as conn:
        have, missing = day_prices(conn, date(2025, 1, 17))
    assert set(have) == {"GBP", "USD"} and not missing
    # one request for both currencies (USD is in every answer); a second run asks nothing
    assert len(mempool_server.requests_matching("historical-price")) == 1
    again = _run(["reingest", DAY], source_env)
    assert again.returncode == 0 and "BTC/GBP on 2025-01-17" in again.stdout
    assert len(mempool_server.requests_matching("historical-price")) == 1


@pytest.mark.slow
def test_price_source_down_never_fails_the_reingest(
    source_env: dict[str, str], engine: Engine, mempool_server: MempoolTestServer
) -> None:
    # the data from the local servers; both price sources refuse (port 9)
    env = {
        **source_env,
        "CURTAILCOIN_MEMPOOL_BASE_URL": "http://127.0.0.1:9/api",
        "CURTAILCOIN_COINGECKO_BASE_URL": "http://127.0.0.1:9/api/v3",
    }
    # the difficulty comes from the packaged table for this date: no mempool needed
    done = _run(["reingest", DAY], env)
    assert done.returncode == 0, done.stderr
    assert "price missing (BTC/GBP):" in done.stdout
    assert "the last update failed" in done.stdout and "127.0.0.1" in done.stdout
    assert _prices(engine) == 0
    with engine.connect() as conn:
        periods = conn.execute(select(func.count()).select_from(settlement_periods)).scalar_one()
        _, missing = day_prices(conn, date(2025, 1, 17))
    assert periods == 48  # the data is stored whatever the prices did
    assert "retry with `curtailcoin prices update --from 2025-01-17" in missing["GBP"]


@pytest.mark.slow
def test_price_source_faulting_never_fails_the_reingest(
    source_env: dict[str, str], engine: Engine, mempool_server: MempoolTestServer
) -> None:
    mempool_server.faults.add("5xx", match="historical-price")  # every price answer a 503
    env = {**source_env, "CURTAILCOIN_MAX_TRIES": "2"}
    done = _run(["reingest", DAY, "--json"], env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["complete"] is True
    assert set(out["prices"]["missing"]) == {"GBP", "USD"}
    assert "mempool.space" in out["prices"]["missing"]["GBP"]
    assert _prices(engine) == 0
    # the source mends: the next reingest fetches the price
    mempool_server.faults.clear()
    assert _run(["reingest", DAY], env).returncode == 0
    assert _prices(engine) == 2


@pytest.mark.slow
def test_backfill_prices_its_range(
    source_env: dict[str, str], engine: Engine, mempool_server: MempoolTestServer
) -> None:
    done = _run(["backfill", "2025-01-15", "2025-01-17", "--json"], source_env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["ok"] and out["prices_missing"] == {}
    assert _prices(engine) == 6
    mempool_server.set_no_price(date(2025, 1, 19))  # the close of the 18th
    done = _run(["backfill", "2025-01-18", "2025-01-18", "--json"], source_env)
    out = json.loads(done.stdout)
    assert done.returncode == 0 and out["ok"], done.stderr  # a missing price is not a failure
    assert "2025-01-18" in out["prices_missing"]


@pytest.mark.slow
def test_worker_date_job_prices_the_date(
    source_env: dict[str, str], engine: Engine, mempool_server: MempoolTestServer
) -> None:
    get_settings.cache_clear()
    settings = get_settings()

    async def run() -> list[str]:
        async with ElexonClient.from_settings(settings) as client:
            outcome = await ingest_one_date(
                settings,
                date(2025, 1, 17),
                client=client,
                now=datetime(2025, 1, 20, 12, tzinfo=UTC),
            )
        assert outcome.ok
        return outcome.warnings

    assert asyncio.run(run()) == []
    assert _prices(engine) == 2
    mempool_server.set_no_price(date(2025, 1, 17))  # the close of the 16th

    async def missing() -> list[str]:
        async with ElexonClient.from_settings(settings) as client:
            outcome = await ingest_one_date(
                settings,
                date(2025, 1, 16),
                client=client,
                now=datetime(2025, 1, 20, 12, tzinfo=UTC),
            )
        assert outcome.ok  # the date is done; its price is a warning
        return outcome.warnings

    warnings = asyncio.run(missing())
    assert len(warnings) == 1 and warnings[0].startswith("no BTC price for 2025-01-16")
