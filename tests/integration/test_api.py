"""Every JSON route's numbers against the database, on SQLite and PostgreSQL.

The database is seeded once per backend through the real pipeline (see ``support.api``);
expected values are recomputed here straight from the base tables with independent SQL and
``mining.btc_for_energy``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from curtailcoin.miners import load_catalogue
from curtailcoin.mining import btc_for_energy
from curtailcoin.settlement import local_hours
from curtailcoin.web import create_app
from support.api import (
    EMPTY_DAY,
    FULL_DAYS,
    PARTIAL_DAY,
    PARTIAL_PERIODS,
    PRICED_DAYS,
    UNTRACKED_MODEL,
    Seeded,
    make_settings,
    seed_database,
)
from support.databases import BACKENDS

HEAVY = date(2025, 1, 17)
REL = 1e-9


def close(a: float | None, b: float | None, rel: float = REL, abs_: float = 1e-9) -> bool:
    assert a is not None and b is not None, (a, b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest) -> Seeded:
    fixture = "pg_database" if request.param == "postgresql" else "sqlite_database"
    return seed_database(request.getfixturevalue(fixture))


@pytest.fixture(scope="module")
def client(seeded: Seeded) -> Iterator[TestClient]:
    with TestClient(create_app(seeded.settings)) as c:
        yield c


def rows(seeded: Seeded, sql: str, **params: Any) -> list[Any]:
    with seeded.engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def record_totals(
    seeded: Seeded, start: date, end: date, lead: str | None = None
) -> tuple[float, float, int, int]:
    where = "settlement_date >= :s AND settlement_date < :e"
    if lead is not None:
        where += " AND lead_party_name = :lp"
    (row,) = rows(
        seeded,
        f"SELECT -SUM(volume), SUM(payment), COUNT(*), COUNT(DISTINCT farm_id) "
        f"FROM curtailment_records WHERE {where}",
        s=start,
        e=end,
        lp=lead,
    )
    return (float(row[0] or 0.0), float(row[1] or 0.0), int(row[2]), int(row[3]))


def python_btc(
    seeded: Seeded, model_key: str, start: date, end: date, lead: str | None = None
) -> float:
    """Σ over (date, period, farm) of btc_for_energy with the period's stored conditions."""
    model = load_catalogue()[model_key]
    where = "r.settlement_date >= :s AND r.settlement_date < :e"
    if lead is not None:
        where += " AND r.lead_party_name = :lp"
    total = 0.0
    for row in rows(
        seeded,
        f"SELECT -SUM(r.volume) AS e, p.difficulty AS d, p.block_subsidy_btc AS r "
        f"FROM curtailment_records r JOIN settlement_periods p "
        f"ON p.settlement_date = r.settlement_date AND p.settlement_period = r.settlement_period "
        f"WHERE {where} AND p.difficulty IS NOT NULL "
        f"GROUP BY r.settlement_date, r.settlement_period, r.farm_id, p.difficulty, "
        f"p.block_subsidy_btc",
        s=start,
        e=end,
        lp=lead,
    ):
        total += btc_for_energy(float(row.e), model.hashrate_th, model.power_w, row.d, row.r)
    return total


def stored_btc(seeded: Seeded, model_key: str, start: date, end: date) -> float:
    (row,) = rows(
        seeded,
        "SELECT SUM(bitcoin_mined) FROM historical_bitcoin_calculations "
        "WHERE miner_model = :m AND settlement_date >= :s AND settlement_date < :e",
        m=model_key,
        s=start,
        e=end,
    )
    return float(row[0] or 0.0)


def biggest_lead_party(seeded: Seeded, day: date) -> str:
    (row,) = rows(
        seeded,
        "SELECT lead_party_name FROM curtailment_records WHERE settlement_date = :d "
        "GROUP BY lead_party_name ORDER BY SUM(volume) ASC LIMIT 1",
        d=day,
    )
    return str(row[0])


# --- summaries -------------------------------------------------------------------------------


