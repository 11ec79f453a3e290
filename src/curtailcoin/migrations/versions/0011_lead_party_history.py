"""lead party history: each BM unit's lead party from each registry listing, with valid-from

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

A BM unit's lead party can change (T_CRDEW-1: "Crossdykes WF Limited" in the January 2025 list,
"EDF Energy Customers Limited" in a later one). ``bm_units`` keeps only the latest listing; this
table keeps every lead party a listing showed, in force from ``valid_from``, so each record is
attributed to the lead party of its settlement date. The table is filled (and the stored records
re-attributed) by ``curtailcoin.lead_parties.ensure_history`` on the next preparation of the
database, not here.

Self-contained: no import of live module code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bm_unit_lead_parties",
        sa.Column("bm_unit_id", sa.String(64), nullable=False, comment="Elexon BM unit id"),
        sa.Column(
            "valid_from",
            sa.Date(),
            nullable=False,
            comment="first settlement date in force (the unit's first row: the first settlement "
            "date)",
        ),
        sa.Column(
            "lead_party_name", sa.Text(), comment="as listed (NULL when the listing had none)"
        ),
        sa.Column("lead_party_id", sa.String(32)),
        sa.Column(
            "first_seen_at",
            TZ,
            nullable=False,
            comment="the listing that first showed this lead party",
        ),
        sa.Column(
            "last_seen_at", TZ, nullable=False, comment="the latest listing that confirmed it"
        ),
        sa.Column("source", sa.String(64), nullable=False, comment="list:<date> | snapshot | api"),
        sa.PrimaryKeyConstraint("bm_unit_id", "valid_from", name=op.f("pk_bm_unit_lead_parties")),
    )


def downgrade() -> None:
    op.drop_table("bm_unit_lead_parties")
