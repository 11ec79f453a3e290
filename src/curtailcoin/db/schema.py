"""The database schema (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Table and column names of the seed system are kept (``curtailment_records``,
``historical_bitcoin_calculations``, the six summary tables) so its users' SQL still reads.
New columns carry their unit in the name. Signs: ``volume`` is Elexon's signed MWh (negative for
bids); ``payment`` is £ paid **to** the farm (``original_price × volume``; positive when the bid
price is negative, negative when the farm pays).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

#: The largest finite double. ``col BETWEEN -FINITE_MAX AND FINITE_MAX`` rejects ±inf on both
#: databases and NaN on PostgreSQL (which orders NaN above every number); SQLite stores a NaN as
#: NULL, which NOT NULL rejects (and the parser rejects before either).
FINITE_MAX = "1.7976931348623157e308"


def finite(*columns: str) -> list[CheckConstraint]:
    """One ``CHECK`` per column: a stored figure is a finite number (or NULL where allowed)."""
    return [
        CheckConstraint(f"{c} BETWEEN -{FINITE_MAX} AND {FINITE_MAX}", name=f"{c}_finite")
        for c in columns
    ]


class UtcDateTime(TypeDecorator[datetime]):
    """An instant in UTC on both databases.

    PostgreSQL keeps ``timestamptz``; SQLite has no zone, so instants are stored as naive UTC and
    read back as aware UTC. Callers always see timezone-aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: instants must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


TZ = UtcDateTime()

# --- Reference data -------------------------------------------------------------------------

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
    Column("generation_capacity_mw", Float),
    Column("is_wind", Boolean, nullable=False, comment="ever seen with fuelType WIND"),
    Column("first_seen_at", TZ, nullable=False),
    Column("last_seen_at", TZ, nullable=False),
    Column("source", String(32), nullable=False, comment="snapshot | api"),
)

difficulty_epochs = Table(
    "difficulty_epochs",
    metadata,
    Column("epoch", Integer, primary_key=True, autoincrement=False),
    Column("start_height", Integer, nullable=False),
    Column("start_time_utc", TZ, comment="NULL when unknown"),
    Column("start_time_source", String(64), nullable=False),
    Column("difficulty", Float, nullable=False),
    Column("updated_at", TZ, nullable=False),
)

halvings = Table(
    "halvings",
    metadata,
    Column("height", Integer, primary_key=True, autoincrement=False),
    Column("time_utc", TZ, comment="NULL for a future halving"),
    Column("subsidy_after_btc", Float, nullable=False),
    Column("status", String(32), nullable=False),
)

miner_models = Table(
    "miner_models",
    metadata,
    Column("model_key", String(32), primary_key=True),
    Column("manufacturer", String(64), nullable=False),
    Column("model_name", String(64), nullable=False),
    Column("hashrate_th", Float, nullable=False),
    Column("power_w", Float, nullable=False),
    Column("efficiency_j_per_th", Float, nullable=False),
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
    Column("price", Float, nullable=False, comment="price of 1 BTC in currency"),
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

# --- Source lines and curtailment ------------------------------------------------------------

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
        comment="fetched_with_data | fetched_empty | fetched_incomplete | missing | failed",
    ),
    Column("fetched_at", TZ),
    Column("source_created_at", TZ, comment="latest createdDateTime among the period's lines"),
    Column("stack_line_count", Integer, nullable=False, default=0),
    Column("wind_line_count", Integer, nullable=False, default=0),
    Column("record_count", Integer, nullable=False, default=0),
    Column("curtailed_energy_mwh", Float, nullable=False, default=0.0),
    Column("payment_gbp", Float, nullable=False, default=0.0),
    Column("difficulty", Float, comment="effective difficulty over the period; NULL = pending"),
    Column("block_subsidy_btc", Float, comment="time-weighted subsidy over the period"),
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
    Column("bm_unit_id", String(64), nullable=False),
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
    Column("original_price", Float),
    Column("volume", Float, nullable=False),
    Column("dmat_adjusted_volume", Float),
    Column("arbitrage_adjusted_volume", Float),
    Column("niv_adjusted_volume", Float),
    Column("par_adjusted_volume", Float),
    Column("final_price", Float),
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
    Column("farm_id", String(64), nullable=False, comment="Elexon BM unit id"),
    Column("lead_party_name", Text),
    Column("volume", Float, nullable=False, comment="signed MWh as Elexon (< 0)"),
    Column("payment", Float, comment="£ paid to the farm = original_price × volume"),
    Column("original_price", Float, comment="£/MWh"),
    Column("final_price", Float, comment="£/MWh"),
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
    Index(
        "ix_curtailment_records_date_period_farm", "settlement_date", "settlement_period", "farm_id"
    ),
    Index("ix_curtailment_records_lead_party_date", "lead_party_name", "settlement_date"),
    *finite("volume", "payment", "original_price", "final_price"),
)

