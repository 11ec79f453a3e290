"""``bench_api.py --with-reingest``: API latency and consistency while a reingest writes.

On each database (SQLite, PostgreSQL) a month is loaded through the real pipeline from the local
Elexon test server, with its heavy day. Then, at once:

* a writer process reingests the heavy day back to back (``pipeline.reingest_date`` against its
  own ``ElexonTestServer``; each run first ``revise``s the day, so every reingest changes its
  figures);
* ``--clients`` concurrent clients (default 50) hit the summary and mining-potential endpoints
  (daily on random dates of the month, monthly, yearly; the tracked default model) on the API
  served by ``curtailcoin serve`` in its own process, response cache on, as deployed.

Prints p50 / p95 / max per endpoint and the count of internally inconsistent responses: a month
(year) total that is not exactly the correctly rounded sum of the days (months) shown with it,
or a mining figure whose energy differs from the energy its Bitcoin covers (all of the month's
periods have a known difficulty). Figures only, no assertions.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from curtailcoin.config import Settings
from curtailcoin.db.engine import dispose_all, get_engine
from curtailcoin.pipeline import reingest_date
from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.mempool import MempoolTestServer

HEAVY = date(2025, 1, 17)
MONTH = "2025-01"

WRITER = """
import asyncio, sys, time
from datetime import date
from curtailcoin.config import Settings
from curtailcoin.db.engine import get_engine
from curtailcoin.pipeline import reingest_date
from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.mempool import MempoolTestServer

url, day = sys.argv[1], date.fromisoformat(sys.argv[2])
engine = get_engine(url)
with ElexonTestServer(seed=1) as elexon, MempoolTestServer(seed=1) as mempool:
    elexon.set_day(day, "heavy")
    settings = Settings(database_url=url, elexon_base_url=elexon.base_url,
                        mempool_base_url=mempool.base_url, requests_per_second=1000)
    print("ready", flush=True)
    while True:
        elexon.revise(day)
        async def run():
            async with ElexonClient.from_settings(settings) as client:
                return await reingest_date(engine, settings, day, client=client)
        started = time.perf_counter()
        result = asyncio.run(run())
        print(f"{result.written} {result.write_seconds:.3f} {time.perf_counter() - started:.3f}",
              flush=True)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load_month(url: str) -> int:
    """Every day of the month through the real pipeline (the heavy day forced); records."""
    engine = get_engine(url)
    first = date.fromisoformat(MONTH + "-01")
    days = [first + timedelta(days=i) for i in range(31)]
    with ElexonTestServer(seed=1) as elexon, MempoolTestServer(seed=1) as mempool:
        elexon.set_day(HEAVY, "heavy")
        settings = Settings(
            database_url=url,
            elexon_base_url=elexon.base_url,
            mempool_base_url=mempool.base_url,
            requests_per_second=1000,
            concurrency=16,
        )

        async def run() -> int:
            records = 0
            async with ElexonClient.from_settings(settings) as client:
                for day in days:
                    result = await reingest_date(
                        engine, settings, day, client=client, skip_verify=True
                    )
                    assert result.complete, (day, result.failed_periods)
                    records += result.records
            return records

        return asyncio.run(run())


def serve(url: str, workers: int) -> tuple[str, subprocess.Popen[bytes]]:
    """``curtailcoin serve`` in its own process, as deployed."""
    port = _free_port()
    env = {
        **os.environ,
        "CURTAILCOIN_DATABASE_URL": url,
        "CURTAILCOIN_CONFIG_FILE": os.devnull,
    }
    exe = Path(sys.executable).with_name("curtailcoin")
    process = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return base, process
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    process.kill()
    raise SystemExit("the server did not start")


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    checked: int = 0
    inconsistent: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, name: str, ms: float) -> None:
        self.latencies.setdefault(name, []).append(ms)


def inconsistency(kind: str, body: dict[str, Any]) -> str | None:
    """Why a response does not agree with itself (None when it does)."""
    if kind in ("summary/monthly", "summary/yearly"):
        rows = body["days"] if kind == "summary/monthly" else body["months"]
        for name in ("totalCurtailedEnergy", "totalPayment"):
            total = math.fsum(r[name] for r in rows)
            if total != body[name]:
                return f"{kind} {name} {body[name]!r} vs the sum of its rows {total!r}"
        if sum(r["recordCount"] for r in rows) != body["recordCount"]:
            return f"{kind} recordCount differs from the sum of its rows"
        return None
    if kind.startswith("mining/"):
        energy, btc, per = body["curtailedEnergy"], body["bitcoinMined"], body["bitcoinPerMwh"]
        covered = btc / per if per else 0.0
        if body["energyWithoutBitcoin"] or not math.isclose(energy, covered, rel_tol=1e-9):
            return f"{kind} energy {energy!r} MWh vs the {covered!r} MWh its Bitcoin covers"
    return None


