"""Benchmark the backfill and the workers (issue 5's speed and scale targets); prints figures.

1. **Backfill vs its floor.** ``curtailcoin backfill`` of 30 days against the local Elexon test
   server with 100 ms latency per request, on a fresh SQLite file. The floor is what the shared
   client's limits allow: ``requests ÷ min(rate limit, concurrency cap ÷ latency)``, every
   request the server logged counted (stacks, wind generation, the registry). The defaults
   (issue 11's target: within 1.2× the floor), then three settings: the request rate binds; the
   concurrency cap binds (the generator's natural mix of days, whose heavy answers take the
   server tens of ms beyond the latency to build and send); the cap binds on light days. Each
   line has the command's CPU time (its writer process included) and the load average.
2. **One vs two workers** (PostgreSQL): the same range queued with ``backfill --enqueue``, then
   processed by 1 and by 2 ``curtailcoin worker --burst`` processes; the rate limit is set high
   so that it does not bind (latency and the per-process concurrency cap do). Target ≈ 2×
   (within 20%). Light and calm days, so the test server's own CPU stays out of the way.
3. **Peak memory** for 10 and for 30 days: it must not grow with the length of the range. The
   sum over the command and its writer process (``VmRSS`` sampled every 50 ms) and the largest
   of them are printed; the ratio is of the sum.

No timed asserts: the script prints the figures and the ratios.

Usage: python bench/bench_backfill.py [--days 30] [--pg postgresql://postgres@127.0.0.1/postgres]
       [--worker-days 30] [--memory-days 10,30] [--skip-floor] [--skip-workers] [--skip-memory]
       [--only defaults]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg

from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.exchange import Exchange
from curtailcoin.testservers.mempool import MempoolTestServer
from curtailcoin.testservers.responses import Response

_BESIDE = Path(sys.executable).parent / "curtailcoin"  # the venv's, not activated
CURTAILCOIN = str(_BESIDE) if _BESIDE.exists() else (shutil.which("curtailcoin") or "curtailcoin")
LATENCY_S = 0.1
START = date(2025, 1, 1)


def env_for(
    url: str, elexon: ElexonTestServer, mempool: MempoolTestServer, work: Path, **extra: str
) -> dict[str, str]:
    # As a user runs it: with the bytecode caches an install writes (this machine's shells set
    # PYTHONDONTWRITEBYTECODE, which would recompile every curtailcoin module on each start).
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CURTAILCOIN_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        {
            "CURTAILCOIN_DATABASE_URL": url,
            "CURTAILCOIN_ELEXON_BASE_URL": elexon.base_url,
            "CURTAILCOIN_MEMPOOL_BASE_URL": mempool.base_url,
            "CURTAILCOIN_CHECKPOINT_DIR": str(work / "checkpoints"),
            "CURTAILCOIN_CONFIG_FILE": str(work / "none.toml"),
            "CURTAILCOIN_REQUEST_TIMEOUT_S": "30",
        }
    )
    env.update(extra)
    return env


def load_average() -> str:
    """The machine's 1-minute load average, printed beside each figure (a shared machine)."""
    return f"{os.getloadavg()[0]:.1f}"


