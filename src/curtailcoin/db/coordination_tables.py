"""Coordination: the drift guard's held answers, change counters, date locks."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Float,
    Integer,
    String,
    Table,
    Text,
)

from curtailcoin.db import fields as F
from curtailcoin.db.metadata import TZ, finite, metadata

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
    Column("stored_records", Integer, nullable=False, **F.RECORD_COUNT.column_args()),
    Column(
        "stored_curtailed_energy_mwh",
        Float,
        nullable=False,
        **F.CURTAILED_ENERGY.column_args(commented=False),
    ),
    Column("stored_payment_gbp", Float, nullable=False, **F.PAYMENT.column_args(commented=False)),
    Column("fetched_records", Integer, nullable=False, **F.RECORD_COUNT.column_args()),
    Column(
        "fetched_curtailed_energy_mwh",
        Float,
        nullable=False,
        **F.CURTAILED_ENERGY.column_args(commented=False),
    ),
    Column("fetched_payment_gbp", Float, nullable=False, **F.PAYMENT.column_args(commented=False)),
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
