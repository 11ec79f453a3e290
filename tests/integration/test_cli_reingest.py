"""``curtailcoin reingest`` and ``curtailcoin db upgrade`` through the installed entry point."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from curtailcoin.db.curtailment_tables import (
    curtailment_records,
    historical_bitcoin_calculations,
    settlement_periods,
)
from curtailcoin.db.summary_tables import bitcoin_daily_summaries
from curtailcoin.testservers.elexon import ElexonTestServer
from support.entrypoint import CURTAILCOIN

DAY = "2025-01-17"
EXE = CURTAILCOIN


def cli(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    assert EXE, "the curtailcoin entry point is not installed (pip install -e .)"
    return subprocess.run(
        [EXE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(settlement_periods)).scalar_one())


@pytest.mark.db
@pytest.mark.slow
def test_reingest_json(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    elexon_server.set_day(DAY, "light")
    done = cli("reingest", DAY, "--json", env=source_env)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)  # exactly one JSON object on stdout
    expected = elexon_server.expected_headline(DAY)
    assert payload["date"] == DAY
    assert payload["periods"] == payload["periods_fetched"] == 48
    assert payload["records"] == expected.records
    assert payload["farms"] == expected.farms
    assert payload["curtailed_mwh"] == pytest.approx(expected.curtailed_mwh, rel=1e-12)
    assert payload["payment_gbp"] == pytest.approx(expected.payment_gbp, rel=1e-12)
    assert set(payload["bitcoin"]) == {"S19J_PRO", "S9", "M20S", "S21"}
    assert payload["complete"] is True


@pytest.mark.db
@pytest.mark.slow
def test_reingest_models_and_table(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    elexon_server.set_day(DAY, "light")
    done = cli("reingest", DAY, "--models", "s9,S21_XP", "--json", env=source_env)
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)["bitcoin"]) == {"S9", "S21_XP"}
    table = cli("reingest", DAY, "--skip-verify", env=source_env)
    assert table.returncode == 0
    assert "Curtailment records" in table.stdout and "Paid to farms" in table.stdout


@pytest.mark.db
@pytest.mark.slow
def test_complete_reingestion_prints_verification(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    elexon_server.set_day("2025-10-26", "light")
    done = cli("reingest", "2025-10-26", "--complete", env=source_env)
    assert done.returncode == 0, done.stderr
    assert "Verification" in done.stdout
    assert "period-model checks passed" in done.stdout
    assert _count(engine) == 50


@pytest.mark.db
@pytest.mark.slow
def test_failed_period_exits_1_names_it_and_changes_nothing(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    elexon_server.set_day(DAY, "light")
    assert cli("reingest", DAY, "--json", env=source_env).returncode == 0
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(curtailment_records)).scalar_one()
    elexon_server.revise(DAY)
    elexon_server.fail_period(DAY, 9)
    env = {**source_env, "CURTAILCOIN_MAX_TRIES": "2"}
    done = cli("reingest", DAY, "--json", env=env)
    assert done.returncode == 1
    payload = json.loads(done.stdout)
    assert payload["complete"] is False and list(payload["failed_periods"]) == ["9"]
    assert payload["records"] == before  # what the database still holds
    with engine.connect() as conn:
        after = conn.execute(select(func.count()).select_from(curtailment_records)).scalar_one()
    assert after == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["reingest", "2025-13-01"], "invalid date '2025-13-01': expected YYYY-MM-DD"),
        (["reingest", "17/01/2025"], "invalid date '17/01/2025'"),
        (["reingest", "2099-01-01"], "date 2099-01-01 is in the future: allowed up to"),
        (["reingest", DAY, "--models", "S99"], "unknown miner model 'S99': allowed"),
        (["reingest", DAY, "--models", "S9,,M20S"], "invalid miner model list 'S9,,M20S'"),
    ],
)
@pytest.mark.slow
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path,
    elexon_server: ElexonTestServer,
    args: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db_file = tmp_path / "fresh.db"
    env = {
        **dict(__import__("os").environ),
        "CURTAILCOIN_DATABASE_URL": f"sqlite:///{db_file}",
        "CURTAILCOIN_ELEXON_BASE_URL": elexon_server.base_url,
        "CURTAILCOIN_CONFIG_FILE": str(tmp_path / "none.toml"),
    }
    done = cli(*args, env=env, cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message.lower() in lines[0].lower(), done.stderr
    assert done.stdout == ""
    assert not db_file.exists()
    assert elexon_server.requests == []


@pytest.mark.slow
def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    env = {
        **dict(__import__("os").environ),
        "CURTAILCOIN_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
        "CURTAILCOIN_CONFIG_FILE": str(tmp_path / "none.toml"),
    }
    first = cli("db", "upgrade", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "was empty" in first.stdout
    current = cli("db", "current", env=env, cwd=tmp_path)
    head = current.stdout.split("head:")[1].strip()
    assert f"current: {head}" in current.stdout


def test_help_lists_the_seed_options() -> None:
    done = cli("reingest", "--help", env=dict(__import__("os").environ))
    for option in (
        "--skip-bitcoin",
        "--skip-verify",
        "--verbose",
        "--models",
        "--json",
        "--complete",
    ):
        assert option in done.stdout
    assert date.today().year > 2000


@pytest.mark.db
@pytest.mark.slow
def test_complete_clears_other_models(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    elexon_server.set_day(DAY, "light")
    assert cli("reingest", DAY, "--models", "S21_XP", "--json", env=source_env).returncode == 0
    done = cli("reingest", DAY, "--complete", env=source_env)
    assert done.returncode == 0, done.stderr
    with engine.connect() as conn:
        models = set(
            conn.execute(select(historical_bitcoin_calculations.c.miner_model).distinct()).scalars()
        )
        summary_models = set(
            conn.execute(select(bitcoin_daily_summaries.c.miner_model).distinct()).scalars()
        )
    assert models == summary_models == {"S19J_PRO", "S9", "M20S", "S21"}


@pytest.mark.db
@pytest.mark.slow
def test_custom_model_can_be_added_and_used(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    elexon_server.set_day(DAY, "light")
    added = cli(
        "models", "add", "my_rig", "--hashrate-th", "150", "--power-w", "3000", env=source_env
    )
    assert added.returncode == 0, added.stderr
    done = cli("reingest", DAY, "--models", "MY_RIG,S9", "--json", env=source_env)
    assert done.returncode == 0, done.stderr
    btc = json.loads(done.stdout)["bitcoin"]
    # Same energy and network: BTC scales with hashrate / power.
    assert btc["MY_RIG"] / btc["S9"] == pytest.approx((150 / 3000) / (13.5 / 1323), rel=1e-9)
    bad = cli("models", "add", "BAD", "--hashrate-th", "-1", "--power-w", "10", env=source_env)
    assert bad.returncode == 2 and "hashrate_th must be > 0" in bad.stderr


@pytest.mark.db
@pytest.mark.slow
def test_reingest_waits_for_a_date_held_by_another_run(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    from curtailcoin.reconcile.locks import DateLocks

    elexon_server.set_day(DAY, "light")
    locks = DateLocks(engine)
    assert locks.try_acquire(date.fromisoformat(DAY))
    try:
        done = cli("reingest", DAY, "--json", env={**source_env, "CURTAILCOIN_LOCK_WAIT_S": "1"})
    finally:
        locks.close()
    assert done.returncode == 1
    assert "being processed by another run" in done.stderr
    assert elexon_server.requests == []
    assert cli("reingest", DAY, "--json", env=source_env).returncode == 0