class Http:
    """One keep-alive HTTP/1.1 connection with the bare minimum of parsing: 50 of them must
    cost the measuring side little CPU on a small machine (an httpx pool of 50 took more CPU
    than the server it measured)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def client_loop(
    base: str, rng: random.Random, until: float, think_s: float, tally: Tally
) -> None:
    host, _, port = base.removeprefix("http://").partition(":")
    http = Http(host, int(port))
    days = [f"{MONTH}-{d:02d}" for d in range(1, 32)]
    routes: list[tuple[str, Callable[[], str]]] = [
        ("summary/daily", lambda: f"/api/summary/daily/{rng.choice(days)}"),
        ("summary/monthly", lambda: f"/api/summary/monthly/{MONTH}"),
        ("summary/yearly", lambda: f"/api/summary/yearly/{MONTH[:4]}"),
        ("mining/daily", lambda: f"/api/mining-potential/daily/{rng.choice(days)}"),
        ("mining/monthly", lambda: f"/api/mining-potential/monthly/{MONTH}"),
        ("mining/yearly", lambda: f"/api/mining-potential/yearly/{MONTH[:4]}"),
    ]
    try:
        while time.perf_counter() < until:
            kind, make = rng.choice(routes)
            started = time.perf_counter()
            status, body = await http.get(make())
            tally.add(kind, (time.perf_counter() - started) * 1000)
            if status != 200:
                raise SystemExit(f"{kind}: {status} {body[:200]!r}")
            tally.checked += 1
            why = inconsistency(kind, json.loads(body))
            if why is not None:
                tally.inconsistent += 1
                if len(tally.examples) < 3:
                    tally.examples.append(why)
            if think_s:
                await asyncio.sleep(rng.uniform(0, 2 * think_s))
    finally:
        http.close()


async def hammer(base: str, clients: int, seconds: float, think_s: float) -> Tally:
    tally = Tally()
    until = time.perf_counter() + seconds
    await asyncio.gather(
        *(client_loop(base, random.Random(i), until, think_s, tally) for i in range(clients))
    )
    return tally


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_backend(name: str, url: str, options: Any) -> None:
    started = time.perf_counter()
    records = load_month(url)
    print(
        f"\n{name}: {MONTH} loaded through the pipeline ({records:,} records) in "
        f"{time.perf_counter() - started:.0f} s"
    )
    dispose_all()
    base, server = serve(url, options.workers)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, url, HEAVY.isoformat()],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        writer.stdout.readline()  # "ready"
        asyncio.run(hammer(base, options.clients, 2.0, options.think_ms / 1000))  # warm up
        tally = asyncio.run(hammer(base, options.clients, options.seconds, options.think_ms / 1000))
    finally:
        writer.terminate()
        output, _ = writer.communicate(timeout=30)
        server.terminate()
        server.wait(10)
    runs = [line.split() for line in output.splitlines() if line.count(" ") == 2]
    writes = [float(r[1]) for r in runs if r[0] == "True"]
    total = sum(len(v) for v in tally.latencies.values())
    print(
        f"{options.clients} clients (think {options.think_ms:.0f} ms) for {options.seconds:.0f} s "
        f"with reingests of {HEAVY} running ({len(writes)} committed, write median "
        f"{statistics.median(writes) if writes else float('nan'):.2f} s): {total:,} responses, "
        f"{total / options.seconds:.0f}/s; server workers {options.workers}"
    )
    print(f"{'endpoint':18s} {'n':>6s} {'p50':>8s} {'p95':>8s} {'max':>8s}  (ms)")
    for kind, values in tally.latencies.items():
        print(
            f"{kind:18s} {len(values):6d} {statistics.median(values):8.1f} "
            f"{pct(values, 0.95):8.1f} {max(values):8.1f}"
        )
    print(f"inconsistent responses: {tally.inconsistent} of {tally.checked}")
    for example in tally.examples:
        print(f"  e.g. {example}")


def run(options: Any) -> None:
    """Each database in ``options.databases`` in turn (fresh, dropped at the end)."""
    for backend in options.databases.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                bench_backend("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", options)
                dispose_all()
        elif backend == "postgresql":
            name = f"cc_bench_api_rw_{uuid.uuid4().hex[:8]}"
            base = options.pg_admin.rpartition("/")[0]
            with psycopg.connect(options.pg_admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            try:
                bench_backend("PostgreSQL", f"{base}/{name}", options)
            finally:
                dispose_all()
                with psycopg.connect(options.pg_admin, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            raise SystemExit(f"unknown database {backend!r}: allowed sqlite, postgresql")
