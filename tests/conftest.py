"""Shared fixtures: a clean database per test on each configured backend.

``CURTAILCOIN_TEST_DATABASES`` chooses the backends (default ``sqlite,postgresql``); PostgreSQL
is reached at ``CURTAILCOIN_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``).
A PostgreSQL that cannot be reached fails the tests: it is never skipped silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from curtailcoin.config import get_settings
from curtailcoin.db.engine import dispose_all, get_engine
from curtailcoin.db.schema import metadata
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.mempool import MempoolTestServer

PG_ADMIN_URL = os.environ.get(
    "CURTAILCOIN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [
    b.strip()
    for b in os.environ.get("CURTAILCOIN_TEST_DATABASES", "sqlite,postgresql").split(",")
    if b.strip()
]


def _pg_url(dbname: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    name = f"cc_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        dispose_all()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sqlite") / "curtailcoin-test.db"
    return f"sqlite:///{path}"


def _clean(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            # date_versions last: deleting summaries bumps it (migration 0008's triggers)
            for table in sorted(
                reversed(metadata.sorted_tables), key=lambda t: t.name == "date_versions"
            ):
                conn.execute(table.delete())


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """URL of a migrated, empty database (each backend in turn)."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("pg_database")
    elif request.param == "sqlite":
        url = request.getfixturevalue("sqlite_database")
    else:
        raise ValueError(f"unknown backend {request.param!r}: allowed sqlite, postgresql")
    _clean(get_engine(url))
    return url


@pytest.fixture
def engine(database_url: str) -> Engine:
    return get_engine(database_url)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> dict[str, str]:
    """Environment for the settings and for CLI subprocesses: this test's database and dirs."""
    values = {
        "CURTAILCOIN_DATABASE_URL": database_url,
        "CURTAILCOIN_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
        "CURTAILCOIN_BACKOFF_BASE_S": "0.01",
        "CURTAILCOIN_BACKOFF_MAX_S": "0.05",
        "CURTAILCOIN_REQUEST_TIMEOUT_S": "2",
        "CURTAILCOIN_REQUESTS_PER_SECOND": "1000",
        "CURTAILCOIN_CONFIG_FILE": str(tmp_path / "none.toml"),
        # never the real price sources: a test that wants prices points these at a test server
        # (the writers fetch the prices of the dates they write; port 9 refuses at once)
        "CURTAILCOIN_MEMPOOL_BASE_URL": "http://127.0.0.1:9/api",
        "CURTAILCOIN_COINGECKO_BASE_URL": "http://127.0.0.1:9/api/v3",
        # the stack's tests run without the wind generation fetch (its own requests and its
        # own reconciliation problem kinds); tests/test_generation_db.py turns it on
        "CURTAILCOIN_FETCH_GENERATION": "false",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield_env = dict(os.environ)
    return yield_env


@pytest.fixture
def elexon_server() -> Iterator[ElexonTestServer]:
    """A fresh local Elexon server (deterministic data, no faults)."""
    with ElexonTestServer(seed=1, timeout_s=3.0) as server:
        yield server


@pytest.fixture
def mempool_server() -> Iterator[MempoolTestServer]:
    with MempoolTestServer(seed=1) as server:
        yield server


@pytest.fixture
def source_env(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    elexon_server: ElexonTestServer,
    mempool_server: MempoolTestServer,
) -> dict[str, str]:
    """``env`` pointed at the local Elexon and mempool.space servers."""
    monkeypatch.setenv("CURTAILCOIN_ELEXON_BASE_URL", elexon_server.base_url)
    monkeypatch.setenv("CURTAILCOIN_MEMPOOL_BASE_URL", mempool_server.base_url)
    get_settings.cache_clear()
    return dict(os.environ)
