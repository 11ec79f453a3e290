"""task queue: the procrastinate schema (PostgreSQL only)

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-28 21:30:00

Applies procrastinate's own ``schema.sql`` (tables ``procrastinate_jobs``, ``_events``,
``_periodic_defers``, ``_workers``, their types, functions and triggers) for the installed
procrastinate version. On SQLite there is no queue (the worker runs in-process): a no-op.

If the schema is already there (e.g. applied with ``procrastinate schema --apply``) nothing is
changed. Upgrading procrastinate later means applying its files in
``procrastinate/sql/migrations`` newer than the installed version, in a new revision.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _is_postgresql():
        return
    from procrastinate.schema import SchemaManager

    bind = op.get_bind()
    exists = bind.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar()
    if exists is not None:
        return
    # Run on the raw psycopg connection without parameters, so that neither SQLAlchemy (":name")
    # nor psycopg ("%") reads placeholders into the functions' bodies.
    raw = bind.connection.driver_connection
    assert raw is not None
    raw.execute(SchemaManager.get_schema())


def downgrade() -> None:
    if not _is_postgresql():
        return
    bind = op.get_bind()
    functions = bind.exec_driver_sql(
        "SELECT p.oid::regprocedure::text FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%%'"
    ).scalars()
    signatures = list(functions)
    for table in (
        "procrastinate_events",
        "procrastinate_periodic_defers",
        "procrastinate_jobs",
        "procrastinate_workers",
    ):
        bind.exec_driver_sql(f"DROP TABLE IF EXISTS {table} CASCADE")
    for signature in signatures:
        bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
    types = bind.exec_driver_sql(
        "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%%' "
        "AND (t.typtype = 'e' OR (t.typtype = 'c' AND EXISTS "
        "(SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c')))"
    ).scalars()
    for type_name in list(types):
        bind.exec_driver_sql(f"DROP TYPE IF EXISTS {type_name} CASCADE")
