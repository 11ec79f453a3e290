"""The local test servers: formats (against Elexon's OpenAPI document), data, oracle and faults."""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from curtailcoin.settlement import period_start_utc, periods_in_day
from curtailcoin.testservers.acceptances import ACCEPTANCE_FIELDS
from curtailcoin.testservers.coingecko import CoinGeckoTestServer
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.epochs import load_difficulty_epochs
from curtailcoin.testservers.faults import INVALID_JSON_BODY
from curtailcoin.testservers.lines import STACK_FIELDS
from curtailcoin.testservers.mempool import MempoolTestServer
from curtailcoin.testservers.prices import PriceBook
from curtailcoin.testservers.stacks import StackGenerator
from curtailcoin.testservers.units import load_bmunits_snapshot, wind_unit_ids
from support.openapi import assert_valid, response_validator

FIXTURES = Path(__file__).parents[1] / "fixtures"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HEAVY = date(2025, 1, 17)
STACK = "/balancing/settlement/stack/all"
BOAV = "/balancing/settlement/acceptance/volumes/all"

STACK_SCHEMA = response_validator(
    "/balancing/settlement/stack/all/{bidOffer}/{settlementDate}/{settlementPeriod}"
)
BOAV_SCHEMA = response_validator(
    "/balancing/settlement/acceptance/volumes/all/{bidOffer}/{settlementDate}"
)
BOAV_PERIOD_SCHEMA = response_validator(
    "/balancing/settlement/acceptance/volumes/all/{bidOffer}/{settlementDate}/{settlementPeriod}"
)
BMUNITS_SCHEMA = response_validator("/reference/bmunits/all")


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def shared() -> Iterator[ElexonTestServer]:
    """A read-only server (tests must not change its state)."""
    server = ElexonTestServer(seed=7, now=NOW)
    server.set_day(HEAVY, "heavy")
    server.set_day(date(2025, 1, 18), "light")
    server.set_day(date(2025, 1, 19), "calm")
    with server:
        yield server


@pytest.fixture
def elexon() -> Iterator[ElexonTestServer]:
    with ElexonTestServer(seed=3, now=NOW) as server:
        yield server


def get(server: ElexonTestServer, path: str, **kwargs: Any) -> httpx.Response:
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        return client.get(path, **kwargs)


def headline_from(records: list[dict[str, Any]], wind: set[str]) -> tuple[int, float, float]:
    picked = [r for r in records if r["id"] in wind and r["soFlag"] and r["volume"] < 0]
    return (
        len(picked),
        -math.fsum(r["volume"] for r in picked),
        math.fsum(r["originalPrice"] * r["volume"] for r in picked),
    )


WIND = wind_unit_ids(load_bmunits_snapshot())

# --------------------------------------------------------------------------------------------
# Formats


def test_stack_answers_validate_against_the_openapi_document(shared: ElexonTestServer) -> None:
    for side in ("bid", "offer"):
        resp = get(shared, f"{STACK}/{side}/{HEAVY}/20")
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("application/json")
        body = resp.json()
        assert_valid(STACK_SCHEMA, body)
        assert body["metadata"] == {"datasets": ["ISPSTACK"]}
        lines = body["data"]
        assert len(lines) >= (200 if side == "bid" else 30)
        for n, line in enumerate(lines, 1):
            assert tuple(line) == STACK_FIELDS
            assert line["sequenceNumber"] == n
            assert line["settlementDate"] == HEAVY.isoformat()
            assert line["settlementPeriod"] == 20
            assert line["startTime"] == "2025-01-17T09:30:00Z"
            assert line["createdDateTime"].startswith("2025-01-18T09:1")
            assert isinstance(line["volume"], float)
            assert isinstance(line["repricedIndicator"], bool)
        if side == "offer":
            assert all(line["volume"] > 0 for line in lines)


def test_the_real_sample_record_validates() -> None:
    samples = json.loads((FIXTURES / "insights_record_samples.json").read_text())
    record = samples["samples"][0]["record"]
    assert tuple(record) == STACK_FIELDS
    assert_valid(STACK_SCHEMA, {"data": [record], "metadata": {"datasets": ["ISPSTACK"]}})
    assert_valid(STACK_SCHEMA, {"data": [record]})
    bad = {**record, "volume": None}
    assert list(STACK_SCHEMA.iter_errors({"data": [bad]}))  # the schema really is enforced
    assert list(STACK_SCHEMA.iter_errors({"data": [{**record, "extra": 1}]}))


