"""generation fetches bump the date versions

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

The wind generation ingestion writes a date's ``generation_fetches`` rows (one per dataset,
AGWS and B1610) in every store, with or without rows: the date-version triggers of 0008 on that
table let the API response cache see each write (the rows of ``national_wind_generation`` and
``farm_generation`` change only together with it, so they need no trigger of their own).

Self-contained: no import of live module code.
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TRACKED = {"generation_fetches": "settlement_date"}

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


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, column in TRACKED.items():
        for statement in (_postgresql if postgresql else _sqlite)(table, column):
            op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in TRACKED:
        for event in ("insert", "delete", "update"):
            if postgresql:
                op.execute(f"DROP TRIGGER IF EXISTS cc_date_version_{event} ON {table}")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS cc_date_version_{table}_{event}")
        if postgresql:
            op.execute(f"DROP FUNCTION IF EXISTS cc_bump_date_versions_{table}()")
