"""The shared ``MetaData`` (naming convention), the finite-figure check and the UTC type.

Every table module (``db.reference_tables``, ``db.curtailment_tables``, ``db.summary_tables``,
``db.coordination_tables``) registers its tables here; ``db.schema`` imports them all.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import CheckConstraint, DateTime, MetaData, TypeDecorator
from sqlalchemy.engine import Dialect

from curtailcoin.db.dialect import is_sqlite

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
        return value.replace(tzinfo=None) if is_sqlite(dialect) else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


TZ = UtcDateTime()