def test_a_heavy_day_looks_like_the_real_stack(shared: ElexonTestServer) -> None:
    lines = [ln for p in range(1, 49) for ln in shared.stack_lines(HEAVY, p)]
    snapshot_ids = {u["elexonBmUnit"] for u in load_bmunits_snapshot()}
    wind_lines = [ln for ln in lines if ln["id"] in WIND]
    headline = [ln for ln in wind_lines if ln["soFlag"] and ln["volume"] < 0]
    assert any(ln["id"] is None and ln["acceptanceId"] is None for ln in lines)
    assert any(ln["id"] not in WIND and ln["id"] in snapshot_ids for ln in lines)
    assert any(ln["id"] is not None and ln["id"] not in snapshot_ids for ln in lines)
    assert any(not ln["soFlag"] and ln["volume"] < 0 for ln in wind_lines)
    assert any(ln["volume"] == 0 for ln in wind_lines)
    assert any(ln["volume"] > 0 for ln in wind_lines)
    prices = [ln["originalPrice"] for ln in headline]
    assert sum(p < 0 for p in prices) > 0.8 * len(prices)
    assert any(p > 0 for p in prices)
    assert all(-100 <= p <= 70 for p in prices)
    assert all(0.1 <= -ln["volume"] <= 150 for ln in headline)
    assert any(ln["dmatAdjustedVolume"] == 0 and ln["volume"] != 0 for ln in lines)
    # split lines: same unit, acceptance and pair on several lines of one period
    keys = defaultdict(list)
    for ln in lines:
        if ln["id"] is not None:
            key = (ln["settlementPeriod"], ln["id"], ln["acceptanceId"], ln["bidOfferPairId"])
            keys[key].append(ln["sequenceNumber"])
    assert any(len(v) > 1 for v in keys.values())
    # sequence numbers are unique within each period
    for p in range(1, 49):
        seqs = [ln["sequenceNumber"] for ln in shared.stack_lines(HEAVY, p)]
        assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.slow
def test_acceptance_volumes_validate_and_agree_with_the_stack(shared: ElexonTestServer) -> None:
    for day in (HEAVY, date(2025, 1, 18)):
        resp = get(shared, f"{BOAV}/bid/{day}")
        assert resp.status_code == 200
        body = resp.json()
        assert body["metadata"] == {"datasets": ["BOAV"]}
        items = body["data"]
        assert_valid(BOAV_SCHEMA, {"data": items[:400], "metadata": body["metadata"]})
        assert all(tuple(i) == ACCEPTANCE_FIELDS for i in items)
        sums: dict[tuple[int, str, int], float] = defaultdict(float)
        for p in range(1, periods_in_day(day) + 1):
            for ln in shared.stack_lines(day, p):
                if ln["id"] is not None and ln["acceptanceId"] is not None:
                    sums[(p, ln["id"], ln["acceptanceId"])] += ln["volume"]
        assert len(items) == len(sums)
        for item in items:
            key = (item["settlementPeriod"], item["bmUnit"], item["acceptanceId"])
            assert item["totalVolumeAccepted"] == pytest.approx(sums[key], abs=1e-9)
            pairs = [v for v in item["pairVolumes"].values() if v is not None]
            assert math.fsum(pairs) == pytest.approx(item["totalVolumeAccepted"], abs=1e-9)
            assert item["acceptanceDuration"] in ("L", "S")
    one = get(shared, f"{BOAV}/bid/{HEAVY}/7", params={"bmUnit": items[0]["bmUnit"]}).json()
    assert_valid(BOAV_PERIOD_SCHEMA, one)
    assert one["data"] and {i["settlementPeriod"] for i in one["data"]} == {7}