def test_daily_summary_matches_records_and_source(client: TestClient, seeded: Seeded) -> None:
    for day in FULL_DAYS:
        body = client.get(f"/api/summary/daily/{day}").json()
        energy, payment, count, farms = record_totals(seeded, day, day + timedelta(days=1))
        assert close(body["totalCurtailedEnergy"], energy)
        assert close(body["totalPayment"], payment)
        assert (body["recordCount"], body["farmCount"]) == (count, farms)
        oracle = seeded.headlines[day]
        assert close(body["totalCurtailedEnergy"], oracle.curtailed_mwh, rel=1e-9, abs_=1e-6)
        assert close(body["totalPayment"], oracle.payment_gbp, rel=1e-9, abs_=1e-6)
        assert body["recordCount"] == oracle.records
        assert body["totalCurtailedEnergy"] >= 0
        assert body["dataStatus"]["state"] == "complete"


def test_monthly_and_yearly_summaries_are_sums_of_rows(client: TestClient, seeded: Seeded) -> None:
    month = client.get("/api/summary/monthly/2025-01").json()
    assert [d["date"] for d in month["days"]] == [
        "2025-01-17",
        "2025-01-18",
        "2025-01-19",
    ]
    for key, field in (("totalCurtailedEnergy", 0), ("totalPayment", 1)):
        assert close(month[key], sum(d[key] for d in month["days"]))
        assert close(month[key], record_totals(seeded, date(2025, 1, 1), date(2025, 2, 1))[field])
    assert month["recordCount"] == sum(d["recordCount"] for d in month["days"])
    year = client.get("/api/summary/yearly/2025").json()
    assert [m["yearMonth"] for m in year["months"]] == ["2025-01", "2025-03", "2025-10"]
    for key in ("totalCurtailedEnergy", "totalPayment", "recordCount"):
        assert close(year[key], sum(m[key] for m in year["months"]))
    energy, payment, count, farms = record_totals(seeded, date(2025, 1, 1), date(2026, 1, 1))
    assert close(year["totalCurtailedEnergy"], energy) and close(year["totalPayment"], payment)
    assert (year["recordCount"], year["farmCount"]) == (count, farms)


def test_lead_party_filter(client: TestClient, seeded: Seeded) -> None:
    lead = biggest_lead_party(seeded, HEAVY)
    body = client.get(f"/api/summary/daily/{HEAVY}", params={"leadParty": lead}).json()
    energy, payment, count, farms = record_totals(seeded, HEAVY, HEAVY + timedelta(days=1), lead)
    assert body["leadParty"] == lead
    assert close(body["totalCurtailedEnergy"], energy) and close(body["totalPayment"], payment)
    assert (body["recordCount"], body["farmCount"]) == (count, farms)
    year = client.get("/api/summary/yearly/2025", params={"leadParty": lead}).json()
    month_sum = sum(m["totalCurtailedEnergy"] for m in year["months"])
    assert close(year["totalCurtailedEnergy"], month_sum)
    assert close(
        year["totalCurtailedEnergy"],
        record_totals(seeded, date(2025, 1, 1), date(2026, 1, 1), lead)[0],
    )


# --- hourly ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "hours"), [(date(2025, 10, 26), 25), (date(2025, 3, 30), 23), (HEAVY, 24)]
)
def test_hourly_uses_local_clock_hours(
    client: TestClient, seeded: Seeded, day: date, hours: int
) -> None:
    body = client.get(f"/api/curtailment/hourly/{day}").json()
    assert body["hourCount"] == hours == len(body["hours"]) == len(local_hours(day))
    per_period = {
        int(r[0]): (float(r[1]), float(r[2]))
        for r in rows(
            seeded,
            "SELECT settlement_period, -SUM(volume), SUM(payment) FROM curtailment_records "
            "WHERE settlement_date = :d GROUP BY settlement_period",
            d=day,
        )
    }
    calcs = {
        int(r[0]): float(r[1])
        for r in rows(
            seeded,
            "SELECT settlement_period, SUM(bitcoin_mined) FROM historical_bitcoin_calculations "
            "WHERE settlement_date = :d AND miner_model = 'S19J_PRO' GROUP BY settlement_period",
            d=day,
        )
    }
    for hour, expected in zip(body["hours"], local_hours(day), strict=True):
        assert hour["hour"] == expected.label and hour["periods"] == list(expected.periods)
        energy = sum(per_period.get(p, (0.0, 0.0))[0] for p in expected.periods)
        assert close(hour["curtailedEnergy"], energy)
        assert close(hour["bitcoinMined"], sum(calcs.get(p, 0.0) for p in expected.periods))
    daily = client.get(f"/api/summary/daily/{day}").json()
    assert close(body["totalCurtailedEnergy"], daily["totalCurtailedEnergy"])
    assert close(body["totalPayment"], daily["totalPayment"])
    if hours == 25:
        labels = [h["hour"] for h in body["hours"]]
        assert "01:00 BST" in labels and "01:00 GMT" in labels


