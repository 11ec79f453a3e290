"""Strict parsing of Elexon records: the real samples parse; schema drift is loud."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from curtailcoin.ingest import (
    group_by_cause,
    incomplete_reason,
    is_curtailment,
    payment_gbp,
    reason_cause,
)
from curtailcoin.registry import load_snapshot
from curtailcoin.sources.elexon import (
    STACK_LINE_KEYS,
    ElexonSchemaError,
    parse_acceptance_volumes,
    parse_bm_units,
    parse_stack_line,
    parse_stack_response,
)

SAMPLES = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "insights_record_samples.json").read_text()
)


def _sample(dataset_prefix: str) -> dict[str, Any]:
    return next(s for s in SAMPLES["samples"] if s["dataset"].startswith(dataset_prefix))


def test_real_ispstack_line_parses() -> None:
    raw = _sample("ISPSTACK (settlement")["record"]
    line = parse_stack_line(raw)
    assert line.settlement_date == date(2026, 7, 10)
    assert line.settlement_period == 20
    assert line.start_time == datetime(2026, 7, 10, 8, 30, tzinfo=UTC)
    assert line.created_datetime == datetime(2026, 7, 11, 9, 14, 32, tzinfo=UTC)
    assert line.bm_unit_id == "E_LITRB-1"
    assert line.acceptance_id == 49242
    assert line.so_flag is False
    assert line.volume == pytest.approx(-0.004166666666666667)
    assert line.original_price == 90.25
    assert line.arbitrage_adjusted_volume is None


def test_real_wind_bid_lines_give_the_projects_payments() -> None:
    """T_NNGAO-2 on 2025-04-03: payment = originalPrice × volume (positive: paid to the farm)."""
    sample = _sample("ISPSTACK-derived wind bid")
    wind = {"T_NNGAO-2": "Neart Na Gaoithe Offshore Wind Farm Limited"}
    for record in sample["records"]:
        raw = {
            **dict.fromkeys(STACK_LINE_KEYS),  # the stored subset: every other field null
            **record,
            "sequenceNumber": 1,
            "soFlag": True,
        }
        raw.pop("payment")
        line = parse_stack_line(raw)
        assert is_curtailment(line, wind)
        paid = payment_gbp(line)
        assert paid is not None and paid > 0
        assert paid == pytest.approx(record["payment"], abs=0.006)


def test_positive_price_bid_is_paid_by_the_farm() -> None:
    raw = {**_sample("ISPSTACK (settlement")["record"], "volume": -10.0, "originalPrice": 20.0}
    line = parse_stack_line(raw)
    assert payment_gbp(line) == -200.0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("volume", None, "'volume' is null, expected a number"),
        ("volume", "12", "'volume' is '12', expected a number"),
        ("soFlag", "T", "'soFlag' is 'T', expected a boolean"),
        ("settlementPeriod", 2.5, "'settlementPeriod' is 2.5, expected an integer"),
        ("createdDateTime", "yesterday", "expected a date-time"),
    ],
)
def test_schema_drift_is_a_permanent_error(field: str, value: Any, message: str) -> None:
    raw = {**_sample("ISPSTACK (settlement")["record"], field: value}
    with pytest.raises(ElexonSchemaError, match=message):
        parse_stack_line(raw)


def test_stack_response_checks_date_and_period() -> None:
    raw = _sample("ISPSTACK (settlement")["record"]
    assert len(parse_stack_response({"data": [raw]}, date(2026, 7, 10), 20)[0]) == 1
    assert parse_stack_response({"data": []}, date(2026, 7, 10), 20) == ([], 0)
    with pytest.raises(ElexonSchemaError, match="period 20"):
        parse_stack_response({"data": [raw]}, date(2026, 7, 10), 21)
    with pytest.raises(ElexonSchemaError, match="expected an object with 'data'"):
        parse_stack_response([raw], date(2026, 7, 10), 20)


def test_bm_units_snapshot_drops_empty_ids_and_has_wind() -> None:
    raw = json.loads(
        (Path(__file__).parents[2] / "src/curtailcoin/data/bmunits_snapshot.json").read_text()
    )
    assert sum(1 for u in raw if u["fuelType"] == "WIND") == 247
    units = load_snapshot()
    assert all(u["elexonBmUnit"] for u in units)
    wind = [u for u in units if u["fuelType"] == "WIND"]
    assert len(wind) == 214  # 33 wind entries have no Elexon id and are dropped
    assert parse_bm_units([{"elexonBmUnit": "", "fuelType": "WIND"}]) == []
    with pytest.raises(ElexonSchemaError):
        parse_bm_units({"data": []})


# --- the key contract, finiteness and identities -----------------------------------------------

OPENAPI = json.loads(
    (
        Path(__file__).parents[1] / "fixtures" / "insights_openapi_curtailment_subset.json"
    ).read_text()
)
STACK_SCHEMA = "Insights.Api.Models.Responses.Balancing.Settlement.SettlementStackResponse"
REAL = _sample("ISPSTACK (settlement")["record"]
REAL_DAY = date(2026, 7, 10)
NUMBER_KEYS = [
    key
    for key, spec in OPENAPI["components"]["schemas"][STACK_SCHEMA]["properties"].items()
    if spec["type"] == "number"
]


def _stack(*lines: dict[str, Any], keep: Any = None) -> tuple[list[Any], int]:
    return parse_stack_response({"data": list(lines)}, REAL_DAY, 20, keep)


def test_key_contract_is_the_openapi_schema() -> None:
    schema = OPENAPI["components"]["schemas"][STACK_SCHEMA]
    assert set(schema["properties"]) == STACK_LINE_KEYS
    assert set(REAL) == STACK_LINE_KEYS  # a real line carries every key
    assert "volume" in NUMBER_KEYS and len(NUMBER_KEYS) == 11


@pytest.mark.parametrize("key", sorted(STACK_LINE_KEYS))
@pytest.mark.parametrize("kept", [True, False], ids=["wind", "other"])
def test_an_absent_key_is_a_schema_error_on_every_line(key: str, kept: bool) -> None:
    raw = {k: v for k, v in REAL.items() if k != key}
    with pytest.raises(ElexonSchemaError) as caught:
        _stack(REAL | {"sequenceNumber": 2}, raw, keep=lambda unit: kept)
    assert "line 1" in caught.value.where and "period 20" in caught.value.where
    assert caught.value.cause == f"field {key!r} is absent"
    assert str(caught.value).endswith(f": field {key!r} is absent")


def test_a_renamed_key_names_both_names() -> None:
    raw = {("bmUnitId" if k == "id" else k): v for k, v in REAL.items()}
    with pytest.raises(ElexonSchemaError, match="field 'id' is absent; key 'bmUnitId' is not"):
        _stack(raw, keep=lambda unit: False)


def test_an_extra_key_is_accepted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    raw = REAL | {"newElexonField": 1}
    with caplog.at_level("WARNING", logger="curtailcoin.elexon"):
        lines, count = _stack(raw, raw | {"sequenceNumber": 2})
        _stack(raw)
    assert len(lines) == count == 2
    logged = [r for r in caplog.records if "not in the schema" in r.getMessage()]
    assert len(logged) == 1 and logged[0].keys == "newElexonField"  # type: ignore[attr-defined]


@pytest.mark.parametrize("data", [None, {}, "x"])
def test_data_must_be_a_list(data: Any) -> None:
    with pytest.raises(ElexonSchemaError, match=r"'data' is \w+, expected an array") as caught:
        parse_stack_response({"data": data}, REAL_DAY, 20)
    assert "stack 2026-07-10 period 20" in str(caught.value)
    assert parse_stack_response({"data": []}, REAL_DAY, 20) == ([], 0)


@pytest.mark.parametrize("key", NUMBER_KEYS)
@pytest.mark.parametrize(
    ("value", "shown"),
    [(math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf"), (10**400, "1" + "0" * 400)],
    ids=["nan", "inf", "-inf", "huge-int"],
)
@pytest.mark.parametrize("kept", [True, False], ids=["wind", "other"])
def test_every_number_must_be_finite(key: str, value: Any, shown: str, kept: bool) -> None:
    with pytest.raises(ElexonSchemaError) as caught:
        _stack(REAL | {key: value}, keep=lambda unit: kept)
    assert caught.value.problem == f"field {key!r} is {shown}, expected a finite number"
    assert not caught.value.transient


def test_non_finite_tokens_from_the_wire_are_rejected() -> None:
    """What the HTTP layer's json.loads makes of NaN, -Infinity and 1e400."""
    body = json.dumps({"data": [REAL]}).replace('"volume": -0.004166666666666667', '"volume": %s')
    for token, shown in (("NaN", "nan"), ("-Infinity", "-inf"), ("1e400", "inf")):
        payload = json.loads(body % token)
        with pytest.raises(
            ElexonSchemaError, match=f"field 'volume' is {shown}, expected a finite"
        ):
            parse_stack_response(payload, REAL_DAY, 20)


