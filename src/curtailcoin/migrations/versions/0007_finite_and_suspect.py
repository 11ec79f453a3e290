"""finite figures and the drift guard: CHECK constraints, suspect_dates

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Every stored figure of the base tables, the headline summaries and the prices must be a finite
number: a ``CHECK (col BETWEEN -1.797…e308 AND 1.797…e308)`` per column rejects ±inf on both
databases and NaN on PostgreSQL (SQLite stores NaN as NULL). Rows a database already holds with a
non-finite figure (an earlier parser let NaN and ±inf through) cannot satisfy the check: their
periods are removed and marked ``failed`` with the reason, so reconciliation refetches them,
and the day's summaries are removed with them (rebuilt when the date is reingested).

``suspect_dates`` holds what the drift guard refused to apply (see ``docs/reconciliation.md``).
The column comments that 0005 and 0006 left out are set (PostgreSQL keeps comments), so the
migrated schema equals ``curtailcoin.db.schema.metadata``.

Self-contained: no import of live module code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

FINITE_MAX = "1.7976931348623157e308"

FINITE_COLUMNS: dict[str, tuple[str, ...]] = {
    "btc_prices": ("price",),
    "settlement_periods": (
        "curtailed_energy_mwh",
        "payment_gbp",
        "difficulty",
        "block_subsidy_btc",
    ),
    "bid_stack_lines": (
        "reserve_scarcity_price",
        "original_price",
        "volume",
        "dmat_adjusted_volume",
        "arbitrage_adjusted_volume",
        "niv_adjusted_volume",
        "par_adjusted_volume",
        "final_price",
        "transmission_loss_multiplier",
        "tlm_adjusted_volume",
        "tlm_adjusted_cost",
    ),
    "curtailment_records": ("volume", "payment", "original_price", "final_price"),
    "historical_bitcoin_calculations": (
        "curtailed_energy_mwh",
        "difficulty",
        "block_subsidy_btc",
        "hashrate_th",
        "power_w",
        "bitcoin_mined",
    ),
    "daily_summaries": ("total_curtailed_energy", "total_payment"),
    "monthly_summaries": ("total_curtailed_energy", "total_payment"),
    "yearly_summaries": ("total_curtailed_energy", "total_payment"),
    "bitcoin_daily_summaries": ("bitcoin_mined", "curtailed_energy_mwh"),
    "bitcoin_monthly_summaries": ("bitcoin_mined", "curtailed_energy_mwh"),
    "bitcoin_yearly_summaries": ("bitcoin_mined", "curtailed_energy_mwh"),
}

#: Column comments of the schema that earlier migrations did not set (PostgreSQL only).
COMMENTS: tuple[tuple[str, str, str], ...] = (
    (
        "settlement_periods",
        "fetch_status",
        "fetched_with_data | fetched_empty | fetched_incomplete | missing | failed",
    ),
    ("bitcoin_farm_daily_summaries", "curtailed_energy_mwh", "MWh the BTC figure covers"),
    ("bitcoin_farm_monthly_summaries", "curtailed_energy_mwh", "MWh the BTC figure covers"),
    (
        "bitcoin_farm_monthly_summaries",
        "value_gbp",
        "Σ over dates with a BTC/GBP price of the farm-day BTC × that price",
    ),
    ("bitcoin_farm_monthly_summaries", "unpriced_btc", "BTC of dates without a GBP price"),
    ("farm_daily_summaries", "farm_id", "Elexon BM unit id"),
    ("farm_daily_summaries", "curtailed_energy_mwh", "MWh, positive"),
    ("farm_daily_summaries", "payment_gbp", "£ paid to the farm (signed)"),
    (
        "farm_daily_summaries",
        "btc_per_th_per_w",
        "Σ over periods with known conditions of E × 3.6e9 × 1e12 / (D × 2^32) × R; "
        "a model's BTC = hashrate_th / power_w × this",
    ),
    (
        "farm_daily_summaries",
        "pending_energy_mwh",
        "MWh in periods whose difficulty (or subsidy) is not known yet",
    ),
    ("farm_monthly_summaries", "farm_id", "Elexon BM unit id"),
    (
        "farm_monthly_summaries",
        "lead_party_name",
        "the smallest lead party name of the month's rows",
    ),
    ("farm_monthly_summaries", "curtailed_energy_mwh", "MWh, positive"),
    ("farm_monthly_summaries", "payment_gbp", "£ paid to the farm (signed)"),
    ("farm_monthly_summaries", "btc_per_th_per_w", "Σ of the farm-day factor"),
    (
        "farm_monthly_summaries",
        "btc_per_th_per_w_gbp",
        "Σ over dates with a BTC/GBP price of the farm-day factor × that price; "
        "a model's £ value = hashrate_th / power_w × this",
    ),
    (
        "farm_monthly_summaries",
        "unpriced_btc_per_th_per_w",
        "Σ of the farm-day factor over dates without a BTC/GBP price",
    ),
    ("farm_monthly_summaries", "first_unpriced_date", "first date with Bitcoin and no GBP price"),
)

# Tables keyed by settlement date and period, and the date column of each summary.
_PERIOD_TABLES = ("bid_stack_lines", "curtailment_records", "historical_bitcoin_calculations")
_DAY_TABLES = {"daily_summaries": "summary_date", "bitcoin_daily_summaries": "summary_date"}


def _finite(column: str) -> str:
    return f"{column} BETWEEN -{FINITE_MAX} AND {FINITE_MAX}"


def _not_finite(column: str) -> str:
    # NaN fails the BETWEEN on PostgreSQL; on SQLite it is already NULL.
    return f"({column} IS NOT NULL AND NOT ({_finite(column)}))"


def _purge_non_finite() -> None:
    """Remove the periods (and day summaries) that hold a non-finite figure; mark them failed."""
    bind = op.get_bind()
    bad: set[tuple[object, int]] = set()
    for table in (*_PERIOD_TABLES, "settlement_periods"):
        where = " OR ".join(_not_finite(c) for c in FINITE_COLUMNS[table])
        rows = bind.execute(
            sa.text(
                f"SELECT DISTINCT settlement_date, settlement_period FROM {table} WHERE {where}"
            )
        ).all()
        bad.update((row[0], int(row[1])) for row in rows)
    for date_value, period in sorted(bad, key=lambda dp: (str(dp[0]), dp[1])):
        key = {"d": date_value, "p": period}
        for table in _PERIOD_TABLES:
            bind.execute(
                sa.text(
                    f"DELETE FROM {table} WHERE settlement_date = :d AND settlement_period = :p"
                ),
                key,
            )
        bind.execute(
            sa.text(
                "UPDATE settlement_periods SET fetch_status = 'failed', record_count = 0, "
                "wind_line_count = 0, stack_line_count = 0, curtailed_energy_mwh = 0, "
                "payment_gbp = 0, error = :e WHERE settlement_date = :d AND settlement_period = :p"
            ),
            {**key, "e": "non-finite figure removed by migration 0007: reingest the date"},
        )
        for table, column in _DAY_TABLES.items():
            bind.execute(sa.text(f"DELETE FROM {table} WHERE {column} = :d"), {"d": date_value})
    # Roll-ups and prices hold no period: a non-finite row there is removed (rebuilt, refetched).
    for table in (
        "monthly_summaries",
        "yearly_summaries",
        "bitcoin_monthly_summaries",
        "bitcoin_yearly_summaries",
        "btc_prices",
    ):
        where = " OR ".join(_not_finite(c) for c in FINITE_COLUMNS[table])
        bind.execute(sa.text(f"DELETE FROM {table} WHERE {where}"))


def upgrade() -> None:
    _purge_non_finite()
    for table, columns in FINITE_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.create_check_constraint(
                    op.f(f"ck_{table}_{column}_finite"), sa.text(_finite(column))
                )
    op.create_table(
        "suspect_dates",
        sa.Column("settlement_date", sa.Date(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "reason", sa.Text(), nullable=False, comment="what the held answer would have changed"
        ),
        sa.Column(
            "periods", sa.Text(), comment="the periods compared, comma-separated; NULL = whole date"
        ),
        sa.Column("stored_records", sa.Integer(), nullable=False),
        sa.Column("stored_curtailed_energy_mwh", sa.Float(), nullable=False),
        sa.Column("stored_payment_gbp", sa.Float(), nullable=False),
        sa.Column("fetched_records", sa.Integer(), nullable=False),
        sa.Column("fetched_curtailed_energy_mwh", sa.Float(), nullable=False),
        sa.Column("fetched_payment_gbp", sa.Float(), nullable=False),
        sa.Column(
            "detected_by",
            sa.String(32),
            nullable=False,
            comment="reingest | reconcile | worker | …",
        ),
        sa.PrimaryKeyConstraint("settlement_date", name=op.f("pk_suspect_dates")),
        *(
            sa.CheckConstraint(_finite(c), name=op.f(f"ck_suspect_dates_{c}_finite"))
            for c in (
                "stored_curtailed_energy_mwh",
                "stored_payment_gbp",
                "fetched_curtailed_energy_mwh",
                "fetched_payment_gbp",
            )
        ),
    )

    if op.get_bind().dialect.name == "postgresql":
        for table, column, comment in COMMENTS:
            op.alter_column(table, column, comment=comment)


def downgrade() -> None:
    op.drop_table("suspect_dates")
    for table, columns in FINITE_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_constraint(f"ck_{table}_{column}_finite", type_="check")