def _own_cpu_s() -> float:
    """CPU seconds of this process so far: the test servers run in it."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> dict[int, tuple[int, float]]:
    """Each process of the run (the command and its writer): (resident KiB, CPU seconds)."""
    found: dict[int, tuple[int, float]] = {}
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            stat = Path(f"/proc/{current}/stat").read_text().rpartition(")")[2].split()
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
        rss = next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS:")), 0)
        found[current] = (rss, (int(stat[11]) + int(stat[12])) * _TICK_S)  # utime + stime
    return found


class _TreeSampler(threading.Thread):
    """Samples the run's processes every 50 ms until stopped: the peak of their summed resident
    memory, each one's peak and its CPU time at its last sample."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kib = 0
        self.largest_kib = 0
        self.cpu_s: dict[int, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            tree = _tree(self.pid)
            self.peak_kib = max(self.peak_kib, sum(rss for rss, _ in tree.values()))
            self.largest_kib = max([self.largest_kib, *(rss for rss, _ in tree.values())])
            self.cpu_s.update({p: cpu for p, (_, cpu) in tree.items()})

    @property
    def writer_cpu_s(self) -> float:
        """CPU of the processes the command started (sampled: up to 50 ms short)."""
        return sum(cpu for p, cpu in self.cpu_s.items() if p != self.pid)


class Measured:
    """One CLI run: wall and CPU seconds (user + system of the command and its writer process,
    from ``wait4``; the writer's share sampled), peak resident memory (sampled: the sum over the
    processes, and the largest one; ``ru_maxrss`` would count the benchmark's own memory at the
    fork), output."""

    def __init__(
        self,
        wall: float,
        code: int,
        usage: Any,
        out: str,
        err: str,
        load_before: str,
        sampler: _TreeSampler,
    ) -> None:
        self.wall = wall
        self.code = code
        self.cpu_s = float(usage.ru_utime + usage.ru_stime)
        self.writer_cpu_s = sampler.writer_cpu_s
        self.rss_kib = sampler.largest_kib
        self.tree_kib = sampler.peak_kib
        self.out = out
        self.err = err
        self.load = f"{load_before}→{load_average()}"


def run_measured(args: list[str], env: dict[str, str]) -> Measured:
    """Run the CLI and measure it."""
    load_before = load_average()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen([CURTAILCOIN, *args], env=env, stdout=out, stderr=err)
        memory = _TreeSampler(process.pid)
        memory.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        memory.done.set()
        memory.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            wall,
            process.returncode,
            usage,
            out.read().decode(),
            err.read().decode(),
            load_before,
            memory,
        )


class PrebuiltElexon(ElexonTestServer):
    """The Elexon test server, able to answer from the answers it built on an earlier run.

    The server runs on the same two cores as the backfill, and building and encoding a heavy
    answer costs it about as much CPU as the backfill spends on it: with ``prebuilt`` set, each
    request target's first answer is kept and sent again, so a second run measures the client
    against a source that, like Elexon's, spends none of this machine's CPU (latency aside).
    """

    prebuilt: dict[tuple[str, str], Response] | None = None

    def answer(self, ex: Exchange) -> Response:
        if self.prebuilt is None:
            return super().answer(ex)
        key = (ex.method, ex.target)
        found = self.prebuilt.get(key)
        if found is None:
            found = self.prebuilt[key] = super().answer(ex)
        return found