def test_bm_units_are_the_snapshot_plus_added_units(elexon: ElexonTestServer) -> None:
    body = get(elexon, "/reference/bmunits/all").json()
    assert body == load_bmunits_snapshot()
    assert_valid(BMUNITS_SCHEMA, body)
    elexon.set_day(HEAVY, "heavy")
    before = elexon.stack_lines(HEAVY, 10)
    added = elexon.add_bm_unit(
        {
            "elexonBmUnit": "T_NEWWW-1",
            "nationalGridBmUnit": "NEWWW-1",
            "fuelType": "WIND",
            "leadPartyName": "New Wind Farm Ltd",
            "bmUnitType": "T",
            "generationCapacity": "240.000",
        }
    )
    body = get(elexon, "/reference/bmunits/all").json()
    assert_valid(BMUNITS_SCHEMA, body)
    assert len(body) == len(load_bmunits_snapshot()) + 1 and body[-1] == added
    assert len(added) == 22
    new_lines = [
        ln for p in range(1, 49) for ln in elexon.stack_lines(HEAVY, p) if ln["id"] == "T_NEWWW-1"
    ]
    assert len(new_lines) > 10
    # the other units' lines are unchanged (only sequence numbers move)
    after = [ln for ln in elexon.stack_lines(HEAVY, 10) if ln["id"] != "T_NEWWW-1"]
    strip = [{k: v for k, v in ln.items() if k != "sequenceNumber"} for ln in before]
    assert strip == [{k: v for k, v in ln.items() if k != "sequenceNumber"} for ln in after]
    with_new = elexon.expected_headline(HEAVY)
    without = elexon.expected_headline(HEAVY, WIND)
    assert with_new.records == without.records + len(new_lines)
    elexon.remove_bm_unit("T_NEWWW-1")
    assert len(get(elexon, "/reference/bmunits/all").json()) == len(load_bmunits_snapshot())


# --------------------------------------------------------------------------------------------
# Calendar, validation, clock


def test_clock_change_days_have_46_and_50_periods(shared: ElexonTestServer) -> None:
    cases = [(date(2025, 3, 30), 46), (date(2025, 10, 26), 50), (date(2025, 1, 17), 48)]
    for day, count in cases:
        for period in (1, count):
            resp = get(shared, f"{STACK}/bid/{day}/{period}")
            assert resp.status_code == 200
            starts = {ln["startTime"] for ln in resp.json()["data"]}
            expected = period_start_utc(day, period).strftime("%Y-%m-%dT%H:%M:%SZ")
            assert starts <= {expected}
        resp = get(shared, f"{STACK}/bid/{day}/{count + 1}")
        assert resp.status_code == 404
        assert resp.headers["content-type"].startswith("application/problem+json")
        problem = resp.json()
        assert problem["status"] == 404 and problem["title"] == "Not Found"
        assert f"has {count} settlement periods" in problem["detail"]
        assert get(shared, f"{STACK}/bid/{day}/0").status_code == 404
    assert shared.stack_lines(date(2025, 10, 26), 50)[0]["startTime"] == "2025-10-26T23:30:00Z"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"{STACK}/bid/2025-13-01/1", "settlementDate"),
        (f"{STACK}/bid/20250101/1", "settlementDate"),
        (f"{STACK}/bid/2025-1-01/1", "settlementDate"),
        (f"{STACK}/bids/2025-01-01/1", "bidOffer"),
        (f"{STACK}/bid/2025-01-01/x", "settlementPeriod"),
        (f"{BOAV}/bid/2025-02-30", "settlementDate"),
    ],
)
def test_malformed_requests_are_400(shared: ElexonTestServer, path: str, field: str) -> None:
    resp = get(shared, path)
    assert resp.status_code == 400
    problem = resp.json()
    assert problem["status"] == 400 and field in problem["errors"]
    assert problem["title"] == "One or more validation errors occurred."
    assert problem["traceId"].startswith("00-")


def test_unknown_paths_are_404(shared: ElexonTestServer) -> None:
    assert get(shared, "/no/such/thing").status_code == 404
    with httpx.Client(timeout=5) as client:
        assert client.get(shared.root_url + "/elsewhere").status_code == 404
        assert client.post(shared.url("/reference/bmunits/all")).status_code == 405


