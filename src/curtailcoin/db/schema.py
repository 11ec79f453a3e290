"""The whole database schema (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Importing this module registers every table on :data:`metadata` (Alembic's target and the
schema that ``test_migrations.py`` compares the migrated database with). Tables are
defined, and imported from, their group's module: ``db.reference_tables``,
``db.curtailment_tables``, ``db.generation_tables``, ``db.share_tables``, ``db.summary_tables``,
``db.coordination_tables``.

Table and column names of the seed system are kept (``curtailment_records``,
``historical_bitcoin_calculations``, the six summary tables) so its users' SQL still reads.
New columns carry their unit in the name. Each figure's unit, sign and comment come from the
field registry (``db.fields``).
"""

from __future__ import annotations

from curtailcoin.db import (  # noqa: F401  (each registers its tables on metadata)
    coordination_tables,
    curtailment_tables,
    generation_tables,
    reference_tables,
    share_tables,
    summary_tables,
)
from curtailcoin.db.metadata import metadata

__all__ = ["metadata"]
