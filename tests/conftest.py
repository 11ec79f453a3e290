"""Shared fixtures: a clean database per test on each configured backend; the automatic markers.

``CURTAILCOIN_TEST_DATABASES`` chooses the backends (default ``sqlite,postgresql``); PostgreSQL
is reached at ``CURTAILCOIN_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``;
``support.databases``). A PostgreSQL that cannot be reached fails the tests: it is never skipped
silently.

Every test is marked ``unit`` or ``integration`` by its directory, and ``db`` plus ``sqlite`` /
``postgresql`` by the database it runs on (a ``"sqlite"`` / ``"postgresql"`` parameter, or a
fixture that opens one), so ``-m`` selects them (``tests/README.md``).

A run is two xdist workers (``pyproject.toml``); its first process makes the directory they share
(``support.databases.run_dir``: locks and copies of built databases) and removes it, and the
run's PostgreSQL copies, at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import sqlite3.dbapi2
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from curtailcoin.config import get_settings
from curtailcoin.db.engine import dispose_all, get_engine
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.mempool import MempoolTestServer
from support.databases import (
    BACKENDS,
    PG_ADMIN_URL,
    RUN_DIR_VARIABLE,
    _pg_url,
    clean,
    drop_copies,
    run_dir,
)

#: The dashboard modules' shared fixtures (seeded_ui, base_url, browser, page).
pytest_plugins = ["support.browser"]

#: Fixtures that open a database of one backend, whether or not a test is parametrised over it.
_BACKEND_FIXTURES = {
    "pg_database": "postgresql",
    "pg_url": "postgresql",
    "sqlite_database": "sqlite",
}
_LAYERS = ("unit", "integration")


def _backends(item: pytest.Item) -> set[str]:
    """The databases a collected test runs on: its backend parameters and backend fixtures."""
    fixtures = getattr(item, "fixturenames", ())  # a pytest.Function's (every test here)
    found = {name for fixture, name in _BACKEND_FIXTURES.items() if fixture in fixtures}
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        found |= {v for v in callspec.params.values() if v in ("sqlite", "postgresql")}
    return found


#: Whether this process made the run's shared directory (the first process; not an xdist worker).
_MADE_RUN_DIR = False


def pytest_configure(config: pytest.Config) -> None:
    """The run's shared directory (``support.databases.run_dir``), made by its first process and
    inherited by the xdist workers it starts."""
    global _MADE_RUN_DIR
    if RUN_DIR_VARIABLE not in os.environ:
        path = Path(tempfile.gettempdir()) / f"curtailcoin-tests-{uuid.uuid4().hex[:12]}"
        path.mkdir()
        os.environ[RUN_DIR_VARIABLE] = str(path)
        _MADE_RUN_DIR = True


def pytest_unconfigure(config: pytest.Config) -> None:
    """After every worker: the run's copies go (PostgreSQL template databases, the directory)."""
    if not _MADE_RUN_DIR:
        return
    if "postgresql" in BACKENDS and any(run_dir().glob("*postgresql*")):
        drop_copies()
    shutil.rmtree(run_dir(), ignore_errors=True)
    del os.environ[RUN_DIR_VARIABLE]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test ``unit``/``integration`` by its directory and ``db``/its backends."""
    tests_dir = Path(__file__).parent
    misplaced: set[Path] = set()
    for item in items:
        layer = item.path.relative_to(tests_dir).parts[0]
        if layer not in _LAYERS:
            # a file left flat in tests/ (e.g. from a branch older than the layout) still runs,
            # as an integration test, until it is moved
            if item.path not in misplaced:
                misplaced.add(item.path)
                warnings.warn(
                    f"{item.path.name}: move it to tests/unit or tests/integration "
                    "(tests/README.md); run as integration",
                    pytest.PytestWarning,
                    stacklevel=1,
                )
            layer = "integration"
        item.add_marker(layer)
        if item.get_closest_marker("browser") is not None:
            item.add_marker("slow")  # Chromium and a served app per module: never in the quick run
        backends = _backends(item)
        for backend in sorted(backends):
            item.add_marker(backend)
        if backends:
            item.add_marker("db")


def _refuse(what: str) -> Callable[..., None]:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a unit test {what}: move it to tests/integration (tests/README.md)")

    return refuse


@pytest.fixture(autouse=True)
def _unit_tests_are_pure(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test in tests/unit that opens a database, a connection or a process fails, saying so.

    Patched where the libraries look them up at connection time (SQLAlchemy calls
    ``sqlite3.dbapi2.connect``; psycopg ``Connection.connect``; httpx ``socket.connect``).
    """
    if request.node.get_closest_marker("unit") is None:
        return
    for module in (sqlite3, sqlite3.dbapi2):
        monkeypatch.setattr(module, "connect", _refuse("opened a SQLite database"))
    monkeypatch.setattr(psycopg, "connect", _refuse("connected to PostgreSQL"))
    monkeypatch.setattr(psycopg.Connection, "connect", _refuse("connected to PostgreSQL"))
    monkeypatch.setattr(socket.socket, "connect", _refuse("opened a network connection"))
    monkeypatch.setattr(subprocess, "Popen", _refuse("started a process"))


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


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """URL of a migrated, empty database (each backend in turn)."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("pg_database")
    elif request.param == "sqlite":
        url = request.getfixturevalue("sqlite_database")
    else:
        raise ValueError(f"unknown backend {request.param!r}: allowed sqlite, postgresql")
    clean(get_engine(url))
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
        # own reconciliation problem kinds); tests/integration/test_generation_db.py turns it on
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
