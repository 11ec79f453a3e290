"""``curtailcoin db``: migrations (the seed's ``run_migration.ts``)."""

from __future__ import annotations

import typer

from curtailcoin.cli.common import (
    EXIT_FAILED,
    console,
    fail,
    settings_and_logging,
    unreachable_database,
)
from curtailcoin.db.engine import current_revision, head_revision, make_engine, upgrade

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(
    revision: str = typer.Argument("head", help="Target revision (default: head)."),
) -> None:
    """Create or update the schema (Alembic; the same migrations on SQLite and PostgreSQL)."""
    settings = settings_and_logging()
    engine = make_engine(settings.database_url)
    try:
        before = current_revision(engine)
        upgrade(engine, revision)
        after = current_revision(engine)
    except Exception as exc:
        unreachable = unreachable_database(exc, settings.database_url)
        if unreachable is not None:
            fail(unreachable)
        fail(f"migration failed: {exc}", EXIT_FAILED)
    finally:
        engine.dispose()
    console.print(f"database at revision {after} (was {before or 'empty'})")


@app.command("current")
def current_command() -> None:
    """Show the database's revision and the newest available."""
    settings = settings_and_logging()
    engine = make_engine(settings.database_url)
    try:
        console.print(f"current: {current_revision(engine) or 'empty'}  head: {head_revision()}")
    finally:
        engine.dispose()


def run_migration() -> None:
    """The seed's ``runMigration``: upgrade the configured database to head."""
    upgrade_command("head")
