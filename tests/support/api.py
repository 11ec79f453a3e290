"""Seeded databases for the API, schemathesis and dashboard tests (no tests here).

A database is filled through the real pipeline (``pipeline.reingest_date``) from the local Elexon
test server, and prices through ``price_updates.update_prices`` from the local mempool.space server:

* 2025-01-17 heavy, 2025-01-18 calm (both priced), 2025-03-30 light (46 periods, spring clock
  change), 2025-10-26 light (50 periods, autumn clock change) — complete, unpriced;
* 2025-01-19: only periods 1..10 fetched (an incomplete date).
"""

from __future__ import annotations

import asyncio
import pickle
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, make_url

from curtailcoin.config import Settings
from curtailcoin.db.engine import get_engine
from curtailcoin.pipeline import reingest_date
from curtailcoin.price_updates import update_prices
from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.headline import DayHeadline
from curtailcoin.testservers.mempool import MempoolTestServer
from support.databases import clean, keep_copy, restore_copy, run_dir, run_lock

FULL_DAYS: dict[date, str] = {
    date(2025, 1, 17): "heavy",
    date(2025, 1, 18): "calm",
    date(2025, 3, 30): "light",
    date(2025, 10, 26): "light",
}
PARTIAL_DAY = date(2025, 1, 19)
PARTIAL_PERIODS = list(range(1, 11))
PRICED_DAYS = (date(2025, 1, 17), date(2025, 1, 18))
EMPTY_DAY = date(2024, 6, 1)
UNTRACKED_MODEL = "S21_PRO"


@dataclass
class Seeded:
    url: str
    engine: Engine
    settings: Settings
    headlines: dict[date, DayHeadline]
    prices: dict[tuple[date, str], float]


def make_settings(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": url,
        "requests_per_second": 1000.0,
        "concurrency": 16,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "request_timeout_s": 5.0,
        "api_token": None,
        # seeded without the wind generation fetch (the share's tests write generation with
        # tests/support/generation.py); tests/integration/test_generation_db.py turns it on
        "fetch_generation": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def seed_database(url: str) -> Seeded:
    """The database at ``url`` holding exactly the days above (whatever it held before).

    Filled through the pipeline once per backend and test run, by whichever process (xdist
    worker) asks first, and kept as a copy with its headlines and prices; every later call, in
    any process of the run, restores the copy (the same rows, byte for byte).
    """
    name = f"seed-{make_url(url).get_backend_name()}"
    oracle = run_dir() / f"{name}.pickle"
    with run_lock(name):
        if not oracle.exists():
            seeded = _seed(url)
            keep_copy(url, name)
            oracle.write_bytes(pickle.dumps((seeded.headlines, seeded.prices)))
            return seeded
        restore_copy(url, name)
    headlines, prices = pickle.loads(oracle.read_bytes())
    return Seeded(url, get_engine(url), make_settings(url), headlines, prices)


def _seed(url: str) -> Seeded:
    """Fill the database through the real pipeline from the local servers."""
    engine = get_engine(url)
    clean(engine)
    headlines: dict[date, DayHeadline] = {}
    prices: dict[tuple[date, str], float] = {}
    with ElexonTestServer() as elexon, MempoolTestServer() as mempool:
        settings = make_settings(
            url, elexon_base_url=elexon.base_url, mempool_base_url=mempool.base_url
        )

        async def run() -> None:
            for day, kind in FULL_DAYS.items():
                elexon.set_day(day, kind)
                client = ElexonClient(elexon.base_url, requests_per_second=1000, concurrency=16)
                result = await reingest_date(engine, settings, day, client=client)
                await client.aclose()
                assert result.complete, (day, result.failed_periods, result.warnings)
                headlines[day] = elexon.expected_headline(day)
            elexon.set_day(PARTIAL_DAY, "light")
            client = ElexonClient(elexon.base_url, requests_per_second=1000, concurrency=16)
            result = await reingest_date(
                engine, settings, PARTIAL_DAY, client=client, periods=PARTIAL_PERIODS
            )
            await client.aclose()
            assert result.written
            priced = await update_prices(engine, settings, PRICED_DAYS[0], PRICED_DAYS[-1])
            assert priced.ok, priced.failed

        asyncio.run(run())
        for day in PRICED_DAYS:
            # A date's price is its UTC close: the price at 00:00 UTC of the next day.
            quote = mempool.prices.quote(date.fromordinal(day.toordinal() + 1))
            assert quote is not None
            for currency in ("GBP", "USD"):
                prices[(day, currency)] = float(quote[currency])
    return Seeded(url, engine, make_settings(url), headlines, prices)
