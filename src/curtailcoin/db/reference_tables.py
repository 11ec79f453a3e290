"""Reference data: BM units, difficulty epochs, halvings, miner models, prices, block fees."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
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

bm_units = Table(
    "bm_units",
    metadata,
    Column("elexon_bm_unit", String(64), primary_key=True),
    Column("national_grid_bm_unit", String(64)),
    Column("bm_unit_name", Text),
    Column("fuel_type", String(32)),
    Column("lead_party_name", Text),
    Column("lead_party_id", String(32)),
    Column("bm_unit_type", String(8)),
    Column("generation_capacity_mw", Float, **F.GENERATION_CAPACITY.column_args()),
    Column("is_wind", Boolean, nullable=False, comment="ever seen with fuelType WIND"),
    Column("first_seen_at", TZ, nullable=False),
    Column("last_seen_at", TZ, nullable=False),
    Column("source", String(32), nullable=False, comment="snapshot | api"),
)

#: Lead parties over time (migration 0011): each listing of the registry (a shipped list, the
#: snapshot, every API refresh) that shows a unit under a new lead party opens a row in force from
#: ``valid_from``; records are attributed to the row in force on their settlement date.
bm_unit_lead_parties = Table(
    "bm_unit_lead_parties",
    metadata,
    Column("bm_unit_id", String(64), nullable=False, comment="Elexon BM unit id"),
    Column(
        "valid_from",
        Date,
        nullable=False,
        comment="first settlement date in force (the unit's first row: the first settlement date)",
    ),
    Column("lead_party_name", Text, comment="as listed (NULL when the listing had none)"),
    Column("lead_party_id", String(32)),
    Column(
        "first_seen_at", TZ, nullable=False, comment="the listing that first showed this lead party"
    ),
    Column("last_seen_at", TZ, nullable=False, comment="the latest listing that confirmed it"),
    Column("source", String(64), nullable=False, comment="list:<date> | snapshot | api"),
    PrimaryKeyConstraint("bm_unit_id", "valid_from"),
)

difficulty_epochs = Table(
    "difficulty_epochs",
    metadata,
    Column("epoch", Integer, primary_key=True, autoincrement=False),
    Column("start_height", Integer, nullable=False),
    Column("start_time_utc", TZ, comment="NULL when unknown"),
    Column("start_time_source", String(64), nullable=False),
    Column("difficulty", Float, nullable=False, **F.DIFFICULTY.column_args(commented=False)),
    Column("updated_at", TZ, nullable=False),
)

halvings = Table(
    "halvings",
    metadata,
    Column("height", Integer, primary_key=True, autoincrement=False),
    Column("time_utc", TZ, comment="NULL for a future halving"),
    Column(
        "subsidy_after_btc", Float, nullable=False, **F.BLOCK_SUBSIDY.column_args(commented=False)
    ),
    Column("status", String(32), nullable=False),
)

miner_models = Table(
    "miner_models",
    metadata,
    Column("model_key", String(32), primary_key=True),
    Column("manufacturer", String(64), nullable=False),
    Column("model_name", String(64), nullable=False),
    Column("hashrate_th", Float, nullable=False, **F.HASHRATE.column_args()),
    Column("power_w", Float, nullable=False, **F.POWER.column_args()),
    Column("efficiency_j_per_th", Float, nullable=False, **F.EFFICIENCY.column_args()),
    Column("release_year", Integer),
    Column("is_custom", Boolean, nullable=False, default=False),
)

source_refreshes = Table(
    "source_refreshes",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("refreshed_at", TZ, nullable=False),
    Column("detail", Text),
)

btc_prices = Table(
    "btc_prices",
    metadata,
    Column("price_date", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("price", Float, nullable=False, **F.BTC_PRICE.column_args()),
    Column("source", String(64), nullable=False),
    Column("fetched_at", TZ, nullable=False),
    PrimaryKeyConstraint("price_date", "currency"),
    *finite("price"),
)


block_fees = Table(
    "block_fees",
    metadata,
    Column(
        "resolution_s",
        Integer,
        nullable=False,
        comment="1 = one block (24h, 3d); else the width in s of mempool.space's time bucket",
    ),
    Column(
        "avg_height", Integer, nullable=False, comment="the block's height, or the bucket's mean"
    ),
    Column("timestamp_utc", TZ, nullable=False, comment="block time, or the bucket's mean time"),
    Column("fee_date", Date, nullable=False, comment="UTC day of timestamp_utc"),
    Column(
        "avg_fees_sats",
        BigInteger,
        nullable=False,
        comment="fees of the block, or the bucket's mean fees per block (sats)",
    ),
    Column(
        "period",
        String(8),
        nullable=False,
        comment="the mempool.space period (24h … all) the row came from",
    ),
    Column("fetched_at", TZ, nullable=False),
    PrimaryKeyConstraint("resolution_s", "avg_height", "timestamp_utc"),
    CheckConstraint("avg_fees_sats >= 0", name="avg_fees_sats_non_negative"),
    CheckConstraint("resolution_s >= 1", name="resolution_s_positive"),
)
Index("ix_block_fees_fee_date", block_fees.c.fee_date, block_fees.c.resolution_s)
