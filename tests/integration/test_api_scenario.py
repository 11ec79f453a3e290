"""The site-economics routes (``/api/scenario``, ``/sizing``, ``/duration-curve``) on SQLite and
PostgreSQL: the same figures as ``economics.scenario`` for the same input, the energy-limited
figure of ``/api/mining-potential`` for a fleet larger than every period's energy, a 422 naming
each bad parameter, CSV and Parquet tables, missing prices as null with a reason, the OpenAPI
document."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from datetime import date
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from curtailcoin.db.engine import read_snapshot
from curtailcoin.economics.inputs import Assumptions
from curtailcoin.economics.results import to_json
from curtailcoin.economics.scenario import (
    ScenarioRequest,
    SizingRequest,
    run_duration_curve,
    run_scenario,
    run_sizing,
)
from curtailcoin.economics.site import site_of
from curtailcoin.web import create_app
from support.api import Seeded, seed_database
from support.databases import BACKENDS

HEAVY = date(2025, 1, 17)
UNPRICED = date(2025, 10, 26)


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest) -> Seeded:
    fixture = "pg_database" if request.param == "postgresql" else "sqlite_database"
    return seed_database(request.getfixturevalue(fixture))


@pytest.fixture(scope="module")
def client(seeded: Seeded) -> Iterator[TestClient]:
    with TestClient(create_app(seeded.settings, cache=False)) as c:
        yield c


@pytest.fixture(scope="module")
def lead(seeded: Seeded) -> str:
    with seeded.engine.connect() as conn:
        name = conn.execute(
            text(
                "SELECT lead_party_name FROM curtailment_records WHERE settlement_date = :d "
                "GROUP BY lead_party_name ORDER BY SUM(volume) ASC LIMIT 1"
            ),
            {"d": HEAVY},
        ).scalar_one()
    return str(name)


BASE = {"from": "2025-01-17", "to": "2025-01-19", "minerModel": "S21"}
ASSUMED = {
    "uptime": "95",
    "poolFee": "2",
    "energyCost": "5",
    "capexPerMiner": "3000",
    "opexPerMonth": "20000",
}


def _get(client: TestClient, path: str, **params: Any) -> Any:
    answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_total_and_rows_equal_run_scenario(client: TestClient, seeded: Seeded, lead: str) -> None:
    body = _get(client, "/api/scenario", **BASE, **ASSUMED, leadParty=lead, mw="20", grain="day")
    request = ScenarioRequest(
        site_of(lead_party=lead),
        "S21",
        HEAVY,
        date(2025, 1, 19),
        size_mw=20.0,
        assumptions=Assumptions(
            uptime_pct=95,
            pool_fee_pct=2,
            energy_cost_gbp_per_mwh=5,
            capex_gbp_per_miner=3000,
            opex_gbp_per_month=20000,
        ),
        level="day",
    )
    with read_snapshot(seeded.engine) as conn:
        expected = to_json(run_scenario(conn, request))
    camel = {
        "available_mwh": "availableMwh",
        "used_mwh": "usedMwh",
        "btc": "btc",
        "revenue_gbp": "revenueGbp",
        "margin_gbp": "marginGbp",
        "utilisation": "utilisation",
        "revenue_at_latest_price_gbp": "revenueAtLatestPriceGbp",
    }
    for snake, name in camel.items():
        assert body["total"][name] == expected["total"][snake], name  # the same bits
    assert [r["key"] for r in body["rows"]] == ["2025-01-17", "2025-01-18", "2025-01-19"]
    assert [r["btc"] for r in body["rows"]] == [r["btc"] for r in expected["rows"]]
    assert body["fleet"]["miners"] == expected["fleet"]["miners"] == 5714
    assert body["payback"]["status"] == expected["payback"]["status"]
    assert body["from"] == "2025-01-17" and body["grain"] == "day"
    assert body["total"]["btc"] > 0
    # 2025-01-19 has no stored price: its BTC is not valued, and the row and total say why
    assert "2025-01-19" in body["total"]["missingReason"]
    assert body["rows"][0]["missingReason"] is None and body["rows"][2]["missingReason"]


@pytest.mark.parametrize("site", ["lead", "allWind"])
def test_a_fleet_larger_than_every_period_is_the_energy_limited_figure(
    client: TestClient, lead: str, site: str
) -> None:
    where = {"leadParty": lead} if site == "lead" else {"allWind": "true"}
    body = _get(
        client,
        "/api/scenario",
        **{"from": HEAVY.isoformat(), "to": HEAVY.isoformat()},
        minerModel="S19J_PRO",
        miners="10000000",
        grain="total",
        **where,
    )
    mining = _get(
        client,
        f"/api/mining-potential/daily/{HEAVY}",
        minerModel="S19J_PRO",
        **({"leadParty": lead} if site == "lead" else {}),
    )
    assert body["rows"] == []
    assert body["total"]["spilledMwh"] == 0
    assert math.isclose(body["total"]["usedMwh"], mining["curtailedEnergy"], rel_tol=1e-12)
    assert math.isclose(body["total"]["btc"], mining["bitcoinMined"], rel_tol=1e-12)


def test_missing_price_is_null_with_a_reason(client: TestClient) -> None:
    body = _get(
        client,
        "/api/scenario",
        **{"from": UNPRICED.isoformat(), "to": UNPRICED.isoformat()},
        allWind="true",
        mw="50",
        grain="day",
    )
    total = body["total"]
    assert total["btc"] > 0 and total["unpricedBtc"] == total["btc"]
    assert total["revenueGbp"] is None and total["marginGbp"] is None
    assert "no BTC/GBP price" in total["missingReason"] and str(UNPRICED) in total["missingReason"]
    assert body["rows"][0]["revenueGbp"] is None and body["rows"][0]["missingReason"]
    constant = _get(
        client,
        "/api/scenario",
        **{"from": UNPRICED.isoformat(), "to": UNPRICED.isoformat()},
        allWind="true",
        mw="50",
        price="constant",
        btcPrice="50000",
    )
    assert constant["total"]["revenueGbp"] == pytest.approx(total["btc"] * 50000, rel=1e-12)
    assert constant["total"]["missingReason"] is None


BAD: list[tuple[dict[str, str], str]] = [
    ({"from": "2025-13-01"}, "from"),
    ({"to": "2999-01-01"}, "to"),
    ({"from": "2025-01-19", "to": "2025-01-17"}, "to"),
    ({"from": "2010-01-01", "to": "2025-01-17"}, "to"),
    ({"leadParty": "Nobody Ltd"}, "leadParty"),
    ({"farmId": "T_NOPE-1"}, "farmId"),
    ({"allWind": "true"}, "allWind"),  # with leadParty: two sites
    ({"minerModel": "NOPE"}, "minerModel"),
    ({"mw": "-1"}, "mw"),
    ({"mw": "0.001"}, "mw"),  # smaller than one miner
    ({"miners": "0"}, "miners"),
    ({"miners": "5", "mw": "1"}, "mw"),
    ({"uptime": "101"}, "uptime"),
    ({"uptime": "nan"}, "uptime"),
    ({"poolFee": "-1"}, "poolFee"),
    ({"fees": "some"}, "fees"),
    ({"energyCost": "inf"}, "energyCost"),
    ({"capexPerMiner": "-5"}, "capexPerMiner"),
    ({"capexPerMiner": "5", "capexPerTh": "1"}, "capexPerTh"),
    ({"opexPerMonth": "-1"}, "opexPerMonth"),
    ({"price": "guess"}, "price"),
    ({"price": "constant"}, "btcPrice"),
    ({"btcPrice": "50000"}, "btcPrice"),
    ({"grain": "week"}, "grain"),
    ({"format": "xml"}, "format"),
]


@pytest.mark.parametrize(("bad", "field"), BAD, ids=[f for _, f in BAD])
def test_bad_input_is_a_422_naming_the_field(
    client: TestClient, lead: str, bad: dict[str, str], field: str
) -> None:
    params = {**BASE, "leadParty": lead, "mw": "20", **bad}
    if "miners" in bad and "mw" not in bad:
        params.pop("mw")
    if "farmId" in bad:
        params.pop("leadParty")
    answer = client.get("/api/scenario", params=params)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["detail"][0]["loc"][-1] == field, body
    assert field in body["error"] or field.lower() in body["error"].lower(), body


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"sizes": "1:500"}, "sizes"),
        ({"sizes": "1:500:201"}, "sizes"),
        ({"sizes": ",".join(["5"] * 201)}, "sizes"),
        ({"sizes": "5,abc"}, "sizes"),
        ({"sizes": "0.001,5"}, "sizes"),
        ({"thresholds": "-1"}, "thresholds"),
        ({"minerModel": "NOPE"}, "minerModel"),
    ],
)
def test_bad_sizing_input_is_a_422(
    client: TestClient, lead: str, bad: dict[str, str], field: str
) -> None:
    answer = client.get("/api/scenario/sizing", params={**BASE, "leadParty": lead, **bad})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"][-1] == field


def test_fees_actual_without_fee_history_is_a_422(client: TestClient, lead: str) -> None:
    answer = client.get(
        "/api/scenario", params={**BASE, "leadParty": lead, "mw": "20", "fees": "actual"}
    )
    # the seeded database holds no fee history: refused, naming the parameter
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"][-1] == "fees"
    assert answer.json()["error"].startswith("fees")


def test_sizing_and_duration_curve_equal_the_economics_calls(
    client: TestClient, seeded: Seeded, lead: str
) -> None:
    body = _get(client, "/api/scenario/sizing", **BASE, **ASSUMED, leadParty=lead, sizes="1:100:20")
    assert len(body["sizes"]) == 20 and body["sizes"][0]["sizeMw"] == 1
    site = site_of(lead_party=lead)
    assumed = Assumptions(
        uptime_pct=95,
        pool_fee_pct=2,
        energy_cost_gbp_per_mwh=5,
        capex_gbp_per_miner=3000,
        opex_gbp_per_month=20000,
    )
    with read_snapshot(seeded.engine) as conn:
        sizes = [1.0 + i * 99.0 / 19 for i in range(20)]
        expected = to_json(
            run_sizing(conn, SizingRequest(site, "S21", HEAVY, date(2025, 1, 19), sizes, assumed))
        )
        curve = to_json(run_duration_curve(conn, site, HEAVY, date(2025, 1, 19), [0, 5, 10]))
    assert [p["btc"] for p in body["sizes"]] == pytest.approx(
        [p["btc"] for p in expected["sizes"]], rel=1e-12
    )
    assert body["bestReason"] == expected["best_reason"]
    assert len(body["durationCurve"]) == len(expected["duration_curve"])
    listed = _get(client, "/api/scenario/sizing", **BASE, leadParty=lead, sizes="5,10,20")
    assert [p["sizeMw"] for p in listed["sizes"]] == [5, 10, 20]
    dc = _get(client, "/api/scenario/duration-curve", **BASE, leadParty=lead, thresholds="0,5,10")
    hours = [p["hours"] for p in curve["duration_curve"]]
    assert [p["hours"] for p in dc["durationCurve"]] == hours
    assert dc["durationCurve"][0]["hours"] >= dc["durationCurve"][-1]["hours"]


def test_csv_and_parquet_tables(client: TestClient, lead: str) -> None:
    params = {**BASE, "leadParty": lead, "mw": "20", "grain": "day"}
    as_json = _get(client, "/api/scenario", **params)
    as_csv = client.get("/api/scenario", params={**params, "format": "csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    lines = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["date"] for r in lines] == [r["key"] for r in as_json["rows"]]
    assert [float(r["btc"]) for r in lines] == [r["btc"] for r in as_json["rows"]]
    as_parquet = client.get("/api/scenario", params={**params, "format": "parquet"})
    assert as_parquet.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(as_parquet.content))
    assert table.column_names == list(lines[0])
    assert table.column("used_mwh").to_pylist() == [r["usedMwh"] for r in as_json["rows"]]
    unpriced = client.get(
        "/api/scenario",
        params={
            "from": UNPRICED.isoformat(),
            "to": UNPRICED.isoformat(),
            "allWind": "true",
            "mw": "50",
            "grain": "day",
            "format": "csv",
        },
    )
    row = next(csv.DictReader(io.StringIO(unpriced.text)))
    assert row["revenue_gbp"] == "" and "no BTC/GBP price" in row["missing_reason"]
    sizes = client.get(
        "/api/scenario/sizing", params={**BASE, "leadParty": lead, "sizes": "5,10", "format": "csv"}
    )
    assert sizes.text.splitlines()[0].startswith("size_mw,miners,capacity_mw,btc")
    assert len(sizes.text.splitlines()) == 3


def test_openapi_lists_the_routes_with_units(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    for path in ("/api/scenario", "/api/scenario/sizing", "/api/scenario/duration-curve"):
        operation = doc["paths"][path]["get"]
        assert "site economics" in operation["tags"]
        names = {p["name"] for p in operation["parameters"]}
        assert {"from", "to", "farmId", "leadParty", "allWind"} <= names
        assert all(p.get("description") for p in operation["parameters"]), path
    schemas = doc["components"]["schemas"]
    for name in ("RollupOut", "SizePointOut", "FleetOut", "DurationPointOut"):
        for field, spec in schemas[name]["properties"].items():
            assert spec.get("description"), (name, field)
    units = ("MWh", "£", "BTC", "MW", "TH/s", "%", "fraction", " h", "W")
    for field, spec in schemas["RollupOut"]["properties"].items():
        if field not in ("key", "missingReason"):
            assert any(u in spec["description"] for u in units), field
    params = {p["name"]: p for p in doc["paths"]["/api/scenario"]["get"]["parameters"]}
    assert "£/MWh" in params["energyCost"]["description"]
    assert "%" in params["uptime"]["description"]


def test_sizing_page_is_served_from_the_package_with_the_csp(client: TestClient) -> None:
    page = client.get("/sizing")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "/static/sizing.js?v=" in page.text and "http" not in page.text.split("<body")[0]
    script = client.get("/static/sizing.js")
    assert script.status_code == 200 and "/api/scenario/sizing" in script.text
    assert 'href="/sizing"' in client.get("/").text