def test_future_dates_and_unfinished_periods_are_empty(elexon: ElexonTestServer) -> None:
    elexon.set_now(datetime(2026, 7, 10, 8, 45, tzinfo=UTC))  # 09:45 BST: 19 periods ended
    assert elexon.today == date(2026, 7, 10)
    elexon.set_day("2026-07-10", "heavy")
    elexon.set_day("2026-07-11", "heavy")
    assert elexon.available_periods("2026-07-10") == 19
    assert get(elexon, f"{STACK}/bid/2026-07-10/19").json()["data"]
    for path in (
        f"{STACK}/bid/2026-07-10/20",
        f"{STACK}/bid/2026-07-11/1",
        f"{BOAV}/bid/2026-07-11",
    ):
        resp = get(elexon, path)
        assert resp.status_code == 200 and resp.json()["data"] == []
    assert elexon.expected_headline("2026-07-11").records == 0
    assert get(elexon, f"{STACK}/bid/2026-07-12/49").status_code == 404  # still validated
    elexon.set_day("2026-07-09", "empty")
    assert get(elexon, f"{STACK}/bid/2026-07-09/3").json() == {
        "data": [],
        "metadata": {"datasets": ["ISPSTACK"]},
    }
    assert get(elexon, f"{STACK}/offer/2026-07-09/3").json()["data"] == []


# --------------------------------------------------------------------------------------------
# Data: determinism, kinds, oracle, revisions


@pytest.mark.slow
def test_generation_is_deterministic() -> None:
    with ElexonTestServer(seed=11, now=NOW) as a, ElexonTestServer(seed=11, now=NOW) as b:
        for path in (
            f"{STACK}/bid/2025-02-03/5",
            f"{STACK}/offer/2025-02-03/5",
            f"{BOAV}/bid/2025-02-03",
        ):
            assert get(a, path).content == get(b, path).content
        assert a.day_kind("2025-02-03") == b.day_kind("2025-02-03")
    other = StackGenerator(seed=12)
    assert [ln.record("d", 1, "s", "c", 1) for ln in other.lines(HEAVY, 5, "bid", "heavy", 0)] != [
        ln.record("d", 1, "s", "c", 1)
        for ln in StackGenerator(11).lines(HEAVY, 5, "bid", "heavy", 0)
    ]
    kinds = {
        StackGenerator(1).natural_day_kind(date(2025, 1, 1) + timedelta(days=i)) for i in range(60)
    }
    assert kinds == {"calm", "light", "heavy"}


def test_day_kinds_and_the_heavy_day_volume(shared: ElexonTestServer) -> None:
    heavy = shared.expected_headline(HEAVY)
    assert 6_500 <= heavy.records <= 7_500
    assert 150 <= heavy.farms <= 200
    assert all(120 <= p.records <= 170 for p in heavy.periods.values())
    assert heavy.curtailed_mwh > 20_000 and heavy.payment_gbp > 0
    assert heavy.lead_parties < heavy.farms
    light = shared.expected_headline(date(2025, 1, 18))
    assert 50 <= light.records <= 1_500
    calm = shared.expected_headline(date(2025, 1, 19))
    assert calm.records <= 5
    assert len(shared.stack_lines(date(2025, 1, 19), 1)) >= 60  # non-wind bids are still there
    assert heavy.to_dict()["periods"][0]["settlementPeriod"] == 1


def test_a_heavy_day_is_generated_once_then_served_from_the_cache() -> None:
    """How fast is measured by ``bench/bench_testservers.py``; here, that it is computed once."""
    generator = StackGenerator(seed=99)
    day = date(2025, 2, 14)
    first = [generator.lines(day, p, "bid", "heavy", 0) for p in range(1, 49)]
    again = [generator.lines(day, p, "bid", "heavy", 0) for p in range(1, 49)]
    assert all(a is b for a, b in zip(first, again, strict=True))  # the cached lists themselves
    fresh = StackGenerator(seed=99)
    assert [fresh.records(day, p, "bid", "heavy", 0) for p in (1, 48)] == [
        generator.records(day, p, "bid", "heavy", 0) for p in (1, 48)
    ]


def test_the_oracle_matches_what_is_served(shared: ElexonTestServer) -> None:
    expected = shared.expected_headline(HEAVY)
    with httpx.Client(base_url=shared.base_url, timeout=10) as client:
        for p in range(1, 49):
            records = client.get(f"{STACK}/bid/{HEAVY}/{p}").json()["data"]
            count, mwh, gbp = headline_from(records, WIND)
            got = expected.periods[p]
            assert (count, got.farms) == (
                got.records,
                len({r["id"] for r in records if r["id"] in got.farm_ids}),
            )
            assert mwh == pytest.approx(got.curtailed_mwh, abs=1e-6)
            assert gbp == pytest.approx(got.payment_gbp, abs=1e-6)
    all_bids = shared.expected_headline(HEAVY, so_only=False)
    assert all_bids.records > expected.records
    assert shared.expected_headline(HEAVY, wind_unit_ids=set()).records == 0


