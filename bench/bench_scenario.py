"""Benchmark of the site-economics scenario and sizing sweep on three years of data.

Fills SQLite and PostgreSQL with ~1 M synthetic curtailment records (2023-01-01 .. 2025-12-31,
``reconcile.synthetic.generate``: bulk ``INSERT … SELECT``, no HTTP; no calculations, which the
scenario does not read) and a BTC/GBP price per day, then times in-process, each on a fresh
read snapshot:

* one scenario (20 MW of S21, monthly rows, capex and opex) for the lead party with the most
  records, over the three years — target < 300 ms;
* a 50-size sweep (1–500 MW) with the duration curve, same site and range — target < 2 s;
* for reference, the same scenario for all wind.

Prints the median and max of ``--repeat`` runs and the ratio to the target; asserts nothing about
time. Usage::

    .venv/bin/python bench/bench_scenario.py [--databases sqlite,postgresql] [--repeat 7]
        [--pg-admin postgresql://postgres@127.0.0.1:5432/postgres] [--keep] [--reuse]
        [--sqlite-path /tmp/cc_bench_scenario.db]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, func, select

from curtailcoin.db.curtailment_tables import curtailment_records
from curtailcoin.db.engine import dispose_all, get_engine, read_snapshot
from curtailcoin.db.reference_tables import btc_prices
from curtailcoin.economics.inputs import Assumptions
from curtailcoin.economics.scenario import (
    ScenarioRequest,
    SizingRequest,
    run_scenario,
    run_sizing,
)
from curtailcoin.economics.site import Site, site_of
from curtailcoin.economics.sizing import size_grid
from curtailcoin.reconcile.synthetic import generate

START, END = date(2023, 1, 1), date(2025, 12, 31)
SCENARIO_TARGET_S, SWEEP_TARGET_S = 0.300, 2.0
ASSUME = Assumptions(capex_gbp_per_miner=3000.0, opex_gbp_per_month=20_000.0)


def load(engine: Engine) -> None:
    t0 = time.perf_counter()
    made = generate(engine, START, END, [])
    days = [START + timedelta(days=i) for i in range((END - START).days + 1)]
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            btc_prices.insert(),
            [
                {
                    "price_date": d,
                    "currency": "GBP",
                    "price": 30_000.0 + 20.0 * i,
                    "source": "bench",
                    "fetched_at": now,
                }
                for i, d in enumerate(days)
            ],
        )
    print(
        f"  loaded {made.records:,} records, {made.periods:,} periods, {len(days):,} prices "
        f"in {time.perf_counter() - t0:.1f} s"
    )


def biggest_lead_party(engine: Engine) -> tuple[str, int]:
    r = curtailment_records.c
    with engine.connect() as conn:
        row = conn.execute(
            select(r.lead_party_name, func.count())
            .where(r.lead_party_name.is_not(None))
            .group_by(r.lead_party_name)
            .order_by(func.count().desc())
            .limit(1)
        ).first()
    if row is None:
        raise SystemExit("no curtailment records: run without --reuse (or with --keep first)")
    return str(row[0]), int(row[1])


def timed(
    engine: Engine, call: Callable[[Any], object], repeat: int
) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each run (CPU: this process's, so SQLite's reads but not
    PostgreSQL's server; on a shared machine it shows the work without the waiting)."""
    walls, cpus = [], []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        with read_snapshot(engine) as conn:
            call(conn)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def report(name: str, times: tuple[list[float], list[float]], target: float | None) -> None:
    walls, cpus = times
    median = statistics.median(walls)
    ratio = f", {median / target:.2f} × target {target * 1000:.0f} ms" if target else ""
    print(
        f"  {name}: median {median * 1000:.0f} ms (CPU {statistics.median(cpus) * 1000:.0f} ms), "
        f"max {max(walls) * 1000:.0f} ms{ratio}"
    )


def bench(engine: Engine, repeat: int) -> None:
    lead, records = biggest_lead_party(engine)
    print(f"  site: lead party {lead!r} ({records:,} records over three years)")
    site = site_of(lead_party=lead)
    everything: Site = site_of(all_wind=True)

    def scenario(conn: Any, where: Site = site) -> object:
        return run_scenario(
            conn, ScenarioRequest(where, "S21", START, END, size_mw=20.0, assumptions=ASSUME)
        )

    def sweep(conn: Any) -> object:
        grid = size_grid(1.0, 500.0, 50)
        return run_sizing(conn, SizingRequest(site, "S21", START, END, grid, ASSUME))

    timed(engine, scenario, 1)  # warm caches (plans, calendar)
    report("scenario, one lead party, 3 years", timed(engine, scenario, repeat), SCENARIO_TARGET_S)
    report("sizing, 50 sizes + duration curve", timed(engine, sweep, repeat), SWEEP_TARGET_S)
    report(
        "scenario, all wind, 3 years (reference)",
        timed(engine, lambda c: scenario(c, everything), max(3, repeat // 2)),
        None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="Keep the databases afterwards.")
    parser.add_argument(
        "--reuse", action="store_true", help="Use the databases a --keep run left (no load)."
    )
    parser.add_argument("--sqlite-path", default="/tmp/cc_bench_scenario.db")
    options = parser.parse_args()
    for backend in [b.strip() for b in options.databases.split(",") if b.strip()]:
        print(backend)
        if backend == "sqlite":
            path = Path(options.sqlite_path)
            if not options.reuse:
                path.unlink(missing_ok=True)
            url = f"sqlite:///{path}"
        elif backend == "postgresql":
            name = "cc_bench_scenario"
            if not options.reuse:
                with psycopg.connect(options.pg_admin, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    conn.execute(f'CREATE DATABASE "{name}"')
            url = f"{options.pg_admin.rpartition('/')[0]}/{name}"
        else:
            raise SystemExit(f"unknown database {backend!r}: allowed sqlite, postgresql")
        engine = get_engine(url)
        try:
            if not options.reuse:
                load(engine)
            if backend == "postgresql" and not options.reuse:
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("VACUUM ANALYZE")
            bench(engine, options.repeat)
        finally:
            dispose_all()
            if not options.keep and backend == "postgresql":
                with psycopg.connect(options.pg_admin, autocommit=True) as conn:
                    conn.execute('DROP DATABASE IF EXISTS "cc_bench_scenario" WITH (FORCE)')
            elif not options.keep:
                Path(options.sqlite_path).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