# --- mining potential ------------------------------------------------------------------------


def test_tracked_model_comes_from_stored_calculations(client: TestClient, seeded: Seeded) -> None:
    for model in seeded.settings.tracked_models:
        body = client.get(f"/api/mining-potential/daily/{HEAVY}", params={"minerModel": model})
        data = body.json()
        assert data["calculation"] == "tracked"
        expected = stored_btc(seeded, model, HEAVY, HEAVY + timedelta(days=1))
        assert expected > 0 and close(data["bitcoinMined"], expected)
        assert data["energyWithoutBitcoin"] == 0.0
    seed_form = client.get("/api/mining-potential/daily", params={"date": str(HEAVY)}).json()
    assert seed_form["bitcoinMined"] == pytest.approx(
        stored_btc(seeded, "S19J_PRO", HEAVY, HEAVY + timedelta(days=1)), rel=REL
    )


def test_untracked_model_is_computed_exactly(client: TestClient, seeded: Seeded) -> None:
    start, end = date(2025, 1, 1), date(2026, 1, 1)
    data = client.get("/api/mining-potential/yearly/2025", params={"minerModel": UNTRACKED_MODEL})
    body = data.json()
    assert body["calculation"] == "computed"
    assert close(body["bitcoinMined"], python_btc(seeded, UNTRACKED_MODEL, start, end))
    assert close(body["bitcoinMined"], sum(r["bitcoinMined"] for r in body["rows"]))
    assert close(body["curtailedEnergy"], sum(r["curtailedEnergy"] for r in body["rows"]))
    lead = biggest_lead_party(seeded, HEAVY)
    filtered = client.get(
        f"/api/mining-potential/daily/{HEAVY}",
        params={"minerModel": UNTRACKED_MODEL, "leadParty": lead},
    ).json()
    expected = python_btc(seeded, UNTRACKED_MODEL, HEAVY, HEAVY + timedelta(days=1), lead)
    assert close(filtered["bitcoinMined"], expected)


def test_computed_and_tracked_agree_for_a_tracked_model(seeded: Seeded) -> None:
    """The same model computed from the records equals its stored calculations (1e-9)."""
    untracked = make_settings(seeded.url, tracked_models=("S9",))
    with (
        TestClient(create_app(untracked)) as computed,
        TestClient(create_app(seeded.settings)) as tracked,
    ):
        for path in (
            f"/api/mining-potential/daily/{HEAVY}",
            "/api/mining-potential/monthly/2025-01",
            "/api/mining-potential/yearly/2025",
            f"/api/curtailment/hourly/{date(2025, 10, 26)}",
        ):
            a = computed.get(path, params={"minerModel": "S19J_PRO"}).json()
            b = tracked.get(path, params={"minerModel": "S19J_PRO"}).json()
            key = "totalBitcoin" if "hourly" in path else "bitcoinMined"
            assert a["calculation"] == "computed" and b["calculation"] == "tracked"
            assert close(a[key], b[key], rel=1e-9), path


def test_monthly_rows_and_lead_party(client: TestClient, seeded: Seeded) -> None:
    body = client.get("/api/mining-potential/monthly/2025-01").json()
    assert len(body["rows"]) == 31
    by_day = {r["key"]: r for r in body["rows"]}
    assert close(
        by_day["2025-01-17"]["bitcoinMined"],
        stored_btc(seeded, "S19J_PRO", HEAVY, HEAVY + timedelta(days=1)),
    )
    assert close(body["bitcoinMined"], sum(r["bitcoinMined"] for r in body["rows"]))
    complete = {r["key"] for r in body["rows"] if r["complete"]}
    assert complete == {"2025-01-17", "2025-01-18"}
    year = client.get("/api/mining-potential/yearly/2025").json()
    assert [r["key"] for r in year["rows"] if r["complete"]] == []  # no month fully fetched
    lead = biggest_lead_party(seeded, HEAVY)
    filtered = client.get(
        "/api/mining-potential/monthly/2025-01", params={"leadParty": lead}
    ).json()
    (row,) = rows(
        seeded,
        "SELECT SUM(c.bitcoin_mined) FROM historical_bitcoin_calculations c "
        "WHERE c.miner_model = 'S19J_PRO' AND EXISTS (SELECT 1 FROM curtailment_records r "
        "WHERE r.settlement_date = c.settlement_date AND r.settlement_period = "
        "c.settlement_period AND r.farm_id = c.farm_id AND r.lead_party_name = :lp) "
        "AND c.settlement_date >= '2025-01-01' AND c.settlement_date < '2025-02-01'",
        lp=lead,
    )
    assert close(filtered["bitcoinMined"], float(row[0]))


