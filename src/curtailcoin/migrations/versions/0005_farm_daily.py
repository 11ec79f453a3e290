"""farm-day summaries: per BM unit and date, for month/year per-farm aggregates

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-29

``farm_daily_summaries`` (curtailment per farm-day, with the model-independent BTC factor
``btc_per_th_per_w`` and the energy of pending periods) and ``bitcoin_farm_daily_summaries``
(the tracked calculations per farm-day and model). Maintained by ``curtailcoin.summaries``; this
migration creates them empty and fills them from the base rows already stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "farm_daily_summaries",
        sa.Column("summary_date", sa.Date(), nullable=False),
        sa.Column("farm_id", sa.String(64), nullable=False),
        sa.Column("lead_party_name", sa.Text()),
        sa.Column("curtailed_energy_mwh", sa.Float(), nullable=False),
        sa.Column("payment_gbp", sa.Float(), nullable=False),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("btc_per_th_per_w", sa.Float(), nullable=False),
        sa.Column("pending_energy_mwh", sa.Float(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("summary_date", "farm_id", name=op.f("pk_farm_daily_summaries")),
    )
    # Covering: a year of one lead party, or of every farm, is an index-only scan.
    values = [
        "farm_id",
        "curtailed_energy_mwh",
        "payment_gbp",
        "record_count",
        "btc_per_th_per_w",
        "pending_energy_mwh",
    ]
    op.create_index(
        "ix_farm_daily_summaries_lead_party_date",
        "farm_daily_summaries",
        ["lead_party_name", "summary_date", *values],
    )
    op.create_index(
        "ix_farm_daily_summaries_date",
        "farm_daily_summaries",
        ["summary_date", "lead_party_name", *values],
    )
    op.create_table(
        "bitcoin_farm_daily_summaries",
        sa.Column("summary_date", sa.Date(), nullable=False),
        sa.Column("farm_id", sa.String(64), nullable=False),
        sa.Column("miner_model", sa.String(32), nullable=False),
        sa.Column("bitcoin_mined", sa.Float(), nullable=False),
        sa.Column("curtailed_energy_mwh", sa.Float(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint(
            "summary_date", "farm_id", "miner_model", name=op.f("pk_bitcoin_farm_daily_summaries")
        ),
    )
    op.create_index(
        "ix_bitcoin_farm_daily_summaries_model_date",
        "bitcoin_farm_daily_summaries",
        ["miner_model", "summary_date", "farm_id", "bitcoin_mined", "curtailed_energy_mwh"],
    )
    _backfill()


def _backfill() -> None:
    """Fill both tables from rows already stored (one date at a time, as the rebuilds do)."""
    bind = op.get_bind()
    dates = [
        row[0]
        for row in bind.execute(
            sa.text("SELECT DISTINCT settlement_date FROM curtailment_records ORDER BY 1")
        )
    ]
    if not dates:
        return
    from curtailcoin.summaries import rebuild_bitcoin_farm_daily, rebuild_farm_daily

    for day in dates:
        if not hasattr(day, "isoformat"):
            from datetime import date

            day = date.fromisoformat(str(day)[:10])
        rebuild_farm_daily(bind, day)
        models = [
            row[0]
            for row in bind.execute(
                sa.text(
                    "SELECT DISTINCT miner_model FROM historical_bitcoin_calculations "
                    "WHERE settlement_date = :d"
                ),
                {"d": day},
            )
        ]
        rebuild_bitcoin_farm_daily(bind, day, models)


def downgrade() -> None:
    op.drop_index(
        "ix_bitcoin_farm_daily_summaries_model_date", table_name="bitcoin_farm_daily_summaries"
    )
    op.drop_table("bitcoin_farm_daily_summaries")
    op.drop_index("ix_farm_daily_summaries_date", table_name="farm_daily_summaries")
    op.drop_index("ix_farm_daily_summaries_lead_party_date", table_name="farm_daily_summaries")
    op.drop_table("farm_daily_summaries")
