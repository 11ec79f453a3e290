"""per-farm-month roll-ups with the value at each date's price; status covering index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

``farm_monthly_summaries`` and ``bitcoin_farm_monthly_summaries`` roll the farm-day summaries up
per BM unit and month, with Σ figure × that date's BTC/GBP price over the priced dates and the
figure of the unpriced ones (``curtailcoin.farm_months``); this migration creates them and fills
them from the farm-day rows and prices already stored. ``ix_settlement_periods_status_cover``
lets a scope's fetch status and difficulty range be read from an index alone; the covering index
of ``bitcoin_farm_daily_summaries`` is reordered to (model, BM unit, date).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "farm_monthly_summaries",
        sa.Column("year_month", sa.String(7), nullable=False),
        sa.Column("farm_id", sa.String(64), nullable=False),
        sa.Column("lead_party_name", sa.Text()),
        sa.Column("curtailed_energy_mwh", sa.Float(), nullable=False),
        sa.Column("payment_gbp", sa.Float(), nullable=False),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("btc_per_th_per_w", sa.Float(), nullable=False),
        sa.Column("pending_energy_mwh", sa.Float(), nullable=False),
        sa.Column("btc_per_th_per_w_gbp", sa.Float(), nullable=False),
        sa.Column("unpriced_btc_per_th_per_w", sa.Float(), nullable=False),
        sa.Column("first_unpriced_date", sa.Date()),
        sa.Column("last_unpriced_date", sa.Date()),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("year_month", "farm_id", name=op.f("pk_farm_monthly_summaries")),
    )
    op.create_table(
        "bitcoin_farm_monthly_summaries",
        sa.Column("miner_model", sa.String(32), nullable=False),
        sa.Column("year_month", sa.String(7), nullable=False),
        sa.Column("farm_id", sa.String(64), nullable=False),
        sa.Column("bitcoin_mined", sa.Float(), nullable=False),
        sa.Column("curtailed_energy_mwh", sa.Float(), nullable=False),
        sa.Column("value_gbp", sa.Float(), nullable=False),
        sa.Column("unpriced_btc", sa.Float(), nullable=False),
        sa.Column("first_unpriced_date", sa.Date()),
        sa.Column("last_unpriced_date", sa.Date()),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint(
            "miner_model",
            "year_month",
            "farm_id",
            name=op.f("pk_bitcoin_farm_monthly_summaries"),
        ),
    )
    op.create_index(
        "ix_settlement_periods_status_cover",
        "settlement_periods",
        [
            "settlement_date",
            "fetch_status",
            "record_count",
            "difficulty",
            "block_subsidy_btc",
            "fetched_at",
            "curtailed_energy_mwh",
        ],
    )
    # Per model and BM unit first: month and year views of every BM unit read the roll-ups now;
    # a lead party's or a BM unit's year reads its BM units' rows.
    op.drop_index(
        "ix_bitcoin_farm_daily_summaries_model_date", table_name="bitcoin_farm_daily_summaries"
    )
    op.create_index(
        "ix_bitcoin_farm_daily_summaries_model_farm",
        "bitcoin_farm_daily_summaries",
        ["miner_model", "farm_id", "summary_date", "bitcoin_mined", "curtailed_energy_mwh"],
    )
    from curtailcoin.farm_months import months_with_farm_days, rebuild_months

    bind = op.get_bind()
    rebuild_months(bind, months_with_farm_days(bind))


def downgrade() -> None:
    op.drop_index(
        "ix_bitcoin_farm_daily_summaries_model_farm", table_name="bitcoin_farm_daily_summaries"
    )
    op.create_index(
        "ix_bitcoin_farm_daily_summaries_model_date",
        "bitcoin_farm_daily_summaries",
        ["miner_model", "summary_date", "farm_id", "bitcoin_mined", "curtailed_energy_mwh"],
    )
    op.drop_index("ix_settlement_periods_status_cover", table_name="settlement_periods")
    op.drop_table("bitcoin_farm_monthly_summaries")
    op.drop_table("farm_monthly_summaries")
