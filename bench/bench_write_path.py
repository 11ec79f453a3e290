"""Benchmark the write path of a heavy day (issue 11, item 4); prints the time per step.

A heavy day (~7,000 curtailment records × 4 models) is fetched once from the local Elexon test
server (no latency), then written again and again through ``pipeline.reingest.write_fetched``:
the drift guard, the store (lines, records, statuses), the calculations, the summaries, the
stored totals and the verification, on SQLite and on PostgreSQL. Each step is timed by wrapping
the function that does it; the total is the whole call (this process's CPU time beside it, as
the machine may be shared). Target: under 0.4 s per day on both databases.

``--answers`` chooses what each run writes: ``same`` (default) the one answer of the day again
(a reingest or reconciliation that finds the source unchanged; the first run writes it into the
empty database), ``changed`` two different answers of the day in turn (every figure of every
run replaced), ``new`` a date not stored yet each run (a backfill).

Usage: python bench/bench_write_path.py [--runs 7] [--pg postgresql://postgres@127.0.0.1/postgres]
       [--skip-pg] [--skip-sqlite] [--answers same|changed|new]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg

import curtailcoin.pipeline.derive as derive_module
import curtailcoin.pipeline.reingest as reingest_module
from curtailcoin.config import Settings
from curtailcoin.db.engine import dispose_all, get_engine
from curtailcoin.pipeline import FetchedDate, fetch_date, prepare_database, resolve_model_keys
from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.mempool import MempoolTestServer

DAY = date(2025, 1, 17)
TARGET_S = 0.4

#: (module, function, step label), in the order the write path runs them
STEPS: list[tuple[Any, str, str]] = [
    (reingest_module, "_judge_answer", "drift guard (stored totals)"),
    (reingest_module, "replace_periods", "store lines, records, statuses"),
    (derive_module, "clear_bitcoin_calculations", "clear calculations"),
    (derive_module, "calculation_rows", "compute calculations"),
    (derive_module, "insert_calculations", "insert calculations"),
    (derive_module, "replace_calculations", "write calculations (changed rows)"),
    (derive_module, "rebuild_curtailment_summaries", "curtailment summaries"),
    (derive_module, "rebuild_bitcoin_summaries", "bitcoin summaries"),
    (reingest_module, "_fill_stored_totals", "stored totals"),
    (reingest_module, "_verify", "verification"),
]


def _timed(
    function: Callable[..., Any], label: str, spent: dict[str, float], cpu: dict[str, float]
) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - started
            cpu[label] = cpu.get(label, 0.0) + time.process_time() - cpu_started

    return wrapper


async def _fetch(engine: Any, settings: Settings, day: date = DAY) -> FetchedDate:
    async with ElexonClient.from_settings(settings) as client:
        return await fetch_date(engine, settings, client, day)


def _answers(engine: Any, settings: Settings, mode: str, runs: int, other_url: str) -> list[Any]:
    """What the runs write, in turn (``--answers``)."""
    if mode == "new":
        return [asyncio.run(_fetch(engine, settings, DAY + timedelta(days=i))) for i in range(runs)]
    answers = [asyncio.run(_fetch(engine, settings))]
    if mode == "changed":
        other = settings.model_copy(update={"elexon_base_url": other_url})
        answers.append(asyncio.run(_fetch(engine, other)))
    return answers


def _server_cpu_s(url: str) -> float | None:
    """CPU seconds the PostgreSQL backends of ``url``'s database have used so far (from /proc:
    the server runs on this machine), or None on SQLite or when unreadable."""
    if not url.startswith("postgresql"):
        return None
    database = url.rpartition("/")[2]
    with psycopg.connect(url, autocommit=True) as conn:
        pids = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            )
        ]
    ticks = 0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
    except OSError:
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


def bench_database(
    name: str, url: str, runs: int, base: dict[str, str], mode: str, other_url: str
) -> None:
    settings = Settings(database_url=url, **base)  # type: ignore[arg-type]
    engine = get_engine(url)
    prepare_database(engine)
    models = resolve_model_keys(engine, settings.tracked_models)
    answers = _answers(engine, settings, mode, runs, other_url)
    if mode == "changed":  # the first run then replaces every figure too
        asyncio.run(reingest_module.write_fetched(engine, settings, answers[1], models=models))
    spent: dict[str, float] = {}
    spent_cpu: dict[str, float] = {}
    steps = [step for step in STEPS if hasattr(step[0], step[1])]  # older trees lack some
    originals = [(module, attr, getattr(module, attr)) for module, attr, _ in steps]
    for (module, attr, label), (_, _, function) in zip(steps, originals, strict=True):
        setattr(module, attr, _timed(function, label, spent, spent_cpu))
    # the database work inline (not in a worker thread), so that CPU time is this thread's
    thread_safe = reingest_module._thread_safe
    reingest_module._thread_safe = lambda engine: False
    per_step: dict[str, list[float]] = {label: [] for _, _, label in steps}
    per_step_cpu: dict[str, list[float]] = {label: [] for _, _, label in steps}
    totals: list[float] = []
    cpus: list[float] = []
    server_cpus: list[float] = []
    records = 0
    try:
        for run in range(runs):
            fetched = answers[run % len(answers)]
            spent.clear()
            spent_cpu.clear()
            server_before = _server_cpu_s(url)
            started, cpu = time.perf_counter(), time.process_time()
            result = asyncio.run(
                reingest_module.write_fetched(engine, settings, fetched, models=models)
            )
            totals.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
            server_after = _server_cpu_s(url)
            if server_before is not None and server_after is not None:
                server_cpus.append(server_after - server_before)
            assert result.complete and result.verified, result.to_json()
            records = result.records
            for label in per_step:
                per_step[label].append(spent.get(label, 0.0))
                per_step_cpu[label].append(spent_cpu.get(label, 0.0))
    finally:
        for module, attr, function in originals:
            setattr(module, attr, function)
        reingest_module._thread_safe = thread_safe
    total = statistics.median(totals)
    print(
        f"\n{name}: heavy day, {records:,} records × {len(models)} models, {runs} runs, "
        f"answers: {mode} (median; first run {totals[0]:.3f} s)"
    )
    print(f"  {'step':34s} {'wall':>7s}    {'CPU':>7s}")
    for label, values in per_step.items():
        print(
            f"  {label:34s} {statistics.median(values) * 1000:7.1f} ms "
            f"{statistics.median(per_step_cpu[label]) * 1000:7.1f} ms"
        )
    server = (
        f", of the database server {statistics.median(server_cpus) * 1000:.0f} ms"
        if server_cpus
        else ""
    )
    print(
        f"  {'write path, total':34s} {total * 1000:7.1f} ms (min {min(totals) * 1000:.0f}); "
        f"{total / TARGET_S:.2f}× the {TARGET_S} s target\n"
        f"  CPU of this process {statistics.median(cpus) * 1000:.0f} ms{server} (the wall "
        f"time on a shared machine waits for cores)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--answers", choices=("same", "changed", "new"), default="same")
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="cc-bench-") as tmp,
        ElexonTestServer(seed=1) as elexon,
        ElexonTestServer(seed=2) as other,
        MempoolTestServer(seed=1) as mempool,
    ):
        for i in range(options.runs if options.answers == "new" else 1):
            elexon.set_day(DAY + timedelta(days=i), "heavy")
        other.set_day(DAY, "heavy")
        base = {"elexon_base_url": elexon.base_url, "mempool_base_url": mempool.base_url}
        args = (options.runs, base, options.answers, other.base_url)
        if not options.skip_sqlite:
            bench_database("SQLite", f"sqlite:///{Path(tmp) / 'write.db'}", *args)
        if options.skip_pg:
            return
        name = f"cc_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(options.pg, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            url = f"{options.pg.rpartition('/')[0]}/{name}"
            bench_database("PostgreSQL", url, *args)
        finally:
            dispose_all()
            with psycopg.connect(options.pg, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
