"""``POST /api/ingest/{date}``: bearer token (constant-time), disabled without a token, and the
reingestion it runs, on SQLite and PostgreSQL against the local Elexon test server."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.mempool import MempoolTestServer
from curtailcoin.web import create_app
from support.api import make_settings

DAY = date(2025, 1, 18)
TOKEN = "s3cret-token-for-tests"


@pytest.fixture
def servers() -> Iterator[tuple[ElexonTestServer, MempoolTestServer]]:
    with ElexonTestServer() as elexon, MempoolTestServer() as mempool:
        elexon.set_day(DAY, "light")
        yield elexon, mempool


def _client(
    database_url: str, servers: tuple[ElexonTestServer, MempoolTestServer], token: str | None
) -> TestClient:
    elexon, mempool = servers
    settings = make_settings(
        database_url,
        api_token=token,
        elexon_base_url=elexon.base_url,
        mempool_base_url=mempool.base_url,
        max_tries=2,
    )
    return TestClient(create_app(settings))


def test_ingest_is_disabled_without_a_token(
    database_url: str, servers: tuple[ElexonTestServer, MempoolTestServer]
) -> None:
    with _client(database_url, servers, None) as client:
        for headers in ({}, {"Authorization": "Bearer anything"}):
            response = client.post(f"/api/ingest/{DAY}", headers=headers)
            assert response.status_code == 403
            assert "CURTAILCOIN_API_TOKEN" in response.json()["error"]
    assert servers[0].requests == []


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "]
)
def test_ingest_rejects_a_missing_or_wrong_token(
    database_url: str, servers: tuple[ElexonTestServer, MempoolTestServer], header: str | None
) -> None:
    with _client(database_url, servers, TOKEN) as client:
        headers = {"Authorization": header} if header is not None else {}
        response = client.post(f"/api/ingest/{DAY}", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    assert servers[0].requests == []


def test_ingest_with_the_token_reingests_the_date(
    engine: Engine, database_url: str, servers: tuple[ElexonTestServer, MempoolTestServer]
) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with _client(database_url, servers, TOKEN) as client:
        empty = client.get(f"/api/summary/daily/{DAY}")
        assert empty.json()["recordCount"] == 0
        assert client.get(f"/api/summary/daily/{DAY}").headers["x-cache"] == "hit"
        response = client.post(f"/api/ingest/{DAY}", headers=auth)
        assert response.status_code == 200, response.text
        body = response.json()
        oracle = servers[0].expected_headline(DAY)
        assert body["complete"] and body["written"] and body["periodsFetched"] == 48
        assert body["records"] == oracle.records
        assert math.isclose(body["curtailedEnergy"], oracle.curtailed_mwh, abs_tol=1e-6)
        assert math.isclose(body["totalPayment"], oracle.payment_gbp, abs_tol=1e-6)
        fresh = client.get(f"/api/summary/daily/{DAY}")
        assert fresh.headers["x-cache"] == "miss"  # the data changed: never a stale answer
        summary = fresh.json()
        assert summary["recordCount"] == oracle.records
        assert summary["dataStatus"]["state"] == "complete"
        with engine.connect() as conn:
            stored = conn.execute(
                text("SELECT COUNT(*) FROM curtailment_records WHERE settlement_date = :d"),
                {"d": DAY},
            ).scalar_one()
        assert stored == oracle.records
        for bad, field in (("2025-13-01", "date"), ("2999-01-01", "date")):
            response = client.post(f"/api/ingest/{bad}", headers=auth)
            assert response.status_code == 422 and field in response.json()["error"]


@pytest.mark.slow  # two ingests of a day through the API: 2.5-3 s here
def test_failed_fetch_answers_502_and_keeps_the_stored_date(
    database_url: str, servers: tuple[ElexonTestServer, MempoolTestServer]
) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    elexon = servers[0]
    with _client(database_url, servers, TOKEN) as client:
        assert client.post(f"/api/ingest/{DAY}", headers=auth).status_code == 200
        before = client.get(f"/api/summary/daily/{DAY}").json()
        elexon.faults.add("5xx", match=r"/stack/all/bid/2025-01-18/7$", status=503)
        response = client.post(f"/api/ingest/{DAY}", headers=auth)
        assert response.status_code == 502
        body = response.json()
        assert body["written"] is False and "7" in body["failedPeriods"]
        assert "Traceback" not in response.text
        after = client.get(f"/api/summary/daily/{DAY}").json()
        assert after["totalCurtailedEnergy"] == before["totalCurtailedEnergy"]
        assert after["recordCount"] == before["recordCount"]