def test_prices_at_date_and_latest_and_missing(client: TestClient, seeded: Seeded) -> None:
    body = client.get(f"/api/mining-potential/daily/{HEAVY}").json()
    gbp = seeded.prices[(HEAVY, "GBP")]
    at_date = body["value"]["GBP"]["atDatePrice"]
    assert at_date["price"] == gbp and at_date["priceDate"] == str(HEAVY)
    assert close(at_date["amount"], body["bitcoinMined"] * gbp)
    latest = body["value"]["GBP"]["atLatestPrice"]
    assert latest["priceDate"] == "2025-01-18"
    assert close(latest["amount"], body["bitcoinMined"] * seeded.prices[(PRICED_DAYS[-1], "GBP")])
    assert close(body["valueAtCurrentPrice"], latest["amount"])
    usd = body["value"]["USD"]["atDatePrice"]
    assert close(usd["amount"], body["bitcoinMined"] * seeded.prices[(HEAVY, "USD")])
    assert close(body["ratioValueToPayment"], at_date["amount"] / body["totalPayment"])
    month = client.get("/api/mining-potential/monthly/2025-01").json()
    expected = sum(
        r["bitcoinMined"] * seeded.prices[(date.fromisoformat(r["key"]), "GBP")]
        for r in month["rows"]
        if r["bitcoinMined"] > 0 and date.fromisoformat(r["key"]) in PRICED_DAYS
    )
    priced_only = all(
        r["bitcoinMined"] == 0 or date.fromisoformat(r["key"]) in PRICED_DAYS for r in month["rows"]
    )
    value = month["value"]["GBP"]["atDatePrice"]
    if priced_only:
        assert close(value["amount"], expected)
    else:  # the partial day 2025-01-19 has Bitcoin but no price: missing, never estimated
        assert value["amount"] is None and "2025-01-19" in value["missingReason"]
    autumn = client.get("/api/mining-potential/daily/2025-10-26").json()
    missing = autumn["value"]["GBP"]["atDatePrice"]
    assert missing["amount"] is None and missing["price"] is None
    assert "2025-10-26" in missing["missingReason"] and "prices update" in missing["missingReason"]
    assert autumn["ratioValueToPayment"] is None
    assert autumn["value"]["GBP"]["atLatestPrice"]["amount"] is not None


def test_data_status_states(client: TestClient) -> None:
    partial = client.get(f"/api/summary/daily/{PARTIAL_DAY}").json()["dataStatus"]
    assert partial["state"] == "incomplete"
    assert partial["periodsFetched"] == len(PARTIAL_PERIODS)
    assert partial["missingPeriods"] == list(range(len(PARTIAL_PERIODS) + 1, 49))
    empty = client.get(f"/api/summary/daily/{EMPTY_DAY}").json()
    assert empty["dataStatus"]["state"] == "no_data" and empty["totalCurtailedEnergy"] == 0
    month = client.get("/api/mining-potential/monthly/2025-01").json()["dataStatus"]
    assert month["state"] == "incomplete" and month["daysComplete"] == 2


# --- farms -----------------------------------------------------------------------------------


