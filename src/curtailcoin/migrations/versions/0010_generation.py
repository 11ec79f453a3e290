"""generation: national wind (AGWS), metered generation per BM unit (B1610), their fetches

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

The denominator of the curtailment share. Energy per settlement period in MWh (AGWS's MW × 0.5 h;
B1610's MWh as published); ``generation_fetches`` records each date's fetch of each dataset with
its status and reason, as ``settlement_periods`` does for the stack.

Self-contained: no import of live module code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "generation_fetches",
        sa.Column("settlement_date", sa.Date(), nullable=False),
        sa.Column(
            "dataset",
            sa.String(16),
            nullable=False,
            comment="AGWS (national wind) | B1610 (per BM unit)",
        ),
        sa.Column(
            "fetch_status",
            sa.String(24),
            nullable=False,
            comment="fetched_with_data | fetched_empty | fetched_incomplete | missing | failed",
        ),
        sa.Column("period_count", sa.Integer(), nullable=False, comment="periods with a figure"),
        sa.Column("row_count", sa.Integer(), nullable=False, comment="rows stored for the date"),
        sa.Column("fetched_at", TZ),
        sa.Column("source_published_at", TZ, comment="latest publishTime among the date's rows"),
        sa.Column("error", sa.Text(), comment="why the date's figures are missing or incomplete"),
        sa.PrimaryKeyConstraint("settlement_date", "dataset", name=op.f("pk_generation_fetches")),
    )
    op.create_table(
        "national_wind_generation",
        sa.Column("settlement_date", sa.Date(), nullable=False),
        sa.Column("settlement_period", sa.Integer(), nullable=False),
        sa.Column(
            "onshore_wind_mwh", sa.Float(), comment="AGWS Wind Onshore, MW × 0.5 h (MWh, ≥ 0)"
        ),
        sa.Column(
            "offshore_wind_mwh", sa.Float(), comment="AGWS Wind Offshore, MW × 0.5 h (MWh, ≥ 0)"
        ),
        sa.Column("published_at", TZ, comment="AGWS publishTime"),
        sa.Column("fetched_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint(
            "settlement_date", "settlement_period", name=op.f("pk_national_wind_generation")
        ),
    )
    op.create_table(
        "farm_generation",
        sa.Column("settlement_date", sa.Date(), nullable=False),
        sa.Column("settlement_period", sa.Integer(), nullable=False),
        sa.Column("farm_id", sa.String(64), nullable=False, comment="Elexon BM unit id (bmUnit)"),
        sa.Column(
            "metered_generation_mwh",
            sa.Float(),
            nullable=False,
            comment="B1610 quantity: metered output in the period (MWh; negative = net import)",
        ),
        sa.Column("fetched_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint(
            "settlement_date", "settlement_period", "farm_id", name=op.f("pk_farm_generation")
        ),
    )
    op.create_index(
        "ix_farm_generation_farm_date", "farm_generation", ["farm_id", "settlement_date"]
    )


def downgrade() -> None:
    op.drop_index("ix_farm_generation_farm_date", table_name="farm_generation")
    op.drop_table("farm_generation")
    op.drop_table("national_wind_generation")
    op.drop_table("generation_fetches")
