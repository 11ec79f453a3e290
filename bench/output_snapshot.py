"""Snapshot every CLI and API output on a seeded database, to diff before vs after a refactor.

Not a benchmark: the check behind "outputs of the CLI and API are unchanged, byte for byte"
(issue 10). It seeds a fresh SQLite database through the installed ``curtailcoin``
command from the local Elexon and mempool.space test servers (a heavy, a calm, a 46- and a
50-period day, two priced), then writes each command's stdout and exit code, and each API
answer (JSON and CSV), into one file per output under OUT_DIR::

    python bench/output_snapshot.py /tmp/before   # on the old commit
    python bench/output_snapshot.py /tmp/after    # on the new one
    diff -r /tmp/before /tmp/after

Volatile values (elapsed times, temporary paths, ports) are masked so that the diff shows only
real changes.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.mempool import MempoolTestServer

CURTAILCOIN = str(Path(sys.executable).parent / "curtailcoin")
DAYS: dict[date, str] = {
    date(2025, 1, 17): "heavy",
    date(2025, 1, 18): "calm",
    date(2025, 3, 30): "light",
    date(2025, 10, 26): "light",
}

CLI_COMMANDS: list[list[str]] = [
    ["--help"],
    ["reingest", "--help"],
    ["reconcile", "--help"],
    ["reconcile", "status", "--start", "2025-01-15", "--end", "2025-01-20"],
    ["reconcile", "status", "--start", "2025-01-15", "--end", "2025-01-20", "--json"],
    ["reconcile", "analyze", "--start", "2025-01-15", "--end", "2025-01-20"],
    ["reconcile", "date", "2025-01-18"],
    ["reconcile", "date", "2025-01-18", "--json"],
    ["models", "list"],
    ["db", "current"],
    ["jobs", "status"],
    ["reingest", "2001-01-01"],
    ["reingest", "not-a-date"],
    ["backfill", "2025-01-18", "2025-01-17"],
]

API_PATHS: list[str] = [
    "/health",
    "/api/data-range",
    "/api/lead-parties",
    "/api/lead-parties/2025-01-17",
    "/api/miner-models",
    "/api/summary/daily/2025-01-17",
    "/api/summary/daily/2025-01-19",
    "/api/summary/daily/2025-10-26",
    "/api/summary/monthly/2025-01",
    "/api/summary/monthly/2025-01?format=csv",
    "/api/summary/yearly/2025",
    "/api/summary/yearly/2025?format=csv",
    "/api/curtailment/hourly/2025-01-17",
    "/api/curtailment/hourly/2025-03-30?format=csv",
    "/api/mining-potential/daily?date=2025-01-17",
    "/api/mining-potential/daily/2025-01-18?minerModel=S21_PRO",
    "/api/mining-potential/monthly/2025-01",
    "/api/mining-potential/monthly/2025-01?format=csv",
    "/api/mining-potential/yearly/2025",
    "/api/mining-potential/farms?date=2025-01-17&timeframe=day",
    "/api/mining-potential/farms?date=2025-01&timeframe=month&format=csv",
    "/api/mining-potential/top-farms?period=day&value=2025-01-17",
    "/api/mining-potential/top-farms?period=month&value=2025-01&format=csv",
    "/api/farm-tables/grouped-data?value=2025-01",
    "/api/farm-tables/grouped-data?timeframe=year&value=2025&format=csv",
    "/api/prices?from=2025-01-15&to=2025-01-20",
    "/api/prices?from=2025-01-15&to=2025-01-20&format=csv",
    "/api/reconciliation/status?from=2025-01-15&to=2025-01-20",
    "/api/summary/daily/2025-13-01",
    "/api/summary/monthly/2025-01?leadParty=nobody",
    "/openapi.json",
    "/",
]

_VOLATILE = [
    (re.compile(r'("elapsed\w*"|"durationS"): [\d.]+'), r"\1: <time>"),
    (re.compile(r"\d+(\.\d+)?\s?(ms|s)\b"), "<time>"),
    (re.compile(r"/tmp/[^\s\"']+"), "<tmp>"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)?"), "<instant>"),
]


def _mask(text: str) -> str:
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def _name(parts: list[str]) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", " ".join(parts)).strip("_")[:120]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CURTAILCOIN, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    out: Path = parser.parse_args().out_dir
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="cc-snapshot-"))
    url = f"sqlite:///{work / 'snapshot.db'}"
    with ElexonTestServer(seed=1) as elexon, MempoolTestServer(seed=1) as mempool:
        env = {
            **os.environ,
            "CURTAILCOIN_DATABASE_URL": url,
            "CURTAILCOIN_CHECKPOINT_DIR": str(work / "checkpoints"),
            "CURTAILCOIN_CONFIG_FILE": str(work / "none.toml"),
            "CURTAILCOIN_ELEXON_BASE_URL": elexon.base_url,
            "CURTAILCOIN_MEMPOOL_BASE_URL": mempool.base_url,
            "CURTAILCOIN_BACKOFF_BASE_S": "0.01",
            "CURTAILCOIN_BACKOFF_MAX_S": "0.05",
            "COLUMNS": "120",
            "NO_COLOR": "1",
        }
        for day, kind in DAYS.items():
            elexon.set_day(day, kind)
            done = _run(["reingest", day.isoformat()], env)
            (out / f"seed_reingest_{day}.txt").write_text(
                f"exit {done.returncode}\n{_mask(done.stdout)}"
            )
        done = _run(["prices", "update", "--from", "2025-01-17", "--to", "2025-01-18"], env)
        (out / "seed_prices.txt").write_text(f"exit {done.returncode}\n{_mask(done.stdout)}")
        for args in CLI_COMMANDS:
            done = _run(args, env)
            (out / f"cli_{_name(args)}.txt").write_text(
                f"exit {done.returncode}\n--- stdout\n{_mask(done.stdout)}"
                f"--- stderr\n{_mask(done.stderr)}"
            )
        os.environ.update(env)
        from fastapi.testclient import TestClient

        from curtailcoin.config import get_settings
        from curtailcoin.web import create_app

        get_settings.cache_clear()
        with TestClient(create_app()) as client:
            for path in API_PATHS:
                response = client.get(path)
                (out / f"api_{_name([path])}.txt").write_text(
                    f"{response.status_code} {response.headers.get('content-type')}\n"
                    f"{_mask(response.text)}"
                )
    print(f"wrote {len(list(out.iterdir()))} outputs to {out}")


if __name__ == "__main__":
    main()
