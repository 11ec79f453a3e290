"""Engines for SQLite (embedded default) and PostgreSQL, migrated on first use.

An empty database is given the head schema directly (``db.fresh_schema``) and stamped at head;
one with tables upgrades through the migrations.

Alembic is imported only to migrate: a database already at :data:`HEAD_REVISION` is recognised
by one query of ``alembic_version`` (reading the migration scripts costs a command more than
its own work; ``test_migrations.py`` checks the constant against the scripts).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from curtailcoin.db.dialect import advisory_xact_lock, is_postgresql, is_sqlite

if TYPE_CHECKING:
    from alembic.config import Config

#: The newest migration in ``migrations/versions`` (a new migration updates it).
HEAD_REVISION = "0014"

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names (or none)."""
    parsed = make_url(url)
    if is_postgresql(parsed) and parsed.drivername != "postgresql+psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


#: SQLite's page cache per connection, KiB (a bound, filled only as pages are read): a heavy
#: day's write touches ~15 MB of table and index pages; in SQLite's default 2 MiB the
#: transaction spills dirty pages to the WAL before its commit and reads them back (deleting a
#: stored day's calculations costs 3× as much).
SQLITE_CACHE_KIB = 65536


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL with ``synchronous=NORMAL``: readers never block the writer, and a commit is durable
    against a crash of the process (a power cut may lose the last commits, never corrupt)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """A new engine with a pool, timeouts and liveness checks (dropped connections reconnect)."""
    url = normalise_url(url)
    if is_sqlite(url):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_timeout=30,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"connect_timeout": 10},
    )


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(files("curtailcoin") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    """The head of the migration scripts themselves (what :data:`HEAD_REVISION` must equal)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The database's Alembic revision (None for an empty database)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring this engine's database to ``revision``.

    A database without any table, upgraded to head, gets the head schema directly
    (``db.fresh_schema``: milliseconds instead of every migration); any other runs the
    Alembic migrations.
    """
    with engine.begin() as conn:
        # Several processes (workers on several machines) may start on a database that needs
        # migrating: one migrates, the others wait here and then find it at head.
        advisory_xact_lock(conn, 1129530701)
        if revision in ("head", HEAD_REVISION):
            from curtailcoin.db.fresh_schema import create_fresh_schema, has_no_tables

            if has_no_tables(conn):
                create_fresh_schema(conn, HEAD_REVISION)
                return
        run_migrations(conn, revision)


def run_migrations(conn: Connection, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision`` on ``conn`` (inside its transaction)."""
    from alembic import command

    cfg = alembic_config(conn.engine.url.render_as_string(hide_password=False))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


def get_engine(url: str, *, migrate: bool = True) -> Engine:
    """The process-wide engine for ``url``, migrated to head on first use."""
    url = normalise_url(url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            if migrate and current_revision(engine) != HEAD_REVISION:
                upgrade(engine)
            _engines[url] = engine
        return engine


def dispose_all() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see one snapshot, rolled back at the end.

    A check that reads a summary and then its base rows, or an API response that shows a month
    and its days, must not see a writer's commit in between. On PostgreSQL the transaction is
    REPEATABLE READ. On SQLite pysqlite begins a transaction only before a write, so each SELECT
    would see the latest commit: an explicit ``BEGIN`` makes the reads one read transaction,
    whose snapshot (WAL mode) is fixed at its first read while writers carry on.
    """
    with engine.connect() as conn:
        if is_postgresql(conn):
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        else:
            conn.exec_driver_sql("BEGIN")
        try:
            yield conn
        finally:
            conn.rollback()
