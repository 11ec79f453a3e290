"""A source that cannot be reached at all ends a fetching command at once with one line.

Offline (a name that does not resolve) or a closed port: no retry budget is spent, nothing is
written, exit 1, and the line names the host and the setting to check.
"""

from __future__ import annotations

import socket
import subprocess

import pytest
from sqlalchemy import Engine, func, select

from curtailcoin.db.curtailment_tables import curtailment_records, settlement_periods
from support.entrypoint import CURTAILCOIN

pytestmark = pytest.mark.db


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


HOSTS = {
    "dns": ("http://curtailcoin-offline.invalid/bmrs/api/v1", "does not resolve"),
    "refused": (f"http://127.0.0.1:{_closed_port()}/bmrs/api/v1", "refused"),
}
COMMANDS = {
    "reingest": ("reingest", "2025-01-17"),
    "backfill": ("backfill", "2025-01-15", "2025-01-17"),
    "reconcile-date": ("reconcile", "date", "2025-01-17"),
    "spot-fix": ("reconcile", "spot-fix", "2025-01-17", "3", "T_WHILW-1"),
}


@pytest.mark.parametrize("host", HOSTS, ids=list(HOSTS))
@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
@pytest.mark.slow
def test_unreachable_source_is_one_line(
    env: dict[str, str], engine: Engine, host: str, command: str
) -> None:
    base_url, reason = HOSTS[host]
    run_env = {
        **env,
        "CURTAILCOIN_ELEXON_BASE_URL": base_url,
        "CURTAILCOIN_MAX_TRIES": "6",
        "CURTAILCOIN_BACKOFF_BASE_S": "5",  # a retried failure would take far beyond the timeout
    }
    done = subprocess.run(
        [CURTAILCOIN, *COMMANDS[command]],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1, (done.stdout, done.stderr)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert reason in errors[0] and "CURTAILCOIN_ELEXON_BASE_URL" in errors[0]
    with engine.connect() as conn:
        for table in (settlement_periods, curtailment_records):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0
