"""Source lines and curtailment: periods, stack lines, records, calculations."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from curtailcoin.coverage import FetchStatus
from curtailcoin.db import fields as F
from curtailcoin.db.metadata import TZ, finite, metadata

settlement_periods = Table(
    "settlement_periods",
    metadata,
    Column("settlement_date", Date, nullable=False),
    Column("settlement_period", Integer, nullable=False),
    Column("start_time_utc", TZ, nullable=False),
    Column(
        "fetch_status",
        String(24),
        nullable=False,
        comment=" | ".join(FetchStatus),
    ),
    Column("fetched_at", TZ),
    Column("source_created_at", TZ, comment="latest createdDateTime among the period's lines"),
    Column("stack_line_count", Integer, nullable=False, default=0),
    Column("wind_line_count", Integer, nullable=False, default=0),
    Column("record_count", Integer, nullable=False, default=0),
    Column(
        "curtailed_energy_mwh",
        Float,
        nullable=False,
        default=0.0,
        **F.CURTAILED_ENERGY.column_args(commented=False),
    ),
    Column(
        "payment_gbp", Float, nullable=False, default=0.0, **F.PAYMENT.column_args(commented=False)
    ),
    Column("difficulty", Float, **F.DIFFICULTY.column_args()),
    Column("block_subsidy_btc", Float, **F.BLOCK_SUBSIDY.column_args()),
    Column("error", Text),
    PrimaryKeyConstraint("settlement_date", "settlement_period"),
    *finite("curtailed_energy_mwh", "payment_gbp", "difficulty", "block_subsidy_btc"),
)

bid_stack_lines = Table(
    "bid_stack_lines",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("settlement_date", Date, nullable=False),
    Column("settlement_period", Integer, nullable=False),
    Column("bm_unit_id", String(64), nullable=False, **F.BM_UNIT.column_args(commented=False)),
    Column("sequence_number", Integer, nullable=False),
    Column("acceptance_id", BigInteger),
    Column("bid_offer_pair_id", Integer),
    Column("start_time_utc", TZ),
    Column("created_datetime", TZ),
    Column("cadl_flag", Boolean),
    Column("so_flag", Boolean),
    Column("stor_provider_flag", Boolean),
    Column("repriced_indicator", Boolean),
    Column("reserve_scarcity_price", Float),
    Column("original_price", Float, **F.BID_PRICE.column_args(commented=False)),
    Column(
        "volume", Float, nullable=False, key="volume_mwh", **F.VOLUME.column_args(commented=False)
    ),
    Column("dmat_adjusted_volume", Float),
    Column("arbitrage_adjusted_volume", Float),
    Column("niv_adjusted_volume", Float),
    Column("par_adjusted_volume", Float),
    Column("final_price", Float, **F.FINAL_PRICE.column_args(commented=False)),
    Column("transmission_loss_multiplier", Float),
    Column("tlm_adjusted_volume", Float),
    Column("tlm_adjusted_cost", Float),
    Column("fetched_at", TZ, nullable=False),
    UniqueConstraint(
        "settlement_date",
        "settlement_period",
        "sequence_number",
        "bm_unit_id",
        "acceptance_id",
        "bid_offer_pair_id",
        name="uq_bid_stack_lines_natural_key",
    ),
    *finite(
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
)

curtailment_records = Table(
    "curtailment_records",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("settlement_date", Date, nullable=False),
    Column("settlement_period", Integer, nullable=False),
    Column("farm_id", String(64), nullable=False, **F.BM_UNIT.column_args()),
    Column("lead_party_name", Text),
    Column("volume", Float, nullable=False, key="volume_mwh", **F.VOLUME.column_args()),
    Column("payment", Float, key="payment_gbp", **F.RECORD_PAYMENT.column_args()),
    Column("original_price", Float, **F.BID_PRICE.column_args()),
    Column("final_price", Float, **F.FINAL_PRICE.column_args()),
    Column("so_flag", Boolean, nullable=False),
    Column("cadl_flag", Boolean),
    Column("sequence_number", Integer, nullable=False),
    Column("acceptance_id", BigInteger),
    Column("bid_offer_pair_id", Integer),
    Column("created_datetime", TZ),
    Column("fetched_at", TZ, nullable=False),
    UniqueConstraint(
        "settlement_date",
        "settlement_period",
        "sequence_number",
        "farm_id",
        "acceptance_id",
        "bid_offer_pair_id",
        name="uq_curtailment_records_natural_key",
    ),
    *finite("volume", "payment", "original_price", "final_price"),
)

historical_bitcoin_calculations = Table(
    "historical_bitcoin_calculations",
    metadata,
    Column("settlement_date", Date, nullable=False),
    Column("settlement_period", Integer, nullable=False),
    Column("farm_id", String(64), nullable=False, **F.BM_UNIT.column_args(commented=False)),
    Column("miner_model", String(32), nullable=False),
    Column("curtailed_energy_mwh", Float, nullable=False, **F.CALCULATION_ENERGY.column_args()),
    Column("difficulty", Float, nullable=False, **F.CALCULATION_DIFFICULTY.column_args()),
    Column("block_subsidy_btc", Float, nullable=False, **F.CALCULATION_SUBSIDY.column_args()),
    Column("hashrate_th", Float, nullable=False, **F.HASHRATE.column_args()),
    Column("power_w", Float, nullable=False, **F.POWER.column_args()),
    Column(
        "bitcoin_mined", Float, nullable=False, key="bitcoin_mined_btc", **F.BITCOIN.column_args()
    ),
    Column("calculated_at", TZ, nullable=False),
    PrimaryKeyConstraint("settlement_date", "settlement_period", "farm_id", "miner_model"),
    *finite(
        "curtailed_energy_mwh",
        "difficulty",
        "block_subsidy_btc",
        "hashrate_th",
        "power_w",
        "bitcoin_mined",
    ),
)

# Covering: a scope's fetch status and difficulty range read only this index.
Index(
    "ix_settlement_periods_status_cover",
    settlement_periods.c.settlement_date,
    settlement_periods.c.fetch_status,
    settlement_periods.c.record_count,
    settlement_periods.c.difficulty,
    settlement_periods.c.block_subsidy_btc,
    settlement_periods.c.fetched_at,
    settlement_periods.c.curtailed_energy_mwh,
)
# --- Analytics (migration 0003): covering indexes for the API's range aggregates -------------
# Date-range and lead-party scans of the records, and per-model scans of the calculations, are
# answered from these indexes alone (index-only scans on PostgreSQL, covering on SQLite). Each
# also serves the searches of its leading columns: the narrower indexes 0001 had on those
# (date, period, farm), (lead party, date) and (model, date) were dropped by 0014, as every
# row written paid for them.

Index(
    "ix_curtailment_records_date_cover",
    curtailment_records.c.settlement_date,
    curtailment_records.c.settlement_period,
    curtailment_records.c.farm_id,
    curtailment_records.c.lead_party_name,
    curtailment_records.c.volume_mwh,
    curtailment_records.c.payment_gbp,
)
Index(
    "ix_curtailment_records_lead_party_cover",
    curtailment_records.c.lead_party_name,
    curtailment_records.c.settlement_date,
    curtailment_records.c.settlement_period,
    curtailment_records.c.farm_id,
    curtailment_records.c.volume_mwh,
    curtailment_records.c.payment_gbp,
)
Index(
    "ix_hbc_model_date_cover",
    historical_bitcoin_calculations.c.miner_model,
    historical_bitcoin_calculations.c.settlement_date,
    historical_bitcoin_calculations.c.farm_id,
    historical_bitcoin_calculations.c.settlement_period,
    historical_bitcoin_calculations.c.bitcoin_mined_btc,
    historical_bitcoin_calculations.c.curtailed_energy_mwh,
)
Index(
    "ix_hbc_model_farm_cover",
    historical_bitcoin_calculations.c.miner_model,
    historical_bitcoin_calculations.c.farm_id,
    historical_bitcoin_calculations.c.settlement_date,
    historical_bitcoin_calculations.c.settlement_period,
    historical_bitcoin_calculations.c.bitcoin_mined_btc,
    historical_bitcoin_calculations.c.curtailed_energy_mwh,
)