def test_integers_must_fit_their_format() -> None:
    with pytest.raises(ElexonSchemaError, match="'sequenceNumber' is 2147483648, expected an int"):
        parse_stack_line(REAL | {"sequenceNumber": 2**31})
    assert parse_stack_line(REAL | {"acceptanceId": 2**40}).acceptance_id == 2**40


@pytest.mark.parametrize("kept", [True, False], ids=["wind", "other"])
@pytest.mark.parametrize("null", [None, "acceptanceId", "bidOfferPairId", "id"])
def test_a_repeated_identity_is_a_schema_error(kept: bool, null: str | None) -> None:
    line = REAL if null is None else REAL | {null: None}
    with pytest.raises(ElexonSchemaError) as caught:
        _stack(line, REAL | {"sequenceNumber": 2}, dict(line), keep=lambda unit: kept)
    assert caught.value.problem.startswith("line 2 repeats the identity of line 0 (id ")
    if null is not None:
        assert f"{null} None" in caught.value.problem  # None equals None
    assert caught.value.cause.startswith("a line's identity (date, period, id, acceptanceId")


def test_identities_differing_in_one_part_are_distinct() -> None:
    lines = [REAL | {"acceptanceId": None}]
    lines += [REAL | {"acceptanceId": None, k: v} for k, v in (("sequenceNumber", 2), ("id", "X"))]
    lines.append(REAL | {"acceptanceId": None, "bidOfferPairId": None})
    assert _stack(*lines)[1] == 4


