"""The drift guard through the installed command, against the local Elexon server, on SQLite and
PostgreSQL: an implausible answer is held back and reported as suspect; it is applied only on
request; real revisions go through."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, select

from curtailcoin.db.coordination_tables import suspect_dates
from curtailcoin.testservers.elexon import ElexonTestServer
from support.reconcile import TABLES, cli

DAY = "2025-01-17"
EVERY_PERIOD = rf"/stack/all/bid/{DAY}/"


def raw_snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every reconciled table, exactly as stored (floats compared bit for bit)."""
    with engine.connect() as conn:
        return {
            t.name: sorted((tuple(row) for row in conn.execute(select(t))), key=repr)
            for t in TABLES
        }


def suspect_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(suspect_dates)).mappings()]


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def reingest_day(
    server: ElexonTestServer, env: dict[str, str], kind: str = "heavy"
) -> dict[str, Any]:
    """A good reingest first: a heavy day (thousands of records) or a light one (hundreds)."""
    server.set_day(DAY, kind)
    done = cli("reingest", DAY, "--json", "--skip-verify", env=env)
    assert done.returncode == 0, done.stderr
    payload: dict[str, Any] = json.loads(done.stdout)
    assert payload["records"] > (5000 if kind == "heavy" else 100)
    assert payload["suspect"] is False
    return payload


