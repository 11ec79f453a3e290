"""Wind generation from Elexon: the test server's AGWS and B1610 answers (format, consistency
with its stacks) and the clients that read them (validation, faults, request count)."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import pytest

from curtailcoin.coverage import FAILED, FETCHED_EMPTY, FETCHED_INCOMPLETE, FETCHED_WITH_DATA
from curtailcoin.pipeline.generation import FetchedGeneration, fetch_generation
from curtailcoin.sources.elexon import ElexonClient, ElexonSchemaError
from curtailcoin.sources.generation import (
    NATIONAL_PATH,
    UNIT_BATCH_SIZE,
    UNIT_PATH,
    fetch_national_wind,
    fetch_unit_generation,
    parse_unit_generation,
    parse_wind_and_solar,
)
from curtailcoin.sources.http import RetryPolicy
from curtailcoin.testservers.elexon import ElexonTestServer
from support.openapi import FIXTURES, assert_valid, response_validator

NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)
HEAVY = date(2025, 1, 17)
AGWS_SCHEMA = response_validator(NATIONAL_PATH)
B1610_SCHEMA = response_validator(UNIT_PATH)


@pytest.fixture(scope="module")
def shared() -> Iterator[ElexonTestServer]:
    server = ElexonTestServer(seed=7, now=NOW)
    server.set_day(HEAVY, "heavy")
    with server:
        yield server


@pytest.fixture
def elexon() -> Iterator[ElexonTestServer]:
    with ElexonTestServer(seed=3, now=NOW) as server:
        server.set_day(HEAVY, "heavy")
        yield server


def get(server: ElexonTestServer, path: str, params: dict[str, object]) -> httpx.Response:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        return client.get(path, params=params)  # type: ignore[arg-type]


def client_for(server: ElexonTestServer, tries: int = 3) -> ElexonClient:
    return ElexonClient(
        server.base_url,
        policy=RetryPolicy(max_tries=tries, backoff_base_s=0.01, backoff_max_s=0.02),
        timeout_s=5,
    )


def day_params(day: date, **extra: object) -> dict[str, object]:
    return {"from": day.isoformat(), "to": day.isoformat(), **extra}


# -- the test server ---------------------------------------------------------------------------


def test_answers_validate_against_the_openapi_document(shared: ElexonTestServer) -> None:
    national = get(
        shared, NATIONAL_PATH, day_params(HEAVY, settlementPeriodFrom=20, settlementPeriodTo=48)
    )
    assert national.status_code == 200
    body = national.json()
    assert_valid(AGWS_SCHEMA, body)
    assert body["metadata"] == {"datasets": ["AGWS"]}
    assert {r["settlementPeriod"] for r in body["data"]} == set(range(20, 49))
    assert {r["psrType"] for r in body["data"]} == {"Wind Onshore", "Wind Offshore", "Solar"}
    p20 = [r for r in body["data"] if r["settlementPeriod"] == 20]
    assert {r["startTime"] for r in p20} == {"2025-01-17T09:30:00Z"}
    units = sorted(shared.wind_unit_ids())[:5]
    whole = {"settlementPeriodFrom": 1, "settlementPeriodTo": 48}
    metered = get(shared, UNIT_PATH, day_params(HEAVY, bmUnit=units, **whole))
    assert metered.status_code == 200
    rows = metered.json()
    assert isinstance(rows, list)  # the stream endpoints answer a bare array
    assert_valid(B1610_SCHEMA, rows)
    assert {r["bmUnit"] for r in rows} == set(units)
    assert len(rows) == 5 * 48
    assert all(r["dataset"] == "B1610" and r["quantity"] >= 0 for r in rows)


def test_the_real_agws_sample_parses() -> None:
    """A real answer (2025-01-01 P21, ../shared/reference/original/api_samples)."""
    path = FIXTURES / "agws_wind_and_solar_sample_2025-01-01_P21.json"
    payload = json.loads(path.read_text())
    assert_valid(AGWS_SCHEMA, payload)
    wind = parse_wind_and_solar(payload, date(2025, 1, 1))
    assert wind.periods == {21: (7484.653 * 0.5, 11711.9 * 0.5)}
    assert wind.published_at == datetime(2025, 1, 1, 11, 28, 21, tzinfo=UTC)


def test_generation_is_consistent_with_the_stacks(shared: ElexonTestServer) -> None:
    """metered + curtailed ≤ what the unit could have generated ≤ capacity × 0.5 (or its
    curtailment); national ≥ Σ farms, per period."""
    day = shared.generation.day(HEAVY)
    curtailed_any = 0
    for (uid, period), metered in day["metered"].items():
        cut = day["curtailed"][(uid, period)]
        unit = shared.generator.unit(uid)
        assert unit is not None
        assert metered >= 0
        assert metered + cut <= day["potential"][(uid, period)] + 1e-9
        assert day["potential"][(uid, period)] <= max(unit.capacity_mw * 0.5, cut) + 1e-9
        curtailed_any += cut > 0
    assert curtailed_any > 100  # a heavy day: the rule is exercised, not vacuous
    lines = shared.stack_lines(HEAVY, 20)
    wind = shared.wind_unit_ids()
    for uid in {r["id"] for r in lines if r["id"] in wind and r["soFlag"] and r["volume"] < 0}:
        cut = -math.fsum(r["volume"] for r in lines if r["id"] == uid and r["volume"] < 0)
        assert math.isclose(day["curtailed"][(uid, 20)], cut, rel_tol=1e-12)
    for period, (onshore, offshore) in day["national"].items():
        farms = math.fsum(v for (_, p), v in day["metered"].items() if p == period)
        assert onshore + offshore >= farms
    # deterministic per date, and the served figures are the model's
    again = ElexonTestServer(seed=7, now=NOW)
    again.set_day(HEAVY, "heavy")
    assert again.generation.day(HEAVY)["metered"] == day["metered"]


def test_a_revised_stack_changes_the_generation_consistently(elexon: ElexonTestServer) -> None:
    before = dict(elexon.generation.day(HEAVY)["metered"])
    elexon.revise(HEAVY, [20])
    after = elexon.generation.day(HEAVY)
    assert any(before[k] != after["metered"][k] for k in before if k[1] == 20)
    for key, metered in after["metered"].items():
        assert metered + after["curtailed"][key] <= after["potential"][key] + 1e-9


def test_today_and_bad_queries(elexon: ElexonTestServer) -> None:
    elexon.set_now(datetime(2025, 1, 17, 10, 5, tzinfo=UTC))  # periods 1..20 have ended
    whole = {"settlementPeriodFrom": 1, "settlementPeriodTo": 50}
    rows = get(elexon, NATIONAL_PATH, day_params(HEAVY, **whole)).json()["data"]
    assert max(r["settlementPeriod"] for r in rows) == 20
    after = get(elexon, NATIONAL_PATH, day_params(date(2025, 1, 18), **whole))
    assert after.json()["data"] == []
    missing = get(elexon, UNIT_PATH, {"from": "2025-01-01"})
    assert missing.status_code == 400 and "to" in missing.json()["errors"]
    bad = get(elexon, NATIONAL_PATH, {"from": "2025-13-01", "to": "2025-01-02"})
    assert bad.status_code == 400 and "from" in bad.json()["errors"]
    wide = get(elexon, NATIONAL_PATH, {"from": "2025-01-01", "to": "2025-01-09"})
    assert wide.status_code == 400


# -- the clients ------------------------------------------------------------------------------


def test_clients_read_the_server_in_one_request_per_date_and_batch(
    shared: ElexonTestServer,
) -> None:
    units = sorted(shared.wind_unit_ids())

    async def run() -> tuple[FetchedGeneration, int]:
        async with client_for(shared) as client:
            fetched = await fetch_generation(client, HEAVY, units, now=NOW)
            return fetched, client.stats.requests

    fetched, requests = asyncio.run(run())
    batches = math.ceil(len(units) / UNIT_BATCH_SIZE)
    assert requests == fetched.requests == 1 + batches  # never a request per period
    assert fetched.national.status == fetched.units.status == FETCHED_WITH_DATA
    served = shared.generation.day(HEAVY)
    assert fetched.units.units == served["metered"]
    for period, (onshore, offshore) in fetched.national.national.items():
        on, off = served["national"][period]
        assert onshore is not None and offshore is not None
        assert on <= onshore <= on + 0.001 and off <= offshore <= off + 0.001
    assert len(fetched.national.national) == 48


def test_a_transient_fault_is_retried(elexon: ElexonTestServer) -> None:
    elexon.faults.add("5xx", match=NATIONAL_PATH, times=1)
    elexon.faults.add("truncated", match="B1610", times=1)

    async def run() -> FetchedGeneration:
        async with client_for(elexon) as client:
            return await fetch_generation(client, HEAVY, sorted(elexon.wind_unit_ids()), now=NOW)

    fetched = asyncio.run(run())
    assert fetched.ok, fetched.to_json()


DATE_0 = '"2025-01-16"'
FAULTS = [
    ("5xx", {"status": 503}, "national", FAILED, "503"),
    ("set_field", {"field": "quantity", "value": "NaN", "line": 3}, "national", FAILED, "quantity"),
    ("set_field", {"field": "settlementDate", "value": DATE_0}, "units", FAILED, "'2025-01-17'"),
    ("set_field", {"field": "psrType", "value": '"Floating"'}, "national", FAILED, "psrType"),
    ("duplicate_line", {"line": 2}, "units", FAILED, "a second row"),
    ("empty_data", {}, "national", FETCHED_EMPTY, "no wind rows"),
    ("empty_data", {}, "units", FETCHED_EMPTY, "no rows for the"),
    ("invalid_json", {}, "units", FAILED, "JSON"),
]


@pytest.mark.parametrize(("kind", "options", "dataset", "status", "words"), FAULTS)
def test_faults_become_the_datasets_status_with_a_reason(
    elexon: ElexonTestServer,
    kind: str,
    options: dict[str, object],
    dataset: str,
    status: str,
    words: str,
) -> None:
    match = NATIONAL_PATH if dataset == "national" else "B1610"
    elexon.faults.add(kind, match=match, **options)  # type: ignore[arg-type]

    async def run() -> FetchedGeneration:
        async with client_for(elexon, tries=2) as client:
            return await fetch_generation(client, HEAVY, sorted(elexon.wind_unit_ids()), now=NOW)

    fetched = asyncio.run(run())
    answer = fetched.national if dataset == "national" else fetched.units
    other = fetched.units if dataset == "national" else fetched.national
    assert answer.status == status
    assert answer.error is not None and words in answer.error, answer.error
    assert answer.row_count == 0  # never stored as zeros
    assert other.status == FETCHED_WITH_DATA


def test_a_period_without_figures_is_incomplete(elexon: ElexonTestServer) -> None:
    elexon.faults.add(
        "set_field", match=NATIONAL_PATH, field="settlementPeriod", value="49", line=0
    )

    async def run() -> FetchedGeneration:
        async with client_for(elexon) as client:
            return await fetch_generation(client, HEAVY, sorted(elexon.wind_unit_ids()), now=NOW)

    # 49 is outside the day: a schema error, the whole answer refused
    assert asyncio.run(run()).national.status == FAILED
    elexon.faults.clear()
    whole = day_params(HEAVY, settlementPeriodFrom=1, settlementPeriodTo=48)
    payload = get(elexon, NATIONAL_PATH, whole).json()
    payload["data"] = [r for r in payload["data"] if r["settlementPeriod"] != 7]
    from curtailcoin.pipeline.generation import judge_national

    judged = judge_national(parse_wind_and_solar(payload, HEAVY), list(range(1, 49)))
    assert judged.status == FETCHED_INCOMPLETE
    assert judged.error == "AGWS has no onshore and offshore figure for periods 7"


def test_strict_parsing_names_the_value() -> None:
    with pytest.raises(ElexonSchemaError, match="expected an array"):
        parse_unit_generation({"data": []}, HEAVY, ["T_A-1"])
    row = {"bmUnit": "T_B-1", "settlementDate": "2025-01-17", "settlementPeriod": 1, "quantity": 1}
    with pytest.raises(ElexonSchemaError, match="'T_B-1', expected one of the 1 units"):
        parse_unit_generation([row], HEAVY, ["T_A-1"])
    with pytest.raises(ElexonSchemaError, match="quantity"):
        parse_unit_generation([{**row, "quantity": "12"}], HEAVY, ["T_B-1"])
    agws = {"psrType": "Wind Onshore", "settlementDate": "2025-01-17", "settlementPeriod": 1}
    with pytest.raises(ElexonSchemaError, match="expected a number ≥ 0"):
        parse_wind_and_solar({"data": [{**agws, "quantity": -5.0}]}, HEAVY)
    with pytest.raises(ElexonSchemaError, match=r"expected an array|data"):
        parse_wind_and_solar({"data": None}, HEAVY)


def test_unit_requests_are_batched(shared: ElexonTestServer) -> None:
    units = sorted(shared.wind_unit_ids())[:25]

    async def run() -> tuple[int, int]:
        async with client_for(shared) as client:
            rows = await fetch_unit_generation(client, HEAVY, units, batch_size=10)
            await fetch_national_wind(client, HEAVY)
            return len(rows), client.stats.requests

    rows, requests = asyncio.run(run())
    assert rows == 25 * 48
    assert requests == 3 + 1
