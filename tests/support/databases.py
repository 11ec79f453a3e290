"""Which databases the tests run on, where PostgreSQL is, how a test's database is emptied, and
copies of a built database that the processes of one run share.

``CURTAILCOIN_TEST_DATABASES`` chooses the backends (default ``sqlite,postgresql``); PostgreSQL
is reached at ``CURTAILCOIN_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``).
Here, not in ``conftest.py``, so that test modules import them by one name from any directory.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import Connection, Engine, Table, make_url, text

from curtailcoin.db.coordination_tables import date_versions
from curtailcoin.db.engine import get_engine
from curtailcoin.db.schema import metadata

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


#: A table with more rows than this is emptied with TRUNCATE on PostgreSQL (constant time, but
#: a new file and an fsync per table: ~0.3 s for all 32 here); a smaller one with DELETE.
_TRUNCATE_FROM_ROWS = 500


def clean(engine: Engine) -> None:
    """Empty every table of the schema, and restart its ids, touching only what holds rows.

    The same end state as emptying them all (what each test starts from), at a fraction of the
    cost: most tests write a few tables, and an empty table is left alone. ``date_versions`` goes
    last (deleting a summary bumps it: migration 0008's triggers).
    """
    tables = [t for t in metadata.sorted_tables if t.name != "date_versions"]
    with engine.begin() as conn:
        counts = _row_counts(conn, tables)
        big = [t for t in tables if counts[t.name] > _TRUNCATE_FROM_ROWS]
        if big and engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in big)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            counts.update({t.name: 0 for t in big})
        for table in reversed(tables):
            if counts[table.name]:
                conn.execute(table.delete())
        conn.execute(date_versions.delete())
        if engine.dialect.name == "postgresql":
            _restart_used_sequences(conn, tables)


def _row_counts(conn: Connection, tables: list[Table]) -> dict[str, int]:
    """Each table's rows, counted up to one past the TRUNCATE threshold, in one query."""
    limit = _TRUNCATE_FROM_ROWS + 1
    parts = [
        f"SELECT '{t.name}', (SELECT count(*) FROM (SELECT 1 FROM \"{t.name}\" LIMIT {limit}) s)"
        for t in tables
    ]
    return {name: int(n) for name, n in conn.execute(text(" UNION ALL ".join(parts)))}


def _restart_used_sequences(conn: Connection, tables: list[Table]) -> None:
    """Restart each id sequence of ``tables`` that has handed out a value (``RESTART IDENTITY``)."""
    owned = [
        f"SELECT pg_get_serial_sequence('{t.name}', '{t.autoincrement_column.name}') AS seq"
        for t in tables
        if t.autoincrement_column is not None
    ]
    if not owned:
        return
    used = conn.execute(
        text(
            f"SELECT o.seq FROM ({' UNION ALL '.join(owned)}) o JOIN pg_sequences p "
            "ON quote_ident(p.schemaname) || '.' || quote_ident(p.sequencename) = o.seq "
            "WHERE p.last_value IS NOT NULL"
        )
    ).scalars()
    for name in list(used):
        conn.execute(text(f"ALTER SEQUENCE {name} RESTART"))


# --- copies of a built database, shared by the processes of one test run (xdist workers) ---------

#: Set by ``conftest.pytest_configure`` in the first process of a run, inherited by its workers.
RUN_DIR_VARIABLE = "CURTAILCOIN_TEST_RUN_DIR"


def run_dir() -> Path:
    """The directory this test run's processes share (its locks and SQLite copies)."""
    return Path(os.environ[RUN_DIR_VARIABLE])


def _copy_prefix() -> str:
    """The run's PostgreSQL copies are the databases named with this prefix."""
    return f"cc_copy_{run_dir().name.rpartition('-')[2]}_"


@contextmanager
def run_lock(name: str) -> Iterator[None]:
    """Held by one process of the run at a time (building or restoring a copy)."""
    with (run_dir() / f"{name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def keep_copy(url: str, name: str) -> None:
    """Copy the database at ``url`` as the run's ``name``: an SQLite file, a PostgreSQL template."""
    engine = get_engine(url)
    engine.dispose()
    parsed = make_url(url)
    if engine.dialect.name == "sqlite":
        with (
            closing(sqlite3.connect(parsed.database or "")) as live,
            closing(sqlite3.connect(run_dir() / f"{name}.sqlite")) as kept,
        ):
            live.backup(kept)
        return
    copy = _copy_prefix() + name
    with psycopg.connect(_admin(url), autocommit=True) as conn:
        conn.execute(  # a template must have no other session
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (parsed.database,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{copy}"')
        conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{parsed.database}"')


def restore_copy(url: str, name: str) -> None:
    """Make the database at ``url`` the run's copy ``name``, byte for byte."""
    engine = get_engine(url)
    engine.dispose()
    parsed = make_url(url)
    if engine.dialect.name == "sqlite":
        with (
            closing(sqlite3.connect(run_dir() / f"{name}.sqlite")) as kept,
            closing(sqlite3.connect(parsed.database or "")) as live,
        ):
            kept.backup(live)
        return
    with psycopg.connect(_admin(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}" TEMPLATE "{_copy_prefix() + name}"')


def drop_copies() -> None:
    """Drop the run's PostgreSQL copies (by the run's first process, after its workers)."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        names = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (_copy_prefix(),)
        ).fetchall()
        for (copy,) in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')


def _admin(url: str) -> str:
    """The server's ``postgres`` database, as a psycopg URL."""
    admin = make_url(url).set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False)
