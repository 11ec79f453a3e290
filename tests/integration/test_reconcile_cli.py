"""``curtailcoin reconcile`` through the installed entry point, against the local test servers,
on SQLite and PostgreSQL: each problem kind created on purpose is counted, named and fixed."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, update

from curtailcoin.db.curtailment_tables import (
    curtailment_records,
    historical_bitcoin_calculations,
    settlement_periods,
)
from curtailcoin.db.engine import get_engine
from curtailcoin.db.summary_tables import daily_summaries
from curtailcoin.pipeline import prepare_database
from curtailcoin.settlement import settlement_today
from curtailcoin.testservers.elexon import ElexonTestServer
from support.reconcile import (
    checkpoint_path,
    cli,
    load,
    period_totals,
    popen,
    snapshot,
)

D1, D2, D3 = date(2025, 1, 15), date(2025, 1, 16), date(2025, 1, 17)

STATUS_KEYS = {
    "dates_checked",
    "incomplete_dates",
    "missing_calculations",
    "stale_calculations",
    "pending_calculations",
    "summary_mismatches",
    "completion_percentage",
    "per_date",
}


def _json(done: Any) -> dict[str, Any]:
    assert done.stdout.count("\n") == 1, done.stdout  # exactly one JSON object
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def _oracle_totals(server: ElexonTestServer, day: date) -> dict[int, tuple[int, float, float]]:
    headline = server.expected_headline(day.isoformat())
    return {
        p: (h.records, h.curtailed_mwh, h.payment_gbp)
        for p, h in headline.periods.items()
        if h.records
    }


def _drifted(engine: Engine, server: ElexonTestServer, day: date) -> int:
    stored = period_totals(engine, day)
    expected = _oracle_totals(server, day)
    return sum(
        1
        for q in set(stored) | set(expected)
        if (a := stored.get(q, (0, 0.0, 0.0)))[0] != (b := expected.get(q, (0, 0.0, 0.0)))[0]
        or abs(a[1] - b[1]) > 0.01
        or abs(a[2] - b[2]) > 0.01
    )


def _assert_matches_source(engine: Engine, server: ElexonTestServer, day: date) -> None:
    stored = period_totals(engine, day)
    expected = _oracle_totals(server, day)
    assert stored.keys() == expected.keys()
    for p, (n, mwh, gbp) in expected.items():
        assert stored[p][0] == n
        assert stored[p][1] == pytest.approx(mwh, abs=1e-6)
        assert stored[p][2] == pytest.approx(gbp, abs=1e-6)


@pytest.mark.db
@pytest.mark.slow
def test_each_problem_counted_named_and_fixed(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    for day in (D1, D2, D3):
        elexon_server.set_day(day.isoformat(), "light")
    load(engine, D1, D3)

    # Problems made on purpose.
    c, r, p = (
        historical_bitcoin_calculations.c,
        curtailment_records.c,
        settlement_periods.c,
    )
    with engine.begin() as conn:
        period = conn.execute(
            select(func.min(c.settlement_period)).where(c.settlement_date == D1)
        ).scalar_one()
        deleted = conn.execute(
            delete(historical_bitcoin_calculations).where(
                c.settlement_date == D1, c.settlement_period == period, c.miner_model == "S9"
            )
        ).rowcount
        record = conn.execute(select(func.min(r.id)).where(r.settlement_date == D2)).scalar_one()
        conn.execute(update(curtailment_records).where(r.id == record).values(volume_mwh=-999.0))
        conn.execute(
            delete(settlement_periods).where(p.settlement_date == D3, p.settlement_period == 7)
        )
        conn.execute(
            update(daily_summaries)
            .where(daily_summaries.c.summary_date == D1)
            .values(curtailed_energy_mwh=daily_summaries.c.curtailed_energy_mwh + 1)
        )
    elexon_server.revise(D3.isoformat(), periods=[20, 21])
    # Drift: the revised periods of D3 and the changed record's period of D2.
    drift = sum(_drifted(engine, elexon_server, day) for day in (D1, D2, D3))
    assert deleted > 0 and drift >= 2

    status = _json(cli("reconcile", "status", "--json", "--source", env=source_env))
    assert set(status) >= STATUS_KEYS
    assert status["dates_checked"] == 3
    assert status["incomplete_dates"] == [D3.isoformat()]
    assert status["missing_calculations"] == deleted
    assert status["stale_calculations"] == 4  # the changed record's farm-period, every model
    assert status["pending_calculations"] == 0
    # bitcoin daily D1 (S9) and its farm-day rows, daily D1 and its month, daily D2 and its
    # farm-day rows, and the stack's roll-up of D3 (its successful periods: a period row gone)
    assert status["summary_mismatches"] == 7
    assert status["period_total_mismatches"] == 1
    assert status["source_drift_periods"] == drift
    per_date = {d["date"]: d for d in status["per_date"]}
    assert per_date[D1.isoformat()]["missing"] == deleted
    assert per_date[D2.isoformat()]["stale"] == 4
    assert not any(d["complete"] for d in status["per_date"])
    assert status["completion_percentage"] < 100

    analysis = _json(cli("reconcile", "analyze", "--json", "--source", env=source_env))
    kinds = {f["kind"]: f for f in analysis["findings"]}
    assert set(kinds) == {
        "incomplete",
        "missing",
        "stale",
        "summary_mismatch",
        "period_totals",
        "source_drift",
    }
    assert all(f["likely_cause"] and f["commands"] for f in kinds.values())
    assert kinds["source_drift"]["commands"] == [
        f"curtailcoin reconcile range {D2.isoformat()} {D3.isoformat()}"
    ]

    # The revised, incomplete date with `date` (every period against Elexon), the rest with `run`.
    done = cli("reconcile", "date", D3.isoformat(), "--json", env=source_env)
    assert done.returncode == 0, done.stderr
    one = _json(done)["dates"][0]
    assert one["status"] == "fixed" and one["actions"] == ["reingested the date"]
    assert {"incomplete", "source_drift"} <= set(one["problems_before"])  # + the month row

    done = cli("reconcile", "run", "--json", env=source_env)
    assert done.returncode == 0, done.stderr
    run = _json(done)
    assert [d["date"] for d in run["dates"]] == [D1.isoformat(), D2.isoformat()]
    assert run["fixed"] == 2 and run["failed"] == 0

    after = _json(cli("reconcile", "status", "--json", env=source_env))
    assert after["incomplete_dates"] == []
    assert after["missing_calculations"] == after["stale_calculations"] == 0
    assert after["summary_mismatches"] == after["period_total_mismatches"] == 0
    assert after["completion_percentage"] == 100.0
    assert all(d["complete"] for d in after["per_date"])
    # The human-readable forms.
    table, advice = (
        popen("reconcile", "status", env=source_env),
        popen("reconcile", "analyze", env=source_env),
    )
    out, err = table.communicate(timeout=120)
    assert table.returncode == 0, err
    assert "Reconciliation status" in out and "100.00%" in out
    out, err = advice.communicate(timeout=120)
    assert advice.returncode == 0, err
    assert "All 3 dates reconciled" in out
    for day in (D1, D2, D3):  # the changed record is Elexon's again, the revision is in
        _assert_matches_source(engine, elexon_server, day)


@pytest.mark.db
@pytest.mark.slow
def test_daily_check_and_its_checkpoint(engine: Engine, source_env: dict[str, str]) -> None:
    now = "2025-01-18T02:10:00Z"  # 4 periods of today have ended
    with ElexonTestServer(seed=3, now=datetime(2025, 1, 18, 2, 10, tzinfo=UTC)) as server:
        server.set_day("2025-01-17", "light")
        server.set_day("2025-01-18", "light")
        env = dict(source_env, CURTAILCOIN_ELEXON_BASE_URL=server.base_url)

        first = cli("reconcile", "daily", "--days", "2", "--now", now, "--json", env=env)
        assert first.returncode == 0, first.stderr
        data = _json(first)
        assert [d["date"] for d in data["dates"]] == ["2025-01-18", "2025-01-17"]
        assert [d["status"] for d in data["dates"]] == ["fixed", "fixed"]
        assert data["requests"] >= 4 + 48

        path = checkpoint_path(env, "daily_reconciliation_checkpoint.json")
        cp = json.loads(path.read_text())
        assert {
            "lastRun",
            "dates",
            "processedDates",
            "lastProcessedDate",
            "status",
            "startTime",
            "endTime",
        } <= set(cp)
        assert cp["lastRun"] == "2025-01-18"
        assert cp["dates"] == ["2025-01-18", "2025-01-17"]
        assert sorted(cp["processedDates"]) == ["2025-01-17", "2025-01-18"]
        assert cp["lastProcessedDate"] == "2025-01-17"
        assert cp["status"] == "completed"
        assert cp["startTime"].endswith("Z") and cp["endTime"].endswith("Z")

        # Already processed today: skipped, not a single request.
        second = _json(cli("reconcile", "daily", "--now", now, "--json", env=env))
        assert second["dates"] == [] and second["requests"] == 0
        assert second["already_done"] == ["2025-01-17", "2025-01-18"]

        # --force with nothing to fix: one source request per period, no database write.
        before = snapshot(engine, volatile=True)
        server.clear_requests()
        third = _json(cli("reconcile", "daily", "--now", now, "--force", "--json", env=env))
        assert [d["status"] for d in third["dates"]] == ["clean", "clean"]
        stacks = server.requests_matching(r"/stack/all/bid/")
        assert len(stacks) == 4 + 48 == len(server.requests)
        assert snapshot(engine, volatile=True) == before


@pytest.mark.db
@pytest.mark.slow
def test_a_failing_date_does_not_stop_the_others(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    for day in (D1, D2, D3):
        elexon_server.set_day(day.isoformat(), "light")
    elexon_server.fail_period(D2.isoformat(), 7)  # 503, forever
    done = cli(
        "reconcile", "range", D1.isoformat(), D3.isoformat(), "--batch-size", "3", env=source_env
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED" in done.stdout and "period 7" in done.stdout.replace("\n", " ")
    assert "fixed 2" in done.stdout.replace("\n", " ")
    for day in (D1, D3):
        _assert_matches_source(engine, elexon_server, day)
    assert period_totals(engine, D2) == {}  # nothing half-written
    cp = json.loads(checkpoint_path(source_env, "reconciliation_checkpoint.json").read_text())
    assert sorted(cp["completedDates"]) == [D1.isoformat(), D3.isoformat()]
    assert [f["date"] for f in cp["failedDates"]] == [D2.isoformat()]
    assert cp["status"] == "failed" and cp["pendingDates"] == []
    assert set(cp["stats"]) >= {
        "totalRecords",
        "processedRecords",
        "successfulRecords",
        "failedRecords",
        "timeouts",
    }
    assert cp["stats"]["retries"] > 0


@pytest.mark.db
@pytest.mark.slow
def test_spot_fix_and_critical(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    for day in (D1, D2):
        elexon_server.set_day(day.isoformat(), "light")
    load(engine, D1, D1)
    r = curtailment_records.c
    with engine.begin() as conn:
        row = conn.execute(
            select(r.id, r.settlement_period, r.farm_id).where(r.settlement_date == D1).limit(1)
        ).one()
        conn.execute(update(curtailment_records).where(r.id == row.id).values(volume_mwh=-500.0))
        conn.execute(
            delete(historical_bitcoin_calculations).where(
                historical_bitcoin_calculations.c.settlement_date == D1,
                historical_bitcoin_calculations.c.farm_id == row.farm_id,
                historical_bitcoin_calculations.c.settlement_period == row.settlement_period,
            )
        )
    elexon_server.fail_period(D2.isoformat(), 5)
    spot = popen(
        "reconcile",
        "spot-fix",
        D1.isoformat(),
        str(row.settlement_period),
        row.farm_id,
        "--json",
        env=source_env,
    )
    critical = popen("reconcile", "critical", D2.isoformat(), "--json", env=source_env)
    out, err = spot.communicate(timeout=120)
    assert spot.returncode == 0, err
    fixed = json.loads(out)["dates"][0]
    assert fixed["status"] == "fixed"
    assert fixed["before"]["curtailed_mwh"] >= 500 and fixed["after"]["bitcoin"]
    assert fixed["problems_after"] == []  # the whole date is clean again
    _assert_matches_source(engine, elexon_server, D1)

    out, err = critical.communicate(timeout=120)
    assert critical.returncode == 1, err
    result = json.loads(out)["dates"][0]
    assert result["status"] == "failed" and "period" in result["reason"]
    assert "5" in result["reason"]
    assert result["periods_verified"] == 47  # each checked against the acceptance volumes
    stored = period_totals(engine, D2)
    expected = {k: v for k, v in _oracle_totals(elexon_server, D2).items() if k != 5}
    assert stored.keys() == expected.keys()
    for k, (n, mwh, gbp) in expected.items():
        assert (
            stored[k][0] == n and abs(stored[k][1] - mwh) < 1e-6 and abs(stored[k][2] - gbp) < 1e-6
        )


@pytest.mark.slow
def test_bad_input_exits_2_and_writes_nothing(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "db.sqlite"
    env = dict(
        os.environ,
        CURTAILCOIN_DATABASE_URL=f"sqlite:///{db}",
        CURTAILCOIN_CHECKPOINT_DIR=str(tmp_path / "cp"),
        CURTAILCOIN_ELEXON_BASE_URL="http://127.0.0.1:9/none",
        CURTAILCOIN_CONFIG_FILE=str(tmp_path / "none.toml"),
    )
    # A prepared database, so that "nothing written" can be checked.
    prepared = get_engine(env["CURTAILCOIN_DATABASE_URL"])
    prepare_database(prepared)
    prepared.dispose()
    before = db.read_bytes()
    future = (settlement_today() + timedelta(days=3)).isoformat()
    cases = [
        ("reconcile", "date", "2025-13-01"),
        ("reconcile", "critical", future),
        ("reconcile", "range", "2025-01-17", "2025-01-15"),
        ("reconcile", "range", "2025-01-15", "2025-01-17", "--batch-size", "0"),
        ("reconcile", "spot-fix", "2025-03-30", "47", "T_WHILW-1"),
        ("reconcile", "spot-fix", "2025-01-15", "3", "T_NOT_A_FARM"),
    ]
    procs = [popen(*case, env=env) for case in cases]
    errors = []
    for case, proc in zip(cases, procs, strict=True):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, (case, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (case, err)
        assert out == "", case
        errors.append(lines[0])
    assert "allowed 1..46" in errors[4]  # the spring clock-change day
    assert "T_NOT_A_FARM" in errors[5]
    assert db.read_bytes() == before
    assert not (tmp_path / "cp").exists() or not any((tmp_path / "cp").iterdir())
