"""``curtailcoin export``: every table to CSV and Parquet on SQLite and PostgreSQL, the same
columns and rows in both, typed Parquet, filters, chunked writing, and bad input (exit 2, one
line, no file left behind). The database is seeded through the real pipeline
(``support.api``)."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import text

from curtailcoin.cli import export as export_cli
from curtailcoin.cli.main import run
from curtailcoin.config import get_settings
from support.api import FULL_DAYS, PARTIAL_DAY, Seeded, seed_database
from support.databases import BACKENDS

FIRST = "2025-01-01"
LAST = "2025-12-31"
TABLES = ("records", "calculations", "daily", "monthly", "yearly", "farms")


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest) -> Seeded:
    fixture = "pg_database" if request.param == "postgresql" else "sqlite_database"
    return seed_database(request.getfixturevalue(fixture))


@pytest.fixture
def cli(seeded: Seeded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    monkeypatch.setenv("CURTAILCOIN_DATABASE_URL", seeded.url)
    get_settings.cache_clear()

    def invoke(*args: str) -> tuple[int, str, str]:
        code = run(["export", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    yield invoke
    get_settings.cache_clear()


def scalar(seeded: Seeded, sql: str) -> Any:
    with seeded.engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def as_text(value: Any) -> str:
    """A Parquet cell as the CSV writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@pytest.mark.db
@pytest.mark.parametrize("table", TABLES)
@pytest.mark.slow
def test_csv_and_parquet_carry_the_same_columns_and_rows(
    cli: Any, tmp_path: Path, table: str
) -> None:
    paths = {fmt: tmp_path / f"{table}.{fmt}" for fmt in ("csv", "parquet")}
    for fmt, path in paths.items():
        code, out, err = cli(table, "--from", FIRST, "--to", LAST, "--format", fmt, "-o", str(path))
        assert code == 0, err
        assert out.startswith(f"{table} {FIRST}..{LAST}: ")
    header, rows = read_csv(paths["csv"])
    parquet = pq.read_table(paths["parquet"])
    assert parquet.column_names == header
    assert parquet.num_rows == len(rows) > 0
    assert [[as_text(v) for v in row.values()] for row in parquet.to_pylist()] == rows
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file


@pytest.mark.db
def test_records_match_the_database_with_units_and_types(
    cli: Any, seeded: Seeded, tmp_path: Path
) -> None:
    path = tmp_path / "records.parquet"
    assert (
        cli("records", "--from", FIRST, "--to", LAST, "--format", "parquet", "-o", str(path))[0]
        == 0
    )
    table = pq.read_table(path)
    assert table.num_rows == scalar(seeded, "SELECT count(*) FROM curtailment_records")
    types = dict(zip(table.column_names, table.schema.types, strict=True))
    assert types["settlement_date"] == pa.date32()
    assert types["settlement_period"] == pa.int64()
    assert types["curtailed_energy_mwh"] == pa.float64()
    assert types["payment_gbp"] == pa.float64()
    assert types["so_flag"] == pa.bool_()
    energy = math.fsum(table.column("curtailed_energy_mwh").to_pylist())
    stored = scalar(seeded, "SELECT sum(total_curtailed_energy) FROM daily_summaries")
    assert math.isclose(energy, stored, rel_tol=1e-9)
    payments = table.column("payment_gbp")
    nulls = scalar(seeded, "SELECT count(*) FROM curtailment_records WHERE payment IS NULL")
    assert payments.null_count == nulls  # missing stays null, never 0
    days = {d.isoformat() for d in table.column("settlement_date").to_pylist()}
    assert days == {d.isoformat() for d in [*FULL_DAYS, PARTIAL_DAY]}


