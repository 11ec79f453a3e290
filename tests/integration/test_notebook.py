"""The notebook API (``curtailcoin.open``) on SQLite and PostgreSQL: each method's DataFrame
against the database and the API, seeded through the real pipeline (``support.api``);
``import curtailcoin`` stays light."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

import curtailcoin
from curtailcoin.miners import load_catalogue
from curtailcoin.notebook import Database
from curtailcoin.web import create_app
from support.api import FULL_DAYS, PRICED_DAYS, UNTRACKED_MODEL, Seeded, seed_database
from support.databases import BACKENDS

FIRST, LAST = date(2025, 1, 1), date(2025, 12, 31)


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest) -> Seeded:
    fixture = "pg_database" if request.param == "postgresql" else "sqlite_database"
    return seed_database(request.getfixturevalue(fixture))


@pytest.fixture(scope="module")
def db(seeded: Seeded) -> Database:
    return curtailcoin.open(seeded.url, seeded.settings.tracked_models)


@pytest.fixture(scope="module")
def client(seeded: Seeded) -> Iterator[TestClient]:
    with TestClient(create_app(seeded.settings)) as c:
        yield c


def sql(seeded: Seeded, query: str) -> list[Any]:
    with seeded.engine.connect() as conn:
        return list(conn.execute(text(query)).all())


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def test_import_curtailcoin_stays_light() -> None:
    probe = "import sys, curtailcoin; print(sorted({m.split('.')[0] for m in sys.modules}))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    for heavy in ("pandas", "pyarrow", "sqlalchemy"):
        assert f"'{heavy}'" not in loaded


@pytest.mark.db
def test_records(db: Database, seeded: Seeded) -> None:
    frame = db.records(FIRST, LAST)
    assert len(frame) == sql(seeded, "SELECT count(*) FROM curtailment_records")[0][0]
    assert frame["settlement_date"].dtype.kind == "M"
    assert frame["settlement_period"].dtype == "int64"
    (energy,) = sql(seeded, "SELECT -sum(volume) FROM curtailment_records")[0]
    assert close(math.fsum(frame["curtailed_energy_mwh"]), energy)
    lead = frame["lead_party"].value_counts().index[0]
    one = db.records("2025-01-01", "2025-12-31", lead_party=lead)
    assert set(one["lead_party"]) == {lead} and 0 < len(one) < len(frame)
    unit = one["bm_unit"].iloc[0]
    assert set(db.records(FIRST, LAST, bm_unit=unit)["bm_unit"]) == {unit}


@pytest.mark.db
def test_summaries_by_day_month_year(db: Database, seeded: Seeded) -> None:
    days = db.summaries("day", FIRST, LAST)
    stored = sql(
        seeded,
        "SELECT summary_date, total_curtailed_energy, total_payment, record_count "
        "FROM daily_summaries ORDER BY summary_date",
    )
    assert [d.date() for d in days["date"]] == [
        r[0] if isinstance(r[0], date) else date.fromisoformat(r[0]) for r in stored
    ]
    assert list(days["curtailed_energy_mwh"]) == [r[1] for r in stored]
    assert list(days["payment_gbp"]) == [r[2] for r in stored]
    assert list(days["record_count"]) == [r[3] for r in stored]
    months = db.summaries("month", FIRST, LAST)
    assert list(months["month"]) == sorted({d.strftime("%Y-%m") for d in FULL_DAYS} | {"2025-01"})
    years = db.summaries(by="year", start=FIRST, end=LAST)
    assert list(years["year"]) == ["2025"]
    assert close(years["curtailed_energy_mwh"][0], math.fsum(days["curtailed_energy_mwh"]))
    with pytest.raises(ValueError, match="allowed day, month, year"):
        db.summaries("week", FIRST, LAST)  # type: ignore[arg-type]


@pytest.mark.db
def test_summaries_per_farm(db: Database) -> None:
    days = db.summaries("day", FIRST, LAST, farm=True)
    months = db.summaries("month", FIRST, LAST, farm=True)
    years = db.summaries("year", FIRST, LAST, farm=True)
    total = math.fsum(db.summaries("year", FIRST, LAST)["curtailed_energy_mwh"])
    for frame in (days, months, years):
        assert "bm_unit" in frame.columns
        assert close(math.fsum(frame["curtailed_energy_mwh"]), total)
    assert years["record_count"].sum() == days["record_count"].sum()


@pytest.mark.db
@pytest.mark.parametrize("model", ["S19J_PRO", UNTRACKED_MODEL])
def test_mining_potential_equals_the_api(db: Database, client: TestClient, model: str) -> None:
    """Tracked (stored) and computed (``btc_sql``) models: the API's daily rows and its value."""
    frame = db.mining_potential(model, "2025-01-01", "2025-01-31")
    api = client.get(f"/api/mining-potential/monthly/2025-01?minerModel={model}").json()
    api_rows = {row["key"]: row for row in api["rows"] if row["bitcoinMined"]}
    ours = {
        d.strftime("%Y-%m-%d"): row
        for d, row in zip(frame["date"], frame.itertuples(), strict=True)
    }
    assert set(api_rows) <= set(ours) and api_rows
    for key, row in api_rows.items():
        assert close(ours[key].bitcoin_mined_btc, row["bitcoinMined"]), key
        if row["valueGbp"] is None:
            assert math.isnan(ours[key].value_gbp)
        else:
            assert close(ours[key].value_gbp, row["valueGbp"]), key
    month = db.mining_potential(model, "2025-01-01", "2025-01-31", by="month")
    assert list(month["month"]) == ["2025-01"]
    assert close(month["bitcoin_mined_btc"][0], api["bitcoinMined"])


@pytest.mark.db
def test_mining_potential_of_a_user_model_and_by_year(db: Database) -> None:
    s21 = load_catalogue()["S21"]
    twice = type(s21)(**{**s21.__dict__, "key": "DOUBLE", "hashrate_th": 2 * s21.hashrate_th})
    base = db.mining_potential(UNTRACKED_MODEL, FIRST, LAST, by="year")
    assert list(base["year"]) == ["2025"]
    mine = db.mining_potential(twice, FIRST, LAST)
    catalogue = db.mining_potential("S21", FIRST, LAST)
    assert close(
        math.fsum(mine["bitcoin_mined_btc"]), 2 * math.fsum(catalogue["bitcoin_mined_btc"])
    )
    assert math.isnan(base["value_gbp"][0])  # dates without a price: no value, never 0
    with pytest.raises(ValueError, match="unknown model 'NOPE'"):
        db.mining_potential("NOPE", FIRST, LAST)


@pytest.mark.db
def test_prices(db: Database, seeded: Seeded) -> None:
    frame = db.prices(FIRST, LAST)
    assert [d.date() for d in frame["date"]] == list(PRICED_DAYS)
    for d, gbp, usd in zip(
        frame["date"], frame["btc_price_gbp"], frame["btc_price_usd"], strict=True
    ):
        assert gbp == seeded.prices[(d.date(), "GBP")]
        assert usd == seeded.prices[(d.date(), "USD")]
    assert isinstance(frame, pd.DataFrame)
