"""What differs between SQLite and PostgreSQL, decided here and nowhere else.

The rest of the code asks these questions (which database? an in-memory one? a file not made
yet?) and calls these builders (the ``INSERT … ON CONFLICT`` construct, transaction advisory
locks, date functions, session tuning, join steering); it never compares a dialect's name.
What stays elsewhere, and why: docs/architecture.md ("SQL dialect differences").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Integer, Table, cast, func, text
from sqlalchemy.engine import URL, Dialect, make_url

Bind = Engine | Connection | Dialect | URL | str
"""Anything that names a database: an engine, a connection, a dialect, a URL or its text."""


def backend(bind: Bind) -> str:
    """``"postgresql"`` or ``"sqlite"`` (whatever the driver)."""
    if isinstance(bind, str):
        return make_url(bind).get_backend_name()
    if isinstance(bind, URL):
        return bind.get_backend_name()
    if isinstance(bind, Dialect):
        return str(bind.name)
    return str(bind.dialect.name)


def is_postgresql(bind: Bind) -> bool:
    return backend(bind) == "postgresql"


def is_sqlite(bind: Bind) -> bool:
    return backend(bind) == "sqlite"


def _url(bind: Engine | URL | str) -> URL:
    if isinstance(bind, Engine):
        return bind.url
    return make_url(bind) if isinstance(bind, str) else bind


def is_in_memory(bind: Engine | URL | str) -> bool:
    """An in-memory SQLite database: each connection has its own, so another thread's
    connection would see an empty database."""
    url = _url(bind)
    return is_sqlite(url) and url.database in (None, "", ":memory:")


def not_created(bind: Engine | URL | str) -> bool:
    """Nothing to read without creating it: an in-memory SQLite database, or a SQLite file
    that does not exist yet."""
    url = _url(bind)
    return is_in_memory(url) or (is_sqlite(url) and not Path(str(url.database)).exists())


def insert(conn: Connection, table: Table) -> Any:
    """The database's own ``INSERT`` construct (``on_conflict_do_update`` / ``_do_nothing``).

    The dialect packages are imported here, on first use: ``sqlalchemy.dialects.postgresql``
    alone costs about 0.1 s, which the CLI's start and the lock's importers need not pay.
    """
    if is_postgresql(conn):
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    if is_sqlite(conn):
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    raise NotImplementedError(f"upsert not supported on {backend(conn)}")  # pragma: no cover


def advisory_xact_lock(conn: Connection, *keys: int, shared: bool = False) -> None:
    """A PostgreSQL advisory lock held to the end of the transaction (one bigint key or two int
    keys); nothing on SQLite, which serialises writers already."""
    if not is_postgresql(conn):
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    params = {f"k{i}": key for i, key in enumerate(keys)}
    conn.execute(text(f"SELECT {function}({', '.join(':' + n for n in params)})"), params)


def month_key(conn: Connection, column: Any) -> Any:
    """``YYYY-MM`` of a date column."""
    if is_postgresql(conn):
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def day_number(conn: Connection, column: Any, start: date) -> Any:
    """Days from ``start`` to a date column, computed by the database."""
    if is_postgresql(conn):
        return column - start
    return cast(func.julianday(column) - func.julianday(start.isoformat()), Integer)


_SQLITE_TUNING = {"cache_size": -262144, "mmap_size": 4294967296}  # 256 MiB cache, mmap reads


def tune_session(conn: Connection) -> dict[str, Any]:
    """Per-connection settings for large aggregates; returns what to restore (SQLite)."""
    previous: dict[str, Any] = {}
    if is_sqlite(conn):
        for name, value in _SQLITE_TUNING.items():
            previous[name] = conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            conn.exec_driver_sql(f"PRAGMA {name}={int(value)}")
    elif is_postgresql(conn):  # transaction-scoped
        conn.exec_driver_sql("SET LOCAL work_mem = '128MB'")
        conn.exec_driver_sql("SET LOCAL jit = off")
    return previous


def restore_session(conn: Connection, previous: dict[str, Any]) -> None:
    """Give a pooled SQLite connection its own cache size back."""
    for name, value in previous.items():
        if value is not None:
            conn.exec_driver_sql(f"PRAGMA {name}={int(value)}")


@contextmanager
def hash_joins(conn: Connection, *, when: bool = True) -> Iterator[None]:
    """Inside the block, PostgreSQL plans no nested loop (``when`` and on PostgreSQL only): for
    a join whose row count it underestimates, a hash join is several times faster."""
    steer = when and is_postgresql(conn)
    if steer:
        conn.exec_driver_sql("SET LOCAL enable_nestloop = off")
    try:
        yield
    finally:
        if steer:
            conn.exec_driver_sql("SET LOCAL enable_nestloop TO DEFAULT")
