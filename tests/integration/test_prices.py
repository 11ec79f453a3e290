"""BTC prices: mempool.space with CoinGecko as fallback, the cache, CSV import and the CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from curtailcoin.cli.main import app
from curtailcoin.config import get_settings
from curtailcoin.db.engine import get_engine
from curtailcoin.price_csv import import_csv
from curtailcoin.price_updates import UpdateResult, update_prices
from curtailcoin.prices import (
    PriceInputError,
    latest_prices,
    missing_reason,
    stored_prices,
    update_failures,
)
from curtailcoin.sources.prices import COINGECKO, MEMPOOL, MEMPOOL_LIVE
from curtailcoin.testservers.coingecko import CoinGeckoTestServer
from curtailcoin.testservers.mempool import MempoolTestServer
from curtailcoin.testservers.prices import PriceBook
from support.api import make_settings
from support.databases import clean
from support.entrypoint import CURTAILCOIN

START, END = date(2025, 1, 10), date(2025, 1, 14)
CLI = CURTAILCOIN


def close_of(book: PriceBook, day: date, currency: str) -> float:
    quote = book.quote(day + timedelta(days=1))
    assert quote is not None
    return float(quote[currency])


@pytest.fixture
def sources() -> Iterator[tuple[MempoolTestServer, CoinGeckoTestServer]]:
    # Two books with the same seed: the sources agree, and each can lose prices on its own.
    with (
        MempoolTestServer(prices=PriceBook(7)) as mempool,
        CoinGeckoTestServer(prices=PriceBook(7)) as coingecko,
    ):
        yield mempool, coingecko


def _run(
    engine: Engine,
    database_url: str,
    servers: tuple[MempoolTestServer, CoinGeckoTestServer],
    **kw: Any,
) -> UpdateResult:
    mempool, coingecko = servers
    settings = make_settings(
        database_url,
        mempool_base_url=mempool.base_url,
        coingecko_base_url=coingecko.base_url,
        max_tries=2,
    )
    return asyncio.run(update_prices(engine, settings, **kw))


def test_update_stores_daily_closes_from_mempool(
    engine: Engine, database_url: str, sources: tuple[MempoolTestServer, CoinGeckoTestServer]
) -> None:
    result = _run(engine, database_url, sources, start=START, end=END)
    assert result.ok and result.stored == {MEMPOOL: 10}
    with engine.connect() as conn:
        stored = stored_prices(conn, START, END)
    for day in (START + timedelta(days=i) for i in range(5)):
        for currency in ("GBP", "USD"):
            row = stored[(day, currency)]
            assert row.price == close_of(sources[0].prices, day, currency)
            assert row.source == MEMPOOL
    assert sources[1].requests == []
    again = _run(engine, database_url, sources, start=START, end=END)
    assert again.skipped == 5 and again.stored == {}


@pytest.mark.slow
def test_coingecko_fills_what_mempool_lacks_and_failures_are_reasons(
    engine: Engine, database_url: str, sources: tuple[MempoolTestServer, CoinGeckoTestServer]
) -> None:
    mempool, coingecko = sources
    fallback_day, missing_day = date(2025, 1, 11), date(2025, 1, 13)
    mempool.set_no_price(fallback_day + timedelta(days=1), missing_day + timedelta(days=1))
    coingecko.set_no_price(missing_day + timedelta(days=1))
    mempool.faults.add("5xx", times=1, status=502)
    result = _run(engine, database_url, sources, start=START, end=END)
    assert set(result.failed) == {missing_day}
    assert (
        "mempool.space" in result.failed[missing_day] and "coingecko" in result.failed[missing_day]
    )
    with engine.connect() as conn:
        stored = stored_prices(conn, START, END)
        failures = update_failures(conn)
    assert stored[(fallback_day, "GBP")].source == COINGECKO
    assert stored[(fallback_day, "GBP")].price == pytest.approx(
        close_of(coingecko.prices, fallback_day, "GBP"), rel=1e-9
    )
    assert (missing_day, "GBP") not in stored and (missing_day, "USD") not in stored
    assert missing_day.isoformat() in failures
    assert "last update failed" in missing_reason("GBP", missing_day, failures)


def test_today_gets_the_live_price_then_its_close(
    engine: Engine, database_url: str, sources: tuple[MempoolTestServer, CoinGeckoTestServer]
) -> None:
    mempool = sources[0]
    today = date(2025, 2, 10)
    mempool.set_current_price(gbp=80_000.0, usd=100_000.0)
    now = datetime(2025, 2, 10, 15, 0, tzinfo=UTC)
    result = _run(engine, database_url, sources, start=today, end=today, now=now)
    assert result.ok and result.stored == {MEMPOOL_LIVE: 2}
    with engine.connect() as conn:
        latest = latest_prices(conn)
    assert latest["GBP"] is not None and latest["GBP"].provisional
    assert (latest["GBP"].price, latest["GBP"].price_date) == (80_000.0, today)
    later = now + timedelta(days=1)
    result = _run(engine, database_url, sources, start=today, end=today, now=later)
    assert result.stored == {MEMPOOL: 2}
    with engine.connect() as conn:
        row = stored_prices(conn, today, today)[(today, "GBP")]
    assert not row.provisional and row.price == close_of(mempool.prices, today, "GBP")


def test_bad_ranges_are_refused(
    engine: Engine, database_url: str, sources: tuple[MempoolTestServer, CoinGeckoTestServer]
) -> None:
    with pytest.raises(PriceInputError, match="future"):
        _run(engine, database_url, sources, start=START, end=date(2999, 1, 1))
    with pytest.raises(PriceInputError, match="after"):
        _run(engine, database_url, sources, start=END, end=START)


def test_csv_import_long_and_wide(engine: Engine, tmp_path: Path) -> None:
    long_file = tmp_path / "long.csv"
    long_file.write_text(
        "date,currency,price,source\n2025-01-01,GBP,75000.5,ledger\n2025-01-01,usd,94000\n"
    )
    wide_file = tmp_path / "wide.csv"
    wide_file.write_text("Date,BTC_USD,BTC_GBP\n2025-01-02,95000,76000\n2025-01-03,,77000\n")
    assert import_csv(engine, long_file).rows == 2
    result = import_csv(engine, wide_file)
    assert (result.rows, result.dates, result.first, result.last) == (
        3,
        2,
        date(2025, 1, 2),
        date(2025, 1, 3),
    )
    with engine.connect() as conn:
        stored = stored_prices(conn, date(2025, 1, 1), date(2025, 1, 3))
    assert stored[(date(2025, 1, 1), "GBP")].price == 75000.5
    assert stored[(date(2025, 1, 1), "GBP")].source == "ledger"
    assert stored[(date(2025, 1, 1), "USD")].source == "csv:long.csv"
    assert stored[(date(2025, 1, 2), "USD")].price == 95000.0
    assert (date(2025, 1, 3), "USD") not in stored


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("date,currency,price\n2025-01-01,GBP,-5\n", "line 2"),
        ("date,currency,price\n2025-01-01,EUR,5\n", "EUR"),
        ("date,currency,price\n2025-13-01,GBP,5\n", "2025-13-01"),
        ("date,currency,price\n2999-01-01,GBP,5\n", "future"),
        ("date,currency,price\n2025-01-01,GBP,5\n2025-01-01,GBP,6\n", "twice"),
        ("day,price\n2025-01-01,5\n", "date"),
        ("date,gbp\n2025-01-01,abc\n", "not a number"),
    ],
)
def test_csv_import_refuses_bad_files_and_writes_nothing(
    engine: Engine, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(PriceInputError, match=message):
        import_csv(engine, path)
    with engine.connect() as conn:
        assert stored_prices(conn, date(2000, 1, 1), date(2100, 1, 1)) == {}


@pytest.mark.slow
def test_cli_update_and_import(
    sqlite_database: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    sources: tuple[MempoolTestServer, CoinGeckoTestServer],
) -> None:
    """``curtailcoin prices update|import``: in-process for speed, plus one real subprocess."""
    mempool, coingecko = sources
    engine = get_engine(sqlite_database)
    clean(engine)
    run_env = {
        "CURTAILCOIN_DATABASE_URL": sqlite_database,
        "CURTAILCOIN_MEMPOOL_BASE_URL": mempool.base_url,
        "CURTAILCOIN_COINGECKO_BASE_URL": coingecko.base_url,
        "CURTAILCOIN_MAX_TRIES": "2",
        "CURTAILCOIN_REQUESTS_PER_SECOND": "1000",
        "CURTAILCOIN_BACKOFF_BASE_S": "0.01",
        "CURTAILCOIN_CONFIG_FILE": str(tmp_path / "none.toml"),
    }
    for key, value in run_env.items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()

    def cli(*args: str) -> Result:
        get_settings.cache_clear()
        return runner.invoke(app, list(args))

    done = cli("prices", "update", "--from", str(START), "--to", str(END))
    assert done.exit_code == 0, done.output
    assert "latest BTC/GBP" in done.output
    with engine.connect() as conn:
        assert len(stored_prices(conn, START, END)) == 10
    mempool.set_no_price(date(2025, 1, 21))
    coingecko.set_no_price(date(2025, 1, 21))
    failed = cli("prices", "update", "--from", "2025-01-20", "--to", "2025-01-20")
    assert failed.exit_code == 1 and "2025-01-20" in failed.output
    future = cli("prices", "update", "--from", "2999-01-01", "--to", "2999-01-02")
    assert future.exit_code == 2 and "future" in future.output
    bad = tmp_path / "bad.csv"
    bad.write_text("date,gbp\nnot-a-date,1\n")
    refused = cli("prices", "import", str(bad))
    assert refused.exit_code == 2 and "line 2" in refused.output
    good = tmp_path / "p.csv"
    good.write_text("date,gbp,usd\n2024-12-31,70000,88000\n")
    imported = subprocess.run(
        [CLI, "prices", "import", str(good)],
        env={**os.environ, **run_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imported.returncode == 0 and "imported 2 prices" in imported.stdout, imported.stderr