def test_grouped_data_sums_and_units(client: TestClient, seeded: Seeded) -> None:
    body = client.get(
        "/api/farm-tables/grouped-data", params={"timeframe": "day", "value": str(HEAVY)}
    ).json()
    groups = body["farms"]
    energy, payment, _, farms = record_totals(seeded, HEAVY, HEAVY + timedelta(days=1))
    assert close(body["totals"]["curtailedEnergy"], energy)
    assert close(body["totals"]["payment"], payment)
    assert body["totals"]["farmCount"] == farms
    assert close(
        body["totals"]["potentialBtc"],
        stored_btc(seeded, "S19J_PRO", HEAVY, HEAVY + timedelta(days=1)),
    )
    assert [g["totalCurtailedEnergy"] for g in groups] == sorted(
        (g["totalCurtailedEnergy"] for g in groups), reverse=True
    )
    assert close(sum(g["totalPercentageOfTotal"] for g in groups), 100.0, rel=1e-9)
    per_farm = {
        r[0]: (float(r[1]), float(r[2]), r[3])
        for r in rows(
            seeded,
            "SELECT farm_id, -SUM(volume), SUM(payment), MIN(lead_party_name) "
            "FROM curtailment_records WHERE settlement_date = :d GROUP BY farm_id",
            d=HEAVY,
        )
    }
    gbp = seeded.prices[(HEAVY, "GBP")]
    for group in groups:
        unit_sum = sum(f["curtailedEnergy"] for f in group["farms"])
        assert close(group["totalCurtailedEnergy"], unit_sum)
        assert close(group["totalPayment"], sum(f["payment"] for f in group["farms"]))
        assert close(group["btcValue"], group["totalPotentialBtc"] * gbp)
        for unit in group["farms"]:
            e, p, lead = per_farm[unit["farmId"]]
            assert close(unit["curtailedEnergy"], e) and close(unit["payment"], p)
            assert lead == group["leadPartyName"]
    top = client.get(
        "/api/mining-potential/top-farms", params={"period": "day", "value": str(HEAVY), "limit": 3}
    ).json()
    assert [t["name"] for t in top] == [g["name"] for g in groups[:3]]
    assert close(top[0]["bitcoinValue"], groups[0]["btcValue"])
    listing = client.get(
        "/api/mining-potential/farms", params={"date": str(HEAVY), "timeframe": "daily"}
    ).json()
    assert [x["name"] for x in listing] == [g["name"] for g in groups]
    assert sorted(f for x in listing for f in x["farmIds"]) == sorted(per_farm)


def test_grouped_data_untracked_model_and_lead_party(client: TestClient, seeded: Seeded) -> None:
    lead = biggest_lead_party(seeded, HEAVY)
    body = client.get(
        "/api/farm-tables/grouped-data",
        params={"value": "2025", "minerModel": UNTRACKED_MODEL, "leadParty": lead},
    ).json()
    assert body["meta"]["timeframe"] == "year" and body["meta"]["calculation"] == "computed"
    assert [g["leadPartyName"] for g in body["farms"]] == [lead]
    expected = python_btc(seeded, UNTRACKED_MODEL, date(2025, 1, 1), date(2026, 1, 1), lead)
    assert close(body["totals"]["potentialBtc"], expected)


def farm_day_btc(
    seeded: Seeded, model_key: str, start: date, end: date, tracked: bool
) -> dict[str, dict[date, float]]:
    """BM unit → date → BTC: the stored calculations (tracked) or ``btc_for_energy`` per
    (date, period, farm) with the period's stored conditions (computed)."""
    out: dict[str, dict[date, float]] = {}
    if tracked:
        sql = (
            "SELECT farm_id AS f, settlement_date AS d, bitcoin_mined AS b "
            "FROM historical_bitcoin_calculations WHERE miner_model = :m "
            "AND settlement_date >= :s AND settlement_date < :e"
        )
    else:
        sql = (
            "SELECT r.farm_id AS f, r.settlement_date AS d, -SUM(r.volume) AS en, "
            "p.difficulty AS dif, p.block_subsidy_btc AS sub FROM curtailment_records r "
            "JOIN settlement_periods p ON p.settlement_date = r.settlement_date "
            "AND p.settlement_period = r.settlement_period "
            "WHERE r.settlement_date >= :s AND r.settlement_date < :e "
            "AND p.difficulty IS NOT NULL GROUP BY r.farm_id, r.settlement_date, "
            "r.settlement_period, p.difficulty, p.block_subsidy_btc"
        )
    model = load_catalogue()[model_key]
    for row in rows(seeded, sql, m=model_key, s=start, e=end):
        day = row.d if isinstance(row.d, date) else date.fromisoformat(str(row.d)[:10])
        btc = (
            float(row.b)
            if tracked
            else btc_for_energy(float(row.en), model.hashrate_th, model.power_w, row.dif, row.sub)
        )
        days = out.setdefault(row.f, {})
        days[day] = days.get(day, 0.0) + btc
    return out


