"""The notebook's site scenario (``Database.scenario`` / ``sizing`` / ``duration_curve``) on SQLite
and PostgreSQL: each DataFrame equals the economics package's answer (``run_scenario``,
``run_sizing``, ``run_duration_curve``), missing prices are NaN with their reason (never 0), bad
input raises ``ValueError`` naming the value. Seeded through the real pipeline
(``support.api``: two priced days, the rest unpriced)."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pandas as pd
import pytest

import curtailcoin
from curtailcoin.economics.inputs import Assumptions
from curtailcoin.economics.scenario import (
    ScenarioRequest,
    SizingRequest,
    run_duration_curve,
    run_scenario,
    run_sizing,
)
from curtailcoin.economics.site import site_of
from curtailcoin.exports.scenario import FIGURES
from curtailcoin.notebook import Database
from support.api import PRICED_DAYS, Seeded, seed_database
from support.databases import BACKENDS

START, END = date(2025, 1, 17), date(2025, 1, 31)
CAPEX: dict[str, Any] = {"capex_gbp_per_miner": 3000.0}


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest) -> Seeded:
    fixture = "pg_database" if request.param == "postgresql" else "sqlite_database"
    return seed_database(request.getfixturevalue(fixture))


@pytest.fixture(scope="module")
def db(seeded: Seeded) -> Database:
    return curtailcoin.open(seeded.url, seeded.settings.tracked_models)


def _same(frame_value: object, figure: float | None) -> bool:
    """A DataFrame cell equals the figure; a missing figure is NaN, never 0."""
    assert isinstance(frame_value, float)
    return math.isnan(frame_value) if figure is None else frame_value == figure


@pytest.mark.db
@pytest.mark.parametrize("grain", ["period", "day", "month"])
def test_scenario_equals_run_scenario(db: Database, seeded: Seeded, grain: str) -> None:
    frame = db.scenario("S21", START, END, mw=20, all_wind=True, grain=grain, **CAPEX)
    request = ScenarioRequest(
        site_of(all_wind=True),
        "S21",
        START,
        END,
        None,
        20.0,
        Assumptions(**CAPEX),
        grain,  # type: ignore[arg-type]
    )
    with seeded.engine.connect() as conn:
        expected = run_scenario(conn, request)
    assert len(frame) == len(expected.rows) > 0
    for row, rollup in zip(frame.to_dict("records"), expected.rows, strict=True):
        for name in FIGURES:
            assert _same(row[name], getattr(rollup, name)), (rollup.key, name)
    keys = {"period": "settlement_date", "day": "date", "month": "month"}
    assert keys[grain] in frame.columns
    if grain != "month":
        assert frame[keys[grain]].dtype.kind == "M"
    total = frame.attrs["total"]
    for name in FIGURES:
        assert total[name] == getattr(expected.total, name), name
    assert frame.attrs["payback"]["status"] == expected.payback.status
    assert frame.attrs["fleet"]["miners"] == expected.fleet.miners
    assert frame.attrs["site"] == "all wind"


@pytest.mark.db
def test_missing_prices_are_nan_with_their_reason(db: Database) -> None:
    frame = db.scenario("S21", START, END, mw=20, all_wind=True)
    frame["day"] = frame["date"].dt.date
    priced = frame[frame["day"].isin(PRICED_DAYS)]
    assert (priced["revenue_gbp"] > 0).all() and priced["missing_reason"].isna().all()
    unpriced = frame[~frame["day"].isin(PRICED_DAYS) & (frame["btc"] > 0)]
    assert len(unpriced) > 0
    assert unpriced["revenue_gbp"].isna().all() and unpriced["margin_gbp"].isna().all()
    assert unpriced["missing_reason"].str.contains("no BTC/GBP price").all()
    assert "unpriced_btc not valued" in frame.attrs["total"]["missing_reason"]
    constant = db.scenario("S21", START, END, mw=20, all_wind=True, btc_price_gbp=50_000.0)
    assert constant["revenue_gbp"].notna().all()
    assert constant["missing_reason"].isna().all()


@pytest.mark.db
def test_sizing_equals_run_sizing(db: Database, seeded: Seeded) -> None:
    sizes = [1.0, 10.0, 100.0]
    frame = db.sizing("S21", START, END, sizes, all_wind=True, **CAPEX)
    with seeded.engine.connect() as conn:
        expected = run_sizing(
            conn,
            SizingRequest(
                site_of(all_wind=True),
                "S21",
                START,
                END,
                sizes,
                Assumptions(**CAPEX),
            ),
        )
    assert list(frame["size_mw"]) == sizes
    for row, point in zip(frame.to_dict("records"), expected.sizes, strict=True):
        for name in ("miners", "btc", "utilisation", "revenue_gbp", "margin_gbp"):
            assert row[name] == getattr(point, name), name
        months = row["payback_months"]
        assert (months is pd.NA and point.payback_months is None) or months == point.payback_months
    assert frame["missing_reason"].str.contains("count priced BTC only").all()
    assert frame.attrs["best_reason"] == expected.best_reason
    # a range of unpriced dates only: the £ figures are missing, never 0
    later = db.sizing("S21", date(2025, 3, 30), date(2025, 3, 30), sizes, all_wind=True)
    assert (later["btc"] > 0).all()
    assert later[["revenue_gbp", "revenue_per_mw_gbp", "margin_gbp"]].isna().all().all()
    assert later["missing_reason"].str.contains("no BTC/GBP price for the range").all()


@pytest.mark.db
def test_duration_curve_equals_run_duration_curve(db: Database, seeded: Seeded) -> None:
    frame = db.duration_curve(START, END, all_wind=True, thresholds_mw=[0.0, 50.0, 500.0])
    with seeded.engine.connect() as conn:
        expected = run_duration_curve(conn, site_of(all_wind=True), START, END, [0.0, 50.0, 500.0])
    assert list(frame.columns) == ["mw", "hours", "hours_per_year"]
    assert [tuple(r) for r in frame.itertuples(index=False)] == [
        (p.mw, p.hours, p.hours_per_year) for p in expected.duration_curve
    ]
    assert frame["hours"].iloc[0] >= frame["hours"].iloc[-1]
    default = db.duration_curve(START, END, all_wind=True)
    assert len(default) == 50


@pytest.mark.db
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda db: db.scenario("S21", START, END, all_wind=True), "--miners N or --mw X"),
        (lambda db: db.scenario("NOPE", START, END, mw=1, all_wind=True), "'NOPE'"),
        (lambda db: db.scenario("S21", START, END, mw=1), "site: give exactly one"),
        (lambda db: db.scenario("S21", START, END, mw=1, bm_units="T_NOPE-1"), "'T_NOPE-1'"),
        (
            lambda db: db.scenario("S21", START, END, mw=1, all_wind=True, grain="week"),
            "grain='week'",
        ),
        (
            lambda db: db.scenario("S21", START, END, mw=1, all_wind=True, uptime=90),
            "unknown assumption 'uptime'",
        ),
        (
            lambda db: db.scenario("S21", START, END, mw=1, all_wind=True, uptime_pct=150),
            "uptime 150",
        ),
        (lambda db: db.scenario("S21", END, START, mw=1, all_wind=True), "before start"),
        (lambda db: db.sizing("S21", START, END, [], all_wind=True), "0 fleet sizes"),
        (lambda db: db.sizing("S21", START, END, [-1.0], all_wind=True), "size -1.0 MW"),
        (
            lambda db: db.duration_curve(START, END, all_wind=True, thresholds_mw=[-1.0]),
            "threshold -1.0 MW",
        ),
    ],
)
def test_bad_input_raises_a_value_error_naming_it(db: Database, call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        call(db)  # type: ignore[operator]