historical_bitcoin_calculations = Table(
    "historical_bitcoin_calculations",
    metadata,
    Column("settlement_date", Date, nullable=False),
    Column("settlement_period", Integer, nullable=False),
    Column("farm_id", String(64), nullable=False),
    Column("miner_model", String(32), nullable=False),
    Column("curtailed_energy_mwh", Float, nullable=False, comment="energy used (positive)"),
    Column("difficulty", Float, nullable=False, comment="effective difficulty used"),
    Column("block_subsidy_btc", Float, nullable=False, comment="block subsidy used"),
    Column("hashrate_th", Float, nullable=False),
    Column("power_w", Float, nullable=False),
    Column("bitcoin_mined", Float, nullable=False, comment="BTC"),
    Column("calculated_at", TZ, nullable=False),
    PrimaryKeyConstraint("settlement_date", "settlement_period", "farm_id", "miner_model"),
    Index("ix_hbc_model_date", "miner_model", "settlement_date"),
    *finite(
        "curtailed_energy_mwh",
        "difficulty",
        "block_subsidy_btc",
        "hashrate_th",
        "power_w",
        "bitcoin_mined",
    ),
)

# --- Summaries (always equal to the sums of their base rows) ---------------------------------

daily_summaries = Table(
    "daily_summaries",
    metadata,
    Column("summary_date", Date, primary_key=True),
    Column("total_curtailed_energy", Float, nullable=False, comment="MWh, positive"),
    Column("total_payment", Float, nullable=False, comment="£ paid to farms"),
    Column("record_count", Integer, nullable=False),
    Column("farm_count", Integer, nullable=False),
    Column("updated_at", TZ, nullable=False),
    *finite("total_curtailed_energy", "total_payment"),
)

monthly_summaries = Table(
    "monthly_summaries",
    metadata,
    Column("year_month", String(7), primary_key=True),
    Column("total_curtailed_energy", Float, nullable=False, comment="MWh, positive"),
    Column("total_payment", Float, nullable=False, comment="£ paid to farms"),
    Column("record_count", Integer, nullable=False),
    Column("farm_count", Integer, nullable=False),
    Column("updated_at", TZ, nullable=False),
    *finite("total_curtailed_energy", "total_payment"),
)

yearly_summaries = Table(
    "yearly_summaries",
    metadata,
    Column("year", String(4), primary_key=True),
    Column("total_curtailed_energy", Float, nullable=False, comment="MWh, positive"),
    Column("total_payment", Float, nullable=False, comment="£ paid to farms"),
    Column("record_count", Integer, nullable=False),
    Column("farm_count", Integer, nullable=False),
    Column("updated_at", TZ, nullable=False),
    *finite("total_curtailed_energy", "total_payment"),
)

bitcoin_daily_summaries = Table(
    "bitcoin_daily_summaries",
    metadata,
    Column("summary_date", Date, nullable=False),
    Column("miner_model", String(32), nullable=False),
    Column("bitcoin_mined", Float, nullable=False),
    Column("curtailed_energy_mwh", Float, nullable=False),
    Column("updated_at", TZ, nullable=False),
    PrimaryKeyConstraint("summary_date", "miner_model"),
    *finite("bitcoin_mined", "curtailed_energy_mwh"),
)

