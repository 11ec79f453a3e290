"""Typed Arrow batches and Parquet bytes from rows of :class:`curtailcoin.tabular.Field` columns.

Kept out of ``tabular`` so that only a Parquet answer or export imports pyarrow.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curtailcoin.tabular import Field, Kind

MEDIA_TYPE = "application/vnd.apache.parquet"

_TYPES: dict[Kind, Any] = {
    "date": pa.date32(),
    "text": pa.string(),
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def schema(fields: Sequence[Field]) -> Any:
    """The Arrow schema of the columns (every column nullable: missing is null, never 0)."""
    return pa.schema([pa.field(f.name, _TYPES[f.kind]) for f in fields])


def _typed(kind: Kind, value: Any) -> Any:
    """A cell as its kind's Python value (a date may arrive as ISO text, a figure as an int)."""
    if value is None:
        return None
    if kind == "date" and not isinstance(value, date):
        return date.fromisoformat(str(value))
    if kind == "date" and isinstance(value, datetime):
        return value.date()
    if kind == "float":
        return float(value)
    if kind == "int":
        return int(value)
    if kind == "bool":
        return bool(value)
    if kind == "text" and not isinstance(value, str):
        return str(value)
    return value


def record_batch(fields: Sequence[Field], rows: Sequence[Sequence[Any]]) -> Any:
    """One Arrow record batch of ``rows`` (tuples in the columns' order)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in fields]
    arrays = [
        pa.array([_typed(f.kind, v) for v in values], type=_TYPES[f.kind])
        for f, values in zip(fields, columns, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema(fields))


def parquet_bytes(fields: Sequence[Field], rows: Iterable[Sequence[Any]]) -> bytes:
    """A whole (small) table as Parquet file bytes: the API's table views."""
    table = pa.Table.from_batches([record_batch(fields, list(rows))], schema=schema(fields))
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


class ParquetChunks:
    """A Parquet file written one row group per chunk (``export``: bounded memory)."""

    def __init__(self, path: str, fields: Sequence[Field]) -> None:
        self.fields = list(fields)
        self._writer = pq.ParquetWriter(path, schema(self.fields))

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._writer.write_batch(record_batch(self.fields, rows))

    def close(self) -> None:
        self._writer.close()