def test_revise_changes_data_like_a_later_settlement_run(elexon: ElexonTestServer) -> None:
    elexon.set_day(HEAVY, "heavy")
    before = {p: elexon.stack_lines(HEAVY, p) for p in (4, 5)}
    head0 = elexon.expected_headline(HEAVY)
    elexon.revise(HEAVY, periods=[5])
    assert elexon.revision(HEAVY, 5) == 1 and elexon.revision(HEAVY, 4) == 0
    assert elexon.stack_lines(HEAVY, 4) == before[4]
    after5 = elexon.stack_lines(HEAVY, 5)
    assert after5 != before[5]
    assert after5[0]["createdDateTime"] > before[5][0]["createdDateTime"]
    head1 = elexon.expected_headline(HEAVY)
    assert head1.periods[5].curtailed_mwh != head0.periods[5].curtailed_mwh
    assert head1.periods[4] == head0.periods[4]
    key = ("id", "acceptanceId", "bidOfferPairId", "volume")
    old = {tuple(ln[k] for k in key) for ln in before[5]}
    new = {tuple(ln[k] for k in key) for ln in after5}
    assert old - new and new - old  # lines changed, went, or came
    elexon.revise(HEAVY)  # the whole day
    assert all(elexon.revision(HEAVY, p) >= 1 for p in range(1, 49))
    assert elexon.expected_headline(HEAVY).records != head0.records or (
        elexon.expected_headline(HEAVY).curtailed_mwh != head0.curtailed_mwh
    )
    body = get(elexon, f"{BOAV}/bid/{HEAVY}").json()
    assert {i["createdDateTime"][:10] for i in body["data"]} >= {"2025-01-19"}
    with pytest.raises(ValueError, match=r"allowed 1\.\.48"):
        elexon.revise(HEAVY, periods=[49])


# --------------------------------------------------------------------------------------------
# Faults


def test_429_has_retry_after_then_recovers(elexon: ElexonTestServer) -> None:
    elexon.faults.add("429", times=2, retry_after_s=2, match=r"/stack/all/bid/")
    path = f"{STACK}/bid/{HEAVY}/3"
    with httpx.Client(base_url=elexon.base_url, timeout=5) as client:
        for _ in range(2):
            resp = client.get(path)
            assert resp.status_code == 429
            assert resp.headers["retry-after"] == "2"
            assert resp.json()["status"] == 429
        assert client.get(path).status_code == 200
    assert [r.fault for r in elexon.requests] == ["429", "429", None]
    assert [r.status for r in elexon.requests] == [429, 429, 200]
    assert not elexon.faults.active


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_answers_problem_json(elexon: ElexonTestServer, status: int) -> None:
    elexon.faults.add("5xx", status=status, times=1)
    resp = get(elexon, "/reference/bmunits/all")
    assert resp.status_code == status
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["status"] == status and resp.json()["title"]
    assert get(elexon, "/reference/bmunits/all").status_code == 200


def test_times_n_then_recovers_and_match_limits_the_fault(elexon: ElexonTestServer) -> None:
    elexon.faults.add("5xx", times=3, match=rf"/{HEAVY}/5$")
    with httpx.Client(base_url=elexon.base_url, timeout=5) as client:
        assert client.get(f"{STACK}/bid/{HEAVY}/6").status_code == 200
        assert client.get(f"{STACK}/bid/{HEAVY}/15").status_code == 200
        codes = [client.get(f"{STACK}/bid/{HEAVY}/5").status_code for _ in range(4)]
    assert codes == [503, 503, 503, 200]
    assert len(elexon.requests_matching(rf"/{HEAVY}/5$")) == 4


def test_fail_period_is_persistent_until_cleared(elexon: ElexonTestServer) -> None:
    fault = elexon.fail_period(HEAVY, 7)
    with httpx.Client(base_url=elexon.base_url, timeout=5) as client:
        assert [client.get(f"{STACK}/bid/{HEAVY}/7").status_code for _ in range(5)] == [503] * 5
        assert client.get(f"{STACK}/offer/{HEAVY}/7").status_code == 503
        assert client.get(f"{STACK}/bid/{HEAVY}/17").status_code == 200
        assert client.get(f"{STACK}/bid/{HEAVY}/8").status_code == 200
        assert fault.hits == 6
        elexon.faults.remove(fault)
        assert client.get(f"{STACK}/bid/{HEAVY}/7").status_code == 200
        elexon.fail_period("2025-01-17", 7, kind="reset")
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            client.get(f"{STACK}/bid/{HEAVY}/7")
        elexon.faults.clear()
        assert client.get(f"{STACK}/bid/{HEAVY}/7").status_code == 200


