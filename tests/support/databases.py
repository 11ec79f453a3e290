"""Which databases the tests run on, where PostgreSQL is, and how a test's database is emptied.

``CURTAILCOIN_TEST_DATABASES`` chooses the backends (default ``sqlite,postgresql``); PostgreSQL
is reached at ``CURTAILCOIN_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``).
Here, not in ``conftest.py``, so that test modules import them by one name from any directory.
"""

from __future__ import annotations

import os

from sqlalchemy import Connection, Engine, Table, text

from curtailcoin.db.coordination_tables import date_versions
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
