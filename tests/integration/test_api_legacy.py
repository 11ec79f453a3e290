"""The earlier system's routes (issue 13 §4), on SQLite and PostgreSQL: each is served on our
figures or listed in docs/api.md's not-served table; the served ones are checked against the
routes they are built on, independent SQL on the base tables, and generation rows written here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, text

from curtailcoin.db.generation_tables import (
    farm_generation,
    generation_fetches,
    national_wind_generation,
)
from curtailcoin.web import create_app
from support.api import PRICED_DAYS, Seeded, seed_database
from support.databases import BACKENDS

HEAVY = date(2025, 1, 17)
UNPRICED = date(2025, 3, 30)  # 46 periods, no price stored
DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"

#: the earlier system's route list (research/original_system.md §8), 30 routes
EARLIER_ROUTES = (
    "GET /health",
    "GET /api/lead-parties",
    "GET /api/lead-parties/:date",
    "GET /api/summary/daily/:date",
    "GET /api/summary/monthly/:yearMonth",
    "GET /api/summary/yearly/:year",
    "GET /api/curtailment/hourly/:date",
    "GET /api/curtailment/hourly-comparison/:date",
    "GET /api/curtailment/monthly-comparison/:yearMonth",
    "GET /api/curtailment/mining-potential",
    "GET /api/curtailment/monthly-mining-potential/:yearMonth",
    "GET /api/mining-potential/farms",
    "GET /api/mining-potential/daily",
    "GET /api/mining-potential/monthly/:yearMonth",
    "GET /api/mining-potential/yearly/:year",
    "GET /api/mining-potential/farm/:farmId",
    "GET /api/mining-potential/top-farms",
    "GET /api/farm-tables/grouped-data",
    "GET /api/production/pn-data/:date/:period",
    "GET /api/production/curtailment-percentage/farm/:farmId/:date",
    "GET /api/production/curtailment-percentage/lead-party/:leadPartyName/:date",
    "GET /api/production/curtailed-lead-parties",
    "GET /api/wind-generation/date/:date",
    "GET /api/wind-generation/check/:date",
    "GET /api/wind-generation/status",
    "POST /api/wind-generation/update/recent",
    "POST /api/wind-generation/process/date/:date",
    "POST /api/wind-generation/process/range",
    "POST /api/wind-generation/process/year/:year",
    "POST /api/ingest/:date",
)


def close(a: float | None, b: float | None, rel: float = 1e-9) -> bool:
    assert a is not None and b is not None, (a, b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest) -> Seeded:
    fixture = "pg_database" if request.param == "postgresql" else "sqlite_database"
    return seed_database(request.getfixturevalue(fixture))


@pytest.fixture(scope="module")
def client(seeded: Seeded) -> Iterator[TestClient]:
    with TestClient(create_app(seeded.settings, cache=False)) as c:
        yield c


def _shape(route: str) -> tuple[str, str]:
    """(method, path with every parameter as ``{}``)."""
    method, path = route.split(" ", 1)
    return method, re.sub(r"(:\w+|\{[^}]+\})", "{}", path)


def _not_served_table() -> set[tuple[str, str]]:
    """The routes docs/api.md's not-served table lists (first cell: `METHOD path`)."""
    doc = DOCS.read_text(encoding="utf-8")
    section = doc.split("### Not served", 1)[1].split("\n#", 1)[0]
    return {_shape(m) for m in re.findall(r"^\| `((?:GET|POST) [^`]+)` \|", section, re.M)}


def test_every_earlier_route_is_served_or_listed_as_not(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    served = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
        for path, item in schema["paths"].items()
        for method in item
    }
    listed = _not_served_table()
    assert len(EARLIER_ROUTES) == 30
    for route in EARLIER_ROUTES:
        shape = _shape(route)
        assert (shape in served) != (shape in listed), f"{route}: served and listed, or neither"
    # the table lists only earlier routes, and the served ones document their fields
    assert listed <= {_shape(r) for r in EARLIER_ROUTES}
    assert sum(_shape(r) in served for r in EARLIER_ROUTES) == 30 - len(listed)


