"""The set-based definitions: each problem kind created on purpose is counted exactly, by the
per-period screen and by the row-by-row (``exact``) path alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, update

from curtailcoin.db.curtailment_tables import (
    curtailment_records,
    historical_bitcoin_calculations,
    settlement_periods,
)
from curtailcoin.db.reference_tables import btc_prices
from curtailcoin.db.summary_tables import (
    bitcoin_farm_daily_summaries,
    bitcoin_monthly_summaries,
    daily_summaries,
    farm_daily_summaries,
    farm_monthly_summaries,
)
from curtailcoin.network import NetworkTimeline
from curtailcoin.prices import store
from curtailcoin.reconcile.analyze import analyze_reconciliation_status, fix_commands
from curtailcoin.reconcile.expected import expected_conditions
from curtailcoin.reconcile.recalculate import recalculate
from curtailcoin.reconcile.report import ReconciliationStatus
from curtailcoin.reconcile.status import get_reconciliation_status
from curtailcoin.reference import load_timeline
from curtailcoin.settlement import PERIOD, day_start_utc, periods_in_day
from curtailcoin.sources.prices import DailyPrice
from support.synthetic import generate

MODELS = ["S19J_PRO", "S9", "M20S", "S21"]
START, END = date(2024, 3, 30), date(2024, 4, 1)  # includes the 46-period spring day


def _status(engine: Engine, exact: bool = False, **kw: Any) -> ReconciliationStatus:
    with engine.connect() as conn:
        status = get_reconciliation_status(conn, MODELS, exact=exact, **kw)
        conn.rollback()
    return status


def _counts(status: ReconciliationStatus) -> dict[str, Any]:
    data = status.to_json()
    return {
        k: data[k]
        for k in (
            "dates_checked",
            "incomplete_dates",
            "missing_calculations",
            "stale_calculations",
            "pending_calculations",
            "summary_mismatches",
            "period_total_mismatches",
            "stale_condition_periods",
        )
    }


def _farms_in(engine: Engine, day: date, period: int) -> list[str]:
    r = curtailment_records.c
    with engine.connect() as conn:
        return sorted(
            conn.execute(
                select(r.farm_id)
                .distinct()
                .where(r.settlement_date == day, r.settlement_period == period)
            ).scalars()
        )


@pytest.fixture
def synthetic(engine: Engine) -> Engine:
    generate(engine, START, END, MODELS)
    return engine


def test_expected_conditions_match_the_timeline() -> None:
    timeline = NetworkTimeline.packaged()
    days = [date(2024, 4, 19), date(2024, 4, 20), date(2024, 10, 27), date(2025, 1, 17)]
    fast = expected_conditions(timeline, days)
    for day in days:  # the halving (2024-04-20), an autumn clock change, an ordinary day
        for p in range(1, periods_in_day(day) + 1):
            start = day_start_utc(day) + (p - 1) * PERIOD
            slow = timeline.conditions(start, start + PERIOD)
            got = fast[(day, p)]
            assert (got.difficulty, got.block_subsidy_btc) == (
                slow.difficulty,
                slow.block_subsidy_btc,
            )


@pytest.mark.db
def test_generated_data_is_clean(synthetic: Engine) -> None:
    for exact in (False, True):
        status = _status(synthetic, exact)
        assert status.dates_checked == 3
        assert status.completion_percentage == 100.0
        assert status.problem_dates == []
        assert status.per_date[1].periods_expected == 46  # 2024-03-31
        data = status.to_json()
        for key in (
            "dates_checked",
            "incomplete_dates",
            "missing_calculations",
            "stale_calculations",
            "pending_calculations",
            "summary_mismatches",
            "completion_percentage",
            "per_date",
        ):
            assert key in data
        assert set(data["per_date"][0]) >= {"date", "records", "missing", "stale", "complete"}


def _delete_calcs(engine: Engine) -> dict[str, Any]:
    day, period = date(2024, 3, 31), 10
    farms = _farms_in(engine, day, period)
    c = historical_bitcoin_calculations.c
    with engine.begin() as conn:
        conn.execute(
            delete(historical_bitcoin_calculations).where(
                c.settlement_date == day, c.settlement_period == period, c.miner_model == "S9"
            )
        )
    return {
        "missing_calculations": len(farms),
        "summary_mismatches": 2,  # the S9 daily row and farm-day rows no longer equal their rows
        "dates": [day],
    }


def _change_record_energy(engine: Engine) -> dict[str, Any]:
    day, period = date(2024, 4, 1), 5
    r = curtailment_records.c
    with engine.begin() as conn:
        first = conn.execute(
            select(func.min(r.id)).where(r.settlement_date == day, r.settlement_period == period)
        ).scalar_one()
        conn.execute(
            update(curtailment_records).where(r.id == first).values(volume_mwh=r.volume_mwh - 1)
        )
    return {
        "stale_calculations": 4,  # that farm-period's row of each model
        "period_total_mismatches": 1,  # records no longer add up to the fetched totals
        "summary_mismatches": 2,  # the daily row and the date's farm-day rows
        "dates": [day],
    }


def _remove_period_status(engine: Engine) -> dict[str, Any]:
    day = date(2024, 3, 30)
    p = settlement_periods.c
    with engine.begin() as conn:
        conn.execute(
            delete(settlement_periods).where(p.settlement_date == day, p.settlement_period == 7)
        )
    return {
        "incomplete_dates": [day.isoformat()],
        # the period's farm-day BTC factors lost their conditions; the stack's roll-up counts
        # one successful period more than there are
        "summary_mismatches": 2,
        "dates": [day],
    }


def _tamper_daily_summary(engine: Engine) -> dict[str, Any]:
    day = date(2024, 3, 30)
    with engine.begin() as conn:
        conn.execute(
            update(daily_summaries)
            .where(daily_summaries.c.summary_date == day)
            .values(payment_gbp=daily_summaries.c.payment_gbp + 5)
        )
    return {"summary_mismatches": 2, "dates": [day]}  # the day, and its month


def _tamper_bitcoin_month(engine: Engine) -> dict[str, Any]:
    with engine.begin() as conn:
        conn.execute(
            update(bitcoin_monthly_summaries)
            .where(
                bitcoin_monthly_summaries.c.year_month == "2024-04",
                bitcoin_monthly_summaries.c.miner_model == "S21",
            )
            .values(bitcoin_mined_btc=0.5)
        )
    return {"summary_mismatches": 2, "dates": [date(2024, 4, 1)]}  # the month, and its year


def _tamper_farm_day(engine: Engine) -> dict[str, Any]:
    day = date(2024, 3, 31)
    fd = farm_daily_summaries.c
    with engine.begin() as conn:
        farm = conn.execute(select(func.min(fd.farm_id)).where(fd.summary_date == day)).scalar()
        conn.execute(
            update(farm_daily_summaries)
            .where(fd.summary_date == day, fd.farm_id == farm)
            .values(payment_gbp=fd.payment_gbp + 5)
        )
    return {"summary_mismatches": 2, "dates": [day]}  # the date's farm-day rows, its month's


def _swap_farm_day_energy(engine: Engine) -> dict[str, Any]:
    """Two farms' energies swapped: the date's sums still agree, the farm-day rows do not."""
    day = date(2024, 4, 1)
    fd = farm_daily_summaries.c
    with engine.begin() as conn:
        rows = conn.execute(
            select(fd.farm_id, fd.curtailed_energy_mwh)
            .where(fd.summary_date == day)
            .order_by(fd.farm_id)
            .limit(2)
        ).all()
        for (farm, _), (_, energy) in zip(rows, reversed(rows), strict=True):
            conn.execute(
                update(farm_daily_summaries)
                .where(fd.summary_date == day, fd.farm_id == farm)
                .values(curtailed_energy_mwh=energy)
            )
    return {"summary_mismatches": 1, "dates": [day]}


def _tamper_bitcoin_farm_day(engine: Engine) -> dict[str, Any]:
    day = date(2024, 3, 30)
    b = bitcoin_farm_daily_summaries.c
    with engine.begin() as conn:
        farm = conn.execute(
            select(func.max(b.farm_id)).where(b.summary_date == day, b.miner_model == "S21")
        ).scalar()
        conn.execute(
            delete(bitcoin_farm_daily_summaries).where(
                b.summary_date == day, b.farm_id == farm, b.miner_model == "S21"
            )
        )
    # the S21 farm-day rows of the date, and the S21 farm-month rows of its month
    return {"summary_mismatches": 2, "dates": [day]}


def _change_period_difficulty(engine: Engine) -> dict[str, Any]:
    day, period = date(2024, 3, 31), 20
    farms = _farms_in(engine, day, period)
    p = settlement_periods.c
    with engine.begin() as conn:
        conn.execute(
            update(settlement_periods)
            .where(p.settlement_date == day, p.settlement_period == period)
            .values(difficulty=p.difficulty * 1.01)
        )
    return {
        "stale_condition_periods": 1,
        "stale_calculations": 4 * len(farms),  # rows match the epoch table, not the period
        "summary_mismatches": 1,  # the farm-day BTC factors follow the period's conditions
        "dates": [day],
    }


def _orphan_calculations(engine: Engine) -> dict[str, Any]:
    day, period = date(2024, 4, 1), 30
    farm = _farms_in(engine, day, period)[0]
    r = curtailment_records.c
    with engine.begin() as conn:
        conn.execute(
            delete(curtailment_records).where(
                r.settlement_date == day, r.settlement_period == period, r.farm_id == farm
            )
        )
    return {
        "stale_calculations": 4,  # rows for a farm-period without records
        "period_total_mismatches": 1,
        "summary_mismatches": 2,  # the daily row and the date's farm-day rows
        "dates": [day],
    }


def _tamper_farm_month(engine: Engine) -> dict[str, Any]:
    fm = farm_monthly_summaries.c
    with engine.begin() as conn:
        farm = conn.execute(select(func.min(fm.farm_id)).where(fm.year_month == "2024-03")).scalar()
        conn.execute(
            update(farm_monthly_summaries)
            .where(fm.year_month == "2024-03", fm.farm_id == farm)
            .values(unpriced_btc_per_th_per_w=fm.unpriced_btc_per_th_per_w * 0.5)
        )
    return {"summary_mismatches": 1, "dates": [date(2024, 3, 30)]}  # the month's roll-up


def _price_behind_the_rollups(engine: Engine) -> dict[str, Any]:
    """A GBP price written without rebuilding the month: its value columns no longer hold."""
    with engine.begin() as conn:
        conn.execute(
            btc_prices.insert().values(
                price_date=date(2024, 4, 1),
                currency="GBP",
                price=55_000.0,
                source="test",
                fetched_at=day_start_utc(date(2024, 4, 2)),
            )
        )
    # the farm-month rows and each model's bitcoin farm-month rows of April
    return {"summary_mismatches": 1 + len(MODELS), "dates": [date(2024, 4, 1)]}


PROBLEMS: dict[str, Callable[[Engine], dict[str, Any]]] = {
    "tamper_farm_month": _tamper_farm_month,
    "price_behind_the_rollups": _price_behind_the_rollups,
    "delete_calculations": _delete_calcs,
    "change_record_energy": _change_record_energy,
    "remove_period_status": _remove_period_status,
    "tamper_daily_summary": _tamper_daily_summary,
    "tamper_bitcoin_month": _tamper_bitcoin_month,
    "change_period_difficulty": _change_period_difficulty,
    "tamper_farm_day": _tamper_farm_day,
    "tamper_bitcoin_farm_day": _tamper_bitcoin_farm_day,
    "orphan_calculations": _orphan_calculations,
}


@pytest.mark.db
@pytest.mark.parametrize(
    "tamper", [_tamper_farm_day, _swap_farm_day_energy, _tamper_bitcoin_farm_day]
)
@pytest.mark.slow
def test_tampered_farm_day_rows_are_counted_and_fixed(
    synthetic: Engine, tamper: Callable[[Engine], dict[str, Any]]
) -> None:
    expected = tamper(synthetic)
    (day,) = expected["dates"]
    exact = _status(synthetic, exact=True)
    # the farm-day rows, and the month's roll-up that no longer adds up to them
    assert exact.summary_mismatches == 2
    assert {m.table for m in exact.summary_details} in (
        {"farm_daily_summaries", "farm_monthly_summaries"},
        {"bitcoin_farm_daily_summaries", "bitcoin_farm_monthly_summaries"},
    )
    assert exact.problem_dates == [day]
    one_date = _status(synthetic, start=day, end=day)
    if tamper is not _swap_farm_day_energy:  # the screen sees sums; a swap keeps them
        assert _counts(_status(synthetic))["summary_mismatches"] == 2
    assert one_date.problem_dates == [day] or tamper is _swap_farm_day_energy
    # Resummarising the date (what reconciliation does for a summary mismatch) fixes it.
    with synthetic.connect() as conn:
        timeline = load_timeline(conn)
    recalculate(synthetic, day, MODELS, timeline, calculations=False)
    assert _counts(_status(synthetic, exact=True))["summary_mismatches"] == 0
    assert _counts(_status(synthetic))["summary_mismatches"] == 0


@pytest.mark.db
@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_each_problem_is_counted_exactly(synthetic: Engine, problem: str) -> None:
    expected = PROBLEMS[problem](synthetic)
    dates = expected.pop("dates")
    clean = {
        "dates_checked": 3,
        "incomplete_dates": [],
        "missing_calculations": 0,
        "stale_calculations": 0,
        "pending_calculations": 0,
        "summary_mismatches": 0,
        "period_total_mismatches": 0,
        "stale_condition_periods": 0,
    }
    screened = _status(synthetic)
    exact = _status(synthetic, exact=True)
    assert _counts(screened) == clean | expected
    assert _counts(exact) == clean | expected
    assert screened.problem_dates == dates
    with synthetic.connect() as conn:
        analysis = analyze_reconciliation_status(conn, screened)
    kinds = {f.kind for f in analysis.findings}
    assert kinds and all(f.commands for f in analysis.findings)
    named = {
        "missing_calculations": "missing",
        "stale_calculations": "stale",
        "summary_mismatches": "summary_mismatch",
        "period_total_mismatches": "period_totals",
        "stale_condition_periods": "stale_conditions",
        "incomplete_dates": "incomplete",
    }
    assert kinds == {named[k] for k in expected}


@pytest.mark.db
def test_prices_written_through_store_keep_the_rollups_whole(synthetic: Engine) -> None:
    """``prices.store`` rebuilds the months it prices; the roll-ups then carry the values."""
    fm = farm_monthly_summaries.c
    with synthetic.begin() as conn:
        store(
            conn,
            [DailyPrice(date(2024, 4, 1), "GBP", 55_000.0, "test")],
            day_start_utc(date(2024, 4, 2)),
        )
    assert _counts(_status(synthetic, exact=True))["summary_mismatches"] == 0
    with synthetic.connect() as conn:
        april = conn.execute(
            select(func.sum(fm.btc_per_th_per_w), func.sum(fm.btc_per_th_per_w_gbp)).where(
                fm.year_month == "2024-04"
            )
        ).one()
    assert april[0] > 0 and april[1] == pytest.approx(april[0] * 55_000.0, rel=1e-12)


@pytest.mark.db
def test_pending_periods_are_counted_not_missing(engine: Engine) -> None:
    from curtailcoin.pipeline import prepare_database

    prepare_database(engine)
    with engine.connect() as conn:
        timeline = load_timeline(conn)
    latest = timeline.latest_known_start()
    assert latest is not None
    day = (latest + timedelta(days=30)).date()  # beyond the 21-day rule: no known difficulty
    generate(engine, day, day, MODELS)
    status = _status(engine, start=day, end=day)
    report = status.per_date[0]
    assert report.pending == report.farm_periods * 4 > 0
    assert report.missing == report.stale == 0
    assert status.to_json()["pending_calculations"] == report.pending
    assert report.complete  # pending is reported, but no fix can do anything yet


def test_fix_commands() -> None:
    days = [date(2025, 1, d) for d in (1, 2, 3, 7)]
    assert fix_commands(days) == [
        "curtailcoin reconcile range 2025-01-01 2025-01-03",
        "curtailcoin reconcile date 2025-01-07",
    ]
    assert fix_commands([date(2025, 1, d) for d in range(1, 30, 2)]) == [
        "curtailcoin reconcile run"
    ]
