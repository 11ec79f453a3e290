"""Our generation requests against Elexon's OpenAPI parameter definitions, and the test
server's answers to them as Elexon filters: ``from``/``to`` inclusive, settlement dates with
the ``settlementPeriod…`` filters and start times without, one date's periods 1..46/48/50, and
B1610 published only ``b1610_lag_days`` after the day (an empty array before)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from curtailcoin.coverage import FETCHED_WITH_DATA
from curtailcoin.pipeline.generation import FetchedGeneration, fetch_generation
from curtailcoin.settlement import periods_in_day
from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.sources.generation import NATIONAL_PATH, UNIT_PATH
from curtailcoin.sources.http import RetryPolicy
from curtailcoin.testservers.elexon import ElexonTestServer
from support.openapi import OPENAPI

NOW = datetime(2025, 12, 1, 12, tzinfo=UTC)
SPRING, NORMAL, AUTUMN = date(2025, 3, 30), date(2025, 1, 17), date(2025, 10, 26)


@pytest.fixture(scope="module")
def server() -> Iterator[ElexonTestServer]:
    with ElexonTestServer(seed=5, now=NOW) as s:
        yield s


def fetch(server: ElexonTestServer, day: date) -> FetchedGeneration:
    async def run() -> FetchedGeneration:
        policy = RetryPolicy(max_tries=2, backoff_base_s=0.01)
        async with ElexonClient(server.base_url, policy=policy, timeout_s=30) as client:
            return await fetch_generation(client, day, sorted(server.wind_unit_ids()), now=NOW)

    return asyncio.run(run())


def get(server: ElexonTestServer, path: str, **params: Any) -> httpx.Response:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        return client.get(path, params=params)


def check_against_openapi(path: str, query: dict[str, list[str]]) -> None:
    """Every parameter declared for the path, each required one present, each value of its
    declared type and format (a bare date for ``from``/``to``: with the period filters they
    are settlement dates, the time ignored — the AGWS examples are dates too)."""
    declared = {p["name"]: p for p in OPENAPI["paths"][path]["get"]["parameters"]}
    assert set(query) <= set(declared), set(query) - set(declared)
    required = {name for name, p in declared.items() if p.get("required")}
    assert required <= set(query), required - set(query)
    for name, values in query.items():
        schema = declared[name]["schema"]
        if schema.get("type") != "array":
            assert len(values) == 1, (name, values)
        for value in values:
            if schema.get("format") == "date-time":
                assert date.fromisoformat(value).isoformat() == value
            elif schema.get("type") == "integer":
                assert schema["format"] == "int32" and 1 <= int(value) <= 50  # "1-50 inclusive"
            else:
                assert schema["type"] == "array" and schema["items"]["type"] == "string"


@pytest.mark.parametrize("day", [SPRING, NORMAL, AUTUMN], ids=["46", "48", "50"])
def test_requests_ask_one_settlement_date_by_the_openapi_parameters(
    server: ElexonTestServer, day: date
) -> None:
    server.clear_requests()
    fetched = fetch(server, day)
    count = periods_in_day(day)
    for path in (NATIONAL_PATH, UNIT_PATH):
        made = server.requests_matching(path.replace("/", r"\/"))
        assert made, path
        for record in made:
            query = parse_qs(record.query)
            check_against_openapi(path, query)
            assert query["from"] == query["to"] == [day.isoformat()]
            assert query["settlementPeriodFrom"] == ["1"]
            assert query["settlementPeriodTo"] == [str(count)]
    # and the answers hold exactly that date's periods
    assert fetched.national.status == fetched.units.status == FETCHED_WITH_DATA
    assert sorted(fetched.national.national) == list(range(1, count + 1))
    assert {p for _, p in fetched.units.units} == set(range(1, count + 1))


def periods_of(rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return sorted({(r["settlementDate"], r["settlementPeriod"]) for r in rows})


def test_from_and_to_filter_as_elexon_documents(server: ElexonTestServer) -> None:
    # settlement date and period to settlement date and period (the OpenAPI example's form)
    rows = get(
        server,
        NATIONAL_PATH,
        **{"from": "2025-01-17", "to": "2025-01-19"},
        settlementPeriodFrom=36,
        settlementPeriodTo=12,
    ).json()["data"]
    got = periods_of(rows)
    assert got[0] == ("2025-01-17", 36) and got[-1] == ("2025-01-19", 12)
    assert len(got) == 13 + 48 + 12  # inclusive at both ends
    # with the filter a date-time is a settlement date, its time ignored
    timed = get(
        server,
        NATIONAL_PATH,
        **{"from": "2025-06-01T11:11Z", "to": "2025-06-01T00:00Z"},
        settlementPeriodFrom=1,
        settlementPeriodTo=48,
    ).json()["data"]
    assert periods_of(timed) == [("2025-06-01", p) for p in range(1, 49)]
    # without it, start times (inclusive): BST, so 00:00Z is period 3 and 10:00Z period 23
    start = get(server, NATIONAL_PATH, **{"from": "2025-06-01T00:00Z", "to": "2025-06-01T10:00Z"})
    assert periods_of(start.json()["data"]) == [("2025-06-01", p) for p in range(3, 24)]
    # a bare date without the filter is that date's 00:00 UTC: one period's start
    bare = get(server, UNIT_PATH, **{"from": "2025-01-17", "to": "2025-01-17"})
    assert {(r["settlementDate"], r["settlementPeriod"]) for r in bare.json()} == {
        ("2025-01-17", 1)
    }
    for bad in (0, 51):
        answer = get(
            server,
            NATIONAL_PATH,
            **{"from": "2025-01-17", "to": "2025-01-17"},
            settlementPeriodFrom=bad,
        )
        assert answer.status_code == 400 and "settlementPeriodFrom" in answer.json()["errors"]


def test_b1610_is_published_after_its_lag_and_agws_at_once() -> None:
    day = date(2025, 1, 17)
    whole = {"from": "2025-01-17", "to": "2025-01-17"}
    periods = {"settlementPeriodFrom": 1, "settlementPeriodTo": 48}
    just_before = datetime(2025, 1, 22, 23, 59, 59, tzinfo=UTC)  # GMT: local = UTC
    with ElexonTestServer(seed=5, now=just_before) as lagged:
        assert get(lagged, UNIT_PATH, **whole, **periods).json() == []  # the stream's empty array
        agws = get(lagged, NATIONAL_PATH, **whole, **periods).json()["data"]
        assert len(periods_of(agws)) == 48  # AGWS is near real time: not lagged
        lagged.set_now(datetime(2025, 1, 23, tzinfo=UTC))  # five days after the day ends
        assert len(get(lagged, UNIT_PATH, **whole, **periods).json()) > 0
    with ElexonTestServer(seed=5, now=datetime(2025, 1, 18, 1, tzinfo=UTC), b1610_lag_days=0) as s:
        rows = get(s, UNIT_PATH, **whole, **periods).json()
        assert {r["settlementPeriod"] for r in rows} == set(range(1, 49))
        assert s.generation.b1610_published(day)
    with pytest.raises(ValueError, match="b1610_lag_days"):
        ElexonTestServer(b1610_lag_days=-1)