def backfill_vs_floor(
    elexon: PrebuiltElexon,
    mempool: MempoolTestServer,
    days: int,
    work: Path,
    only: str | None = None,
) -> None:
    print(f"\n## 1. Backfill of {days} days vs the floor (latency {LATENCY_S * 1000:.0f} ms)")
    elexon.latency_s = LATENCY_S
    end = START + timedelta(days=days - 1)
    cases: list[tuple[str, dict[str, Any]]] = [
        # the brief's target: defaults (16 requests in flight, no rate cap, 4 dates in flight)
        ("defaults", {"rate": None, "cap": None, "dates": None, "light": False}),
        (  # the same requests again, answered from the first run's answers
            "defaults, answers prebuilt",
            {"rate": None, "cap": None, "dates": None, "light": False, "replay": True},
        ),
        ("rate limit binds", {"rate": 20.0, "cap": 8, "dates": 4, "light": False}),
        ("concurrency cap binds", {"rate": 1000.0, "cap": 4, "dates": 4, "light": False}),
        (
            "concurrency cap binds, light days",
            {"rate": 1000.0, "cap": 4, "dates": 4, "light": True},
        ),
    ]
    for label, case in cases:
        if only is not None and not label.startswith(only):
            continue
        if label == "defaults":
            elexon.prebuilt = {}  # its answers, kept for the replay
        elif not case.get("replay"):
            elexon.prebuilt = None
        if case["light"]:
            # small answers: the server's time per request is the latency, not the payload
            for i in range(days):
                elexon.set_day(START + timedelta(days=i), "light")
        db = work / f"floor-{label.replace(' ', '-').replace(',', '')}.db"
        limits = {}
        if case["rate"] is not None:
            limits["CURTAILCOIN_REQUESTS_PER_SECOND"] = str(case["rate"])
        if case["cap"] is not None:
            limits["CURTAILCOIN_CONCURRENCY"] = str(case["cap"])
        env = env_for(
            f"sqlite:///{db}",
            elexon,
            mempool,
            work / label.replace(" ", "-").replace(",", ""),
            **limits,
        )
        dates = [] if case["dates"] is None else ["--concurrency", str(case["dates"])]
        elexon.clear_requests()
        server_cpu = _own_cpu_s()
        run = run_measured(["backfill", str(START), str(end), *dates, "--json"], env)
        server_cpu = _own_cpu_s() - server_cpu
        wall, code, rss, out, err = run.wall, run.code, run.rss_kib, run.out, run.err
        case = {**case, "rate": case["rate"] or math.inf, "cap": case["cap"] or 16}
        case["dates"] = case["dates"] or 4
        if code != 0:
            print(f"  {label}: exit {code}\n{err[-2000:]}")
            continue
        summary = json.loads(out)
        log = elexon.requests
        requests = len(log)
        stacks = sum("/balancing/settlement/stack/" in r.path for r in log)
        generation = sum("wind-and-solar" in r.path or "/B1610/" in r.path for r in log)
        throughput = min(float(case["rate"]), float(case["cap"]) / LATENCY_S)
        floor = requests / throughput
        # the server's own time per request: the 100 ms latency plus generating and sending
        service = sum(r.duration for r in log) / requests
        served_floor = requests / min(float(case["rate"]), float(case["cap"]) / service)
        print(
            f"- {label}: rate {case['rate']:g}/s, cap {case['cap']}, {case['dates']} dates in "
            f"flight; {requests} requests ({stacks} stack, {generation} generation, "
            f"{requests - stacks - generation} other); floor {floor:.1f} s\n"
            f"  backfill elapsed {summary['elapsed_s']:.1f} s = "
            f"{summary['elapsed_s'] / floor:.2f}× floor (process wall {wall:.1f} s = "
            f"{wall / floor:.2f}×); {summary['periods_per_s']:.1f} periods/s; "
            f"{summary['records']:,} records; peak RSS {run.tree_kib / 1024:.0f} MiB (largest "
            f"process {rss / 1024:.0f} MiB); CPU {run.cpu_s:.1f} s (writer process "
            f"{run.writer_cpu_s:.1f} s), the test servers' {server_cpu:.1f} s; load average "
            f"{run.load}\n"
            f"  mean server time per request {service * 1000:.0f} ms (latency included): floor "
            f"at that service time {served_floor:.1f} s, elapsed = "
            f"{summary['elapsed_s'] / served_floor:.2f}× of it; max in flight "
            f"{elexon.max_in_flight}"
        )
    elexon.latency_s = 0.0
    elexon.prebuilt = None


def _create_database(admin_url: str) -> str:
    name = f"cc_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{admin_url.rpartition('/')[0]}/{name}"


