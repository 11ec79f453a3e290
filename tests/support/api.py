"""Seeded databases for the API, schemathesis and dashboard tests (no tests here).

A database is filled through the real pipeline (``pipeline.reingest_date``) from the local Elexon
test server, and prices through ``price_updates.update_prices`` from the local mempool.space server:

* 2025-01-17 heavy, 2025-01-18 calm (both priced), 2025-03-30 light (46 periods, spring clock
  change), 2025-10-26 light (50 periods, autumn clock change) — complete, unpriced;
* 2025-01-19: only periods 1..10 fetched (an incomplete date).
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from sqlalchemy import Engine, make_url

from curtailcoin.config import Settings
from curtailcoin.db.engine import get_engine
from curtailcoin.pipeline import reingest_date
from curtailcoin.price_updates import update_prices
from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.headline import DayHeadline
from curtailcoin.testservers.mempool import MempoolTestServer
from support.databases import clean

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


#: The first seed of each database URL this session, kept as a copy (an SQLite file, a PostgreSQL
#: template database) with its headlines and prices: a later ``seed_database`` of the same URL
#: restores the copy instead of running the pipeline again (the same rows, byte for byte).
_SEEDS: dict[str, tuple[str, dict[date, DayHeadline], dict[tuple[date, str], float]]] = {}


def seed_database(url: str) -> Seeded:
    """The database at ``url`` holding exactly the days above (whatever it held before)."""
    cached = _SEEDS.get(url)
    if cached is not None:
        copy, headlines, prices = cached
        _restore(url, copy)
        return Seeded(url, get_engine(url), make_settings(url), dict(headlines), dict(prices))
    seeded = _seed(url)
    _SEEDS[url] = (_keep(url), dict(seeded.headlines), dict(seeded.prices))
    return seeded


def _sqlite_path(url: str) -> str:
    return make_url(url).database or ""


def _pg_admin(url: str) -> tuple[str, str]:
    """(the server's ``postgres`` database URL for psycopg, this database's name)."""
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), parsed.database or ""


def _keep(url: str) -> str:
    """Copy the seeded database: an SQLite file beside it, or a PostgreSQL template database."""
    engine = get_engine(url)
    engine.dispose()
    if engine.dialect.name == "sqlite":
        path = _sqlite_path(url)
        copy = f"{path}.seed"
        with closing(sqlite3.connect(path)) as live, closing(sqlite3.connect(copy)) as kept:
            live.backup(kept)
        return copy
    admin, name = _pg_admin(url)
    copy = f"{name}_seed"  # dropped with the session's database (conftest.pg_database)
    with psycopg.connect(admin, autocommit=True) as conn:
        _disconnect(conn, name)
        conn.execute(f'DROP DATABASE IF EXISTS "{copy}"')
        conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
    return copy


def _restore(url: str, copy: str) -> None:
    engine = get_engine(url)
    engine.dispose()
    if engine.dialect.name == "sqlite":
        with (
            closing(sqlite3.connect(copy)) as kept,
            closing(sqlite3.connect(_sqlite_path(url))) as live,
        ):
            kept.backup(live)
        return
    admin, name = _pg_admin(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{copy}"')


def _disconnect(conn: psycopg.Connection[Any], name: str) -> None:
    """End every other session on ``name`` (a template must have none)."""
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        (name,),
    )


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
