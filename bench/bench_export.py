"""Benchmark: ``curtailcoin export records`` of ~100k and ~1M records, CSV and Parquet, on SQLite
and PostgreSQL, in bounded memory.

Three years of synthetic records (2022–2024: ~1.0 M curtailment records, written with bulk SQL
by ``tests/support/synthetic.generate``, no HTTP; calculations for one model) are exported through
the installed command, each run in a fresh process that reports its own peak RSS
(``resource.getrusage``). The exports stream (a server-side cursor on PostgreSQL, ``fetchmany``
on SQLite, 20k-row chunks, Parquet row groups), so peak RSS should barely move from ~100k rows
(the last 108 days) to ~1M (three years) while the output grows tenfold; a one-day export is the
baseline (interpreter, SQLAlchemy, pyarrow).

The site scenario (``export scenario --all-wind --mw 20 --grain period``: one row per curtailed
settlement period, ~52k over three years) is exported the same way: its rows are made chunk by
chunk from the model's per-period arrays.

Prints figures; asserts nothing about time. Usage::

    python bench/bench_export.py [--backends sqlite,postgresql] [--keep]
        [--sqlite-path /tmp/cc_bench_export.db] [--pg-admin-url postgresql://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import func, select, text

from curtailcoin.db.curtailment_tables import curtailment_records
from curtailcoin.db.engine import dispose_all, get_engine

# Test and bench support lives in tests/support, outside the package (docs/architecture.md).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.synthetic import generate

START, END = date(2022, 1, 1), date(2024, 12, 31)
RANGES = {
    "1 day": (date(2024, 12, 31), date(2024, 12, 31)),
    "~100k": (date(2024, 9, 15), date(2024, 12, 31)),
    "~1M": (START, END),
}
# Peak RSS of the export's own process. Linux carries ``ru_maxrss`` across exec from the forked
# copy of the parent (this benchmark, large after generating), so the probe reports
# ``getrusage`` and the kernel's ``VmHWM`` (reset at exec) and the table shows the smaller.
PROBE = """
import resource, sys, time
from curtailcoin.cli.main import run
started = time.perf_counter()
code = run(sys.argv[1:])
wall = time.perf_counter() - started
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    with open("/proc/self/status") as f:
        hwm = [int(x.split()[1]) for x in f if x.startswith("VmHWM:")][0]
except OSError:
    hwm = peak_kib
print(f"BENCH {code} {wall:.3f} {min(peak_kib, hwm)}", file=sys.stderr)
"""


SCENARIO = ["scenario", "--all-wind", "--model", "S19J_PRO", "--mw", "20", "--grain", "period"]
TABLES = {"records": ["records"], "scenario": SCENARIO}


def _export(url: str, table: str, span: tuple[date, date], fmt: str, out: Path) -> dict[str, Any]:
    env = dict(os.environ, CURTAILCOIN_DATABASE_URL=url)
    env.pop("CURTAILCOIN_LOG_FILE", None)
    span_args = ["--from", str(span[0]), "--to", str(span[1])]
    args = [*TABLES[table], *span_args, "--format", fmt, "-o", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "export", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    line = [x for x in done.stderr.splitlines() if x.startswith("BENCH ")][-1].split()
    assert line[1] == "0", done.stderr
    rows = int(done.stdout.split(": ")[1].split()[0])
    return {
        "rows": rows,
        "wall_s": round(float(line[2]), 2),
        "peak_rss_mib": round(int(line[3]) / 1024, 1),
        "file_mib": round(out.stat().st_size / 2**20, 1),
    }


def bench(name: str, url: str, workdir: Path) -> list[dict[str, Any]]:
    engine = get_engine(url)
    with engine.connect() as conn:
        records = conn.execute(select(func.count()).select_from(curtailment_records)).scalar_one()
    if records < 900_000:
        started = time.perf_counter()
        generate(engine, START, END, ["S19J_PRO"])
        print(f"[{name}] generated in {time.perf_counter() - started:.0f} s", flush=True)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
    dispose_all()
    results = []
    for table in TABLES:
        for fmt in ("csv", "parquet"):
            for label, span in RANGES.items():
                if table == "scenario" and label == "~100k":
                    continue
                out = workdir / f"{name}-{table}-{label.strip('~ ')}.{fmt}"
                figures = _export(url, table, span, fmt, out)
                results.append(
                    {"backend": name, "table": table, "format": fmt, "range": label, **figures}
                )
                print(json.dumps(results[-1]), flush=True)
                out.unlink()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--sqlite-path", default="/tmp/cc_bench_export.db")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "CURTAILCOIN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases for a rerun")
    args = parser.parse_args()
    pg_name = "cc_bench_export"
    base = args.pg_admin_url.rpartition("/")[0]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            if backend == "sqlite":
                url = f"sqlite:///{args.sqlite_path}"
            elif backend == "postgresql":
                with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
                    found = conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (pg_name,)
                    ).fetchone()
                    if not found:
                        conn.execute(f'CREATE DATABASE "{pg_name}"')
                url = f"{base}/{pg_name}"
            else:
                sys.exit(f"unknown backend {backend!r}: allowed sqlite, postgresql")
            results += bench(backend, url, Path(tmp))
            if not args.keep:
                if backend == "sqlite":
                    Path(args.sqlite_path).unlink(missing_ok=True)
                else:
                    with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    print("\nsummary (peak RSS of the exporting process; file = output size)")
    for r in results:
        print(
            f"  {r['backend']:<10} {r['table']:<8} {r['format']:<7} {r['range']:>6}: "
            f"{r['rows']:>9,} rows "
            f"{r['wall_s']:>6.1f} s  peak RSS {r['peak_rss_mib']:>6.1f} MiB  "
            f"file {r['file_mib']:>6.1f} MiB"
        )


if __name__ == "__main__":
    main()