@pytest.mark.db
@pytest.mark.slow
def test_every_period_empty_is_held_back_then_applied_on_request(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    good = reingest_day(elexon_server, source_env)
    before = raw_snapshot(engine)
    elexon_server.faults.add("empty_data", match=EVERY_PERIOD)

    held = cli("reingest", DAY, env=source_env)
    assert held.returncode == 1
    lines = error_lines(held.stderr)
    assert len(lines) == 1, held.stderr
    line = lines[0]
    assert line.startswith(f"error: {DAY} is suspect: the answer would replace ")
    assert f"{good['records']:,} records" in line and "with 0 records: every period empty" in line
    assert line.endswith(
        f"; the stored data is kept; apply it with curtailcoin reingest {DAY} --accept-shrink"
    )
    assert "date suspect" in held.stderr  # the WARNING log line
    assert raw_snapshot(engine) == before  # bit for bit
    (row,) = suspect_rows(engine)
    assert row["stored_records"] == good["records"] and row["fetched_records"] == 0
    assert row["periods"] is None and row["detected_by"] == "reingest"

    status = cli("reconcile", "status", "--json", env=source_env)
    data = json.loads(status.stdout)
    assert data["suspect_count"] == 1
    assert [s["date"] for s in data["suspect_dates"]] == [DAY]
    assert DAY in data["problem_dates"]
    (per_day,) = [r for r in data["per_date"] if r["date"] == DAY]
    assert per_day["suspect"].endswith("every period empty")
    assert cli("reconcile", "status", "--check", env=source_env).returncode == 1

    analyze = cli("reconcile", "analyze", env=source_env)
    assert "suspect" in analyze.stdout
    assert f"curtailcoin reingest {DAY} --accept-shrink" in analyze.stdout
    analysis = json.loads(cli("reconcile", "analyze", "--json", env=source_env).stdout)
    (finding,) = [f for f in analysis["findings"] if f["kind"] == "suspect"]
    assert finding["dates"] == [DAY]

    jobs = cli("jobs", "status", "--json", env=source_env)
    assert [s["date"] for s in json.loads(jobs.stdout)["suspect_dates"]] == [DAY]
    assert DAY in cli("jobs", "status", env=source_env).stdout

    applied = cli("reingest", DAY, "--accept-shrink", "--json", "--skip-verify", env=source_env)
    assert applied.returncode == 0, applied.stderr
    payload = json.loads(applied.stdout)
    assert payload["records"] == 0 and payload["shrink_accepted"] is True
    assert payload["suspect"] is False
    assert suspect_rows(engine) == []


@pytest.mark.db
@pytest.mark.slow
def test_every_payment_zero_is_suspect_json(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    reingest_day(elexon_server, source_env, "light")
    before = raw_snapshot(engine)
    elexon_server.faults.add("set_field", field="originalPrice", value="0", match=EVERY_PERIOD)
    held = cli("reingest", DAY, "--json", env=source_env)
    assert held.returncode == 1
    payload = json.loads(held.stdout)
    assert payload["suspect"] is True and payload["written"] is False
    assert payload["complete"] is False
    assert payload["suspect_reason"].endswith("every payment zero")
    assert len(error_lines(held.stderr)) == 1
    assert raw_snapshot(engine) == before
    assert len(suspect_rows(engine)) == 1


@pytest.mark.db
@pytest.mark.slow
def test_a_real_revision_goes_through_and_clears_the_suspect_mark(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    good = reingest_day(elexon_server, source_env, "light")
    # Every volume a thousandth of a MWh: records unchanged, the energy gone.
    elexon_server.faults.add("set_field", field="volume", value="-0.001", match=EVERY_PERIOD)
    held = cli("reingest", DAY, env=source_env)
    assert held.returncode == 1
    assert "curtailed MWh fell by" in error_lines(held.stderr)[0]
    elexon_server.faults.clear()
    elexon_server.revise(DAY)
    done = cli("reingest", DAY, "--json", "--skip-verify", env=source_env)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["written"] is True and payload["suspect"] is False
    assert payload["records"] != good["records"] or payload["curtailed_mwh"] != pytest.approx(
        good["curtailed_mwh"], rel=1e-12
    )
    assert suspect_rows(engine) == []


def outcome(done: Any) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(done.stdout)
    days: list[dict[str, Any]] = [d for d in summary["dates"] if d["date"] == DAY]
    (day,) = days
    return day


@pytest.mark.db
@pytest.mark.slow
def test_reconciliation_keeps_the_data_reports_suspect_and_applies_on_decision(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    reingest_day(elexon_server, source_env)
    before = raw_snapshot(engine)
    elexon_server.faults.add("empty_data", match=EVERY_PERIOD)

    checked = cli("reconcile", "date", DAY, "--json", env=source_env)
    assert checked.returncode == 1
    held = outcome(checked)
    assert held["status"] == "suspect" and held["attempts"] == 1  # not retried as transient
    assert held["reason"].startswith("suspect: the answer would replace ")
    assert held["reason"].endswith(f"reconcile date {DAY} --accept-shrink")
    assert json.loads(checked.stdout)["suspect_dates"][0]["date"] == DAY
    assert raw_snapshot(engine) == before
    assert [r["detected_by"] for r in suspect_rows(engine)] == ["reconcile"]

    # The weekly run (no --source) picks the suspect date up and asks Elexon again.
    weekly = cli("reconcile", "run", "--json", env=source_env)
    assert weekly.returncode == 1
    assert outcome(weekly)["status"] == "suspect"
    assert raw_snapshot(engine) == before

    decided = cli("reconcile", "date", DAY, "--accept-shrink", "--json", env=source_env)
    assert decided.returncode == 0, decided.stdout
    assert outcome(decided)["records"] == 0
    assert suspect_rows(engine) == []


@pytest.mark.db
@pytest.mark.slow
def test_an_answer_that_agrees_again_clears_the_mark(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    reingest_day(elexon_server, source_env, "light")
    elexon_server.faults.add("empty_data", match=EVERY_PERIOD)
    assert cli("reingest", DAY, env=source_env).returncode == 1
    assert len(suspect_rows(engine)) == 1
    elexon_server.faults.clear()
    weekly = cli("reconcile", "run", "--json", env=source_env)
    assert weekly.returncode == 0, weekly.stdout
    cleared = outcome(weekly)
    assert cleared["status"] == "fixed"
    assert any("cleared the suspect mark" in a for a in cleared["actions"])
    assert suspect_rows(engine) == []
