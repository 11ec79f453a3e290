"""Python values of nullable SQL results, the same on SQLite and PostgreSQL.

A sum over no rows is NULL (read as zero); SQLite may hand a computed date back as text.
"""

from __future__ import annotations

from datetime import date
from typing import Any


def as_float(value: Any) -> float:
    return float(value) if value is not None else 0.0


def as_int(value: Any) -> int:
    return int(value) if value is not None else 0


def as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