def test_the_cause_is_the_same_for_every_period() -> None:
    from curtailcoin.sources.elexon import PeriodResult
    from curtailcoin.sources.http import RetriesExhaustedError, TransientSourceError

    causes = set()
    for period in (1, 20):
        raw = REAL | {"settlementPeriod": period, "volume": math.nan}
        with pytest.raises(ElexonSchemaError) as caught:
            parse_stack_response({"data": [raw]}, REAL_DAY, period)
        assert f"period {period} line 0" in str(caught.value)
        causes.add(PeriodResult(period, error=caught.value).cause)
    assert causes == {"field 'volume' is nan, expected a finite number"}
    url = "http://h/bmrs/api/v1/balancing/settlement/stack/all/bid/2026-07-10/{}"
    http = {
        PeriodResult(p, error=TransientSourceError(f"HTTP 500 from {url.format(p)}")).cause
        for p in (1, 7, 20)
    }
    assert http == {f"HTTP 500 from {url.format('{period}')}"}
    last = TransientSourceError(f"HTTP 503 from {url.format(3)}")
    gave_up = RetriesExhaustedError("gave up after 1.2s", url=url, tries=6, last=last)
    assert PeriodResult(3, error=gave_up).cause == (
        f"gave up after 6 tries: HTTP 503 from {url.format('{period}')}"
    )


def test_acceptance_volumes_are_strict_too() -> None:
    item = {
        "settlementDate": "2026-07-10",
        "settlementPeriod": 20,
        "bmUnit": "T_X",
        "acceptanceId": 1,
        "totalVolumeAccepted": -1.5,
    }
    assert len(parse_acceptance_volumes({"data": [item]}, REAL_DAY)) == 1
    with pytest.raises(ElexonSchemaError, match="'totalVolumeAccepted' is nan"):
        parse_acceptance_volumes({"data": [item | {"totalVolumeAccepted": math.nan}]}, REAL_DAY)
    with pytest.raises(ElexonSchemaError, match="'data' is null"):
        parse_acceptance_volumes({"data": None}, REAL_DAY)


# --- null figures on wind lines ----------------------------------------------------------------