def test_served_earlier_routes_document_units_and_signs(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    comparison = components["RateComparison"]["properties"]
    assert "MWh, positive" in comparison["curtailedEnergy"]["description"]
    assert "paid to the farms" in comparison["totalPayment"]["description"]
    row = components["ComparisonRow"]["properties"]
    assert "per curtailed MWh" in row["paymentPerMwh"]["description"]
    assert "BTC/GBP price of its date" in row["bitcoinValue"]["description"]
    wind = components["WindPeriod"]["properties"]
    assert "MW × 0.5 h" in wind["windOnshoreMwh"]["description"]


def test_hourly_comparison_is_the_hourly_answer_per_mwh(client: TestClient) -> None:
    hourly = client.get(f"/api/curtailment/hourly/{HEAVY}").json()
    answer = client.get(f"/api/curtailment/hourly-comparison/{HEAVY}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    price = hourly["priceGbp"]["price"]
    assert price is not None and body["timeframe"] == "day" and body["period"] == str(HEAVY)
    assert [r["key"] for r in body["rows"]] == [h["hour"] for h in hourly["hours"]]
    for row, hour in zip(body["rows"], hourly["hours"], strict=True):
        assert row["curtailedEnergy"] == hour["curtailedEnergy"]
        assert row["totalPayment"] == hour["totalPayment"]
        assert row["bitcoinMined"] == hour["bitcoinMined"]
        assert close(row["bitcoinValue"], hour["bitcoinMined"] * price)
        if hour["curtailedEnergy"] > 0:
            assert close(row["paymentPerMwh"], hour["totalPayment"] / hour["curtailedEnergy"])
            assert close(row["bitcoinValuePerMwh"], row["bitcoinValue"] / hour["curtailedEnergy"])
        else:
            assert row["paymentPerMwh"] is None and row["bitcoinValuePerMwh"] is None
    assert close(body["curtailedEnergy"], hourly["totalCurtailedEnergy"])
    assert close(body["bitcoinValue"], hourly["totalBitcoin"] * price)
    assert body["valueMissingReason"] is None and body["dataStatus"]["state"] == "complete"


def test_a_comparison_without_a_price_shows_the_value_missing(client: TestClient) -> None:
    body = client.get(f"/api/curtailment/hourly-comparison/{UNPRICED}").json()
    assert len(body["rows"]) == 23  # the spring clock change
    assert body["curtailedEnergy"] > 0 and body["paymentPerMwh"] is not None
    assert body["bitcoinValue"] is None and body["bitcoinValuePerMwh"] is None
    assert all(r["bitcoinValue"] is None for r in body["rows"])
    assert str(UNPRICED) in body["valueMissingReason"]


def test_monthly_comparison_is_the_month_per_day(client: TestClient) -> None:
    month = client.get("/api/mining-potential/monthly/2025-01").json()
    body = client.get("/api/curtailment/monthly-comparison/2025-01").json()
    assert body["timeframe"] == "month" and len(body["rows"]) == 31
    for row, day in zip(body["rows"], month["rows"], strict=True):
        assert row["key"] == day["key"]
        assert row["curtailedEnergy"] == day["curtailedEnergy"]
        assert row["bitcoinValue"] == day["valueGbp"]
        assert row["complete"] == day["complete"]
    by_key = {r["key"]: r for r in body["rows"]}
    for day in PRICED_DAYS:
        row = by_key[day.isoformat()]
        assert close(row["bitcoinValuePerMwh"], row["bitcoinValue"] / row["curtailedEnergy"])
    # days without curtailment have a value of £0 but no rate
    empty = by_key["2025-01-01"]
    assert empty["curtailedEnergy"] == 0 and empty["paymentPerMwh"] is None
    # the month holds an incomplete date (2025-01-19), so its state says so
    assert body["dataStatus"]["state"] == "incomplete"


def test_comparisons_take_the_filters_and_refuse_bad_input(client: TestClient) -> None:
    parties = client.get(f"/api/lead-parties/{HEAVY}").json()
    lead = parties[0]
    body = client.get(
        f"/api/curtailment/hourly-comparison/{HEAVY}", params={"leadParty": lead}
    ).json()
    daily = client.get(f"/api/summary/daily/{HEAVY}", params={"leadParty": lead}).json()
    assert body["leadParty"] == lead
    assert close(body["curtailedEnergy"], daily["totalCurtailedEnergy"])
    bad = client.get("/api/curtailment/hourly-comparison/2025-02-30")
    assert bad.status_code == 422 and "date" in bad.json()["error"]
    bad = client.get("/api/curtailment/monthly-comparison/2025-13")
    assert bad.status_code == 422
    bad = client.get(f"/api/curtailment/hourly-comparison/{HEAVY}", params={"leadParty": "Nope"})
    assert bad.status_code == 422 and "leadParty" in bad.json()["error"]


def test_the_earlier_mining_potential_paths_answer_as_ours(client: TestClient) -> None:
    ours = client.get(f"/api/mining-potential/daily/{HEAVY}").json()
    assert client.get("/api/curtailment/mining-potential", params={"date": str(HEAVY)}).json() == (
        ours
    )
    latest = client.get("/api/data-range").json()["lastDateWithCurtailment"]
    assert client.get("/api/curtailment/mining-potential").json()["period"] == latest
    month = client.get("/api/mining-potential/monthly/2025-01").json()
    assert client.get("/api/curtailment/monthly-mining-potential/2025-01").json() == month
    bad = client.get("/api/curtailment/mining-potential", params={"date": "17-01-2025"})
    assert bad.status_code == 422


def test_curtailed_lead_parties_against_the_records(seeded: Seeded, client: TestClient) -> None:
    with seeded.engine.connect() as conn:
        expected = {
            row[0]: (int(row[1]), float(row[2]), float(row[3]))
            for row in conn.execute(
                text(
                    "SELECT lead_party_name, COUNT(DISTINCT farm_id), -SUM(volume), "
                    "SUM(payment) FROM curtailment_records WHERE settlement_date = :d "
                    "GROUP BY lead_party_name"
                ),
                {"d": HEAVY},
            )
        }
    body = client.get("/api/production/curtailed-lead-parties", params={"date": str(HEAVY)})
    assert body.status_code == 200, body.text
    got = body.json()
    assert len(got) == len(expected) > 1
    energies = [g["totalCurtailedEnergy"] for g in got]
    assert energies == sorted(energies, reverse=True)
    for g in got:
        farms, energy, payment = expected[g["leadPartyName"]]
        assert g["farmCount"] == farms == len(g["farmIds"])
        assert close(g["totalCurtailedEnergy"], energy) and close(g["totalPayment"], payment)
    assert client.get("/api/production/curtailed-lead-parties").status_code == 422
    empty = client.get("/api/production/curtailed-lead-parties", params={"date": "2024-06-01"})
    assert empty.status_code == 200 and empty.json() == []


# --- wind generation: rows written here (the ingestion is another module's) ---------------

GEN_FULL = date(2025, 1, 17)
GEN_PARTIAL = date(2025, 1, 18)
GEN_FAILED = date(2025, 1, 19)
GEN_NEVER = date(2025, 1, 20)
AUTUMN = date(2025, 10, 26)  # 50 periods


@pytest.fixture(scope="module")
def generation(seeded: Seeded) -> Iterator[dict[tuple[date, int], tuple[float, float]]]:
    now = datetime(2025, 2, 1, tzinfo=UTC)
    published = datetime(2025, 1, 21, 9, tzinfo=UTC)
    figures: dict[tuple[date, int], tuple[float, float]] = {}
    for day, periods in ((GEN_FULL, 48), (GEN_PARTIAL, 40), (AUTUMN, 50)):
        for p in range(1, periods + 1):
            figures[(day, p)] = (1000.0 + p * 3.5, 2500.0 + p * 0.25)
    with seeded.engine.begin() as conn:
        conn.execute(
            national_wind_generation.insert(),
            [
                {
                    "settlement_date": d,
                    "settlement_period": p,
                    "onshore_wind_mwh": on,
                    "offshore_wind_mwh": off,
                    "published_at": published,
                    "fetched_at": now,
                }
                for (d, p), (on, off) in figures.items()
            ],
        )
        conn.execute(
            generation_fetches.insert(),
            [
                fetch(GEN_FULL, "fetched_with_data", 48, now),
                fetch(GEN_PARTIAL, "fetched_incomplete", 40, now, "AGWS answered 40 of 48"),
                fetch(GEN_FAILED, "failed", 0, now, "HTTP 503 from /datasets/AGWS"),
                fetch(AUTUMN, "fetched_with_data", 50, now),
                {**fetch(GEN_FULL, "fetched_with_data", 48, now), "dataset": "B1610"},
            ],
        )
        conn.execute(
            farm_generation.insert(),
            [
                {
                    "settlement_date": GEN_FULL,
                    "settlement_period": 1,
                    "farm_id": "T_ABRBO-1",
                    "metered_generation_mwh": 12.5,
                    "fetched_at": now,
                }
            ],
        )
    yield figures
    with seeded.engine.begin() as conn:
        for table in (national_wind_generation, generation_fetches, farm_generation):
            conn.execute(delete(table))


def fetch(day: date, status: str, periods: int, at: datetime, error: str | None = None) -> Any:
    return {
        "settlement_date": day,
        "dataset": "AGWS",
        "fetch_status": status,
        "period_count": periods,
        "row_count": periods,
        "fetched_at": at,
        "source_published_at": at - timedelta(hours=1) if periods else None,
        "error": error,
    }


def test_wind_generation_of_a_date(client: TestClient, generation: Any) -> None:
    body = client.get(f"/api/wind-generation/date/{GEN_FULL}").json()
    assert body["fetchStatus"] == "fetched_with_data" and body["periods"] == 48
    assert body["missingPeriods"] == [] and body["missingReason"] is None
    assert [r["settlementPeriod"] for r in body["data"]] == list(range(1, 49))
    first = body["data"][0]
    on, off = generation[(GEN_FULL, 1)]
    assert first["windOnshoreMwh"] == on and first["windOffshoreMwh"] == off
    assert first["totalWindMwh"] == on + off
    assert first["startUtc"].startswith("2025-01-17T00:00:00")
    expected = sum(on + off for (d, _), (on, off) in generation.items() if d == GEN_FULL)
    assert close(body["totalWindMwh"], expected)
    autumn = client.get(f"/api/wind-generation/date/{AUTUMN}").json()
    assert autumn["periods"] == 50 and len(autumn["data"]) == 50 and autumn["totalWindMwh"]


def test_missing_wind_generation_is_missing_with_its_reason(
    client: TestClient, generation: Any
) -> None:
    partial = client.get(f"/api/wind-generation/date/{GEN_PARTIAL}").json()
    assert partial["fetchStatus"] == "fetched_incomplete"
    assert partial["missingPeriods"] == list(range(41, 49))
    assert partial["totalWindMwh"] is None and partial["periodsWithData"] == 40
    assert "41" in partial["missingReason"] and "40 of 48" in partial["missingReason"]
    failed = client.get(f"/api/wind-generation/date/{GEN_FAILED}").json()
    assert failed["fetchStatus"] == "failed" and failed["data"] == []
    assert "HTTP 503" in failed["missingReason"] and failed["totalWindMwh"] is None
    never = client.get(f"/api/wind-generation/date/{GEN_NEVER}").json()
    assert never["fetchStatus"] == "not_fetched" and "not fetched" in never["missingReason"]
    assert client.get("/api/wind-generation/date/2025-01-32").status_code == 422
    future = (datetime.now(UTC) + timedelta(days=3)).date()
    assert client.get(f"/api/wind-generation/date/{future}").status_code == 422


def test_wind_generation_check_and_status(client: TestClient, generation: Any) -> None:
    check = client.get(f"/api/wind-generation/check/{GEN_FULL}").json()
    assert check == {
        "date": str(GEN_FULL),
        "exists": True,
        "fetchStatus": "fetched_with_data",
        "periodsWithData": 48,
        "periodsExpected": 48,
    }
    assert client.get(f"/api/wind-generation/check/{GEN_FAILED}").json()["exists"] is False
    status = client.get("/api/wind-generation/status").json()
    assert status["latestDate"] == str(AUTUMN)
    agws, b1610 = status["datasets"]
    assert agws["dataset"] == "AGWS" and agws["datesFetched"] == 2  # failed/incomplete are not
    assert agws["firstDate"] == str(GEN_FULL) and agws["latestDate"] == str(AUTUMN)
    assert agws["failedDates"] == 1 and agws["lastFailedDate"] == str(GEN_FAILED)
    assert "HTTP 503" in agws["lastError"]
    assert b1610["dataset"] == "B1610" and b1610["datesFetched"] == 1
    assert b1610["failedDates"] == 0 and b1610["lastError"] is None