def test_reset_truncated_and_invalid_json(elexon: ElexonTestServer) -> None:
    path = f"{STACK}/bid/{HEAVY}/9"
    elexon.faults.add("reset", times=1)
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        get(elexon, path)
    elexon.faults.add("truncated", times=1)
    try:
        resp = get(elexon, path)
    except httpx.RemoteProtocolError:
        pass
    else:  # pragma: no cover - depends on the client
        assert len(resp.content) < int(resp.headers["content-length"])
    elexon.faults.add("invalid_json", times=1)
    resp = get(elexon, path)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json")
    assert resp.content == INVALID_JSON_BODY
    with pytest.raises(json.JSONDecodeError):
        resp.json()
    assert get(elexon, path).status_code == 200
    assert [r.fault for r in elexon.requests] == ["reset", "truncated", "invalid_json", None]
    assert [r.status for r in elexon.requests] == [None, 200, 200, 200]
    with pytest.raises(ValueError, match="unknown fault kind"):
        elexon.faults.add("teapot")
    with pytest.raises(ValueError, match=r"500\.\.599"):
        elexon.faults.add("5xx", status=404)


def test_timeout_holds_the_request_and_stop_is_prompt() -> None:
    server = ElexonTestServer(seed=1, now=NOW, timeout_s=30).start()
    server.faults.add("timeout", times=1)
    with pytest.raises(httpx.ReadTimeout):  # the server held it past the client's 0.3 s
        get_timeout = httpx.Client(base_url=server.base_url, timeout=0.3)
        try:
            get_timeout.get("/reference/bmunits/all")
        finally:
            get_timeout.close()
    assert get(server, "/reference/bmunits/all").status_code == 200  # the fault was used up
    # A held request ends as soon as the server stops: both holds (30 s each) end with no
    # answer, woken by stop(), and stop() returns while they would still be waiting.
    server.faults.add("timeout", times=1, delay_s=30)
    holder = threading.Thread(target=lambda: _swallow(server.url("/reference/bmunits/all")))
    holder.start()
    _wait_until(lambda: server.in_flight == 2)  # the first held request is still in flight
    server.stop()
    holder.join(25)  # a bound on waiting, below the 30 s hold: not a measure of speed
    assert not holder.is_alive()
    held = [r for r in server.requests if r.fault == "timeout"]
    assert len(held) == 2 and all(r.status is None for r in held)
    assert server.in_flight == 0


def _wait_until(condition: Callable[[], bool], bound_s: float = 60) -> None:
    """Poll ``condition``; ``bound_s`` bounds the wait (a hang), it does not measure speed."""
    deadline = time.monotonic() + bound_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def _swallow(url: str) -> None:
    with contextlib.suppress(httpx.HTTPError):
        httpx.get(url, timeout=60)


def test_a_short_timeout_fault_answers_late_but_normally(elexon: ElexonTestServer) -> None:
    elexon.faults.add("timeout", times=1, delay_s=0.3)
    resp = get(elexon, "/reference/bmunits/all")
    assert resp.status_code == 200
    held = elexon.requests[-1]
    assert held.fault == "timeout" and held.status == 200 and held.duration >= 0.3  # server-side


def test_latency_and_max_in_flight() -> None:
    with ElexonTestServer(seed=1, now=NOW, latency_s=0.25) as server:
        assert get(server, "/reference/bmunits/all").status_code == 200
        assert server.requests[0].duration >= 0.25  # the server held it (its own log)
        server.clear_requests()
        assert server.max_in_flight == 0
        # Hold every request until all eight are in (no timing: the server counts them).
        server.faults.add("timeout", times=8, delay_s=120)

        def fetch(p: int) -> None:
            with contextlib.suppress(httpx.HTTPError):  # aborted when the server stops
                get(server, f"{STACK}/bid/{HEAVY}/{p}")

        threads = [threading.Thread(target=fetch, args=(p,)) for p in range(1, 9)]
        for t in threads:
            t.start()
        _wait_until(lambda: server.in_flight == 8)
        assert server.in_flight == 8 and server.max_in_flight == 8
        server.stop()  # wakes the held requests
        for t in threads:
            t.join()
        assert len(server.requests) == 8