@pytest.mark.parametrize("model", ["S19J_PRO", UNTRACKED_MODEL])
@pytest.mark.parametrize("value", ["2025", "2025-01"])
def test_per_farm_btc_value_at_each_dates_price(
    client: TestClient, seeded: Seeded, model: str, value: str
) -> None:
    """Month and year tables (read from the per-farm-month roll-ups) value each BM unit's
    Bitcoin at each date's price, and show no value where a date with Bitcoin has no price."""
    start = date(int(value[:4]), int(value[5:7]) if len(value) == 7 else 1, 1)
    end = date(start.year + 1, 1, 1) if len(value) == 4 else date(start.year, start.month + 1, 1)
    body = client.get(
        "/api/farm-tables/grouped-data", params={"value": value, "minerModel": model}
    ).json()
    expected = farm_day_btc(seeded, model, start, end, tracked=model == "S19J_PRO")
    units = {u["farmId"]: u for g in body["farms"] for u in g["farms"]}
    assert set(units) >= {f for f, days in expected.items() if sum(days.values()) > 0}
    valued = unpriced = 0
    for farm, unit in units.items():
        days = expected.get(farm, {})
        assert close(unit["potentialBtc"], sum(days.values()), abs_=1e-12)
        if any(b > 0 and (d, "GBP") not in seeded.prices for d, b in days.items()):
            assert unit["btcValue"] is None
            unpriced += 1
        else:
            want = sum(b * seeded.prices[(d, "GBP")] for d, b in days.items() if b > 0)
            assert close(unit["btcValue"], want, abs_=1e-9)
            valued += 1
    assert valued and unpriced  # the seed has farms of both kinds in January and in 2025
    assert body["meta"]["valueMissingReason"] is not None
    assert body["totals"]["btcValue"] is None
    top = client.get(
        "/api/mining-potential/top-farms",
        params={
            "period": "year" if len(value) == 4 else "month",
            "value": value,
            "minerModel": model,
            "limit": 50,
        },
    ).json()
    by_name = {g["name"]: g for g in body["farms"]}
    for t in top:
        assert close(t["bitcoinMined"], by_name[t["name"]]["totalPotentialBtc"], abs_=1e-12)
        assert (t["bitcoinValue"] is None) == (by_name[t["name"]]["btcValue"] is None)


def test_csv_exports_match_json(client: TestClient) -> None:
    params = {"timeframe": "day", "value": str(HEAVY)}
    data = client.get("/api/farm-tables/grouped-data", params=params).json()
    response = client.get("/api/farm-tables/grouped-data", params={**params, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(response.text)))
    units = [r for r in table if r["row_type"] == "bm_unit"]
    assert len(units) == data["totals"]["farmCount"]
    assert math.isclose(
        sum(float(r["curtailed_energy_mwh"]) for r in units), data["totals"]["curtailedEnergy"]
    )
    hourly = client.get("/api/curtailment/hourly/2025-10-26", params={"format": "csv"})
    assert len(list(csv.DictReader(io.StringIO(hourly.text)))) == 25
    year = client.get("/api/mining-potential/yearly/2025", params={"format": "csv"})
    assert year.status_code == 200 and year.text.startswith("month,")


# --- reference, status, errors ---------------------------------------------------------------


