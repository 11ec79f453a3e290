"""End to end through the installed ``curtailcoin`` command, at its defaults (issue 11's targets).

Every figure is a whole process, start to exit, as a user runs it: a fresh SQLite file, the
project's Elexon and mempool.space test servers with 100 ms added latency per request, no
``CURTAILCOIN_*`` setting but the URLs. Prints figures and their ratio to the network floor
(requests × latency ÷ concurrency); no assertions.

1. ``curtailcoin --help`` and ``curtailcoin reingest --help`` (median of 5).
2. ``reingest`` of a light day, a heavy day and a 50-period heavy day (median of 3; the first
   run of each on a fresh file, so BM units and reference data are loaded as a new user's are).
3. ``CURTAILCOIN_REQUESTS_PER_SECOND=10``: a heavy day's time against 48 ÷ 10 s, and the most
   request starts the test server's log holds in any one-second window.
4. Offline: ``reingest`` against a host that does not resolve — seconds to exit, lines printed.

Each figure is printed with the CPU time (user + system) of the ``curtailcoin`` process and the
load average at the end of its runs: on a shared machine the wall time follows the load, the CPU
time much less.

Usage: python bench/bench_cli.py [--latency-ms 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.mempool import MempoolTestServer

_BESIDE = Path(sys.executable).parent / "curtailcoin"  # the venv's, not activated
CURTAILCOIN = str(_BESIDE) if _BESIDE.exists() else (shutil.which("curtailcoin") or "curtailcoin")
DEFAULT_CONCURRENCY = 16

DAYS = {
    "light day (48 periods)": ("2025-01-15", "light"),
    "heavy day (48 periods)": ("2025-01-17", "heavy"),
    "50-period heavy day": ("2024-10-27", "heavy"),
}


def base_env(work: Path, **extra: str) -> dict[str, str]:
    # As a user runs it: with the bytecode caches an install writes (this machine's shells set
    # PYTHONDONTWRITEBYTECODE, which would recompile every curtailcoin module on each start).
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CURTAILCOIN_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        {
            "CURTAILCOIN_CONFIG_FILE": str(work / "none.toml"),
            "CURTAILCOIN_CHECKPOINT_DIR": str(work / "checkpoints"),
        }
    )
    env.update(extra)
    return env


CPU_S: list[float] = []  # the CPU time of each process ``timed`` ran, in order


def timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int, str, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [CURTAILCOIN, *args], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_S.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, done.returncode, done.stdout, done.stderr


def cpu_and_load(runs: int) -> str:
    """The median CPU time of the last ``runs`` processes and the load average now."""
    return f"CPU {statistics.median(CPU_S[-runs:]):.2f} s, load {os.getloadavg()[0]:.1f}"


def max_starts_in_a_second(starts: list[float]) -> int:
    starts = sorted(starts)
    best = j = 0
    for i, t in enumerate(starts):
        while starts[j] <= t - 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    work = Path(tempfile.mkdtemp(prefix="cc-bench-cli-"))
    try:
        print("## 1. Start-up (median of 5)")
        env = base_env(work, CURTAILCOIN_DATABASE_URL=f"sqlite:///{work / 'help.db'}")
        for command in (["--help"], ["reingest", "--help"]):
            times = [timed(command, env, work)[0] for _ in range(5)]
            print(
                f"- curtailcoin {' '.join(command)}: {statistics.median(times):.3f} s"
                f" ({cpu_and_load(5)})"
            )

        with ElexonTestServer(seed=1) as elexon, MempoolTestServer(seed=1) as mempool:
            elexon.latency_s = latency
            for day, kind in DAYS.values():
                elexon.set_day(day, kind)
            urls = {
                "CURTAILCOIN_ELEXON_BASE_URL": elexon.base_url,
                "CURTAILCOIN_MEMPOOL_BASE_URL": mempool.base_url,
            }
            print(f"\n## 2. reingest at the defaults, {args.latency_ms:g} ms per request")
            for label, (day, _) in DAYS.items():
                times, cpus = [], []
                for run in range(args.runs):
                    db = work / f"{day}-{run}.db"  # a fresh file each run: a new user's first day
                    env = base_env(work, CURTAILCOIN_DATABASE_URL=f"sqlite:///{db}", **urls)
                    elexon.clear_requests()
                    wall, code, _, err = timed(["reingest", day, "--json"], env, work)
                    if code != 0:
                        print(f"- {label}: exit {code}: {err.strip()[-300:]}")
                        break
                    times.append(wall)
                    cpus.append(CPU_S[-1])
                    stack = len(elexon.requests_matching(r"/stack/all/bid/"))
                    total = len(elexon.requests)
                if times:
                    floor = total * latency / DEFAULT_CONCURRENCY
                    median = statistics.median(times)
                    runs = ", ".join(f"{t:.2f}" for t in times)
                    print(
                        f"- {label}: median {median:.2f} s (runs {runs})"
                        f"; {total} requests ({stack} stack); network floor {floor:.2f} s = "
                        f"{median / floor:.1f}× floor (CPU {statistics.median(cpus):.2f} s, "
                        f"load {os.getloadavg()[0]:.1f})"
                    )

            print("\n## 3. CURTAILCOIN_REQUESTS_PER_SECOND=10, heavy day")
            env = base_env(
                work,
                CURTAILCOIN_DATABASE_URL=f"sqlite:///{work / 'capped.db'}",
                CURTAILCOIN_REQUESTS_PER_SECOND="10",
                **urls,
            )
            elexon.clear_requests()
            wall, code, _, err = timed(["reingest", "2025-01-17", "--json"], env, work)
            starts = [r.start for r in elexon.requests]
            bound = 48 / 10
            print(
                f"- exit {code}; {wall:.2f} s = {wall / bound:.2f}× 48/10 s; {len(starts)} "
                f"requests; most starts in any one second: {max_starts_in_a_second(starts)}"
                f" ({cpu_and_load(1)})"
            )

        print("\n## 4. Offline (a host that does not resolve)")
        env = base_env(
            work,
            CURTAILCOIN_DATABASE_URL=f"sqlite:///{work / 'offline.db'}",
            CURTAILCOIN_ELEXON_BASE_URL="http://curtailcoin-offline.invalid/bmrs/api/v1",
        )
        wall, code, out, err = timed(["reingest", "2025-01-17"], env, work)
        lines = [line for line in (out + err).splitlines() if line.strip()]
        print(
            f"- exit {code} after {wall:.2f} s ({cpu_and_load(1)}), {len(lines)} line(s): "
            f"{lines[-1][:160]}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
