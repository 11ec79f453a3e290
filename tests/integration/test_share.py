"""The curtailment share and the all-bids measure, on SQLite and PostgreSQL.

The stack data come through the real pipeline from the local Elexon server (``support.api``);
generation rows are written as the ingestion stores them (``support.generation``), then the
hook it calls rebuilds the roll-ups. Expected shares are recomputed from the base tables with
independent SQL.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from curtailcoin.web import create_app
from curtailcoin.web.cache import ALL, url_scope
from curtailcoin.web.queries.share import split_range
from support.api import Seeded
from support.databases import BACKENDS
from support.entrypoint import CURTAILCOIN
from support.generation import store_generation
from support.share import (
    CALM,
    FAILED,
    HEAVY,
    SPRING,
    curtailed_units,
    national,
    rows,
    seed_share,
)


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest) -> Seeded:
    fixture = "pg_database" if request.param == "postgresql" else "sqlite_database"
    return seed_share(request.getfixturevalue(fixture))


@pytest.fixture(scope="module")
def client(seeded: Seeded) -> Iterator[TestClient]:
    with TestClient(create_app(seeded.settings)) as c:
        yield c


def get(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def share(curtailed: float, generated: float) -> float:
    return curtailed / (generated + curtailed)


def test_national_day_rows(seeded: Seeded, client: TestClient) -> None:
    body = get(client, "/api/curtailment-share", **{"from": "2025-01-17", "to": "2025-01-19"})
    by_day = {r["period"]: r for r in body["rows"]}
    ((curtailed,),) = rows(
        seeded, "SELECT -SUM(volume) FROM curtailment_records WHERE settlement_date = :d", d=HEAVY
    )
    ((generated,),) = rows(
        seeded,
        "SELECT SUM(onshore_wind_mwh + offshore_wind_mwh) FROM national_wind_generation "
        "WHERE settlement_date = :d",
        d=HEAVY,
    )
    heavy = by_day["2025-01-17"]
    assert curtailed > 0
    assert math.isclose(heavy["generatedEnergyMwh"], generated, rel_tol=1e-12)
    assert math.isclose(heavy["curtailmentShare"], share(curtailed, generated), rel_tol=1e-12)
    assert heavy["missingReason"] is None
    calm = by_day["2025-01-18"]
    assert calm["curtailmentShare"] is None and calm["generatedEnergyMwh"] is None
    assert calm["missingReason"] == "AGWS failed: HTTP 503 after 5 attempts"
    partial = by_day["2025-01-19"]
    assert partial["curtailmentShare"] is None
    assert partial["missingReason"] == "stack fetched for 10 of 48 periods"
    total = body["total"]
    assert total["curtailmentShare"] is None
    assert total["missingReason"].startswith(
        "figures missing on 2 of 3 (first 2025-01-18: AGWS failed"
    )


def test_missing_generation_reasons(client: TestClient) -> None:
    spring = get(client, "/api/curtailment-share", **{"from": "2025-03-30", "to": "2025-03-30"})
    assert spring["rows"][0]["missingReason"] == "AGWS figures for 45 of 46 periods"
    autumn = get(
        client,
        "/api/curtailment-share",
        **{"from": "2025-10-26", "to": "2025-10-26"},
        grain="period",
    )
    assert len(autumn["rows"]) == 50
    assert {r["missingReason"] for r in autumn["rows"]} == {"AGWS not fetched yet"}
    assert all(r["curtailmentShare"] is None for r in autumn["rows"])
    month = get(
        client,
        "/api/curtailment-share",
        **{"from": "2025-01-01", "to": "2025-01-31"},
        grain="month",
    )
    (row,) = month["rows"]
    assert row["period"] == "2025-01" and row["curtailmentShare"] is None
    assert row["missingReason"].startswith(
        "figures missing on 30 of 31 (first 2025-01-01: AGWS not"
    )


def test_national_period_rows(seeded: Seeded, client: TestClient) -> None:
    body = get(
        client,
        "/api/curtailment-share",
        **{"from": "2025-03-30", "to": "2025-03-30"},
        grain="period",
    )
    assert [r["settlementPeriod"] for r in body["rows"]] == list(range(1, 47))
    curtailed = {
        int(p): float(e)
        for p, e in rows(
            seeded,
            "SELECT settlement_period, -SUM(volume) FROM curtailment_records "
            "WHERE settlement_date = :d GROUP BY settlement_period",
            d=SPRING,
        )
    }
    generation = national(SPRING, 46, hole=10)
    for row in body["rows"]:
        p = row["settlementPeriod"]
        energy = curtailed.get(p, 0.0)
        assert math.isclose(row["curtailedEnergyMwh"], energy, rel_tol=1e-12, abs_tol=1e-12)
        if p == 10:
            assert row["curtailmentShare"] is None
            assert row["missingReason"] == "AGWS has no figure for the period"
            continue
        on, off = generation[p]
        assert math.isclose(row["curtailmentShare"], share(energy, on + off), rel_tol=1e-12)
        assert row["period"] == f"2025-03-30 P{p:02d}"


def test_farm_share_per_unit_and_lead_party(seeded: Seeded, client: TestClient) -> None:
    units = curtailed_units(seeded, HEAVY)
    body = get(
        client,
        "/api/curtailment-share/farms",
        **{"from": "2025-01-17", "to": "2025-01-17"},
        by="bmUnit",
    )
    got = {r["farmId"]: r for r in body["rows"]}
    assert set(got) == set(units)
    sums = {
        farm: (float(c), float(g))
        for farm, c, g in rows(
            seeded,
            "SELECT r.farm_id, r.c, g.g FROM (SELECT farm_id, -SUM(volume) AS c "
            "FROM curtailment_records WHERE settlement_date = :d GROUP BY farm_id) r "
            "JOIN (SELECT farm_id, SUM(metered_generation_mwh) AS g FROM farm_generation "
            "WHERE settlement_date = :d GROUP BY farm_id) g ON g.farm_id = r.farm_id",
            d=HEAVY,
        )
    }
    short = got[units[0]]
    assert short["curtailmentShare"] is None and short["generatedEnergyMwh"] is None
    assert short["missingReason"] == "B1610 figures for 47 of 48 periods"
    for farm in units[1:]:
        c, g = sums[farm]
        assert math.isclose(got[farm]["curtailmentShare"], share(c, g), rel_tol=1e-12)
        assert got[farm]["generationPeriods"] == got[farm]["expectedPeriods"] == 48
    energies = [r["curtailedEnergyMwh"] for r in body["rows"]]
    assert energies == sorted(energies, reverse=True)

    parties = get(
        client, "/api/curtailment-share/farms", **{"from": "2025-01-17", "to": "2025-01-17"}
    )
    lead = {
        farm: party
        for farm, party in rows(
            seeded,
            "SELECT DISTINCT farm_id, lead_party_name FROM curtailment_records "
            "WHERE settlement_date = :d",
            d=HEAVY,
        )
    }
    for row in parties["rows"]:
        members = [f for f in units if lead[f] == row["leadPartyName"]]
        assert row["unitCount"] == len(members) and row["farmId"] is None
        if units[0] in members:
            assert row["curtailmentShare"] is None
            assert row["missingReason"] == f"{units[0]}: B1610 figures for 47 of 48 periods"
        else:
            c = math.fsum(sums[f][0] for f in members)
            g = math.fsum(sums[f][1] for f in members)
            assert math.isclose(row["curtailmentShare"], share(c, g), rel_tol=1e-12)


def test_farm_share_missing_dates(client: TestClient) -> None:
    body = get(
        client,
        "/api/curtailment-share/farms",
        **{"from": "2025-01-18", "to": "2025-01-18"},
        by="bmUnit",
    )
    assert body["rows"]
    for row in body["rows"]:
        assert row["curtailmentShare"] is None
        assert row["missingReason"] == "2025-01-18: B1610 fetched_empty"


def test_generation_roll_ups_equal_their_base_rows(seeded: Seeded) -> None:
    monthly = rows(
        seeded,
        "SELECT farm_id, generated_mwh, period_count FROM farm_generation_monthly_summaries "
        "WHERE year_month = '2025-01' ORDER BY farm_id",
    )
    base = rows(
        seeded,
        "SELECT farm_id, SUM(metered_generation_mwh), COUNT(*) FROM farm_generation "
        "WHERE settlement_date >= '2025-01-01' AND settlement_date < '2025-02-01' "
        "GROUP BY farm_id ORDER BY farm_id",
    )
    assert [(f, n) for f, _, n in monthly] == [(f, n) for f, _, n in base]
    for (_, stored, _), (_, summed, _) in zip(monthly, base, strict=True):
        assert math.isclose(stored, summed, rel_tol=1e-12)
    (day,) = rows(
        seeded,
        "SELECT national_period_count, onshore_wind_mwh + offshore_wind_mwh, national_status "
        "FROM generation_daily_summaries WHERE summary_date = :d",
        d=SPRING,
    )
    assert day[0] == 45 and day[2] == "fetched_with_data"


def test_csv_and_parquet(client: TestClient) -> None:
    response = client.get(
        "/api/curtailment-share",
        params={"from": "2025-01-17", "to": "2025-01-17", "grain": "period", "format": "csv"},
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0][:4] == ["period", "date", "settlement_period", "curtailed_energy_mwh"]
    assert len(table) == 49
    farms = client.get(
        "/api/curtailment-share/farms",
        params={"from": "2025-01-17", "to": "2025-01-17", "format": "parquet"},
    )
    assert farms.status_code == 200 and farms.content[:4] == b"PAR1"


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"from": "2025-01-18", "to": "2025-01-17"}, "to", "before from"),
        ({"from": "2025-01-01", "to": "2025-02-15", "grain": "period"}, "to", "at most 31 days"),
        ({"from": "2025-13-01", "to": "2025-01-17"}, "from", "not a valid calendar date"),
        ({"from": "2099-01-01", "to": "2099-01-02"}, "from", "2099-01-01"),
        ({"from": "2025-01-17", "to": "2025-01-17", "grain": "week"}, "grain", "period"),
    ],
)
def test_bad_input(client: TestClient, params: dict[str, str], field: str, words: str) -> None:
    response = client.get("/api/curtailment-share", params=params)
    assert response.status_code == 422
    body = response.json()
    assert words in body["error"] or words in str(body.get("detail")), body
    assert field in str(body), body


def test_all_bids_measure_beside_the_headline(seeded: Seeded, client: TestClient) -> None:
    ((extra, lines),) = rows(
        seeded,
        "SELECT -SUM(volume), COUNT(*) FROM bid_stack_lines WHERE settlement_date = :d "
        "AND volume < 0 AND (so_flag IS NULL OR so_flag = :f)",
        d=HEAVY,
        f=False,
    )
    assert lines > 0, "the heavy day has wind bids without soFlag true"
    day = get(client, "/api/summary/daily/2025-01-17")
    assert day["allBidsCurtailedEnergyMwh"] > day["totalCurtailedEnergy"]
    assert math.isclose(
        day["allBidsCurtailedEnergyMwh"] - day["totalCurtailedEnergy"], extra, rel_tol=1e-9
    )
    month = get(client, "/api/summary/monthly/2025-01")
    days = {r["date"]: r["allBidsCurtailedEnergyMwh"] for r in month["days"]}
    assert days["2025-01-17"] == day["allBidsCurtailedEnergyMwh"]
    assert math.isclose(month["allBidsCurtailedEnergyMwh"], math.fsum(days.values()), rel_tol=1e-12)
    year = get(client, "/api/summary/yearly/2025")
    (january,) = [m for m in year["months"] if m["yearMonth"] == "2025-01"]
    assert january["allBidsCurtailedEnergyMwh"] == month["allBidsCurtailedEnergyMwh"]
    filtered = get(
        client, "/api/summary/daily/2025-01-17", farmId=curtailed_units(seeded, HEAVY)[0]
    )
    assert filtered["allBidsCurtailedEnergyMwh"] is None


def test_a_generation_write_changes_the_cached_answer(seeded: Seeded, client: TestClient) -> None:
    params = {"from": "2025-01-18", "to": "2025-01-18"}
    first = client.get("/api/curtailment-share", params=params)
    again = client.get("/api/curtailment-share", params=params)
    assert again.headers.get("x-cache") == "hit"
    assert first.json()["rows"][0]["curtailmentShare"] is None
    with seeded.engine.begin() as conn:  # another date's write keeps the answer
        store_generation(conn, SPRING, national=national(SPRING, 46, hole=10))
    assert client.get("/api/curtailment-share", params=params).headers.get("x-cache") == "hit"
    with seeded.engine.begin() as conn:
        store_generation(conn, CALM, national=national(CALM, 48))
    try:
        after = client.get("/api/curtailment-share", params=params)
        assert after.headers.get("x-cache") == "miss"
        assert after.json()["rows"][0]["curtailmentShare"] is not None
    finally:
        with seeded.engine.begin() as conn:
            store_generation(conn, CALM, national={}, national_fetch=FAILED)


def test_cache_keys_of_the_share_routes() -> None:
    share_path, farms_path = "/api/curtailment-share", "/api/curtailment-share/farms"
    span = [("from", "2025-01-17"), ("to", "2025-01-19")]
    assert url_scope(share_path, [*span, ("grain", "period")]) == (HEAVY, date(2025, 1, 20))
    assert url_scope(farms_path, span) == (HEAVY, date(2025, 1, 20))
    for query in (
        [*span, ("leadParty", "X")],  # checked against every date
        [("from", "2025-01-19"), ("to", "2025-01-17")],  # answered 422
        [("from", "2025-02-30"), ("to", "2025-03-01")],
        [("from", "2025-01-17")],
    ):
        assert url_scope(farms_path, query) is ALL, query


def test_split_range() -> None:
    assert split_range(date(2025, 1, 1), date(2025, 3, 31)) == (
        ["2025-01", "2025-02", "2025-03"],
        [],
    )
    assert split_range(date(2025, 1, 17), date(2025, 3, 5)) == (
        ["2025-02"],
        [(date(2025, 1, 17), date(2025, 2, 1)), (date(2025, 3, 1), date(2025, 3, 6))],
    )
    assert split_range(date(2025, 1, 17), date(2025, 1, 19)) == (
        [],
        [(date(2025, 1, 17), date(2025, 1, 20))],
    )


def run_cli(seeded: Seeded, tmp_path: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CURTAILCOIN_DATABASE_URL": seeded.url,
        "CURTAILCOIN_CONFIG_FILE": str(tmp_path / "none.toml"),
        "CURTAILCOIN_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [CURTAILCOIN, "share", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.slow
def test_cli_share(seeded: Seeded, client: TestClient, tmp_path: Any) -> None:
    span = ("--from", "2025-01-17", "--to", "2025-01-19")
    as_json = run_cli(seeded, tmp_path, *span, "--json")
    assert as_json.returncode == 0, as_json.stderr
    api = get(client, "/api/curtailment-share", **{"from": "2025-01-17", "to": "2025-01-19"})
    assert json.loads(as_json.stdout) == api
    as_csv = run_cli(seeded, tmp_path, *span, "--csv")
    table = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert table[0][:2] == ["period", "date"] and [r[0] for r in table[1:]] == [
        "2025-01-17",
        "2025-01-18",
        "2025-01-19",
    ]
    shown = run_cli(seeded, tmp_path, *span)
    assert shown.returncode == 0 and "AGWS failed: HTTP 503" in shown.stdout
    farms = run_cli(
        seeded,
        tmp_path,
        "--from",
        "2025-01-17",
        "--to",
        "2025-01-17",
        "--farms",
        "--by",
        "bmUnit",
        "--json",
    )
    assert (
        json.loads(farms.stdout)["rows"]
        == get(
            client,
            "/api/curtailment-share/farms",
            **{"from": "2025-01-17", "to": "2025-01-17"},
            by="bmUnit",
        )["rows"]
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--from", "2025-01-18", "--to", "2025-01-17"), "before --from"),
        (("--from", "2025-01-17", "--to", "2025-01-17", "--grain", "week"), "--grain 'week'"),
        (("--from", "2025-01-01", "--to", "2025-03-01", "--grain", "period"), "at most 31 days"),
        (("--from", "2025-02-30", "--to", "2025-03-01"), "--from"),
    ],
)
@pytest.mark.slow
def test_cli_share_bad_input(
    seeded: Seeded, tmp_path: Any, args: tuple[str, ...], words: str
) -> None:
    result = run_cli(seeded, tmp_path, *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    message = (result.stdout + result.stderr).strip()
    assert words in message and len(message.splitlines()) == 1, message
