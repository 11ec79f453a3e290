"""Benchmark: ``reconcile status`` over three years, and the daily check with nothing to fix.

1. **status**: three years of synthetic data (2022–2024: ~1.0 M curtailment records, ~2.8 M
   calculations for the 4 tracked models, every summary), written with bulk SQL (no HTTP), on
   SQLite and on PostgreSQL. Times ``curtailcoin reconcile status --json`` through the installed
   entry point (process start included) and ``get_reconciliation_status`` in-process (wall and
   CPU), the row-by-row ``--exact`` variant, and the status again after problems are made on
   purpose (the flagged periods are then counted row by row).
2. **daily**: two days served by the local Elexon test server; ``reconcile daily --force`` with
   nothing to fix must make one stack request per period and write nothing; the same command on
   an empty database (everything to fix) is compared with ``curtailcoin reingest`` of those days.

Prints figures; asserts nothing about time. Usage::

    python bench/bench_reconcile_status.py [--backends sqlite,postgresql] [--keep]
        [--sqlite-path /tmp/cc_bench_reconcile.db] [--pg-admin-url postgresql://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, func, select, text, update

from curtailcoin.db.curtailment_tables import (
    curtailment_records,
    historical_bitcoin_calculations,
    settlement_periods,
)
from curtailcoin.db.engine import dispose_all, get_engine
from curtailcoin.db.schema import metadata
from curtailcoin.db.summary_tables import daily_summaries
from curtailcoin.reconcile.status import get_reconciliation_status
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.mempool import MempoolTestServer

# Test and bench support lives in tests/support, outside the package (docs/architecture.md).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.synthetic import generate

MODELS = ["S19J_PRO", "S9", "M20S", "S21"]
START, END = date(2022, 1, 1), date(2024, 12, 31)
_BESIDE = Path(sys.executable).parent / "curtailcoin"  # the venv's, not activated
EXE = str(_BESIDE) if _BESIDE.exists() else (shutil.which("curtailcoin") or "curtailcoin")


def _cli(*args: str, env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([EXE, *args], env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done


def _in_process(engine: Engine, exact: bool = False) -> tuple[float, float, dict[str, Any]]:
    started, cpu = time.perf_counter(), time.process_time()
    with engine.connect() as conn:
        status = get_reconciliation_status(conn, MODELS, exact=exact)
        conn.rollback()
    return time.perf_counter() - started, time.process_time() - cpu, status.to_json()


def _rows(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        records = conn.execute(select(func.count()).select_from(curtailment_records)).scalar_one()
        calcs = conn.execute(
            select(func.count()).select_from(historical_bitcoin_calculations)
        ).scalar_one()
    return int(records), int(calcs)


def _break_things(conn: Connection) -> str:
    """A few problems of each kind spread over the three years (in the caller's transaction)."""
    c, r, p = historical_bitcoin_calculations.c, curtailment_records.c, settlement_periods.c
    for day in (date(2022, 3, 1), date(2023, 7, 9), date(2024, 11, 30)):
        conn.execute(
            historical_bitcoin_calculations.delete().where(
                c.settlement_date == day, c.settlement_period == 12, c.miner_model == "S9"
            )
        )
        first = conn.execute(
            select(func.min(r.id)).where(r.settlement_date == day, r.settlement_period == 30)
        ).scalar_one()
        conn.execute(
            update(curtailment_records).where(r.id == first).values(volume_mwh=r.volume_mwh - 1)
        )
        conn.execute(
            settlement_periods.delete().where(p.settlement_date == day, p.settlement_period == 40)
        )
        conn.execute(
            update(daily_summaries)
            .where(daily_summaries.c.summary_date == day)
            .values(payment_gbp=daily_summaries.c.payment_gbp + 1)
        )
    return (
        "3 dates × (S9 rows of a period deleted, a record changed, a period status removed, "
        "a daily summary tampered)"
    )


def bench_status(name: str, url: str, keep: bool, regenerate: bool) -> dict[str, Any]:
    engine = get_engine(url)
    records, calcs = _rows(engine)
    generated_s = None
    if regenerate or records == 0:
        with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
        started = time.perf_counter()
        generate(engine, START, END, MODELS)
        generated_s = time.perf_counter() - started
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        records, calcs = _rows(engine)
    env = dict(os.environ, CURTAILCOIN_DATABASE_URL=url)
    env.pop("CURTAILCOIN_LOG_FILE", None)
    out: dict[str, Any] = {
        "backend": name,
        "records": records,
        "calculations": calcs,
        "generated_s": generated_s,
    }
    _in_process(engine)  # warm the caches, as a second status run would find them
    cli_runs = []
    for _ in range(3):
        wall, cpu, done = _cli("reconcile", "status", "--json", env=env)
        assert done.returncode == 0, done.stderr
        cli_runs.append((wall, cpu, json.loads(done.stdout)))
    best = min(cli_runs, key=lambda x: x[0])
    out["cli_status_wall_s"] = round(best[0], 2)
    out["cli_status_cpu_s"] = round(best[1], 2)
    out["dates_checked"] = best[2]["dates_checked"]
    out["completion_percentage"] = best[2]["completion_percentage"]
    walls = [_in_process(engine) for _ in range(3)]
    fastest = min(walls, key=lambda x: x[0])
    out["status_wall_s"] = round(fastest[0], 2)
    out["status_cpu_s"] = round(fastest[1], 2)
    wall, _, _ = _in_process(engine, exact=True)
    out["exact_wall_s"] = round(wall, 2)
    # Problems made inside a transaction that is rolled back: the data stays clean.
    with engine.connect() as conn:
        out["problems_made"] = _break_things(conn)
        started = time.perf_counter()
        status = get_reconciliation_status(conn, MODELS).to_json()
        out["broken_status_wall_s"] = round(time.perf_counter() - started, 2)
        conn.rollback()
    out["broken_counts"] = {
        k: status[k]
        for k in (
            "incomplete_dates",
            "missing_calculations",
            "stale_calculations",
            "summary_mismatches",
            "period_total_mismatches",
        )
    }
    dispose_all()
    return out


def bench_daily(url: str, workdir: Path) -> dict[str, Any]:
    """Daily with nothing to fix, and with everything to fix vs ``reingest``."""
    now = datetime(2025, 1, 18, 23, 50, tzinfo=UTC)  # 47 periods of today have ended
    out: dict[str, Any] = {}
    with ElexonTestServer(seed=1, now=now) as elexon, MempoolTestServer(seed=1) as mempool:
        for day in ("2025-01-17", "2025-01-18"):
            elexon.set_day(day, "heavy")
        env = dict(
            os.environ,
            CURTAILCOIN_DATABASE_URL=url,
            CURTAILCOIN_ELEXON_BASE_URL=elexon.base_url,
            CURTAILCOIN_MEMPOOL_BASE_URL=mempool.base_url,
            CURTAILCOIN_CHECKPOINT_DIR=str(workdir / "checkpoints"),
            CURTAILCOIN_REQUESTS_PER_SECOND="1000",
        )
        iso = now.isoformat().replace("+00:00", "Z")
        elexon.clear_requests()
        wall, _, done = _cli("reconcile", "daily", "--days", "2", "--now", iso, "--json", env=env)
        assert done.returncode == 0, done.stderr
        out["everything_to_fix"] = {
            "wall_s": round(wall, 2),
            "stack_requests": len(elexon.requests_matching(r"/stack/all/bid/")),
            "all_requests": len(elexon.requests),
        }
        engine = get_engine(url)
        with engine.connect() as conn:
            marks = [
                conn.execute(select(func.count(), func.max(t.c.fetched_at))).one()
                for t in (curtailment_records, settlement_periods)
            ]
        elexon.clear_requests()
        wall, _, done = _cli(
            "reconcile", "daily", "--days", "2", "--now", iso, "--force", "--json", env=env
        )
        assert done.returncode == 0, done.stderr
        with engine.connect() as conn:
            after = [
                conn.execute(select(func.count(), func.max(t.c.fetched_at))).one()
                for t in (curtailment_records, settlement_periods)
            ]
        statuses = [d["status"] for d in json.loads(done.stdout)["dates"]]
        out["nothing_to_fix"] = {
            "wall_s": round(wall, 2),
            "statuses": statuses,
            "stack_requests": len(elexon.requests_matching(r"/stack/all/bid/")),
            "all_requests": len(elexon.requests),
            "periods": 47 + 48,
            "database_unchanged": marks == after,
        }
        # The same two days through plain reingests, on a fresh database.
        reingest_url = f"sqlite:///{workdir / 'reingest.db'}"
        env2 = dict(env, CURTAILCOIN_DATABASE_URL=reingest_url)
        walls = []
        elexon.clear_requests()
        for day in ("2025-01-18", "2025-01-17"):
            wall, _, done = _cli("reingest", day, "--skip-verify", "--json", env=env2)
            walls.append(wall)
        out["reingest_both_days"] = {
            "wall_s": round(sum(walls), 2),
            "stack_requests": len(elexon.requests_matching(r"/stack/all/bid/")),
            "note": "reingest of today fetches the periods ended by the real clock",
        }
    dispose_all()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--sqlite-path", default="/tmp/cc_bench_reconcile.db")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "CURTAILCOIN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases for a rerun")
    parser.add_argument("--regenerate", action="store_true", help="regenerate kept data")
    parser.add_argument("--skip-daily", action="store_true")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    results = []
    pg_name = "cc_bench_reconcile"
    base = args.pg_admin_url.rpartition("/")[0]
    for backend in backends:
        if backend == "sqlite":
            url = f"sqlite:///{args.sqlite_path}"
            if args.regenerate and Path(args.sqlite_path).exists():
                Path(args.sqlite_path).unlink()
        elif backend == "postgresql":
            with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (pg_name,)
                ).fetchone()
                if not exists:
                    conn.execute(f'CREATE DATABASE "{pg_name}"')
            url = f"{base}/{pg_name}"
        else:
            sys.exit(f"unknown backend {backend!r}: allowed sqlite, postgresql")
        print(f"[{backend}] status over {START}..{END} …", flush=True)
        results.append(bench_status(backend, url, args.keep, args.regenerate))
        print(json.dumps(results[-1], indent=2), flush=True)
        if not args.keep:
            if backend == "sqlite":
                Path(args.sqlite_path).unlink(missing_ok=True)
            else:
                with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    if not args.skip_daily:
        with tempfile.TemporaryDirectory() as tmp:
            print("[daily] two heavy days from the local Elexon server …", flush=True)
            daily = bench_daily(f"sqlite:///{Path(tmp) / 'daily.db'}", Path(tmp))
            print(json.dumps(daily, indent=2), flush=True)
    print("\nsummary")
    for r in results:
        print(
            f"  {r['backend']:<10} {r['records']:>9,} records {r['calculations']:>9,} calcs  "
            f"CLI status {r['cli_status_wall_s']:.2f} s wall ({r['cli_status_cpu_s']:.2f} s CPU), "
            f"in-process {r['status_wall_s']:.2f} s wall ({r['status_cpu_s']:.2f} s CPU), "
            f"--exact {r['exact_wall_s']:.2f} s, with problems {r['broken_status_wall_s']:.2f} s"
        )
    print(f"  load average now: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
