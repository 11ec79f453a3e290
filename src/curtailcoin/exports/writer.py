"""Writing an export: chunk by chunk to a temporary file beside the output, renamed when complete.

So a failed or interrupted export leaves no file behind (and never half a file under the
output's name), and memory holds one chunk, not the range.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from curtailcoin.files import TempFileError, write_atomic
from curtailcoin.tabular import Field, csv_cell

ExportFormat = Literal["csv", "parquet"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "parquet")


class OutputError(ValueError):
    """The output cannot be written (bad input: the message names the path and why)."""


def check_output(path: Path) -> None:
    """Fail before any work when ``path`` cannot be written (its directory is missing or not
    writable, or it is a directory)."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"output {str(path)!r} is a directory: give a file path")
    if not parent.is_dir():
        raise OutputError(f"output {str(path)!r}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"output {str(path)!r}: directory {str(parent)!r} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"output {str(path)!r} is not writable")


def _write_csv(
    path: str, fields: Sequence[Field], chunks: Iterable[Sequence[Sequence[Any]]]
) -> int:
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([f.name for f in fields])
        for chunk in chunks:
            writer.writerows([csv_cell(v) for v in row] for row in chunk)
            count += len(chunk)
    return count


def _write_parquet(
    path: str, fields: Sequence[Field], chunks: Iterable[Sequence[Sequence[Any]]]
) -> int:
    from curtailcoin.parquet import ParquetChunks  # pyarrow only for a Parquet export

    count = 0
    writer = ParquetChunks(path, fields)
    try:
        for chunk in chunks:
            writer.write(chunk)  # one row group per chunk
            count += len(chunk)
    finally:
        writer.close()
    return count


def write_export(
    path: Path,
    format: ExportFormat,
    fields: Sequence[Field],
    chunks: Iterable[Sequence[Sequence[Any]]],
) -> int:
    """Write the rows to ``path`` (atomically: a temporary file, renamed); the row count."""
    check_output(path)
    write = _write_parquet if format == "parquet" else _write_csv
    try:
        return write_atomic(
            path, lambda temp: write(str(temp), fields, chunks), suffix=".part", mode=0o644
        )
    except TempFileError as exc:
        raise OutputError(f"output {str(path)!r}: {exc.strerror or exc}") from exc
