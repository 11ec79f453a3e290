"""Summaries (always equal to the sums of their base rows)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from curtailcoin.db import fields as F
from curtailcoin.db.metadata import TZ, finite, metadata

BTC_UNCOMMENTED = F.BITCOIN.column_args(commented=False)
COVERED_UNCOMMENTED = F.COVERED_ENERGY.column_args(commented=False)


def _headline() -> list[Column[float]]:
    """The seed's headline columns under their SPEC §6 names, with Python keys that carry the
    units (``daily_summaries.c.curtailed_energy_mwh`` is SQL's ``total_curtailed_energy``)."""
    return [
        Column(
            "total_curtailed_energy",
            Float,
            nullable=False,
            key=F.CURTAILED_ENERGY.name,
            **F.CURTAILED_ENERGY.column_args(),
        ),
        Column(
            "total_payment",
            Float,
            nullable=False,
            key=F.TOTAL_PAYMENT.name,
            **F.TOTAL_PAYMENT.column_args(),
        ),
    ]


daily_summaries = Table(
    "daily_summaries",
    metadata,
    Column("summary_date", Date, primary_key=True),
    *_headline(),
    Column("record_count", Integer, nullable=False, **F.RECORD_COUNT.column_args()),
    Column("farm_count", Integer, nullable=False, **F.FARM_COUNT.column_args()),
    Column("updated_at", TZ, nullable=False),
    *finite("total_curtailed_energy", "total_payment"),
)

monthly_summaries = Table(
    "monthly_summaries",
    metadata,
    Column("year_month", String(7), primary_key=True),
    *_headline(),
    Column("record_count", Integer, nullable=False, **F.RECORD_COUNT.column_args()),
    Column("farm_count", Integer, nullable=False, **F.FARM_COUNT.column_args()),
    Column("updated_at", TZ, nullable=False),
    *finite("total_curtailed_energy", "total_payment"),
)

yearly_summaries = Table(
    "yearly_summaries",
    metadata,
    Column("year", String(4), primary_key=True),
    *_headline(),
    Column("record_count", Integer, nullable=False, **F.RECORD_COUNT.column_args()),
    Column("farm_count", Integer, nullable=False, **F.FARM_COUNT.column_args()),
    Column("updated_at", TZ, nullable=False),
    *finite("total_curtailed_energy", "total_payment"),
)

bitcoin_daily_summaries = Table(
    "bitcoin_daily_summaries",
    metadata,
    Column("summary_date", Date, nullable=False),
    Column("miner_model", String(32), nullable=False),
    Column("bitcoin_mined", Float, nullable=False, key="bitcoin_mined_btc", **BTC_UNCOMMENTED),
    Column("curtailed_energy_mwh", Float, nullable=False, **COVERED_UNCOMMENTED),
    Column("updated_at", TZ, nullable=False),
    PrimaryKeyConstraint("summary_date", "miner_model"),
    *finite("bitcoin_mined", "curtailed_energy_mwh"),
)

bitcoin_monthly_summaries = Table(
    "bitcoin_monthly_summaries",
    metadata,
    Column("year_month", String(7), nullable=False),
    Column("miner_model", String(32), nullable=False),
    Column("bitcoin_mined", Float, nullable=False, key="bitcoin_mined_btc", **BTC_UNCOMMENTED),
    Column("curtailed_energy_mwh", Float, nullable=False, **COVERED_UNCOMMENTED),
    Column("updated_at", TZ, nullable=False),
    PrimaryKeyConstraint("year_month", "miner_model"),
    *finite("bitcoin_mined", "curtailed_energy_mwh"),
)

bitcoin_yearly_summaries = Table(
    "bitcoin_yearly_summaries",
    metadata,
    Column("year", String(4), nullable=False),
    Column("miner_model", String(32), nullable=False),
    Column("bitcoin_mined", Float, nullable=False, key="bitcoin_mined_btc", **BTC_UNCOMMENTED),
    Column("curtailed_energy_mwh", Float, nullable=False, **COVERED_UNCOMMENTED),
    Column("updated_at", TZ, nullable=False),
    PrimaryKeyConstraint("year", "miner_model"),
    *finite("bitcoin_mined", "curtailed_energy_mwh"),
)

# --- Per-farm-day summaries (migration 0005) ------------------------------------------------
# Month- and year-scoped per-farm / per-lead-party aggregates of the API read these instead of
# ~330k records and ~240k calculation rows a year. Rebuilt with the other summaries.

farm_daily_summaries = Table(
    "farm_daily_summaries",
    metadata,
    Column("summary_date", Date, nullable=False),
    Column("farm_id", String(64), nullable=False, **F.BM_UNIT.column_args()),
    Column("lead_party_name", Text, **F.LEAD_PARTY.column_args()),
    Column("curtailed_energy_mwh", Float, nullable=False, **F.CURTAILED_ENERGY.column_args()),
    Column("payment_gbp", Float, nullable=False, **F.PAYMENT.column_args()),
    Column("record_count", Integer, nullable=False, **F.RECORD_COUNT.column_args()),
    Column(
        "btc_per_th_per_w",
        Float,
        nullable=False,
        **F.BTC_PER_TH_PER_W.column_args(),
    ),
    Column(
        "pending_energy_mwh",
        Float,
        nullable=False,
        **F.PENDING_ENERGY.column_args(),
    ),
    Column("updated_at", TZ, nullable=False),
    PrimaryKeyConstraint("summary_date", "farm_id"),
)

# Covering indexes: a year of one lead party, or a year of every farm, is an index-only scan.
_FARM_DAY_VALUES = (
    "farm_id",
    "curtailed_energy_mwh",
    "payment_gbp",
    "record_count",
    "btc_per_th_per_w",
    "pending_energy_mwh",
)
Index(
    "ix_farm_daily_summaries_lead_party_date",
    *(farm_daily_summaries.c[n] for n in ("lead_party_name", "summary_date", *_FARM_DAY_VALUES)),
)
Index(
    "ix_farm_daily_summaries_date",
    *(farm_daily_summaries.c[n] for n in ("summary_date", "lead_party_name", *_FARM_DAY_VALUES)),
)

bitcoin_farm_daily_summaries = Table(
    "bitcoin_farm_daily_summaries",
    metadata,
    Column("summary_date", Date, nullable=False),
    Column("farm_id", String(64), nullable=False, **F.BM_UNIT.column_args(commented=False)),
    Column("miner_model", String(32), nullable=False),
    Column("bitcoin_mined", Float, nullable=False, key="bitcoin_mined_btc", **BTC_UNCOMMENTED),
    Column("curtailed_energy_mwh", Float, nullable=False, **F.COVERED_ENERGY.column_args()),
    Column("updated_at", TZ, nullable=False),
    PrimaryKeyConstraint("summary_date", "farm_id", "miner_model"),
    # Covering, per model and BM unit (migration 0006): a lead party's or a BM unit's year.
    Index(
        "ix_bitcoin_farm_daily_summaries_model_farm",
        "miner_model",
        "farm_id",
        "summary_date",
        "bitcoin_mined_btc",
        "curtailed_energy_mwh",
    ),
)

# --- Per-farm-month roll-ups (migration 0006) -----------------------------------------------
# Month- and year-scoped per-farm views without a lead-party filter read ~200 rows a month here
# instead of ~6,000 farm-day rows. Each row also carries the value at each date's BTC/GBP price
# (Σ over the month's dates of the day's figure × that date's price), so a month is rebuilt
# when one of its dates is rewritten and when one of its GBP prices changes
# (``curtailcoin.farm_months``).

farm_monthly_summaries = Table(
    "farm_monthly_summaries",
    metadata,
    Column("year_month", String(7), nullable=False),
    Column("farm_id", String(64), nullable=False, **F.BM_UNIT.column_args()),
    Column("lead_party_name", Text, **F.MONTH_LEAD_PARTY.column_args()),
    Column("curtailed_energy_mwh", Float, nullable=False, **F.CURTAILED_ENERGY.column_args()),
    Column("payment_gbp", Float, nullable=False, **F.PAYMENT.column_args()),
    Column("record_count", Integer, nullable=False, **F.RECORD_COUNT.column_args()),
    Column("btc_per_th_per_w", Float, nullable=False, **F.MONTH_BTC_PER_TH_PER_W.column_args()),
    Column(
        "pending_energy_mwh", Float, nullable=False, **F.PENDING_ENERGY.column_args(commented=False)
    ),
    Column(
        "btc_per_th_per_w_gbp",
        Float,
        nullable=False,
        **F.BTC_PER_TH_PER_W_GBP.column_args(),
    ),
    Column(
        "unpriced_btc_per_th_per_w",
        Float,
        nullable=False,
        **F.UNPRICED_BTC_PER_TH_PER_W.column_args(),
    ),
    Column("first_unpriced_date", Date, comment="first date with Bitcoin and no GBP price"),
    Column("last_unpriced_date", Date),
    Column("updated_at", TZ, nullable=False),
    PrimaryKeyConstraint("year_month", "farm_id"),
)

bitcoin_farm_monthly_summaries = Table(
    "bitcoin_farm_monthly_summaries",
    metadata,
    Column("miner_model", String(32), nullable=False),
    Column("year_month", String(7), nullable=False),
    Column("farm_id", String(64), nullable=False, **F.BM_UNIT.column_args(commented=False)),
    Column("bitcoin_mined", Float, nullable=False, key="bitcoin_mined_btc", **BTC_UNCOMMENTED),
    Column("curtailed_energy_mwh", Float, nullable=False, **F.COVERED_ENERGY.column_args()),
    Column(
        "value_gbp",
        Float,
        nullable=False,
        **F.VALUE_GBP.column_args(),
    ),
    Column("unpriced_btc", Float, nullable=False, **F.UNPRICED_BITCOIN.column_args()),
    Column("first_unpriced_date", Date),
    Column("last_unpriced_date", Date),
    Column("updated_at", TZ, nullable=False),
    PrimaryKeyConstraint("miner_model", "year_month", "farm_id"),
)