bitcoin_monthly_summaries = Table(
    "bitcoin_monthly_summaries",
    metadata,
    Column("year_month", String(7), nullable=False),
    Column("miner_model", String(32), nullable=False),
    Column("bitcoin_mined", Float, nullable=False),
    Column("curtailed_energy_mwh", Float, nullable=False),
    Column("updated_at", TZ, nullable=False),
    PrimaryKeyConstraint("year_month", "miner_model"),
    *finite("bitcoin_mined", "curtailed_energy_mwh"),
)

bitcoin_yearly_summaries = Table(
    "bitcoin_yearly_summaries",
    metadata,
    Column("year", String(4), nullable=False),
    Column("miner_model", String(32), nullable=False),
    Column("bitcoin_mined", Float, nullable=False),
    Column("curtailed_energy_mwh", Float, nullable=False),
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
    Column("farm_id", String(64), nullable=False, comment="Elexon BM unit id"),
    Column("lead_party_name", Text),
    Column("curtailed_energy_mwh", Float, nullable=False, comment="MWh, positive"),
    Column("payment_gbp", Float, nullable=False, comment="£ paid to the farm (signed)"),
    Column("record_count", Integer, nullable=False),
    Column(
        "btc_per_th_per_w",
        Float,
        nullable=False,
        comment="Σ over periods with known conditions of E × 3.6e9 × 1e12 / (D × 2^32) × R; "
        "a model's BTC = hashrate_th / power_w × this",
    ),
    Column(
        "pending_energy_mwh",
        Float,
        nullable=False,
        comment="MWh in periods whose difficulty (or subsidy) is not known yet",
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
    Column("farm_id", String(64), nullable=False),
    Column("miner_model", String(32), nullable=False),
    Column("bitcoin_mined", Float, nullable=False),
    Column("curtailed_energy_mwh", Float, nullable=False, comment="MWh the BTC figure covers"),
    Column("updated_at", TZ, nullable=False),
    PrimaryKeyConstraint("summary_date", "farm_id", "miner_model"),
    # Covering, per model and BM unit (migration 0006): a lead party's or a BM unit's year.
    Index(
        "ix_bitcoin_farm_daily_summaries_model_farm",
        "miner_model",
        "farm_id",
        "summary_date",
        "bitcoin_mined",
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
    Column("farm_id", String(64), nullable=False, comment="Elexon BM unit id"),
    Column("lead_party_name", Text, comment="the smallest lead party name of the month's rows"),
    Column("curtailed_energy_mwh", Float, nullable=False, comment="MWh, positive"),
    Column("payment_gbp", Float, nullable=False, comment="£ paid to the farm (signed)"),
    Column("record_count", Integer, nullable=False),
    Column("btc_per_th_per_w", Float, nullable=False, comment="Σ of the farm-day factor"),
    Column("pending_energy_mwh", Float, nullable=False),
    Column(
        "btc_per_th_per_w_gbp",
        Float,
        nullable=False,
        comment="Σ over dates with a BTC/GBP price of the farm-day factor × that price; "
        "a model's £ value = hashrate_th / power_w × this",
    ),
    Column(
        "unpriced_btc_per_th_per_w",
        Float,
        nullable=False,
        comment="Σ of the farm-day factor over dates without a BTC/GBP price",
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
    Column("farm_id", String(64), nullable=False),
    Column("bitcoin_mined", Float, nullable=False),
    Column("curtailed_energy_mwh", Float, nullable=False, comment="MWh the BTC figure covers"),
    Column(
        "value_gbp",
        Float,
        nullable=False,
        comment="Σ over dates with a BTC/GBP price of the farm-day BTC × that price",
    ),
    Column("unpriced_btc", Float, nullable=False, comment="BTC of dates without a GBP price"),
    Column("first_unpriced_date", Date),
    Column("last_unpriced_date", Date),
    Column("updated_at", TZ, nullable=False),
    PrimaryKeyConstraint("miner_model", "year_month", "farm_id"),
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

# --- Coordination ----------------------------------------------------------------------------

# --- The drift guard (migration 0007) ---------------------------------------------------------
# A valid answer that would remove most of a stored date is held here instead of being applied:
# the stored rows stay, and the date is reported as suspect until a reingest with
# ``--accept-shrink`` (or a reconciliation decision) applies it, or a later answer agrees with
# what is stored.

suspect_dates = Table(
    "suspect_dates",
    metadata,
    Column("settlement_date", Date, primary_key=True),
    Column("detected_at", TZ, nullable=False),
    Column("reason", Text, nullable=False, comment="what the held answer would have changed"),
    Column("periods", Text, comment="the periods compared, comma-separated; NULL = whole date"),
    Column("stored_records", Integer, nullable=False),
    Column("stored_curtailed_energy_mwh", Float, nullable=False),
    Column("stored_payment_gbp", Float, nullable=False),
    Column("fetched_records", Integer, nullable=False),
    Column("fetched_curtailed_energy_mwh", Float, nullable=False),
    Column("fetched_payment_gbp", Float, nullable=False),
    Column("detected_by", String(32), nullable=False, comment="reingest | reconcile | worker | …"),
    *finite(
        "stored_curtailed_energy_mwh",
        "stored_payment_gbp",
        "fetched_curtailed_energy_mwh",
        "fetched_payment_gbp",
    ),
)

# --- Change counters (migration 0008) ---------------------------------------------------------
# One counter per settlement date, +1 by a trigger in the same transaction as every write of the
# date's daily summaries, periods or held answer (``curtailcoin.db.versions``): the API's cache
# keys an answer by the sum over the dates it read.

date_versions = Table(
    "date_versions",
    metadata,
    Column("settlement_date", Date, primary_key=True),
    Column(
        "version",
        BigInteger,
        nullable=False,
        comment="+1 on every write of the date's summaries, periods or suspect answer (triggers)",
    ),
)

date_locks = Table(
    "date_locks",
    metadata,
    Column("settlement_date", Date, primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("acquired_at", TZ, nullable=False),
    Column("expires_at", TZ, nullable=False),
)

# --- Analytics (migration 0003): covering indexes for the API's range aggregates -------------
# Date-range and lead-party scans of the records, and per-model scans of the calculations, are
# answered from these indexes alone (index-only scans on PostgreSQL, covering on SQLite).

Index(
    "ix_curtailment_records_date_cover",
    curtailment_records.c.settlement_date,
    curtailment_records.c.settlement_period,
    curtailment_records.c.farm_id,
    curtailment_records.c.lead_party_name,
    curtailment_records.c.volume,
    curtailment_records.c.payment,
)
Index(
    "ix_curtailment_records_lead_party_cover",
    curtailment_records.c.lead_party_name,
    curtailment_records.c.settlement_date,
    curtailment_records.c.settlement_period,
    curtailment_records.c.farm_id,
    curtailment_records.c.volume,
    curtailment_records.c.payment,
)
Index(
    "ix_hbc_model_date_cover",
    historical_bitcoin_calculations.c.miner_model,
    historical_bitcoin_calculations.c.settlement_date,
    historical_bitcoin_calculations.c.farm_id,
    historical_bitcoin_calculations.c.settlement_period,
    historical_bitcoin_calculations.c.bitcoin_mined,
    historical_bitcoin_calculations.c.curtailed_energy_mwh,
)
Index(
    "ix_hbc_model_farm_cover",
    historical_bitcoin_calculations.c.miner_model,
    historical_bitcoin_calculations.c.farm_id,
    historical_bitcoin_calculations.c.settlement_date,
    historical_bitcoin_calculations.c.settlement_period,
    historical_bitcoin_calculations.c.bitcoin_mined,
    historical_bitcoin_calculations.c.curtailed_energy_mwh,
)
