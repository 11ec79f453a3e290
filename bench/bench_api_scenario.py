"""Benchmark of ``GET /api/scenario`` (and ``/sizing``) on three years of data (~1 M records).

Fills SQLite and PostgreSQL as ``bench_scenario.py`` does (``support.synthetic.generate``:
bulk SQL, no HTTP, and a BTC/GBP price per day; ``--keep`` then ``--reuse`` skips the load),
serves the application with uvicorn in its own process (as deployed; ``bench_api.serve``) and
measures with an httpx client, one request at a time:

* a one-year scenario (monthly rows, capex and opex) for one of the five lead parties with the
  most records, a random 365-day window and size in each request, so no answer repeats: the
  response cache off, then on (every request still new: the cache cannot help) — target p95
  < 200 ms;
* the same URL asked again and again with the cache on (what a dashboard reload costs);
* for reference, a one-year 50-size sweep with the duration curve.

Prints p50 / p95 / max, the server process's CPU per request (steadier on a shared machine)
and the p95's ratio to the target; asserts nothing about time. Usage::

    .venv/bin/python bench/bench_api_scenario.py [--databases sqlite,postgresql]
        [--requests 60] [--reuse] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import Engine, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import pct, serve
from bench_scenario import END, START, load

from curtailcoin.db.curtailment_tables import curtailment_records
from curtailcoin.db.engine import dispose_all, get_engine

TARGET_S = 0.200
SQLITE_PATH = "/tmp/cc_bench_api_scenario.db"
PG_NAME = "cc_bench_api_scenario"


def lead_parties(engine: Engine, count: int = 5) -> list[str]:
    r = curtailment_records.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(r.lead_party_name)
            .where(r.lead_party_name.is_not(None))
            .group_by(r.lead_party_name)
            .order_by(func.count().desc())
            .limit(count)
        ).all()
    if not rows:
        raise SystemExit("no curtailment records: run without --reuse")
    return [str(row[0]) for row in rows]


def one_year(rng: random.Random, leads: list[str]) -> dict[str, Any]:
    first = START + timedelta(days=rng.randrange((END - START).days - 364))
    return {
        "leadParty": rng.choice(leads),
        "from": first.isoformat(),
        "to": (first + timedelta(days=364)).isoformat(),
        "minerModel": "S21",
        "mw": str(rng.randrange(5, 60)),
        "capexPerMiner": "3000",
        "opexPerMonth": "20000",
        "grain": "month",
    }


def server_cpu_s(pid: int) -> float:
    """User + system CPU seconds of the server process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(client: httpx.Client, path: str, params: dict[str, Any]) -> float:
    started = time.perf_counter()
    answer = client.get(path, params=params)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise SystemExit(f"{path} answered {answer.status_code}: {answer.text[:300]}")
    return elapsed


def report(name: str, times: list[float], target: float | None, cpu_s: float) -> None:
    p95 = pct(times, 0.95)
    ratio = f", p95 {p95 / target:.2f} × target {target * 1000:.0f} ms" if target else ""
    print(
        f"  {name}: p50 {pct(times, 0.5) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms, server CPU {cpu_s / len(times) * 1000:.0f} ms per "
        f"request ({len(times)} requests){ratio}"
    )


def bench(url: str, engine: Engine, requests: int) -> None:
    leads = lead_parties(engine)
    print(f"  sites: the {len(leads)} lead parties with the most records")
    for cache in (False, True):
        base, process = serve(url, cache)
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                rng = random.Random(12)
                timed(client, "/api/scenario", one_year(rng, leads))  # warm the process
                cpu = server_cpu_s(process.pid)
                times = [
                    timed(client, "/api/scenario", one_year(rng, leads)) for _ in range(requests)
                ]
                cpu = server_cpu_s(process.pid) - cpu
                label = "cache on, every request new" if cache else "cache off"
                report(f"scenario, one lead party, one year ({label})", times, TARGET_S, cpu)
                if cache:
                    same = one_year(rng, leads)
                    cpu = server_cpu_s(process.pid)
                    repeat = [timed(client, "/api/scenario", same) for _ in range(requests)]
                    cpu = server_cpu_s(process.pid) - cpu
                    report("scenario, the same URL again (cache on)", repeat, TARGET_S, cpu)
                else:
                    sweep = []
                    cpu = server_cpu_s(process.pid)
                    for _ in range(max(5, requests // 4)):
                        params = one_year(rng, leads)
                        params.pop("mw")
                        params.pop("grain")
                        params["sizes"] = "1:500:50"
                        sweep.append(timed(client, "/api/scenario/sizing", params))
                    cpu = server_cpu_s(process.pid) - cpu
                    name = "sizing, one year, 50 sizes + duration curve (cache off)"
                    report(name, sweep, None, cpu)
        finally:
            process.terminate()
            process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="Keep the databases afterwards.")
    parser.add_argument(
        "--reuse", action="store_true", help="Use the databases a --keep run left (no load)."
    )
    options = parser.parse_args()
    for backend in [b.strip() for b in options.databases.split(",") if b.strip()]:
        print(backend)
        if backend == "sqlite":
            path = Path(SQLITE_PATH)
            if not options.reuse:
                path.unlink(missing_ok=True)
            url = f"sqlite:///{path}"
        elif backend == "postgresql":
            if not options.reuse:
                with psycopg.connect(options.pg_admin, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
                    conn.execute(f'CREATE DATABASE "{PG_NAME}"')
            url = f"{options.pg_admin.rpartition('/')[0]}/{PG_NAME}"
        else:
            raise SystemExit(f"unknown database {backend!r}: allowed sqlite, postgresql")
        engine = get_engine(url)
        try:
            if not options.reuse:
                load(engine)
                if backend == "postgresql":
                    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                        c.exec_driver_sql("VACUUM ANALYZE")
            bench(url, engine, options.requests)
        finally:
            dispose_all()
            if not options.keep and backend == "postgresql":
                with psycopg.connect(options.pg_admin, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
            elif not options.keep:
                Path(SQLITE_PATH).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
