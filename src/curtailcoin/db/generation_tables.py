"""Wind generation per settlement period: national (AGWS) and each BM unit's metered (B1610).

The denominator of the curtailment share, ``curtailed ÷ (generated + curtailed)``. Stored as
energy (MWh per period): AGWS publishes MW, averaged over the half hour, so ``MWh = MW × 0.5``
(every settlement period is 30 minutes, on 46- and 50-period days too); B1610 publishes MWh.
A date's fetch of each dataset is recorded in ``generation_fetches`` like the stack's periods
in ``settlement_periods``: a failed fetch keeps the rows it would have replaced, and a missing
figure is shown as missing with that row's reason, never as a default.
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
from curtailcoin.db.metadata import TZ, metadata

#: the generation datasets a date is fetched from (``generation_fetches.dataset``)
NATIONAL_DATASET = "AGWS"
UNIT_DATASET = "B1610"

generation_fetches = Table(
    "generation_fetches",
    metadata,
    Column("settlement_date", Date, nullable=False),
    Column(
        "dataset", String(16), nullable=False, comment="AGWS (national wind) | B1610 (per BM unit)"
    ),
    Column(
        "fetch_status",
        String(24),
        nullable=False,
        comment="fetched_with_data | fetched_empty | fetched_incomplete | missing | failed",
    ),
    Column("period_count", Integer, nullable=False, default=0, comment="periods with a figure"),
    Column("row_count", Integer, nullable=False, default=0, comment="rows stored for the date"),
    Column("fetched_at", TZ),
    Column("source_published_at", TZ, comment="latest publishTime among the date's rows"),
    Column("error", Text, comment="why the date's figures are missing or incomplete"),
    PrimaryKeyConstraint("settlement_date", "dataset"),
)

national_wind_generation = Table(
    "national_wind_generation",
    metadata,
    Column("settlement_date", Date, nullable=False),
    Column("settlement_period", Integer, nullable=False),
    Column("onshore_wind_mwh", Float, **F.ONSHORE_WIND.column_args()),
    Column("offshore_wind_mwh", Float, **F.OFFSHORE_WIND.column_args()),
    Column("published_at", TZ, comment="AGWS publishTime"),
    Column("fetched_at", TZ, nullable=False),
    PrimaryKeyConstraint("settlement_date", "settlement_period"),
)

farm_generation = Table(
    "farm_generation",
    metadata,
    Column("settlement_date", Date, nullable=False),
    Column("settlement_period", Integer, nullable=False),
    Column("farm_id", String(64), nullable=False, comment="Elexon BM unit id (bmUnit)"),
    Column("metered_generation_mwh", Float, nullable=False, **F.METERED_GENERATION.column_args()),
    Column("fetched_at", TZ, nullable=False),
    PrimaryKeyConstraint("settlement_date", "settlement_period", "farm_id"),
)
Index("ix_farm_generation_farm_date", farm_generation.c.farm_id, farm_generation.c.settlement_date)