def test_restart_keeps_the_port_and_drops_kept_alive_connections() -> None:
    server = ElexonTestServer(seed=1, now=NOW).start()
    url = server.base_url
    with httpx.Client(base_url=url, timeout=5) as client:
        assert client.get("/reference/bmunits/all").status_code == 200
        server.stop()
        with pytest.raises(httpx.TransportError):
            client.get("/reference/bmunits/all")
        server.start()
        try:
            assert server.base_url == url
            assert client.get("/reference/bmunits/all").status_code == 200
        finally:
            server.stop()


# --------------------------------------------------------------------------------------------
# mempool.space and CoinGecko


def test_mempool_difficulty_adjustments() -> None:
    epochs = load_difficulty_epochs(1)
    server = MempoolTestServer(seed=1)
    with server, httpx.Client(base_url=server.base_url, timeout=5) as client:
        rows = client.get("/v1/mining/difficulty-adjustments/all").json()
        assert client.get("/v1/mining/difficulty-adjustments").json() == rows
        assert len(rows) == len(epochs) == 474
        heights = [r[1] for r in rows]
        assert heights == sorted(heights, reverse=True) and heights[-1] == 0
        assert all(len(r) == 4 and isinstance(r[0], int) for r in rows)
        by_height = {r[1]: r for r in rows}
        for e in epochs:
            assert by_height[e.height][2] == e.difficulty
        # exact where known (epoch 462 is a real block time), ~14 days apart where unknown
        assert by_height[462 * 2016][0] == 1767859543
        generated = [e for e in epochs if e.source == "generated"]
        assert len(generated) == 6
        for a, b in zip(epochs[-7:-1], epochs[-6:], strict=True):
            assert 13.4 * 86400 <= b.time - a.time <= 14.6 * 86400
        for newer, older in itertools.pairwise(rows):
            assert newer[3] == pytest.approx(newer[2] / older[2])
        added = server.add_epoch(datetime(2026, 7, 1, tzinfo=UTC), 955584, 1.3e14)
        top = client.get("/v1/mining/difficulty-adjustments/all").json()[0]
        assert top == [added.time, 955584, 1.3e14, pytest.approx(1.3e14 / rows[0][2])]
        assert client.get("/v1/mining/difficulty-adjustments/5y").status_code == 400
    with MempoolTestServer(seed=1, now=datetime(2026, 4, 1, tzinfo=UTC)) as server:
        rows = httpx.get(server.url("/v1/mining/difficulty-adjustments/1y")).json()
        assert all(r[0] <= datetime(2026, 4, 1, tzinfo=UTC).timestamp() for r in rows)
        assert 24 <= len(rows) <= 29


def test_mempool_prices() -> None:
    day = date(2025, 1, 17)
    ts = int(datetime(2025, 1, 17, 15, tzinfo=UTC).timestamp())
    midnight = int(datetime(2025, 1, 17, tzinfo=UTC).timestamp())
    with MempoolTestServer(seed=1, now=NOW) as server:
        client = httpx.Client(base_url=server.base_url, timeout=5)
        body = client.get(
            "/v1/historical-price", params={"currency": "GBP", "timestamp": ts}
        ).json()
        assert set(body) == {"prices", "exchangeRates"}
        (entry,) = body["prices"]
        assert entry["time"] == midnight
        assert set(entry) == {"time", "USD", "EUR", "GBP", "CAD", "CHF", "AUD", "JPY"}
        assert 50_000 < entry["GBP"] < 110_000
        assert entry["GBP"] == pytest.approx(
            entry["USD"] * body["exchangeRates"]["USDGBP"], rel=1e-3
        )
        again = client.get("/v1/historical-price", params={"currency": "GBP", "timestamp": ts})
        assert again.json() == body
        server.set_price(day, gbp=81_234.5)
        body = client.get(
            "/v1/historical-price", params={"currency": "GBP", "timestamp": ts}
        ).json()
        assert body["prices"][0]["GBP"] == 81_234.5
        server.set_no_price(day)
        body = client.get(
            "/v1/historical-price", params={"currency": "GBP", "timestamp": ts}
        ).json()
        assert body["prices"] == [] and "USDGBP" in body["exchangeRates"]
        assert (
            client.get(
                "/v1/historical-price", params={"currency": "XYZ", "timestamp": ts}
            ).status_code
            == 400
        )
        current = client.get("/v1/prices").json()
        assert current["time"] == int(NOW.timestamp()) and current["GBP"] > 0
        server.set_current_price(gbp=70_000)
        assert client.get("/v1/prices").json()["GBP"] == 70_000
        server.faults.add("429", times=1, retry_after_s=3)
        resp = client.get("/v1/prices")
        assert resp.status_code == 429 and resp.headers["retry-after"] == "3"
        client.close()


