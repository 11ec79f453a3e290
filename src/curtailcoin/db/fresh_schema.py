"""A database with no tables gets the head schema directly, then is stamped at head.

Running every migration on an empty database costs ~0.45 s of CPU (Alembic reads the scripts,
each batch step of SQLite copies tables); the README's first command runs on a fresh SQLite
file. ``metadata.create_all`` builds the tables, indexes, CHECKs and comments; what the
migrations add beyond ``metadata`` is added here: the ``date_versions`` triggers (0008) and,
on PostgreSQL, procrastinate's schema (0004). ``test_migrations.py`` compares a schema
built here with one built by every migration (catalog dumps, version row): a new migration
that adds something ``metadata`` does not hold fails that test until it is added here too.
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, MetaData, PrimaryKeyConstraint, String, Table, inspect

from curtailcoin.db.date_version_triggers import trigger_ddl

#: Alembic's own version table, as ``alembic stamp`` creates it.
_alembic_version = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def has_no_tables(conn: Connection) -> bool:
    """Whether the database (its default schema) holds no table or view at all."""
    inspector = inspect(conn)
    return not inspector.get_table_names() and not inspector.get_view_names()


def create_fresh_schema(conn: Connection, revision: str) -> None:
    """Create the head schema on an empty database and record ``revision`` as its version."""
    from curtailcoin.db.schema import metadata

    postgresql = conn.dialect.name == "postgresql"
    if postgresql:
        _apply_procrastinate_schema(conn)
    metadata.create_all(conn)
    for statement in trigger_ddl(conn.dialect.name):
        conn.exec_driver_sql(statement)
    _alembic_version.create(conn)
    conn.execute(_alembic_version.insert().values(version_num=revision))


def _apply_procrastinate_schema(conn: Connection) -> None:
    """procrastinate's ``schema.sql`` for the installed version (what migration 0004 applies)."""
    from procrastinate.schema import SchemaManager

    # The raw psycopg connection, without parameters: no placeholders read into the functions.
    raw = conn.connection.driver_connection
    assert raw is not None
    raw.execute(SchemaManager.get_schema())
