"""date_versions: a per-date change counter, bumped by triggers in the writer's transaction

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10

The API's response cache keys an answer by the data it read. ``date_versions`` holds one counter
per settlement date; every INSERT, UPDATE or DELETE of the rows that describe a date — its daily
summaries (``daily_summaries``, ``bitcoin_daily_summaries``), its periods' fetch status
(``settlement_periods``) and a held drift-guard answer (``suspect_dates``) — adds 1 to the
date's counter, in the same transaction, by a trigger. Every writer of a date rewrites its daily
summaries in the transaction that changes its records and calculations, so a date's counter
changes with every commit that changes what the API shows for it, whoever the writer is
(reingest, reconciliation, a bulk load, SQL by hand), and never otherwise. The sum of the
counters over a day, a month or a year is that scope's version: it only grows, so an answer
cached under it is current exactly as long as the sum is unchanged.

PostgreSQL: statement-level triggers with transition tables (one upsert per statement, dates in
order); SQLite: row-level triggers (UPSERT). Existing dates start without a row (version 0).

Self-contained: no import of live module code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COMMENT = "+1 on every write of the date's summaries, periods or suspect answer (triggers)"

#: table → its settlement-date column
TRACKED = {
    "daily_summaries": "summary_date",
    "bitcoin_daily_summaries": "summary_date",
    "settlement_periods": "settlement_date",
    "suspect_dates": "settlement_date",
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


def upgrade() -> None:
    op.create_table(
        "date_versions",
        sa.Column("settlement_date", sa.Date(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False, comment=COMMENT),
        sa.PrimaryKeyConstraint("settlement_date", name=op.f("pk_date_versions")),
    )
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
    op.drop_table("date_versions")
