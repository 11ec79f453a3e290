"""Strict parsing of Elexon records: the real samples parse; schema drift is loud."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from curtailcoin.ingest import is_curtailment, payment_gbp
from curtailcoin.registry import load_snapshot
from curtailcoin.sources.elexon import (
    STACK_LINE_KEYS,
    ElexonSchemaError,
    parse_bm_units,
    parse_stack_line,
    parse_stack_response,
)

SAMPLES = json.loads(
    (Path(__file__).parent / "fixtures" / "insights_record_samples.json").read_text()
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
        (Path(__file__).parents[1] / "src/curtailcoin/data/bmunits_snapshot.json").read_text()
    )
    assert sum(1 for u in raw if u["fuelType"] == "WIND") == 247
    units = load_snapshot()
    assert all(u["elexonBmUnit"] for u in units)
    wind = [u for u in units if u["fuelType"] == "WIND"]
    assert len(wind) == 214  # 33 wind entries have no Elexon id and are dropped
    assert parse_bm_units([{"elexonBmUnit": "", "fuelType": "WIND"}]) == []
    with pytest.raises(ElexonSchemaError):
        parse_bm_units({"data": []})