def test_null_figures_on_wind_bids_make_the_period_incomplete() -> None:
    wind = {"T_A": "A", "T_B": "B"}
    base = parse_stack_line(REAL | {"id": "T_A", "soFlag": True, "volume": -2.0})
    no_flag = [
        parse_stack_line(REAL | {"id": u, "soFlag": None, "volume": -1.0, "sequenceNumber": n})
        for n, u in ((2, "T_A"), (3, "T_B"), (4, "T_B"))
    ]
    no_price = parse_stack_line(
        REAL | {"id": "T_B", "soFlag": True, "originalPrice": None, "sequenceNumber": 5}
    )
    ignored = [  # an offer, a non-wind unit, an unflagged bid: no figure is missing
        parse_stack_line(REAL | {"id": "T_A", "soFlag": None, "volume": 1.0}),
        parse_stack_line(REAL | {"id": "E_X", "soFlag": None, "originalPrice": None}),
        parse_stack_line(REAL | {"id": "T_A", "soFlag": False, "originalPrice": None}),
    ]
    assert incomplete_reason([base, *ignored], wind) is None
    reason = incomplete_reason([base, *no_flag, no_price, *ignored], wind)
    assert reason == (
        "soFlag null on 3 wind bid lines (T_A, T_B); originalPrice null on 1 curtailment lines "
        "(T_B)"
    )
    assert not is_curtailment(no_flag[0], wind)
    assert is_curtailment(no_price, wind) and payment_gbp(no_price) is None  # never £0
    assert reason_cause(reason) == (
        "soFlag null on wind bid lines (T_A, T_B); originalPrice null on curtailment lines (T_B)"
    )
    assert group_by_cause({3: reason, 1: "soFlag null on 1 wind bid lines (T_A)", 2: reason}) == [
        ([1], "soFlag null on wind bid lines (T_A)"),
        ([2, 3], reason_cause(reason)),
    ]


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"originalPrice": -50, "volume": -3, "finalPrice": 0},  # integers read as floats
        {"originalPrice": 10**300, "volume": 0.0},
        dict.fromkeys(["originalPrice", "finalPrice", "tlmAdjustedCost", "soFlag", "id"]),
        {"startTime": "2026-07-10T08:30:00+01:00", "createdDateTime": None},
        {"startTime": "2026-07-10T08:30:00", "cadlFlag": True, "acceptanceId": 2**40},
        {"settlementDate": "2026-07-10T00:00:00Z", "volume": 1e308, "originalPrice": 1e308},
    ],
    ids=["real", "integers", "big-int", "nulls", "offset", "naive-time", "doubles-sum-overflow"],
)
def test_the_fast_reading_of_a_line_is_the_strict_one(
    change: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``parse_stack_response`` reads the common line without a call per field: the same
    ``StackLine`` as ``parse_stack_line``, field by field and type by type."""
    from curtailcoin.sources import elexon_stack

    raw = REAL | change
    plain = elexon_stack._plain_kept_line(raw, REAL_DAY.isoformat(), REAL_DAY, 20, {})
    assert (plain is None) == (change.get("volume") == 1e308)  # the overflow: the strict path
    fast, _ = _stack(raw, REAL | {"sequenceNumber": 7, **change})
    monkeypatch.setattr(elexon_stack, "_plain_kept_line", lambda *args: None)
    strict, _ = _stack(raw, REAL | {"sequenceNumber": 7, **change})
    assert fast == strict and fast[0] == parse_stack_line(raw)
    for got, expected in zip(fast, strict, strict=True):
        for field in got.__slots__:
            assert type(getattr(got, field)) is type(getattr(expected, field)), field


def test_b1610_rows_read_fast_are_the_strict_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """``parse_unit_generation`` takes the common row in one expression: the same map, and every
    row it cannot take is read strictly (so the errors still name the value)."""
    from curtailcoin.sources import generation
    from curtailcoin.sources.generation import parse_unit_generation

    day, units = date(2024, 10, 27), ["T_A-1", "T_B-1"]
    rows = [
        {"bmUnit": u, "settlementDate": "2024-10-27", "settlementPeriod": p, "quantity": q}
        for u in units
        for p, q in ((1, 12.5), (49, 3), (50, 0.0))  # an integer read as a float
    ]
    fast = parse_unit_generation(rows, day, units)
    monkeypatch.setattr(generation, "_plain_unit_row", lambda *args: None)
    assert fast == parse_unit_generation(rows, day, units)
    assert fast[("T_A-1", 49)] == 3.0 and type(fast[("T_A-1", 49)]) is float
    monkeypatch.undo()
    for bad, problem in (
        ({"quantity": math.nan}, "'quantity' is nan"),
        ({"settlementPeriod": 51}, "'settlementPeriod' is 51, expected 1..50"),
        ({"settlementDate": "2024-10-28"}, "expected '2024-10-27'"),
        ({"bmUnit": "T_C-1"}, "'bmUnit' is 'T_C-1'"),
        ({"settlementPeriod": 1}, "a second row for T_A-1 period 1"),
    ):
        with pytest.raises(ElexonSchemaError, match=problem):
            parse_unit_generation([rows[0], rows[1] | bad], day, units)
