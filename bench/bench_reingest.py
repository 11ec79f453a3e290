"""Benchmark the reingest of one settlement day (issue 2's speed targets); prints figures.

1. Fetch: a 48-period day from the local Elexon server with 100 ms latency per request, at a
   concurrency cap of 8 and a non-binding rate limit. Floor = 48 × 0.1 s ÷ 8 = 0.6 s; target ≤ 1.5×.
   Also the whole CLI run (``curtailcoin reingest --json``), process start-up included.
2. Write and calculate a heavy day (~7,000 curtailment records × 4 models) on SQLite and on
   PostgreSQL: the one transaction that replaces the date (lines, records, statuses,
   calculations, summaries). Target < 0.4 s (issue 11); ``bench/bench_write_path.py`` times it
   step by step, with the CPU time of the client and of the database server.

Usage: python bench/bench_reingest.py [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import psycopg

from curtailcoin.config import Settings
from curtailcoin.db.engine import dispose_all, get_engine
from curtailcoin.pipeline import ReingestResult, reingest_date
from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.mempool import MempoolTestServer

DAY = date(2025, 1, 17)
WRITE_TARGET_S = 0.4


async def _reingest(engine: object, settings: Settings, **options: object) -> ReingestResult:
    async with ElexonClient.from_settings(settings) as client:
        return await reingest_date(engine, settings, DAY, client=client, **options)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_for(url: str, elexon: ElexonTestServer, mempool: MempoolTestServer) -> Settings:
    return Settings(
        database_url=url,
        elexon_base_url=elexon.base_url,
        mempool_base_url=mempool.base_url,
        concurrency=8,
        requests_per_second=1000,
        fetch_generation=False,  # the stack's fetch and write; bench_generation.py times generation
    )


def bench_database(
    name: str, url: str, elexon: ElexonTestServer, mempool: MempoolTestServer
) -> None:
    settings = settings_for(url, elexon, mempool)
    engine = get_engine(url)
    writes: list[float] = []
    records = 0
    for _ in range(5):
        result = asyncio.run(_reingest(engine, settings, skip_verify=True))
        assert result.complete, result.to_json()
        writes.append(result.write_seconds)
        records = result.records
    print(
        f"{name:10s} heavy day: {records:,} records × 4 models; write+calculate "
        f"median {statistics.median(writes):.3f} s, min {min(writes):.3f} s, "
        f"max {max(writes):.3f} s (target < {WRITE_TARGET_S} s: "
        f"{statistics.median(writes) / WRITE_TARGET_S:.2f}×)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    with ElexonTestServer(seed=1) as elexon, MempoolTestServer(seed=1) as mempool:
        elexon.set_day(DAY, "heavy")

        # 1. Fetch at 100 ms latency, from a server in its own process (as Elexon would be:
        # no shared interpreter lock with the client).
        sqlite_url = f"sqlite:///{tmp / 'bench.db'}"
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "curtailcoin.cli.testserver",
                "elexon",
                "--port",
                str(port),
                "--latency-ms",
                "100",
                "--heavy-day",
                DAY.isoformat(),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            server.stdout.readline()  # "listening on …"
            remote = f"http://127.0.0.1:{port}/bmrs/api/v1"
            settings = settings_for(sqlite_url, elexon, mempool).model_copy(
                update={"elexon_base_url": remote}
            )
            engine = get_engine(sqlite_url)
            asyncio.run(_reingest(engine, settings))  # warm: registry, reference data, caches
            floor = 48 * 0.1 / settings.concurrency
            fetches = [asyncio.run(_reingest(engine, settings)).fetch_seconds for _ in range(5)]
            fetch = statistics.median(fetches)
            print(
                f"fetch 48 periods @100 ms, cap {settings.concurrency}: median {fetch:.3f} s, "
                f"min {min(fetches):.3f} s (floor {floor:.2f} s, ratio {fetch / floor:.2f}×, "
                f"target ≤ 1.5×)"
            )
            beside = Path(sys.executable).with_name("curtailcoin")  # the venv's, not activated
            exe = str(beside) if beside.exists() else shutil.which("curtailcoin")
            if exe:
                env = {
                    **os.environ,
                    "CURTAILCOIN_DATABASE_URL": sqlite_url,
                    "CURTAILCOIN_ELEXON_BASE_URL": remote,
                    "CURTAILCOIN_MEMPOOL_BASE_URL": mempool.base_url,
                    "CURTAILCOIN_REQUESTS_PER_SECOND": "1000",
                }
                runs = []
                for _ in range(3):
                    started = time.perf_counter()
                    subprocess.run(
                        [exe, "reingest", DAY.isoformat(), "--json"],
                        env=env,
                        check=True,
                        capture_output=True,
                    )
                    runs.append(time.perf_counter() - started)
                print(
                    "CLI reingest --json end to end (start-up + fetch + write + verify): "
                    f"median {statistics.median(runs):.3f} s"
                )
        finally:
            server.terminate()
            server.wait()

        # 2. Write and calculate on both databases.
        bench_database("SQLite", f"sqlite:///{tmp / 'write.db'}", elexon, mempool)
        name = f"cc_bench_{uuid.uuid4().hex[:8]}"
        base = args.pg.rpartition("/")[0]
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            bench_database("PostgreSQL", f"{base}/{name}", elexon, mempool)
        finally:
            dispose_all()
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
