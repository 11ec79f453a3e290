"""``curtailcoin export scenario`` through the installed entry point on SQLite and PostgreSQL:
CSV and Parquet carry the rows of ``curtailcoin scenario --json`` (the same figures, bit for bit),
their sums are its totals, missing prices stay missing with their reason, rows are made chunk by
chunk, and bad input is one line, exit 2, no file. Seeded through the real pipeline
(``support.api``: two priced days, three unpriced, one incomplete)."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curtailcoin.cli import export as export_cli
from curtailcoin.cli.main import run
from curtailcoin.config import get_settings
from curtailcoin.economics.scenario import ScenarioRequest, run_scenario
from curtailcoin.economics.site import site_of
from curtailcoin.exports.scenario import FIGURES, ScenarioTable
from curtailcoin.exports.tables import TABLES, ExportRequest
from support.api import PRICED_DAYS, Seeded, seed_database
from support.databases import BACKENDS
from support.entrypoint import CURTAILCOIN

FIRST, LAST = "2025-01-17", "2025-01-31"
FLEET = ("--all-wind", "--model", "S21", "--mw", "20", "--capex-per-miner", "3000")


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest) -> Seeded:
    fixture = "pg_database" if request.param == "postgresql" else "sqlite_database"
    return seed_database(request.getfixturevalue(fixture))


def _env(seeded: Seeded, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CURTAILCOIN_")}
    env["CURTAILCOIN_DATABASE_URL"] = seeded.url
    env["CURTAILCOIN_CONFIG_FILE"] = str(tmp_path / "none.toml")
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CURTAILCOIN, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _scenario_json(env: dict[str, str], by: str) -> dict[str, Any]:
    done = _cli(env, "scenario", *FLEET, "--from", FIRST, "--to", LAST, "--by", by, "--json")
    assert done.returncode == 0, done.stderr
    payload: dict[str, Any] = json.loads(done.stdout)
    return payload


def _number(text: str) -> float | None:
    return None if text == "" else float(text)


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _key(level: str, row: dict[str, Any]) -> str:
    if level == "period":
        return f"{row['settlement_date']}/{row['settlement_period']}"
    value = row[{"day": "date", "month": "month", "year": "year"}[level]]
    return value.isoformat() if isinstance(value, date) else str(value)


@pytest.mark.db
@pytest.mark.parametrize("grain", ["day", "period"])
@pytest.mark.slow
def test_export_carries_the_scenario_rows_and_its_totals(
    seeded: Seeded, tmp_path: Path, grain: str
) -> None:
    env = _env(seeded, tmp_path)
    expected = _scenario_json(env, grain)
    rows = {r["key"]: r for r in expected["rows"]}
    assert rows and expected["total"]["btc"] > 0
    span = ("--from", FIRST, "--to", LAST, "--grain", grain)
    files = {fmt: tmp_path / f"scenario.{fmt}" for fmt in ("csv", "parquet")}
    for fmt, path in files.items():
        done = _cli(env, "export", "scenario", *FLEET, *span, "--format", fmt, "-o", str(path))
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"scenario {FIRST}..{LAST}: {len(rows)} rows to ")

    table = pq.read_table(files["parquet"])
    header = list(_csv_rows(files["csv"])[0])
    assert table.column_names == header
    assert set(FIGURES) <= set(header) and header[-1] == "missing_reason"
    types = dict(zip(table.column_names, table.schema.types, strict=True))
    if grain == "period":
        assert types["settlement_date"] == pa.date32()
        assert types["settlement_period"] == pa.int64()
    else:
        assert types["date"] == pa.date32()
    assert types["btc"] == types["revenue_gbp"] == pa.float64()

    from_csv = [
        {**r, **{name: _number(r[name]) for name in FIGURES}} for r in _csv_rows(files["csv"])
    ]
    for written in (table.to_pylist(), from_csv):
        assert [_key(grain, r) for r in written] == list(rows)
        for r in written:  # every figure as `scenario --json` has it, bit for bit
            assert {name: r[name] for name in FIGURES} == {
                name: rows[_key(grain, r)][name] for name in FIGURES
            }
    total = expected["total"]
    for name in ("available_mwh", "used_mwh", "spilled_mwh", "btc", "revenue_gbp", "opex_gbp"):
        values = [v for v in table.column(name).to_pylist() if v is not None]
        assert math.fsum(values) == pytest.approx(total[name], rel=1e-12, abs=1e-12), name
    assert table.column("hours_run_h").to_pylist() and math.fsum(
        table.column("hours_run_h").to_pylist()
    ) == pytest.approx(total["hours_run_h"])


@pytest.mark.db
@pytest.mark.slow
def test_missing_prices_stay_missing_with_their_reason(seeded: Seeded, tmp_path: Path) -> None:
    env = _env(seeded, tmp_path)
    path = tmp_path / "days.parquet"
    args = ("export", "scenario", *FLEET, "--from", FIRST, "--to", LAST, "--format", "parquet")
    assert _cli(env, *args, "-o", str(path)).returncode == 0
    days = {r["date"]: r for r in pq.read_table(path).to_pylist()}
    for day in PRICED_DAYS:
        assert days[day]["revenue_gbp"] is not None and days[day]["btc"] > 0
        assert days[day]["missing_reason"] is None
    unpriced = [r for d, r in days.items() if d not in PRICED_DAYS and r["btc"]]
    assert unpriced  # the partial day 2025-01-19 has curtailment and no price
    for r in unpriced:
        assert r["revenue_gbp"] is None and r["margin_gbp"] is None  # never 0
        assert r["unpriced_btc"] == r["btc"]
        assert "no BTC/GBP price" in r["missing_reason"]
    quiet = [r for r in days.values() if not r["btc"]]
    assert all(r["revenue_gbp"] == 0.0 and r["missing_reason"] is None for r in quiet)


@pytest.mark.db
@pytest.mark.parametrize("size", [1, 7])
def test_rows_are_made_chunk_by_chunk(seeded: Seeded, size: int) -> None:
    start, end = date.fromisoformat(FIRST), date.fromisoformat(LAST)
    scenario = ScenarioRequest(
        site_of(all_wind=True), "S21", start, end, None, 20.0, level="period"
    )
    with seeded.engine.connect() as conn:
        expected = run_scenario(conn, scenario).rows
        table = TABLES["scenario"]
        assert isinstance(table, ScenarioTable)
        chunks = list(table.chunks(conn, ExportRequest(start, end, scenario=scenario), size))
    assert all(1 <= len(c) <= size for c in chunks)
    assert len(chunks) == math.ceil(len(expected) / size)
    flat = [row for chunk in chunks for row in chunk]
    assert [f"{d.isoformat()}/{p}" for d, p, *_ in flat] == [r.key for r in expected]
    assert [row[2 : 2 + len(FIGURES)] for row in flat] == [
        tuple(getattr(r, name) for name in FIGURES) for r in expected
    ]


@pytest.fixture
def cli(seeded: Seeded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    monkeypatch.setenv("CURTAILCOIN_DATABASE_URL", seeded.url)
    get_settings.cache_clear()

    def invoke(*args: str) -> tuple[int, str, str]:
        code = run(["export", "scenario", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    yield invoke
    get_settings.cache_clear()


@pytest.mark.db
def test_small_chunks_write_the_same_file(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole, chunked = tmp_path / "whole.parquet", tmp_path / "chunked.parquet"
    args = (*FLEET, "--from", FIRST, "--to", LAST, "--grain", "period", "--format", "parquet")
    assert cli(*args, "-o", str(whole))[0] == 0
    monkeypatch.setattr(export_cli, "CHUNK_ROWS", 13)
    assert cli(*args, "-o", str(chunked))[0] == 0
    assert pq.read_table(chunked).equals(pq.read_table(whole))
    assert pq.ParquetFile(chunked).num_row_groups > 1


SPAN = ("--from", FIRST, "--to", LAST)


@pytest.mark.db
@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("--bm-unit", "T_NOPE-1", "--mw", "1", *SPAN), ["unknown BM unit 'T_NOPE-1'"]),
        (("--lead-party", "Nobody Ltd", "--mw", "1", *SPAN), ["unknown lead party 'Nobody Ltd'"]),
        (("--all-wind", "--model", "XX", "--mw", "1", *SPAN), ["unknown miner model 'XX'"]),
        (("--all-wind", *SPAN), ["--miners", "--mw"]),
        (("--all-wind", "--mw", "-5", *SPAN), ["size -5.0 MW is not allowed"]),
        (("--all-wind", "--mw", "1", "--grain", "week", *SPAN), ["--grain 'week'", "period"]),
        (("--all-wind", "--mw", "1", "--uptime", "150", *SPAN), ["uptime 150.0", "0..100"]),
        (("--all-wind", "--mw", "1", "--fees", "some", *SPAN), ["--fees 'some'", "actual"]),
        (("--all-wind", "--mw", "1", "--fees", "actual", *SPAN), ["fees 'actual'"]),
        (("--all-wind", "--mw", "1", "--format", "xlsx", *SPAN), ["'xlsx'", "csv, parquet"]),
        (
            ("--all-wind", "--mw", "1", "--from", LAST, "--to", FIRST),
            ["--to", "before", "--from"],
        ),
        (("--mw", "1", *SPAN), ["site", "--all-wind"]),
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
        assert name in lines[0], lines[0]
    assert list(tmp_path.iterdir()) == []


def test_the_command_lists_every_export_table() -> None:
    assert list(export_cli.NAMES) == list(TABLES)