def test_coingecko_market_chart_range() -> None:
    book = PriceBook(seed=5)
    start = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    with CoinGeckoTestServer(prices=book) as gecko, MempoolTestServer(prices=book) as mempool:
        client = httpx.Client(base_url=gecko.base_url, timeout=5)
        path = "/coins/bitcoin/market_chart/range"
        body = client.get(
            path, params={"vs_currency": "gbp", "from": start, "to": start + 86400}
        ).json()
        assert set(body) == {"prices", "market_caps", "total_volumes"}
        assert len(body["prices"]) == 25  # hourly
        assert body["prices"][0][0] == start * 1000
        assert all(len(p) == 2 for p in body["market_caps"] + body["total_volumes"])
        long = client.get(
            path, params={"vs_currency": "gbp", "from": start, "to": start + 100 * 86400}
        ).json()
        assert len(long["prices"]) == 101  # daily at 00:00 UTC
        mp = httpx.get(
            mempool.url("/v1/historical-price"), params={"currency": "GBP", "timestamp": start}
        ).json()
        assert long["prices"][0][1] == mp["prices"][0]["GBP"]  # one price book, one price
        mempool.set_no_price(date(2025, 1, 2))
        long = client.get(
            path, params={"vs_currency": "gbp", "from": start, "to": start + 100 * 86400}
        ).json()
        assert len(long["prices"]) == 100
        iso = client.get(
            path,
            params={
                "vs_currency": "usd",
                "from": "2025-01-03",
                "to": "2025-01-05",
                "interval": "daily",
            },
        )
        assert len(iso.json()["prices"]) == 3
        assert (
            client.get(
                "/coins/dogecoin/market_chart/range",
                params={"vs_currency": "gbp", "from": 1, "to": 2},
            ).status_code
            == 404
        )
        assert (
            client.get(path, params={"vs_currency": "xyz", "from": 1, "to": 2}).status_code == 400
        )
        gecko.faults.add("429", times=1)
        resp = client.get(path, params={"vs_currency": "gbp", "from": start, "to": start + 3600})
        assert resp.status_code == 429 and resp.json()["status"]["error_code"] == 429
        assert resp.headers["retry-after"] == "1"
        gecko.faults.add("reset", times=1)
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            client.get("/ping")
        assert client.get("/ping").json() == {"gecko_says": "(V3) To the Moon!"}
        client.close()


# --------------------------------------------------------------------------------------------
# CLI


def test_cli_serves_until_interrupted() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "curtailcoin.cli.testserver", "elexon", "--port", "0",
         "--heavy-day", "2025-01-17", "--fault", "429:1@/stack/"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        assert lines[0].startswith("Elexon test server listening on http://127.0.0.1:")
        export = lines[1].strip()
        assert re.fullmatch(
            r"export CURTAILCOIN_ELEXON_BASE_URL=http://127\.0\.0\.1:\d+/bmrs/api/v1", export
        )
        base = export.split("=", 1)[1]
        with httpx.Client(base_url=base, timeout=5) as client:
            assert client.get(f"{STACK}/bid/2025-01-17/1").status_code == 429
            records = client.get(f"{STACK}/bid/2025-01-17/1").json()["data"]
        assert headline_from(records, WIND)[0] >= 120
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)  # a bound on waiting, not a measure of speed
        assert proc.returncode == 0, err
        assert "Stopping." in out  # stopped by the interrupt, not killed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    bad = subprocess.run(
        [sys.executable, "-m", "curtailcoin.cli.testserver", "elexon", "--heavy-day", "17/01/2025"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2 and "17/01/2025" in bad.stderr
