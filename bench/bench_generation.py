"""Benchmark the wind generation fetch and store of a few days (issue 13 §1); prints figures.

Per day: one AGWS request and one B1610 request per batch of ``UNIT_BATCH_SIZE`` wind units
(issue 13: at most one request per day for the national series and one per BM-unit batch).
The local Elexon server answers with 100 ms latency; the floor is requests × latency ÷
concurrency (AGWS and the B1610 batches go out together), and the ratio is time ÷ floor. The
store is the transaction that replaces a heavy day's ~12,000 metered rows and rebuilds its roll-ups,
timed on SQLite and (with ``--pg``) PostgreSQL.

Usage: python bench/bench_generation.py [--days 5] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg

from curtailcoin.db.engine import dispose_all, get_engine
from curtailcoin.pipeline.generation import FetchedGeneration, fetch_generation, store_generation
from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.sources.generation import UNIT_BATCH_SIZE
from curtailcoin.testservers.elexon import ElexonTestServer

FIRST = date(2025, 1, 13)
LATENCY_S = float(os.environ.get("BENCH_LATENCY_S", "0.1"))
CONCURRENCY = 8


async def _fetch_days(server: ElexonTestServer, days: list[date]) -> list[FetchedGeneration]:
    units = sorted(server.wind_unit_ids())
    async with ElexonClient(server.base_url, concurrency=CONCURRENCY, timeout_s=30) as client:
        return [await fetch_generation(client, d, units) for d in days]


def _store_seconds(url: str, fetched: list[FetchedGeneration]) -> list[float]:
    engine = get_engine(url)
    out = []
    for item in fetched:
        started = time.perf_counter()
        with engine.begin() as conn:
            store_generation(conn, item)
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--pg", help="PostgreSQL server URL (a scratch database is created)")
    args = parser.parse_args()
    days = [FIRST + timedelta(days=i) for i in range(args.days)]
    server = ElexonTestServer(seed=1, latency_s=LATENCY_S, now=datetime(2025, 3, 1, tzinfo=UTC))
    for d in days:
        server.set_day(d, "heavy")
    with server:
        for d in days:  # warm the generated stacks: the server's own work is not the client's
            server.generation.day(d)
        started = time.perf_counter()
        fetched = asyncio.run(_fetch_days(server, days))
        elapsed = time.perf_counter() - started
        requests = len(server.requests_matching("wind-and-solar|B1610"))
    units = len(server.wind_unit_ids())
    batches = math.ceil(units / UNIT_BATCH_SIZE)
    per_day = requests / len(days)
    # per day: AGWS and the B1610 batches together (under the concurrency cap)
    floor = len(days) * LATENCY_S * math.ceil((1 + batches) / CONCURRENCY)
    print(f"wind units: {units}; B1610 batch size {UNIT_BATCH_SIZE} → {batches} batches")
    print(f"requests per day: {per_day:.1f} (bound: 1 AGWS + {batches} B1610 = {1 + batches})")
    print(
        f"fetch {len(days)} days at {LATENCY_S * 1000:.0f} ms latency: {elapsed:.2f} s "
        f"({elapsed / len(days):.2f} s/day); floor {floor:.2f} s; ratio {elapsed / floor:.2f}"
    )
    rows = statistics.mean(f.units.row_count for f in fetched)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        seconds = _store_seconds(url, fetched)
        median = statistics.median(seconds)
        print(f"store (SQLite), {rows:,.0f} metered rows/day: median {median:.3f} s")
        dispose_all()
    if args.pg:
        name = f"bench_generation_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = args.pg.rsplit("/", 1)[0] + f"/{name}"
            seconds = _store_seconds(url.replace("postgresql://", "postgresql+psycopg://"), fetched)
            print(f"store (PostgreSQL): median {statistics.median(seconds):.3f} s")
        finally:
            dispose_all()
            with psycopg.connect(args.pg, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
