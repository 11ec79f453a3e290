"""Schema drift through the installed command: never store what the source did not say.

Each test reingests a heavy day, then answers every stack request with one drift fault and
reingests again, on SQLite and PostgreSQL. A broken answer changes nothing (exit 1, the stored
rows bit-for-bit as before, one line naming the field and the value); a null figure on one wind
unit's lines is stored as missing (never £0 or "not curtailment") and the date is incomplete.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from curtailcoin.config import get_settings
from curtailcoin.db.curtailment_tables import (
    bid_stack_lines,
    curtailment_records,
    settlement_periods,
)
from curtailcoin.db.schema import metadata
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.web import create_app
from support.entrypoint import CURTAILCOIN

DAY = "2025-01-17"
STACK = r"/stack/all/bid/"
#: tables a failed reingest may touch: the lock table of SQLite's per-date lock
UNTOUCHED_EXCEPT = {"date_locks"}


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CURTAILCOIN, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def stored(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (ids and timestamps included), in a stable order."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name not in UNTOUCHED_EXCEPT:
                out[table.name] = sorted(map(tuple, conn.execute(select(table)).all()), key=repr)
    return out


def good_reingest(engine: Engine, env: dict[str, str], server: ElexonTestServer) -> None:
    server.set_day(DAY, "heavy")
    done = cli("reingest", DAY, "--json", env=env)
    assert done.returncode == 0, done.stderr
    with engine.connect() as conn:
        records = conn.execute(select(func.count()).select_from(curtailment_records)).scalar_one()
    assert records == server.expected_headline(DAY).records > 1000


@pytest.mark.db
@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "named"),
    [
        pytest.param(
            {"kind": "missing_field", "field": "originalPrice"},
            ["field 'originalPrice' is absent"],
            id="originalPrice-absent",
        ),
        pytest.param(
            {"kind": "missing_field", "field": "soFlag"},
            ["field 'soFlag' is absent"],
            id="soFlag-absent",
        ),
        pytest.param(
            {"kind": "renamed_field", "field": "id", "to": "bmUnitId"},
            ["field 'id' is absent", "'bmUnitId'"],
            id="id-renamed",
        ),
        pytest.param({"kind": "empty_data", "value": "null"}, ["'data' is null"], id="data-null"),
        pytest.param(
            {"kind": "set_field", "field": "originalPrice", "value": "NaN"},
            ["field 'originalPrice' is nan, expected a finite number"],
            id="originalPrice-NaN",
        ),
        pytest.param(
            {"kind": "set_field", "field": "volume", "value": "NaN", "line": 0},
            ["field 'volume' is nan, expected a finite number"],
            id="volume-NaN",
        ),
        pytest.param(
            {"kind": "set_field", "field": "volume", "value": "-Infinity", "line": 0},
            ["field 'volume' is -inf, expected a finite number"],
            id="volume-minus-Infinity",
        ),
        pytest.param(
            {"kind": "set_field", "field": "volume", "value": "1e400"},
            ["field 'volume' is inf, expected a finite number"],
            id="volume-1e400",
        ),
        pytest.param(
            {"kind": "duplicate_line", "line": 0, "field": "acceptanceId"},
            ["identity", "repeats", "acceptanceId None"],
            id="duplicate-line-null-acceptanceId",
        ),
        pytest.param(
            {"kind": "set_field", "field": "volume", "value": '"12"', "line": 0},
            ["field 'volume' is '12', expected a number"],
            id="volume-string",
        ),
        pytest.param(
            {"kind": "set_field", "field": "soFlag", "value": "1"},
            ["field 'soFlag' is 1, expected a boolean"],
            id="soFlag-1",
        ),
    ],
)
def test_a_broken_answer_changes_nothing_and_names_the_field(
    engine: Engine,
    source_env: dict[str, str],
    elexon_server: ElexonTestServer,
    fault: dict[str, Any],
    named: list[str],
) -> None:
    good_reingest(engine, source_env, elexon_server)
    before = stored(engine)
    elexon_server.revise(DAY)  # a changed answer would be written if it were accepted
    elexon_server.faults.add(match=STACK, **fault)
    done = cli("reingest", DAY, env=source_env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert stored(engine) == before
    output = (done.stdout + done.stderr).splitlines()
    causes = [line for line in output if "failed:" in line]
    assert len(causes) == 1, output
    assert causes[0].startswith("periods 1-48 failed: "), causes[0]
    for text in named:
        assert text in causes[0], causes[0]


@pytest.mark.db
@pytest.mark.slow
def test_json_keeps_each_periods_message(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    elexon_server.set_day(DAY, "light")
    elexon_server.faults.add("missing_field", field="originalPrice", match=STACK)
    done = cli("reingest", DAY, "--json", env=source_env)
    assert done.returncode == 1
    payload = json.loads(done.stdout)
    assert payload["complete"] is False and payload["written"] is False
    assert sorted(map(int, payload["failed_periods"])) == list(range(1, 49))
    for period, message in payload["failed_periods"].items():
        assert message.startswith(f"stack {DAY} period {period} line ")
        assert message.endswith(": field 'originalPrice' is absent")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(settlement_periods)).scalar() == 0


def _busiest_wind_unit(engine: Engine) -> tuple[str, int]:
    r = curtailment_records.c
    with engine.connect() as conn:
        farm, count = conn.execute(
            select(r.farm_id, func.count())
            .group_by(r.farm_id)
            .order_by(func.count().desc(), r.farm_id)
            .limit(1)
        ).one()
    return str(farm), int(count)


def _incomplete_periods(engine: Engine) -> dict[int, str]:
    p = settlement_periods.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(p.settlement_period, p.error).where(p.fetch_status == "fetched_incomplete")
        ).all()
    return {int(period): str(error) for period, error in rows}


def _assert_date_incomplete(env: dict[str, str], reasons: dict[int, str]) -> None:
    status = cli("reconcile", "status", "--json", env=env)
    payload = json.loads(status.stdout)
    assert payload["incomplete_dates"] == [DAY], status.stdout
    (report,) = [r for r in payload["per_date"] if r["date"] == DAY]
    assert report["incomplete_reasons"] == {str(p): e for p, e in sorted(reasons.items())}


@pytest.mark.db
@pytest.mark.slow
def test_null_soflag_on_a_wind_unit_is_stored_unclassified_and_incomplete(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    good_reingest(engine, source_env, elexon_server)
    unit, unit_records = _busiest_wind_unit(engine)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(curtailment_records)).scalar_one()
    elexon_server.faults.add("null_field", field="soFlag", unit=f"^{unit}$", match=STACK)
    done = cli("reingest", DAY, env=source_env)
    assert done.returncode == 1, done.stderr
    assert "failed:" not in done.stdout + done.stderr
    reasons = _incomplete_periods(engine)
    assert reasons
    assert all(e.startswith("soFlag null on ") and f"({unit})" in e for e in reasons.values())
    printed = [line for line in done.stdout.splitlines() if "incomplete:" in line]
    assert printed and all("soFlag null on" in line for line in printed), done.stdout
    assert len(printed) == 1, printed  # one line for the one cause
    assert f"soFlag null on wind bid lines ({unit})" in printed[0]
    b = bid_stack_lines.c
    r = curtailment_records.c
    with engine.connect() as conn:
        flags = conn.execute(select(b.so_flag).where(b.bm_unit_id == unit)).scalars().all()
        unit_after = conn.execute(select(func.count()).where(r.farm_id == unit)).scalar_one()
        total_after = conn.execute(
            select(func.count()).select_from(curtailment_records)
        ).scalar_one()
        bid_periods = set(
            conn.execute(
                select(b.settlement_period).where(b.bm_unit_id == unit, b.volume_mwh < 0)
            ).scalars()
        )
    assert flags and all(flag is None for flag in flags)  # kept, the flag unknown
    assert unit_after == 0 and total_after == total - unit_records  # not counted as curtailment
    assert set(reasons) == bid_periods
    _assert_date_incomplete(source_env, reasons)


@pytest.mark.db
@pytest.mark.slow
def test_null_original_price_keeps_the_record_with_no_payment(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    good_reingest(engine, source_env, elexon_server)
    unit, unit_records = _busiest_wind_unit(engine)
    elexon_server.faults.add("null_field", field="originalPrice", unit=f"^{unit}$", match=STACK)
    done = cli("reingest", DAY, "--json", env=source_env)
    assert done.returncode == 1, done.stderr
    payload = json.loads(done.stdout)
    assert payload["complete"] is False and payload["written"] is True
    r = curtailment_records.c
    with engine.connect() as conn:
        payments = conn.execute(select(r.payment_gbp).where(r.farm_id == unit)).scalars().all()
        periods = set(conn.execute(select(r.settlement_period).where(r.farm_id == unit)).scalars())
        others_null = conn.execute(
            select(func.count()).where(r.farm_id != unit, r.payment_gbp.is_(None))
        ).scalar_one()
    assert len(payments) == unit_records  # every record kept
    assert all(p is None for p in payments)  # payment missing, never £0
    assert others_null == 0
    reasons = _incomplete_periods(engine)
    assert set(reasons) == periods
    assert all(e.startswith("originalPrice null on ") and unit in e for e in reasons.values())
    assert payload["incomplete_periods"] == {str(p): e for p, e in sorted(reasons.items())}
    _assert_date_incomplete(source_env, reasons)
    with TestClient(create_app(get_settings())) as client:
        status = client.get(f"/api/summary/daily/{DAY}").json()["dataStatus"]
    assert status["state"] == "incomplete" and status["periodsFailed"] == 0
    assert status["periodsIncomplete"] == len(reasons)
    assert status["periodsFetched"] == 48 - len(reasons)
    assert status["incompletePeriods"] == {str(p): e for p, e in sorted(reasons.items())}