def test_reference_routes(client: TestClient, seeded: Seeded) -> None:
    assert client.get("/health").json()["status"] == "ok"
    parties = client.get("/api/lead-parties").json()
    (count,) = rows(
        seeded,
        "SELECT COUNT(DISTINCT lead_party_name) FROM curtailment_records",
    )
    assert parties == sorted(parties) and len(parties) == count[0]
    assert set(client.get(f"/api/lead-parties/{HEAVY}").json()) <= set(parties)
    models = client.get("/api/miner-models").json()
    assert len(models) == len(load_catalogue())
    assert {m["key"] for m in models if m["tracked"]} == set(seeded.settings.tracked_models)
    info = client.get("/api/data-range").json()
    assert info["lastDateWithCurtailment"] == "2025-10-26"
    status = client.get(
        "/api/reconciliation/status", params={"from": "2025-01-17", "to": "2025-01-19"}
    ).json()
    assert status["dataStatus"]["incompleteDates"] == ["2025-01-19"]
    assert status["incompleteDates"] == ["2025-01-19"] and status["datesChecked"] == 3
    assert status["missingCalculations"] == 0 and status["staleCalculations"] == 0
    assert status["summaryMismatches"] == 0
    per_date = {d["date"]: d for d in status["perDate"]}
    assert per_date["2025-01-17"]["complete"] and not per_date["2025-01-19"]["complete"]
    assert per_date["2025-01-17"]["records"] == seeded.headlines[HEAVY].records
    prices = client.get("/api/prices", params={"from": "2025-01-01", "to": "2025-01-31"}).json()
    assert {(p["date"], p["currency"]) for p in prices["prices"]} == {
        (str(d), c) for d in PRICED_DAYS for c in ("GBP", "USD")
    }


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/summary/daily/2025-02-30", {}, "date"),
        ("/api/summary/daily/2999-01-01", {}, "date"),
        ("/api/summary/daily/17-01-2025", {}, "date"),
        ("/api/summary/monthly/2025-13", {}, "yearMonth"),
        ("/api/summary/yearly/1999", {}, "year"),
        (f"/api/mining-potential/daily/{HEAVY}", {"minerModel": "NOPE"}, "minerModel"),
        (f"/api/summary/daily/{HEAVY}", {"leadParty": "No Such Party"}, "leadParty"),
        (f"/api/summary/daily/{HEAVY}", {"leadParty": "bad\x00name"}, "leadParty"),
        (f"/api/summary/daily/{HEAVY}", {"farmId": "T_NOPE-1"}, "farmId"),
        ("/api/farm-tables/grouped-data", {"timeframe": "week"}, "timeframe"),
        ("/api/farm-tables/grouped-data", {"timeframe": "day", "value": "2025-01"}, "value"),
        ("/api/mining-potential/top-farms", {"limit": "0"}, "limit"),
        ("/api/mining-potential/daily", {}, "date"),
        ("/api/reconciliation/status", {"from": "2025-02-01", "to": "2025-01-01"}, "from"),
    ],
)
def test_invalid_input_is_422_naming_the_field(
    client: TestClient, path: str, params: dict[str, str], field: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert field in body["error"] and body["detail"][0]["loc"][-1] == field
    lowered = response.text.lower()
    for leak in ("traceback", "select ", "sqlalchemy", "psycopg", 'file "'):
        assert leak not in lowered


def test_errors_never_leak_internals(seeded: Seeded) -> None:
    broken = make_settings("postgresql://nobody@127.0.0.1:1/none")
    with TestClient(create_app(broken), raise_server_exceptions=False) as c:
        assert c.get("/health").json()["database"] == "unavailable"
        response = c.get(f"/api/summary/daily/{HEAVY}")
        assert response.status_code in (500, 503)
        assert set(response.json()) == {"error"}
        assert "127.0.0.1" not in response.text and "Traceback" not in response.text
    with TestClient(create_app(seeded.settings)) as c:
        missing = c.get("/api/nope")
        assert missing.status_code == 404 and missing.json() == {"error": "Not Found"}


def test_openapi_documents_units_and_signs(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    text_ = str(schema)
    assert "MWh, positive" in text_ and "paid to the farms" in text_
    for path in (
        "/health",
        "/api/lead-parties",
        "/api/summary/daily/{date}",
        "/api/summary/monthly/{yearMonth}",
        "/api/summary/yearly/{year}",
        "/api/curtailment/hourly/{date}",
        "/api/mining-potential/daily",
        "/api/mining-potential/monthly/{yearMonth}",
        "/api/mining-potential/yearly/{year}",
        "/api/mining-potential/farms",
        "/api/mining-potential/top-farms",
        "/api/farm-tables/grouped-data",
        "/api/miner-models",
        "/api/reconciliation/status",
        "/api/ingest/{date}",
    ):
        assert path in schema["paths"], path
    assert client.get("/docs").status_code == 200
