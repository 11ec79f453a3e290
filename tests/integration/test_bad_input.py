"""Every bad input is one line on stderr and exit code 2, through the installed entry point.

Dates before the first settlement date, absurd or reversed ranges, negative or out-of-range
numbers, click usage errors, an unusable checkpoint directory and a database that cannot be
reached: each stops before any fetch or write, with a line naming the value and what is allowed.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from curtailcoin.db.schema import metadata
from curtailcoin.pipeline import max_days
from curtailcoin.settlement import FIRST_SETTLEMENT_DATE, settlement_today
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.mempool import MempoolTestServer
from support.entrypoint import CURTAILCOIN

DAY = "2025-01-17"
EARLIEST = FIRST_SETTLEMENT_DATE.isoformat()


def cli(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CURTAILCOIN, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _ids(value: object) -> str | None:
    """Test ids: the command line of a case (the other parameters keep pytest's ids)."""
    return " ".join(value) if isinstance(value, tuple) else None


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """Exit 2, nothing on stdout, exactly one ``error:`` line on stderr (returned)."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == "", done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
        }


@pytest.fixture
def fresh_env(
    tmp_path: Path, elexon_server: ElexonTestServer, mempool_server: MempoolTestServer
) -> dict[str, str]:
    """A SQLite file that does not exist yet (it must not be created) and the local sources."""
    return {
        **os.environ,
        "CURTAILCOIN_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}",
        "CURTAILCOIN_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
        "CURTAILCOIN_ELEXON_BASE_URL": elexon_server.base_url,
        "CURTAILCOIN_MEMPOOL_BASE_URL": mempool_server.base_url,
        "CURTAILCOIN_COINGECKO_BASE_URL": mempool_server.base_url,
        "CURTAILCOIN_CONFIG_FILE": str(tmp_path / "none.toml"),
    }


def assert_untouched(tmp_path: Path, elexon_server: ElexonTestServer) -> None:
    assert not (tmp_path / "never.db").exists()
    assert not (tmp_path / "checkpoints").exists()
    assert elexon_server.requests == []


# -- dates before the first settlement date --------------------------------------------------

EARLY_DATES = [
    (("reingest", "2001-03-26"), "2001-03-26"),
    (("reingest", "0001-01-01"), "0001-01-01"),
    (("backfill", "1999-01-01", DAY), "1999-01-01"),
    (("reconcile", "date", "2001-03-26"), "2001-03-26"),
    (("reconcile", "critical", "0001-01-01"), "0001-01-01"),
    (("reconcile", "spot-fix", "1999-01-01", "3", "T_WHILW-1"), "1999-01-01"),
    (("reconcile", "range", "1999-01-01", DAY), "1999-01-01"),
    (("reconcile", "status", "--start", "2000-01-01"), "2000-01-01"),
    (("reconcile", "daily", "--now", "2000-01-01T02:00Z"), "2000-01-01"),
    (("prices", "update", "--from", "2000-01-01"), "2000-01-01"),
]


@pytest.mark.db
@pytest.mark.parametrize(("args", "value"), EARLY_DATES, ids=_ids)
@pytest.mark.slow
def test_dates_before_the_first_settlement_date(
    engine: Engine,
    env: dict[str, str],
    elexon_server: ElexonTestServer,
    tmp_path: Path,
    args: tuple[str, ...],
    value: str,
) -> None:
    env = {**env, "CURTAILCOIN_ELEXON_BASE_URL": elexon_server.base_url}
    line = one_line_error(cli(*args, env=env))
    assert value in line and f"allowed from {EARLIEST}" in line, line
    assert elexon_server.requests == []  # rejected before any fetch
    assert set(row_counts(engine).values()) == {0}  # and before any write
    assert not (tmp_path / "checkpoints").exists()


# -- absurd and reversed ranges --------------------------------------------------------------

MOST = max_days()
TODAY = settlement_today().isoformat()

RANGES = [
    (("reconcile", "daily", "--days", "100000"), f"--days 100000 is not allowed: use 1..{MOST}"),
    (("reconcile", "daily", "--days", "-1"), f"--days -1 is not allowed: use 1..{MOST}"),
    (("reconcile", "daily", "--lookback", "100000"), f"use 0..{MOST}"),
    (("reconcile", "daily", "--lookback", "-2"), f"--lookback -2 is not allowed: use 0..{MOST}"),
    (("reconcile", "status", "--days", "100000"), f"use 1..{MOST} (the days from {EARLIEST}"),
    (
        ("reconcile", "status", "--end", "2001-04-01", "--days", "7"),
        "--days 7 is not allowed: use 1..6",
    ),
    (("reconcile", "range", DAY, "2025-01-15"), "D1 2025-01-17 is after D2 2025-01-15"),
    (("reconcile", "status", "--start", DAY, "--end", "2025-01-15"), "--start 2025-01-17 is after"),
    (("reconcile", "run", "--start", DAY, "--end", "2025-01-15"), "--start 2025-01-17 is after"),
    (("backfill", DAY, "2025-01-15"), "start 2025-01-17 is after end 2025-01-15"),
    (("prices", "update", "--from", DAY, "--to", "2025-01-15"), "--from 2025-01-17 is after --to"),
    (("prices", "update", "--from", "2005-01-01"), "allowed from 2010-07-17"),
]


@pytest.mark.parametrize(("args", "message"), RANGES, ids=_ids)
@pytest.mark.slow
def test_absurd_and_reversed_ranges(
    fresh_env: dict[str, str],
    tmp_path: Path,
    elexon_server: ElexonTestServer,
    args: tuple[str, ...],
    message: str,
) -> None:
    line = one_line_error(cli(*args, env=fresh_env, cwd=tmp_path))
    assert message in line, line
    assert_untouched(tmp_path, elexon_server)


# -- numbers ---------------------------------------------------------------------------------

NUMBERS = [
    (
        ("reconcile", "spot-fix", DAY, "-1", "T_WHILW-1"),
        f"error: settlement period -1 does not exist on {DAY}: allowed 1..48",
    ),
    (("reconcile", "spot-fix", "2025-03-30", "47", "T_WHILW-1"), "allowed 1..46"),
    (("reconcile", "spot-fix", DAY, "x", "T_WHILW-1"), "period 'x': expected a whole number"),
    (
        ("reconcile", "range", "2025-01-15", DAY, "--batch-size", "0"),
        "--batch-size 0 is not allowed",
    ),
    (("reconcile", "run", "--batch-size", "-3"), "--batch-size -3 is not allowed: use 1..64"),
    (("reconcile", "run", "--batch-size", "65"), "--batch-size 65 is not allowed: use 1..64"),
    (("backfill", "2025-01-15", DAY, "--concurrency", "-1"), "--concurrency -1 is not allowed"),
    (("backfill", "2025-01-15", DAY, "-c", "65"), "--concurrency 65 is not allowed: use 1..64"),
    (("backfill", "2025-01-15", DAY, "-c", "two"), "invalid --concurrency 'two'"),
    (("worker", "--concurrency", "0"), "--concurrency 0 is not allowed: use 1..64"),
    (("serve", "--port", "0"), "--port 0 is not allowed: use 1..65535"),
    (("serve", "--port", "65536"), "--port 65536 is not allowed: use 1..65535"),
    (("serve", "--port", "http"), "invalid --port 'http'"),
    (("serve", "--workers", "-1"), "--workers -1 is not allowed: use 1..64"),
    (("testserver", "elexon", "--port", "-1"), "--port: -1 is not allowed: use 0..65535"),
    (("testserver", "mempool", "--latency-ms", "-5"), "--latency-ms: -5 is not allowed"),
    (("models", "add", "RIG", "--hashrate-th", "-1", "--power-w", "10"), "hashrate_th must be > 0"),
    (("models", "add", "RIG", "--hashrate-th", "1", "--power-w", "nan"), "power_w must be > 0"),
    (("models", "add", "RIG", "--hashrate-th", "lots", "--power-w", "1"), "'lots'"),
]


@pytest.mark.parametrize(("args", "message"), NUMBERS, ids=_ids)
@pytest.mark.slow
def test_numbers_out_of_range(
    fresh_env: dict[str, str],
    tmp_path: Path,
    elexon_server: ElexonTestServer,
    args: tuple[str, ...],
    message: str,
) -> None:
    line = one_line_error(cli(*args, env=fresh_env, cwd=tmp_path))
    assert message in line, line
    assert_untouched(tmp_path, elexon_server)


# -- click's own usage errors ----------------------------------------------------------------

USAGE = [
    (("reingest",), "Missing argument"),
    (("reingest", DAY, "--bogus"), "No such option: --bogus"),
    (("reingest", "-1"), "No such option: -1"),
    (("reconcile", "range", DAY), "Missing argument 'D2'"),
    (("reconcile", "date", DAY, DAY), "unexpected extra argument"),
    (("testserver", "elexon", "--heavy-day", "17/01/2025"), "invalid date '17/01/2025'"),
]


@pytest.mark.parametrize(("args", "message"), USAGE, ids=_ids)
@pytest.mark.slow
def test_usage_errors_are_one_line(
    fresh_env: dict[str, str],
    tmp_path: Path,
    elexon_server: ElexonTestServer,
    args: tuple[str, ...],
    message: str,
) -> None:
    line = one_line_error(cli(*args, env=fresh_env, cwd=tmp_path))
    assert message in line and "--help" in line, line
    assert "╭" not in line
    assert_untouched(tmp_path, elexon_server)


@pytest.mark.slow
def test_help_is_unchanged(fresh_env: dict[str, str], tmp_path: Path) -> None:
    done = cli("reconcile", "spot-fix", "--help", env=fresh_env, cwd=tmp_path)
    assert done.returncode == 0 and "PERIOD" in done.stdout and done.stderr == ""
    bare = cli("reconcile", env=fresh_env, cwd=tmp_path)  # no_args_is_help: help, exit 2
    assert bare.returncode == 2 and "spot-fix" in bare.stdout
    assert not (tmp_path / "never.db").exists()


# -- the checkpoint directory ----------------------------------------------------------------

CHECKPOINTED = [  # (command, whether the path lies under a file rather than being one)
    (("reconcile", "date", DAY), False),
    (("reconcile", "spot-fix", DAY, "3", "T_WHILW-1"), False),
    (("reconcile", "range", "2025-01-15", DAY), True),
    (("reconcile", "daily"), True),
    (("reconcile", "reset"), False),
    (("backfill", "2025-01-15", DAY), True),
]


@pytest.mark.db
@pytest.mark.parametrize(("args", "under_a_file"), CHECKPOINTED, ids=_ids)
@pytest.mark.slow
def test_unusable_checkpoint_directory(
    engine: Engine,
    env: dict[str, str],
    elexon_server: ElexonTestServer,
    tmp_path: Path,
    args: tuple[str, ...],
    under_a_file: bool,
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the checkpoint directory should be\n")
    directory = blocker / "checkpoints" if under_a_file else blocker
    env = {
        **env,
        "CURTAILCOIN_CHECKPOINT_DIR": str(directory),
        "CURTAILCOIN_ELEXON_BASE_URL": elexon_server.base_url,
    }
    line = one_line_error(cli(*args, env=env))
    assert "CURTAILCOIN_CHECKPOINT_DIR" in line and str(directory) in line, line
    assert "allowed a directory this user can create and write" in line
    assert elexon_server.requests == []
    assert set(row_counts(engine).values()) == {0}


@pytest.mark.slow
def test_worker_on_sqlite_checks_the_checkpoint_directory(
    fresh_env: dict[str, str], tmp_path: Path, elexon_server: ElexonTestServer
) -> None:
    blocker = tmp_path / "checkpoints"
    blocker.write_text("")
    line = one_line_error(cli("worker", "--burst", env=fresh_env, cwd=tmp_path))
    assert "CURTAILCOIN_CHECKPOINT_DIR" in line and str(blocker) in line, line
    assert not (tmp_path / "never.db").exists() and elexon_server.requests == []


# -- a database that cannot be reached --------------------------------------------------------

OPENS_THE_DATABASE = [
    ("reingest", DAY, "--models", "S9"),
    ("reconcile", "status"),
    ("reconcile", "analyze"),
    ("reconcile", "date", DAY),
    ("reconcile", "spot-fix", DAY, "3", "T_WHILW-1"),
    ("reconcile", "range", "2025-01-15", DAY),
    ("reconcile", "run"),
    ("reconcile", "daily"),
    ("backfill", "2025-01-15", DAY),
    ("backfill", "2025-01-15", DAY, "--enqueue"),
    ("prices", "update"),
    ("models", "list"),
    ("models", "add", "RIG", "--hashrate-th", "100", "--power-w", "3000"),
    ("bmunits", "refresh"),
    ("difficulty", "refresh"),
    ("db", "upgrade"),
    ("db", "current"),
    ("jobs", "status"),
    ("serve", "--port", "1"),
    ("worker", "--burst"),
]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def closed_port() -> int:
    return _closed_port()


@pytest.mark.parametrize("args", OPENS_THE_DATABASE, ids=_ids)
@pytest.mark.slow
def test_unreachable_postgresql_is_the_same_line_everywhere(
    fresh_env: dict[str, str],
    tmp_path: Path,
    elexon_server: ElexonTestServer,
    closed_port: int,
    args: tuple[str, ...],
) -> None:
    url = f"postgresql://postgres:s3cret@127.0.0.1:{closed_port}/curtailcoin"
    env = {**fresh_env, "CURTAILCOIN_DATABASE_URL": url}
    line = one_line_error(cli(*args, env=env, cwd=tmp_path))
    assert line == (
        f"error: cannot reach database postgresql://postgres@127.0.0.1:{closed_port}/curtailcoin "
        "(CURTAILCOIN_DATABASE_URL): connection refused"
    )
    assert "s3cret" not in line
    assert elexon_server.requests == []


@pytest.mark.parametrize(
    "args", [("reingest", DAY), ("reconcile", "status"), ("db", "upgrade")], ids=_ids
)
@pytest.mark.slow
def test_unreachable_sqlite_file(
    fresh_env: dict[str, str],
    tmp_path: Path,
    elexon_server: ElexonTestServer,
    args: tuple[str, ...],
) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}"
    line = one_line_error(
        cli(*args, env={**fresh_env, "CURTAILCOIN_DATABASE_URL": url}, cwd=tmp_path)
    )
    reason = "unable to open database file"
    assert line == f"error: cannot reach database {url} (CURTAILCOIN_DATABASE_URL): {reason}"
    assert elexon_server.requests == []


# -- the API's date parameters: the same first settlement date --------------------------------


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        ("day", "2001-03-26"),
        ("day", "0001-01-01"),
        ("month", "2001-02"),
        ("month", "0000-05"),
        ("year", "2000"),
        ("year", "0000"),
    ],
)
def test_api_rejects_dates_before_the_first_settlement_date(parse: str, text: str) -> None:
    from curtailcoin.web import params

    with pytest.raises(params.InputError, match="too early: allowed from 2001"):
        getattr(params, f"parse_{parse}")(text, ("path", "date"))


def test_api_accepts_the_first_settlement_date_its_month_and_year() -> None:
    from curtailcoin.web import params

    loc = ("path", "date")
    assert params.parse_day(EARLIEST, loc) == FIRST_SETTLEMENT_DATE
    assert params.parse_month("2001-03", loc) == (2001, 3)
    assert params.parse_year("2001", loc) == 2001
