"""The triggers that bump ``date_versions`` (what migration 0008 creates), for a fresh schema.

``metadata.create_all`` knows tables, not triggers: ``db.fresh_schema`` adds these. The DDL is
the migration's, statement for statement (``test_migrations.py`` compares a fresh schema
with a migrated one, triggers included). PostgreSQL: statement-level triggers with transition
tables; SQLite: row-level triggers.
"""

from __future__ import annotations

#: table → its settlement-date column
TRACKED = {
    "daily_summaries": "summary_date",
    "bitcoin_daily_summaries": "summary_date",
    "settlement_periods": "settlement_date",
    "suspect_dates": "settlement_date",
    "generation_daily_summaries": "summary_date",  # migration 0012
    "generation_fetches": "settlement_date",  # migration 0013
}

_BUMP = (
    "INSERT INTO date_versions (settlement_date, version) {rows} "
    "ON CONFLICT (settlement_date) DO UPDATE SET version = date_versions.version + 1"
)


def _postgresql(table: str, column: str) -> list[str]:
    function = f"cc_bump_date_versions_{table}"
    rows = {
        "INSERT": f"SELECT DISTINCT {column}, 1 FROM new_rows ORDER BY 1",
        "DELETE": f"SELECT DISTINCT {column}, 1 FROM old_rows ORDER BY 1",
        "UPDATE": (
            f"SELECT d, 1 FROM (SELECT {column} AS d FROM new_rows "
            f"UNION SELECT {column} FROM old_rows) AS changed ORDER BY 1"
        ),
    }
    body = "\n".join(
        f"  {'IF' if i == 0 else 'ELSIF'} TG_OP = '{op_name}' THEN\n"
        f"    {_BUMP.format(rows=select)};"
        for i, (op_name, select) in enumerate(rows.items())
    )
    statements = [
        f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n{body}\n  END IF;\n  RETURN NULL;\nEND\n$$"
    ]
    referencing = {
        "INSERT": "NEW TABLE AS new_rows",
        "DELETE": "OLD TABLE AS old_rows",
        "UPDATE": "NEW TABLE AS new_rows OLD TABLE AS old_rows",
    }
    for event, transition in referencing.items():
        statements.append(
            f"CREATE TRIGGER cc_date_version_{event.lower()} AFTER {event} ON {table} "
            f"REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    return statements


def _sqlite(table: str, column: str) -> list[str]:
    def bump(value: str, where: str = "true") -> str:
        return _BUMP.format(rows=f"SELECT {value}, 1 WHERE {where}") + ";"

    name = f"cc_date_version_{table}"
    return [
        f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table} BEGIN {bump(f'NEW.{column}')} END",
        f"CREATE TRIGGER {name}_delete AFTER DELETE ON {table} BEGIN {bump(f'OLD.{column}')} END",
        f"CREATE TRIGGER {name}_update AFTER UPDATE ON {table} BEGIN "
        f"{bump(f'NEW.{column}')} "
        f"{bump(f'OLD.{column}', f'OLD.{column} IS NOT NEW.{column}')} END",
    ]


def trigger_ddl(dialect_name: str) -> list[str]:
    """Every statement creating the triggers (and PostgreSQL's trigger functions)."""
    build = _postgresql if dialect_name == "postgresql" else _sqlite
    return [statement for table, column in TRACKED.items() for statement in build(table, column)]