def _drop_database(admin_url: str, url: str) -> None:
    name = url.rpartition("/")[2]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _queue_span(url: str) -> float:
    """Seconds from the first job start to the last job end, from procrastinate's events."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT EXTRACT(EPOCH FROM max(at) FILTER (WHERE type IN ('succeeded', 'failed')) "
            "- min(at) FILTER (WHERE type = 'started')) FROM procrastinate_events"
        ).fetchone()
        counts: dict[str, int] = dict(
            conn.execute("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1")
        )
    if counts.keys() - {"succeeded"}:
        print(f"  warning: jobs not all succeeded: {counts}")
    assert row is not None
    return float(row[0])


def one_vs_two_workers(
    elexon: ElexonTestServer, mempool: MempoolTestServer, admin_url: str, days: int, work: Path
) -> None:
    print(f"\n## 2. One vs two workers on PostgreSQL ({days} dates, latency 100 ms)")
    end = START + timedelta(days=days - 1)
    for i in range(days):
        elexon.set_day(START + timedelta(days=i), "light" if i % 2 else "calm")
    elexon.latency_s = LATENCY_S
    spans: dict[int, tuple[float, float]] = {}
    try:
        for workers in (1, 2):
            url = _create_database(admin_url)
            try:
                env = env_for(
                    url,
                    elexon,
                    mempool,
                    work / f"workers-{workers}",
                    CURTAILCOIN_REQUESTS_PER_SECOND="1000",
                    CURTAILCOIN_CONCURRENCY="8",
                    CURTAILCOIN_WORKER_CONCURRENCY="2",
                )
                queued = subprocess.run(
                    [CURTAILCOIN, "backfill", str(START), str(end), "--enqueue"],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if queued.returncode != 0:
                    print(f"  enqueue failed: {queued.stderr[-1000:]}")
                    return
                started = time.perf_counter()
                processes = [
                    subprocess.Popen(
                        [CURTAILCOIN, "worker", "--burst"],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    for _ in range(workers)
                ]
                codes = [p.wait() for p in processes]
                wall = time.perf_counter() - started
                span = _queue_span(url)
                spans[workers] = (wall, span)
                print(
                    f"- {workers} worker(s): {span:.1f} s from first start to last finish "
                    f"(processes' wall {wall:.1f} s, exit codes {codes}); "
                    f"{days / span:.2f} dates/s"
                )
            finally:
                _drop_database(admin_url, url)
    finally:
        elexon.latency_s = 0.0
    if 1 in spans and 2 in spans:
        speedup = spans[1][1] / spans[2][1]
        print(
            f"  speed-up with two workers: {speedup:.2f}× (wall: {spans[1][0] / spans[2][0]:.2f}×)"
        )


def peak_memory(
    elexon: ElexonTestServer, mempool: MempoolTestServer, work: Path, lengths: list[int]
) -> None:
    shown = " vs ".join(str(n) for n in lengths)
    print(f"\n## 3. Peak memory of a backfill: {shown} days (no latency, 4 dates in flight)")
    patterns = {
        "light every day": ["light"],
        "a heavy day every 5 (light, calm between)": ["heavy", "light", "calm", "light", "calm"],
    }
    for label, pattern in patterns.items():
        for i in range(max(lengths)):
            elexon.set_day(START + timedelta(days=i), pattern[i % len(pattern)])
        figures = []
        for days in lengths:
            db = work / f"memory-{len(pattern)}-{days}.db"
            env = env_for(
                f"sqlite:///{db}",
                elexon,
                mempool,
                work / f"memory-{len(pattern)}-{days}",
                CURTAILCOIN_REQUESTS_PER_SECOND="1000",
                CURTAILCOIN_CONCURRENCY="8",
            )
            end = START + timedelta(days=days - 1)
            run = run_measured(
                ["backfill", str(START), str(end), "--concurrency", "4", "--json"], env
            )
            wall, code, rss, out = run.wall, run.code, run.rss_kib, run.out
            summary: dict[str, Any] = json.loads(out) if code == 0 else {}
            figures.append(run.tree_kib)
            print(
                f"- {label}, {days} days: peak RSS {run.tree_kib / 1024:.1f} MiB (largest "
                f"process {rss / 1024:.1f} MiB); "
                f"{summary.get('records', 0):,} records; {wall:.1f} s (CPU {run.cpu_s:.1f} s, "
                f"load {run.load}); exit {code}"
            )
        print(
            f"  {lengths[-1]} days / {lengths[0]} days: "
            f"{figures[-1] / figures[0]:.2f}× "
            f"({figures[-1] / 1024 - figures[0] / 1024:+.1f} MiB)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "CURTAILCOIN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="an admin URL: a scratch database is created and dropped",
    )
    parser.add_argument("--worker-days", type=int, default=30)
    parser.add_argument("--skip-floor", action="store_true")
    parser.add_argument(
        "--only", help="run only the floor cases whose label starts so (e.g. defaults)"
    )
    parser.add_argument("--skip-workers", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--memory-days", default="10,30", help="range lengths to compare (e.g. 10,30,90)"
    )
    options = parser.parse_args()
    print(f"# Backfill and worker benchmark ({os.cpu_count()} CPUs)")
    with (
        tempfile.TemporaryDirectory(prefix="cc-bench-") as tmp,
        PrebuiltElexon() as elexon,
        MempoolTestServer() as mempool,
    ):
        work = Path(tmp)
        if not options.skip_floor:
            backfill_vs_floor(elexon, mempool, options.days, work, options.only)
        if not options.skip_workers:
            one_vs_two_workers(elexon, mempool, options.pg, options.worker_days, work)
        if not options.skip_memory:
            lengths = sorted(int(n) for n in options.memory_days.split(","))
            peak_memory(elexon, mempool, work, lengths)


if __name__ == "__main__":
    main()
