"""Fast bulk inserts inside the caller's transaction: binary COPY on PostgreSQL, one prepared
``executemany`` of plain tuples on SQLite; and bulk reads of plain tuples (:func:`fetch_plain`).

A heavy day writes ~7,500 raw lines, ~7,000 records and ~28,000 calculations. Going through
SQLAlchemy's statement execution costs more than the database's own work, so rows arrive here
as tuples in ``columns`` order and go to the DBAPI connection of the caller's transaction
directly, with only the conversions the database needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    Select,
    String,
    Table,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from curtailcoin.db.dialect import is_postgresql


def column_named(table: Table, name: str) -> Column[Any]:
    """A column by its SQL name (``table.c`` is keyed by the Python key, which carries the unit)."""
    for column in table.columns:
        if column.name == name:
            return column
    raise KeyError(f"{table.name} has no column {name!r}")


def bulk_insert(
    conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table``; returns the row count."""
    if is_postgresql(conn):
        return _copy(conn, table, columns, rows)
    data = _sqlite_rows(conn.dialect, table, columns, rows)
    if not data:
        return 0
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("?" for _ in columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', data)
    finally:
        cursor.close()
    return len(data)


def fetch_plain(conn: Connection, query: Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``query`` as the driver returns them (binary on PostgreSQL), for columns that
    need no conversion (numbers and text, no dates or instants): 3× faster than SQLAlchemy's
    rows for the ~21,000 calculations of a heavy day. The parameters are rendered as literals
    by the dialect (quoted and escaped)."""
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    dbapi = conn.connection.driver_connection
    if is_postgresql(conn):
        with dbapi.cursor(binary=True) as cursor:  # type: ignore[union-attr]
            # with parameters (none) psycopg reads the dialect's ``%%`` in literals as ``%``
            return list(cursor.execute(sql, ()).fetchall())
    cursor = dbapi.cursor()  # type: ignore[union-attr]
    try:
        return list(cursor.execute(sql).fetchall())
    finally:
        cursor.close()


def _base_type(column_type: TypeEngine[Any]) -> TypeEngine[Any]:
    return column_type.impl_instance if isinstance(column_type, TypeDecorator) else column_type


def _pg_type(column_type: TypeEngine[Any]) -> str | None:
    """The PostgreSQL type a binary COPY sends a column's values as (None: not known here)."""
    base = _base_type(column_type)
    if isinstance(base, BigInteger):
        return "int8"
    if isinstance(base, Integer):
        return "int4"
    if isinstance(base, Float):
        return "float8"
    if isinstance(base, Boolean):
        return "bool"
    if isinstance(base, DateTime):
        return "timestamptz" if base.timezone else "timestamp"
    if isinstance(base, Date):
        return "date"
    if isinstance(base, String):  # Text is a String
        return "text"
    return None


def _copy(
    conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """``COPY … FROM STDIN``: binary when every column's type is known (floats travel as their
    exact bits, no text to parse), text otherwise."""
    names = ", ".join(f'"{name}"' for name in columns)
    types = [_pg_type(column_named(table, name).type) for name in columns]
    binary = all(t is not None for t in types)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN' + (" (FORMAT BINARY)" if binary else "")
    dbapi = conn.connection.driver_connection
    count = 0
    with dbapi.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        if binary:
            copy.set_types(types)
        write = copy.write_row
        for row in rows:
            write(row)
            count += 1
    return count


def _sqlite_value(value: Any) -> Any:
    """What pysqlite's default adapters would store for a date or a naive datetime (ISO text)."""
    if type(value) is datetime:
        return value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _converter(dialect: Dialect, column_type: TypeEngine[Any]) -> Callable[[Any], Any] | None:
    """A date or instant column's value → the text SQLite stores (None for other columns).

    The column type's own bind processor first (an instant becomes naive UTC), then the ISO text
    pysqlite's adapters would make of it: the stored text is what a statement through
    SQLAlchemy's ``exec_driver_sql`` stored, without the per-value adapter calls.
    """
    if not isinstance(_base_type(column_type), Date | DateTime):
        return None
    bind = column_type.bind_processor(dialect)

    def convert(value: Any) -> Any:
        return _sqlite_value(bind(value) if bind is not None else value)

    return convert


def _sqlite_rows(
    dialect: Dialect, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> list[Sequence[Any]]:
    """Rows with their dates and instants as SQLite's text; each distinct value converted once
    (a day's rows share one settlement date and a handful of fetch and creation instants), and
    only those columns touched in each row (no transposition of the whole batch)."""
    data = rows if isinstance(rows, list) else list(rows)
    converters = [
        (index, convert)
        for index, name in enumerate(columns)
        if (convert := _converter(dialect, column_named(table, name).type)) is not None
    ]
    if not converters or not data:
        return data
    texts = []
    for index, convert in converters:
        values = {row[index] for row in data}
        texts.append((index, {v: None if v is None else convert(v) for v in values}))
    out: list[Sequence[Any]] = []
    append = out.append
    for row in data:
        converted = list(row)
        for index, text in texts:
            converted[index] = text[converted[index]]
        append(converted)
    return out
