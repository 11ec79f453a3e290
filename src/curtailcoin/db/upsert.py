"""Portable INSERT … ON CONFLICT DO UPDATE for SQLite and PostgreSQL.

Each dialect's ``insert`` is imported when a statement is built for it: a SQLite run never loads
the PostgreSQL dialect (~50 ms of imports, with its asyncpg and psycopg adapters).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table

from curtailcoin.db.dialect import insert


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    key_columns: Sequence[str],
    update_columns: Sequence[str] | None = None,
) -> None:
    """Insert rows, updating ``update_columns`` (default: all non-key columns) on key conflict."""
    if not rows:
        return
    stmt: Any = insert(conn, table)
    if update_columns is None:
        update_columns = [c for c in rows[0] if c not in key_columns]
    if update_columns:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key_columns),
            set_={name: stmt.excluded[name] for name in update_columns},
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key_columns))
    conn.execute(stmt, list(rows))
