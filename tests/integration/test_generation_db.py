"""Wind generation stored (both databases): statuses, failed/empty fetches keep good rows,
``curtailcoin reingest`` writes it and the share endpoint answers with it, reconciliation
flags and refetches it, and a date costs one AGWS request and one B1610 request per batch."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from curtailcoin.config import Settings
from curtailcoin.coverage import FAILED, FETCHED_EMPTY, FETCHED_INCOMPLETE, FETCHED_WITH_DATA
from curtailcoin.db.coordination_tables import date_versions
from curtailcoin.db.generation_tables import (
    farm_generation,
    generation_fetches,
    national_wind_generation,
)
from curtailcoin.pipeline.generation import (
    FetchedGeneration,
    fetch_generation,
    judge_national,
    store_generation,
)
from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.sources.generation import NATIONAL_PATH, UNIT_BATCH_SIZE, parse_wind_and_solar
from curtailcoin.sources.http import RetryPolicy
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.web import create_app
from support.entrypoint import CURTAILCOIN

DAY = "2025-01-17"
D = date(2025, 1, 17)

pytestmark = pytest.mark.db


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CURTAILCOIN, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def fetch(server: ElexonTestServer, day: date = D) -> FetchedGeneration:
    async def run() -> FetchedGeneration:
        client = ElexonClient(
            server.base_url, policy=RetryPolicy(max_tries=2, backoff_base_s=0.01), timeout_s=5
        )
        async with client:
            return await fetch_generation(client, day, sorted(server.wind_unit_ids()))

    return asyncio.run(run())


def fetch_rows(engine: Engine) -> dict[str, tuple[str, int, str | None]]:
    f = generation_fetches.c
    with engine.connect() as conn:
        return {
            r.dataset: (r.fetch_status, r.row_count, r.error)
            for r in conn.execute(select(generation_fetches).where(f.settlement_date == D))
        }


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        national = conn.execute(select(func.count()).select_from(national_wind_generation))
        units = conn.execute(select(func.count()).select_from(farm_generation))
        return int(national.scalar_one()), int(units.scalar_one())


def version(engine: Engine) -> int:
    with engine.connect() as conn:
        found = conn.execute(
            select(date_versions.c.version).where(date_versions.c.settlement_date == D)
        ).scalar()
    return int(found or 0)


@pytest.mark.slow  # a heavy day's generation fetched twice, the second through faults: 3-5 s here
def test_failed_and_empty_fetches_keep_the_good_rows(
    engine: Engine, elexon_server: ElexonTestServer
) -> None:
    elexon_server.set_day(D, "heavy")
    good = fetch(elexon_server)
    assert good.ok
    with engine.begin() as conn:
        store_generation(conn, good)
    units = len(elexon_server.wind_unit_ids())
    assert counts(engine) == (48, units * 48)
    assert fetch_rows(engine)["AGWS"] == (FETCHED_WITH_DATA, 48, None)
    v0 = version(engine)
    assert v0 > 0  # the API cache sees the write

    elexon_server.faults.add("5xx", match=NATIONAL_PATH)  # forever
    elexon_server.faults.add("empty_data", match="B1610")
    bad = fetch(elexon_server)
    with engine.begin() as conn:
        store_generation(conn, bad)
    assert counts(engine) == (48, units * 48)  # nothing removed
    status, rows, error = fetch_rows(engine)["AGWS"]
    assert (status, rows) == (FAILED, 48)
    assert error is not None and "503" in error and "the 48 rows stored before are kept" in error
    status, rows, error = fetch_rows(engine)["B1610"]
    assert (status, rows) == (FETCHED_EMPTY, units * 48)
    assert error is not None and "no rows for the" in error
    assert version(engine) > v0

    # an answer lacking a period replaces the periods it has and keeps the stored others
    elexon_server.faults.clear()
    elexon_server.revise(D, [7, 8])
    payload = elexon_server.generation.wind_and_solar(D, 1, 48)
    partial = judge_national(
        parse_wind_and_solar({"data": [r for r in payload if r["settlementPeriod"] != 7]}, D),
        list(range(1, 49)),
    )
    assert partial.status == FETCHED_INCOMPLETE
    good.national = partial
    with engine.begin() as conn:
        store_generation(conn, good)
    with engine.connect() as conn:
        periods = conn.execute(select(national_wind_generation.c.settlement_period)).scalars()
        assert sorted(periods) == list(range(1, 49))
    assert fetch_rows(engine)["AGWS"][0] == FETCHED_INCOMPLETE


def _share(settings_env: dict[str, str]) -> dict[str, object]:
    with TestClient(create_app(Settings(), cache=False)) as client:
        response = client.get("/api/curtailment-share", params={"from": DAY, "to": DAY})
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert len(rows) == 1
    row: dict[str, object] = rows[0]
    return row


def _api_status() -> dict[str, Any]:
    with TestClient(create_app(Settings(), cache=False)) as client:
        response = client.get("/api/reconciliation/status", params={"from": DAY, "to": DAY})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.slow  # the installed CLI, several runs
def test_reingest_writes_generation_and_the_share_answers_with_it(
    engine: Engine,
    source_env: dict[str, str],
    elexon_server: ElexonTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CURTAILCOIN_FETCH_GENERATION", "true")
    # counted requests: no retry of a slow answer on a busy machine (the env's 2 s timeout)
    env = {
        **source_env,
        "CURTAILCOIN_FETCH_GENERATION": "true",
        "CURTAILCOIN_REQUEST_TIMEOUT_S": "60",
    }
    elexon_server.set_day(D, "heavy")
    elexon_server.clear_requests()
    done = cli("reingest", DAY, "--json", env=env)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    units = len(elexon_server.wind_unit_ids())
    assert payload["generation"] == {
        "AGWS": {"status": "fetched_with_data", "rows": 48, "error": None},
        "B1610": {"status": "fetched_with_data", "rows": units * 48, "error": None},
    }
    # one request for the national series, one per batch of BM units: never one per period
    assert len(elexon_server.requests_matching("wind-and-solar")) == 1
    assert len(elexon_server.requests_matching("B1610")) == math.ceil(units / UNIT_BATCH_SIZE)
    served = elexon_server.generation.day(D)
    with engine.connect() as conn:
        g = farm_generation.c
        stored = {
            (farm, period): mwh
            for farm, period, mwh in conn.execute(
                select(g.farm_id, g.settlement_period, g.metered_generation_mwh)
            )
        }
        national = conn.execute(
            select(
                func.sum(
                    national_wind_generation.c.onshore_wind_mwh
                    + national_wind_generation.c.offshore_wind_mwh
                )
            )
        ).scalar_one()
    assert stored == served["metered"]
    row = _share(env)
    assert row["missingReason"] is None
    generated = row["generatedEnergyMwh"]
    assert isinstance(generated, float) and math.isclose(generated, national, rel_tol=1e-9)
    curtailed = elexon_server.expected_headline(DAY).curtailed_mwh
    share = row["curtailmentShare"]
    assert isinstance(share, float)
    assert math.isclose(share, curtailed / (generated + curtailed), rel_tol=1e-9)

    # --no-generation: no generation request, the stored generation kept
    elexon_server.clear_requests()
    again = cli("reingest", DAY, "--json", "--no-generation", env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["generation"] is None
    assert not elexon_server.requests_matching("wind-and-solar|B1610")
    assert counts(engine) == (48, units * 48)


@pytest.mark.slow  # the installed CLI, several runs
def test_a_generation_failure_never_fails_the_stack(
    engine: Engine,
    source_env: dict[str, str],
    elexon_server: ElexonTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CURTAILCOIN_FETCH_GENERATION", "true")
    env = {**source_env, "CURTAILCOIN_FETCH_GENERATION": "true", "CURTAILCOIN_MAX_TRIES": "2"}
    elexon_server.set_day(D, "light")
    elexon_server.faults.add("5xx", match=NATIONAL_PATH)
    done = cli("reingest", DAY, "--json", env=env)
    assert done.returncode == 0, done.stderr  # the stack is complete
    payload = json.loads(done.stdout)
    assert payload["complete"] is True and payload["records"] > 0
    assert payload["generation"]["AGWS"]["status"] == "failed"
    assert any(w.startswith("generation AGWS failed: ") for w in payload["warnings"])
    row = _share(env)
    assert row["curtailmentShare"] is None
    reason = row["missingReason"]
    assert isinstance(reason, str) and reason.startswith("AGWS failed") and "503" in reason

    # reconciliation reports the date incomplete, its fix refetches the generation
    status = json.loads(cli("reconcile", "status", "--json", env=env).stdout)
    assert status["generation_incomplete_dates"] == [DAY]
    assert DAY in status["incomplete_dates"]
    (report,) = status["per_date"]
    assert report["problems"] == ["generation_incomplete"]
    assert report["generation_reasons"]["AGWS"].startswith("failed: ")
    api = _api_status()  # the API's status, by the same definitions
    assert api["generationIncompleteDates"] == [DAY] and DAY in api["incompleteDates"]
    (api_day,) = api["perDate"]
    assert api_day["problems"] == ["generation_incomplete"] and api_day["complete"] is False
    assert api_day["generationReasons"]["AGWS"] == report["generation_reasons"]["AGWS"]
    elexon_server.faults.clear()
    fixed = cli("reconcile", "date", DAY, "--json", env=env)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    text = fixed.stdout
    assert "refetched the generation (AGWS fetched_with_data, B1610 fetched_with_data)" in text
    after = json.loads(cli("reconcile", "status", "--json", env=env).stdout)
    assert after["generation_incomplete_dates"] == [] and after["incomplete_dates"] == []
    assert _share(env)["missingReason"] is None
    assert _api_status()["generationIncompleteDates"] == []


@pytest.mark.slow  # the installed CLI, several runs
def test_reconciliation_finds_generation_drift_and_stores_the_source(
    engine: Engine,
    source_env: dict[str, str],
    elexon_server: ElexonTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CURTAILCOIN_FETCH_GENERATION", "true")
    env = {**source_env, "CURTAILCOIN_FETCH_GENERATION": "true"}
    elexon_server.set_day(D, "light")
    assert cli("reingest", DAY, "--json", env=env).returncode == 0
    with engine.begin() as conn:  # a stored figure changed behind the pipeline's back
        conn.execute(
            farm_generation.update()
            .where(farm_generation.c.settlement_period == 5)
            .values(metered_generation_mwh=farm_generation.c.metered_generation_mwh + 1.0)
        )
    # `status --source` sees it (and the farm-day roll-up that no longer adds up to the rows)
    checked = cli("reconcile", "status", "--source", "--json", env=env)
    status = json.loads(checked.stdout)
    assert status["generation_drift_dates"] == [DAY] and status["generation_incomplete_dates"] == []
    (report,) = status["per_date"]
    assert "generation_drift" in report["problems"] and "AGWS" not in report["generation_drift"]
    assert report["generation_drift"]["B1610"].startswith("stored ")
    table = cli("reconcile", "status", "--source", env=env).stdout
    assert "Generation drift (dates)" in table and f"{DAY} generation B1610: stored " in table
    fixed = cli("reconcile", "date", DAY, "--json", env=env)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "generation_drift" in fixed.stdout
    assert "refetched the generation" in fixed.stdout
    served = elexon_server.generation.day(D)["metered"]
    with engine.connect() as conn:
        total = conn.execute(select(func.sum(farm_generation.c.metered_generation_mwh)))
        assert math.isclose(total.scalar_one(), math.fsum(served.values()), rel_tol=1e-12)


def test_api_ingest_stores_generation_and_answers_its_status(
    database_url: str, elexon_server: ElexonTestServer, engine: Engine
) -> None:
    from support.api import make_settings

    elexon_server.set_day(D, "light")
    elexon_server.faults.add("empty_data", match="B1610")
    settings = make_settings(
        database_url,
        api_token="t0ken",
        elexon_base_url=elexon_server.base_url,
        mempool_base_url="http://127.0.0.1:9/api",
        max_tries=2,
        fetch_generation=True,
    )
    with TestClient(create_app(settings)) as client:
        response = client.post(f"/api/ingest/{DAY}", headers={"Authorization": "Bearer t0ken"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["complete"] is True
    assert body["generation"]["AGWS"] == {"status": "fetched_with_data", "rows": 48, "error": None}
    assert body["generation"]["B1610"]["status"] == "fetched_empty"
    assert "no rows for the" in body["generation"]["B1610"]["error"]
    assert fetch_rows(engine)["B1610"][0] == FETCHED_EMPTY


@pytest.mark.slow  # the installed CLI, several runs
def test_backfill_fetches_generation_per_date_bounded(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    # counted requests: no retry of a slow answer on a busy machine (the env's 2 s timeout)
    env = {
        **source_env,
        "CURTAILCOIN_FETCH_GENERATION": "true",
        "CURTAILCOIN_REQUEST_TIMEOUT_S": "60",
    }
    for day in ("2025-01-17", "2025-01-18"):
        elexon_server.set_day(day, "light")
    elexon_server.clear_requests()
    done = cli("backfill", "2025-01-17", "2025-01-18", "--json", env=env)
    assert done.returncode == 0, done.stderr
    units = len(elexon_server.wind_unit_ids())
    # per date: one AGWS request, one B1610 request per batch of BM units
    national = elexon_server.requests_matching("wind-and-solar")
    metered = elexon_server.requests_matching("B1610")
    assert sorted(r.target.split("from=")[1][:10] for r in national) == [
        "2025-01-17",
        "2025-01-18",
    ]
    assert len(metered) == 2 * math.ceil(units / UNIT_BATCH_SIZE)
    f = generation_fetches.c
    with engine.connect() as conn:
        statuses = conn.execute(select(f.settlement_date, f.dataset, f.fetch_status)).all()
    assert sorted((d.isoformat(), ds, st) for d, ds, st in statuses) == [
        (day, dataset, "fetched_with_data")
        for day in ("2025-01-17", "2025-01-18")
        for dataset in ("AGWS", "B1610")
    ]
    elexon_server.clear_requests()
    again = cli("backfill", "2025-01-19", "2025-01-19", "--json", "--no-generation", env=env)
    assert again.returncode == 0, again.stderr
    assert not elexon_server.requests_matching("wind-and-solar|B1610")


@pytest.mark.slow  # the worker's job end to end: 3-4 s here
def test_the_worker_job_stores_generation(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    from datetime import UTC, datetime

    from curtailcoin.jobs.work import ingest_one_date

    elexon_server.set_day(D, "light")
    settings = Settings(fetch_generation=True)

    async def run() -> bool:
        async with ElexonClient.from_settings(settings) as client:
            outcome = await ingest_one_date(
                settings, D, client=client, now=datetime(2025, 3, 1, tzinfo=UTC), prices=False
            )
        return outcome.ok

    assert asyncio.run(run())
    assert {k: v[0] for k, v in fetch_rows(engine).items()} == {
        "AGWS": FETCHED_WITH_DATA,
        "B1610": FETCHED_WITH_DATA,
    }
