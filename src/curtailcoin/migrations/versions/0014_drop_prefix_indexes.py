"""drop the three indexes that are prefixes of covering indexes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

``ix_hbc_model_date`` (model, date) is the prefix of ``ix_hbc_model_date_cover``;
``ix_curtailment_records_date_period_farm`` (date, period, farm) of
``ix_curtailment_records_date_cover``; ``ix_curtailment_records_lead_party_date`` (lead party,
date) of ``ix_curtailment_records_lead_party_cover``. Any search one of them serves, the
covering index serves too (and without a visit to the table), while every row written or deleted
paid for one more B-tree: a heavy day's ~21,000 calculations and ~7,000 records (issue 11, the
write path).

Self-contained: no import of live module code.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

#: index → (table, columns), as 0001 created them
DROPPED = {
    "ix_hbc_model_date": ("historical_bitcoin_calculations", ["miner_model", "settlement_date"]),
    "ix_curtailment_records_date_period_farm": (
        "curtailment_records",
        ["settlement_date", "settlement_period", "farm_id"],
    ),
    "ix_curtailment_records_lead_party_date": (
        "curtailment_records",
        ["lead_party_name", "settlement_date"],
    ),
}


def upgrade() -> None:
    for name, (table, _) in DROPPED.items():
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, (table, columns) in DROPPED.items():
        op.create_index(name, table, columns)