@pytest.mark.db
def test_filters_narrow_the_rows(cli: Any, seeded: Seeded, tmp_path: Path) -> None:
    lead = scalar(
        seeded,
        "SELECT lead_party_name FROM curtailment_records WHERE lead_party_name IS NOT NULL "
        "GROUP BY lead_party_name ORDER BY count(*) DESC, lead_party_name LIMIT 1",
    )
    path = tmp_path / "lead.csv"
    assert (
        cli("records", "--from", FIRST, "--to", LAST, "--lead-party", lead, "-o", str(path))[0] == 0
    )
    header, rows = read_csv(path)
    expected = scalar(
        seeded,
        f"SELECT count(*) FROM curtailment_records WHERE lead_party_name = '{lead}'",
    )
    assert len(rows) == expected > 0
    assert {row[header.index("lead_party")] for row in rows} == {lead}

    model = seeded.settings.tracked_models[0]
    path = tmp_path / "daily.parquet"
    args = ("daily", "--from", FIRST, "--to", LAST, "--model", model, "--format", "parquet")
    assert cli(*args, "-o", str(path))[0] == 0
    daily = pq.read_table(path).to_pylist()
    btc = math.fsum(row["bitcoin_mined_btc"] or 0.0 for row in daily)
    stored = scalar(
        seeded,
        f"SELECT sum(bitcoin_mined) FROM bitcoin_daily_summaries WHERE miner_model = '{model}'",
    )
    assert math.isclose(btc, stored, rel_tol=1e-9)


@pytest.mark.db
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.slow
def test_small_chunks_write_the_same_file(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    whole, chunked = tmp_path / f"whole.{fmt}", tmp_path / f"chunked.{fmt}"
    args = ("calculations", "--from", FIRST, "--to", LAST, "--format", fmt)
    assert cli(*args, "-o", str(whole))[0] == 0
    monkeypatch.setattr(export_cli, "CHUNK_ROWS", 97)
    assert cli(*args, "-o", str(chunked))[0] == 0
    if fmt == "csv":
        assert chunked.read_bytes() == whole.read_bytes()
    else:
        assert pq.read_table(chunked).equals(pq.read_table(whole))
        assert pq.ParquetFile(chunked).num_row_groups > 1  # written by row groups


@pytest.mark.db
@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("rows", "--from", FIRST, "--to", LAST), ["'rows'", "records, calculations"]),
        (("daily", "--from", FIRST, "--to", LAST, "--format", "xlsx"), ["'xlsx'", "csv, parquet"]),
        (("daily", "--from", "2025-13-01", "--to", LAST), ["--from", "2025-13-01"]),
        (("daily", "--from", LAST, "--to", FIRST), ["--to", "before", "--from"]),
        (
            ("daily", "--from", FIRST, "--to", LAST, "--lead-party", "X"),
            ["--lead-party", "records"],
        ),
        (
            ("calculations", "--from", FIRST, "--to", LAST, "--model", "NOPE"),
            ["'NOPE'", "S19J_PRO"],
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2_with_no_file(
    cli: Any, tmp_path: Path, args: tuple[str, ...], names: list[str]
) -> None:
    path = tmp_path / "out.csv"
    code, out, err = cli(*args, "-o", str(path))
    assert code == 2, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for name in names:
        assert name in lines[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.db
def test_unwritable_output_is_bad_input(cli: Any, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir.csv"
    code, _, err = cli("daily", "--from", FIRST, "--to", LAST, "-o", str(missing))
    assert code == 2 and "does not exist" in err and str(missing.parent) in err
    code, _, err = cli("daily", "--from", FIRST, "--to", LAST, "-o", str(tmp_path))
    assert code == 2 and "is a directory" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_failed_export_leaves_no_file_behind(tmp_path: Path, fmt: str) -> None:
    """The output is a temporary file until complete: an error mid-way removes it."""
    from curtailcoin.exports.writer import write_export
    from curtailcoin.tabular import Field

    def chunks() -> Any:
        yield [(1.5,), (None,)]
        raise RuntimeError("connection lost")

    target = tmp_path / f"out.{fmt}"
    target.write_text("previous")
    with pytest.raises(RuntimeError, match="connection lost"):
        write_export(target, fmt, [Field("x_mwh", "float")], chunks())  # type: ignore[arg-type]
    assert [p.name for p in tmp_path.iterdir()] == ["out." + fmt]
    assert target.read_text() == "previous"  # never half a file under the output's name
