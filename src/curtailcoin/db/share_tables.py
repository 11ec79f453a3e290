"""Roll-ups of the curtailment share and of the stack per date (migration 0012).

The share's denominator is wind generation (``db.generation_tables``): 52k national periods and
~15M BM-unit periods in three years. The share endpoints read these roll-ups instead: one row
per date (national generation with its period count, and each dataset's fetch status and
reason), per BM unit and date, and per BM unit and month. ``curtailcoin.share_summaries``
rebuilds a date's rows and its month's inside the writer's transaction;
``curtailcoin.stack_daily`` the date's stack row (the all-bids measure and its successful
periods) with the date's other summaries. Completeness is decided when read (a period count
against the periods expected now), so a stored row never goes stale with the clock.
"""

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

generation_daily_summaries = Table(
    "generation_daily_summaries",
    metadata,
    Column("summary_date", Date, primary_key=True),
    Column("national_status", String(24), comment="the date's AGWS fetch status (NULL: none)"),
    Column("national_error", Text, comment="why the date's AGWS figures are missing"),
    Column(
        "national_period_count",
        Integer,
        nullable=False,
        comment="periods with both onshore and offshore wind figures",
    ),
    Column("onshore_wind_mwh", Float, nullable=False, **F.DAY_ONSHORE_WIND.column_args()),
    Column("offshore_wind_mwh", Float, nullable=False, **F.DAY_OFFSHORE_WIND.column_args()),
    Column("unit_status", String(24), comment="the date's B1610 fetch status (NULL: none)"),
    Column("unit_error", Text, comment="why the date's B1610 figures are missing"),
    Column("updated_at", TZ, nullable=False),
    *finite("onshore_wind_mwh", "offshore_wind_mwh"),
)

farm_generation_daily_summaries = Table(
    "farm_generation_daily_summaries",
    metadata,
    Column("summary_date", Date, nullable=False),
    Column("farm_id", String(64), nullable=False, comment="Elexon BM unit id"),
    Column("generated_mwh", Float, nullable=False, **F.GENERATED.column_args()),
    Column("period_count", Integer, nullable=False, comment="periods with a B1610 figure"),
    Column("updated_at", TZ, nullable=False),
    PrimaryKeyConstraint("summary_date", "farm_id"),
    # Covering: a range's days of every BM unit are an index-only scan.
    Index(
        "ix_farm_generation_daily_summaries_date_cover",
        "summary_date",
        "farm_id",
        "generated_mwh",
        "period_count",
    ),
    *finite("generated_mwh"),
)

farm_generation_monthly_summaries = Table(
    "farm_generation_monthly_summaries",
    metadata,
    Column("year_month", String(7), nullable=False),
    Column("farm_id", String(64), nullable=False, comment="Elexon BM unit id"),
    Column("generated_mwh", Float, nullable=False, **F.MONTH_GENERATED.column_args()),
    Column("period_count", Integer, nullable=False, comment="Σ of the month's farm-day rows"),
    Column("updated_at", TZ, nullable=False),
    PrimaryKeyConstraint("year_month", "farm_id"),
    *finite("generated_mwh"),
)

stack_daily_summaries = Table(
    "stack_daily_summaries",
    metadata,
    Column("summary_date", Date, primary_key=True),
    Column(
        "all_bids_curtailed_energy_mwh", Float, nullable=False, **F.ALL_BIDS_ENERGY.column_args()
    ),
    Column("all_bids_line_count", Integer, nullable=False, comment="those lines"),
    Column(
        "successful_period_count",
        Integer,
        nullable=False,
        comment="periods fetched_with_data or fetched_empty (the share's completeness check)",
    ),
    Column("updated_at", TZ, nullable=False),
    *finite("all_bids_curtailed_energy_mwh"),
)
