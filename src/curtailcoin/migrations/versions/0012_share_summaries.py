"""share summaries: generation per date, BM unit-date and BM unit-month; the all-bids measure

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

The curtailment share (``curtailed ÷ (generated + curtailed)``) at three years answers from
roll-ups of the generation tables of 0010: ``generation_daily_summaries`` (national wind per
date with its period count and each dataset's fetch status and reason),
``farm_generation_daily_summaries`` and ``farm_generation_monthly_summaries`` (metered
generation per BM unit). ``stack_daily_summaries`` holds per date the all-bids measure (every
wind bid-stack line with volume < 0, whatever its soFlag) and the periods fetched successfully,
filled here from the stored ``bid_stack_lines`` and ``settlement_periods`` of every date that
has a daily summary. A write of a date's generation
roll-up bumps the date's ``date_versions`` counter (the triggers of 0008, for one more table).

Self-contained: no import of live module code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
FINITE_MAX = "1.7976931348623157e308"
TRACKED = {"generation_daily_summaries": "summary_date"}

_BUMP = (
    "INSERT INTO date_versions (settlement_date, version) {rows} "
    "ON CONFLICT (settlement_date) DO UPDATE SET version = date_versions.version + 1"
)


def _finite(table: str, *columns: str) -> list[sa.CheckConstraint]:
    return [
        sa.CheckConstraint(
            f"{c} BETWEEN -{FINITE_MAX} AND {FINITE_MAX}", name=op.f(f"ck_{table}_{c}_finite")
        )
        for c in columns
    ]


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
        "generation_daily_summaries",
        sa.Column("summary_date", sa.Date(), nullable=False),
        sa.Column(
            "national_status", sa.String(24), comment="the date's AGWS fetch status (NULL: none)"
        ),
        sa.Column("national_error", sa.Text(), comment="why the date's AGWS figures are missing"),
        sa.Column(
            "national_period_count",
            sa.Integer(),
            nullable=False,
            comment="periods with both onshore and offshore wind figures",
        ),
        sa.Column(
            "onshore_wind_mwh",
            sa.Float(),
            nullable=False,
            comment="Σ AGWS onshore wind of those periods",
        ),
        sa.Column(
            "offshore_wind_mwh",
            sa.Float(),
            nullable=False,
            comment="Σ AGWS offshore wind of those periods",
        ),
        sa.Column(
            "unit_status", sa.String(24), comment="the date's B1610 fetch status (NULL: none)"
        ),
        sa.Column("unit_error", sa.Text(), comment="why the date's B1610 figures are missing"),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("summary_date", name=op.f("pk_generation_daily_summaries")),
        *_finite("generation_daily_summaries", "onshore_wind_mwh", "offshore_wind_mwh"),
    )
    op.create_table(
        "farm_generation_daily_summaries",
        sa.Column("summary_date", sa.Date(), nullable=False),
        sa.Column("farm_id", sa.String(64), nullable=False, comment="Elexon BM unit id"),
        sa.Column(
            "generated_mwh",
            sa.Float(),
            nullable=False,
            comment="Σ B1610 metered generation (MWh; negative = net import)",
        ),
        sa.Column(
            "period_count", sa.Integer(), nullable=False, comment="periods with a B1610 figure"
        ),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint(
            "summary_date", "farm_id", name=op.f("pk_farm_generation_daily_summaries")
        ),
        *_finite("farm_generation_daily_summaries", "generated_mwh"),
    )
    op.create_index(
        "ix_farm_generation_daily_summaries_date_cover",
        "farm_generation_daily_summaries",
        ["summary_date", "farm_id", "generated_mwh", "period_count"],
    )
    op.create_table(
        "farm_generation_monthly_summaries",
        sa.Column("year_month", sa.String(7), nullable=False),
        sa.Column("farm_id", sa.String(64), nullable=False, comment="Elexon BM unit id"),
        sa.Column(
            "generated_mwh", sa.Float(), nullable=False, comment="Σ of the month's farm-day rows"
        ),
        sa.Column(
            "period_count", sa.Integer(), nullable=False, comment="Σ of the month's farm-day rows"
        ),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint(
            "year_month", "farm_id", name=op.f("pk_farm_generation_monthly_summaries")
        ),
        *_finite("farm_generation_monthly_summaries", "generated_mwh"),
    )
    op.create_table(
        "stack_daily_summaries",
        sa.Column("summary_date", sa.Date(), nullable=False),
        sa.Column(
            "all_bids_curtailed_energy_mwh",
            sa.Float(),
            nullable=False,
            comment="−Σ volume of every wind bid-stack line with volume < 0, any soFlag (MWh, ≥ 0)",
        ),
        sa.Column("all_bids_line_count", sa.Integer(), nullable=False, comment="those lines"),
        sa.Column(
            "successful_period_count",
            sa.Integer(),
            nullable=False,
            comment="periods fetched_with_data or fetched_empty (the share's completeness check)",
        ),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("summary_date", name=op.f("pk_stack_daily_summaries")),
        *_finite("stack_daily_summaries", "all_bids_curtailed_energy_mwh"),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, column in TRACKED.items():
        for statement in (_postgresql if postgresql else _sqlite)(table, column):
            op.execute(statement)
    op.execute(
        "INSERT INTO stack_daily_summaries (summary_date, all_bids_curtailed_energy_mwh, "
        "all_bids_line_count, successful_period_count, updated_at) "
        "SELECT d.summary_date, "
        "COALESCE((SELECT -SUM(b.volume) FROM bid_stack_lines b "
        "WHERE b.settlement_date = d.summary_date AND b.volume < 0), 0) + 0.0, "
        "(SELECT COUNT(*) FROM bid_stack_lines b "
        "WHERE b.settlement_date = d.summary_date AND b.volume < 0), "
        "(SELECT COUNT(*) FROM settlement_periods p WHERE p.settlement_date = d.summary_date "
        "AND p.fetch_status IN ('fetched_with_data', 'fetched_empty')), "
        "CURRENT_TIMESTAMP FROM daily_summaries d"
    )


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
    op.drop_table("stack_daily_summaries")
    op.drop_table("farm_generation_monthly_summaries")
    op.drop_index(
        "ix_farm_generation_daily_summaries_date_cover",
        table_name="farm_generation_daily_summaries",
    )
    op.drop_table("farm_generation_daily_summaries")
    op.drop_table("generation_daily_summaries")
