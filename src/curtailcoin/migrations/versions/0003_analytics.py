"""analytics: covering indexes for the API's range aggregates

Revision ID: 0003
Revises: 0004
Create Date: 2026-11-28

Date-range and lead-party aggregates of ``curtailment_records`` and per-model aggregates of
``historical_bitcoin_calculations`` read only these indexes (PostgreSQL index-only scans).
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_curtailment_records_date_cover",
        "curtailment_records",
        [
            "settlement_date",
            "settlement_period",
            "farm_id",
            "lead_party_name",
            "volume",
            "payment",
        ],
    )
    op.create_index(
        "ix_curtailment_records_lead_party_cover",
        "curtailment_records",
        [
            "lead_party_name",
            "settlement_date",
            "settlement_period",
            "farm_id",
            "volume",
            "payment",
        ],
    )
    op.create_index(
        "ix_hbc_model_date_cover",
        "historical_bitcoin_calculations",
        [
            "miner_model",
            "settlement_date",
            "farm_id",
            "settlement_period",
            "bitcoin_mined",
            "curtailed_energy_mwh",
        ],
    )
    op.create_index(
        "ix_hbc_model_farm_cover",
        "historical_bitcoin_calculations",
        [
            "miner_model",
            "farm_id",
            "settlement_date",
            "settlement_period",
            "bitcoin_mined",
            "curtailed_energy_mwh",
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_hbc_model_farm_cover", table_name="historical_bitcoin_calculations")
    op.drop_index("ix_hbc_model_date_cover", table_name="historical_bitcoin_calculations")
    op.drop_index("ix_curtailment_records_lead_party_cover", table_name="curtailment_records")
    op.drop_index("ix_curtailment_records_date_cover", table_name="curtailment_records")
