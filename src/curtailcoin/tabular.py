"""A table's typed columns, shared by the CSV and Parquet writers of the API and of ``export``.

A column's *kind* says how its cells are typed in Parquet (dates as date32, figures as float64,
counts as int64, missing as null — never 0) and the CSV cell is the same value as text, so both
formats carry the same columns in the same order. Pure: no I/O, no pyarrow (``parquet`` has it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

Kind = Literal["date", "text", "float", "int", "bool", "timestamp"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Field:
    """A column of an export: its name (with unit, as in ``db.fields``) and its kind."""

    name: str
    kind: Kind


def csv_cell(value: Any) -> str:
    """A cell as CSV text: full-precision numbers, ISO dates, empty for missing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    text = str(value)
    # A text cell must never be read as a spreadsheet formula.
    return "'" + text if text.startswith(_FORMULA_START) else text
