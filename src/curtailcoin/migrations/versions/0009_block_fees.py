"""block_fees: transaction fees per block (or per time bucket) from mempool.space

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

``GET /api/v1/mining/blocks/fees/{period}`` answers ``[{avgHeight, timestamp, avgFees}]``: one
row per block for 24h and 3d, and per time bucket otherwise (mempool.space groups blocks by
``timestamp DIV width``, widths that divide a UTC day, so a bucket never spans two days). A row
is keyed by its resolution (1 = one block, else the bucket's width in seconds), height and time;
``fee_date`` is the UTC day of its time, written by the client so a day's lookup is one indexed
equality on both databases (no time-zone arithmetic in SQL).

Self-contained: no import of live module code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "block_fees",
        sa.Column(
            "resolution_s",
            sa.Integer(),
            nullable=False,
            comment="1 = one block (24h, 3d); else the width in s of mempool.space's time bucket",
        ),
        sa.Column(
            "avg_height",
            sa.Integer(),
            nullable=False,
            comment="the block's height, or the bucket's mean",
        ),
        sa.Column(
            "timestamp_utc",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="block time, or the bucket's mean time",
        ),
        sa.Column("fee_date", sa.Date(), nullable=False, comment="UTC day of timestamp_utc"),
        sa.Column(
            "avg_fees_sats",
            sa.BigInteger(),
            nullable=False,
            comment="fees of the block, or the bucket's mean fees per block (sats)",
        ),
        sa.Column(
            "period",
            sa.String(8),
            nullable=False,
            comment="the mempool.space period (24h … all) the row came from",
        ),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "resolution_s", "avg_height", "timestamp_utc", name=op.f("pk_block_fees")
        ),
        sa.CheckConstraint(
            "avg_fees_sats >= 0", name=op.f("ck_block_fees_avg_fees_sats_non_negative")
        ),
        sa.CheckConstraint("resolution_s >= 1", name=op.f("ck_block_fees_resolution_s_positive")),
    )
    op.create_index("ix_block_fees_fee_date", "block_fees", ["fee_date", "resolution_s"])


def downgrade() -> None:
    op.drop_index("ix_block_fees_fee_date", table_name="block_fees")
    op.drop_table("block_fees")
