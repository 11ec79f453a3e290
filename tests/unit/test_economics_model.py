"""The site-economics model, pure: capacity, caps, BTC by the one formula, roll-ups, payback,
the sizing sweep and the duration curve (no database)."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curtailcoin.economics.inputs import Assumptions, Fleet, SitePeriods, miners_for_mw
from curtailcoin.economics.model import evaluate, payback, rollups
from curtailcoin.economics.results import Rollup
from curtailcoin.economics.sizing import best_size, duration_curve, size_grid, sweep
from curtailcoin.mining import btc_for_energy
from curtailcoin.pipeline.inputs import BadInput

D = 110_451_907_374_649.52
R = 3.125
S21 = ("S21", 200.0, 3500.0)


def site(
    energies: list[float],
    start: date = date(2025, 1, 17),
    day: list[int] | None = None,
    difficulty: list[float] | None = None,
) -> SitePeriods:
    n = len(energies)
    return SitePeriods(
        start,
        start if day is None else date.fromordinal(start.toordinal() + max(day)),
        np.array(day or [0] * n, dtype=np.int64),
        np.arange(1, n + 1, dtype=np.int64) if day is None else np.ones(n, dtype=np.int64),
        np.array(energies, dtype=np.float64),
        np.array(difficulty or [D] * n, dtype=np.float64),
        np.full(n, R),
    )


def prices(periods: SitePeriods, gbp: float = 80_000.0) -> np.ndarray:
    return np.full(periods.days, gbp)


def fleet(miners: int) -> Fleet:
    return Fleet(*S21, miners)


def test_capacity_is_half_an_hour_of_the_fleet() -> None:
    f = fleet(1000)
    assert f.capacity_mw == 3.5
    assert f.capacity_mwh_per_period == 1000 * 3500.0 * 0.5 / 1e6 == 1.75
    assert miners_for_mw(3500.0, 20.0) == 5714
    assert miners_for_mw(3050.0, 6.1) == 2000


@pytest.mark.parametrize(("day", "periods"), [(date(2025, 3, 30), 46), (date(2025, 10, 26), 50)])
def test_clock_change_days_keep_30_minute_periods(day: date, periods: int) -> None:
    s = site([1.0], start=day)
    out = rollups(
        s, evaluate(s, fleet(100), Assumptions(), prices(s)), fleet(100), Assumptions(), "day", None
    )
    assert out.rows[0].capacity_mwh == fleet(100).capacity_mwh_per_period * periods


def test_large_fleet_is_the_energy_limited_figure_bit_for_bit() -> None:
    energies = [0.25, 12.5, 97.125, 3.0]
    s = site(energies)
    f = fleet(1_000_000)  # 875 MWh a period: more than any period's energy
    figures = evaluate(s, f, Assumptions(), prices(s))
    for e, used, btc in zip(energies, figures.used_mwh, figures.btc, strict=True):
        per_mwh = btc_for_energy(1.0, 200.0, 3500.0, D, R)
        assert used == e and btc == e * per_mwh  # calculations.calculation_rows' operations
    total = rollups(s, figures, f, Assumptions(), "day", None).total
    assert total.btc == math.fsum(e * btc_for_energy(1.0, 200.0, 3500.0, D, R) for e in energies)
    assert total.spilled_mwh == 0.0


def test_cap_uptime_pool_fee() -> None:
    s = site([10.0, 1.0])
    f = fleet(2000)  # C = 3.5 MWh
    a = Assumptions(uptime_pct=90.0, pool_fee_pct=2.0)
    figures = evaluate(s, f, a, prices(s))
    assert figures.used_mwh.tolist() == [3.5 * 0.9, 1.0 * 0.9]
    assert figures.spilled_mwh.tolist() == pytest.approx([10.0 - 3.15, 0.1])
    per_mwh = btc_for_energy(1.0, 200.0, 3500.0, D, R)
    assert figures.btc.tolist() == pytest.approx([3.15 * per_mwh * 0.98, 0.9 * per_mwh * 0.98])


def test_pending_fee_missing_and_unpriced_are_shown_missing() -> None:
    s = site([2.0, 3.0, 4.0], difficulty=[D, math.nan, D])
    f = fleet(1_000_000)
    fees = np.array([0.05, 0.05, math.nan])
    a = Assumptions(fees="actual")
    figures = evaluate(s, f, a, np.array([math.nan]), fees)
    out = rollups(s, figures, f, a, "period", None)
    first, pending, no_fee = out.rows
    assert first.btc == pytest.approx(2.0 * btc_for_energy(1.0, 200.0, 3500.0, D, R + 0.05))
    assert first.revenue_gbp is None and first.unpriced_btc == first.btc  # no price that day
    assert pending.btc is None and pending.pending_mwh == 3.0
    assert no_fee.btc is None and no_fee.no_fee_data_mwh == 4.0
    assert out.total.btc == first.btc and out.total.revenue_gbp is None


def test_rollup_levels_cover_every_day_of_the_range() -> None:
    s = site([1.0, 2.0, 4.0], start=date(2024, 12, 31), day=[0, 1, 31])  # to 2025-01-31
    f = fleet(10)
    a = Assumptions(opex_gbp_per_month=310.0, energy_cost_gbp_per_mwh=1.0)
    figures = evaluate(s, f, a, prices(s))
    days = rollups(s, figures, f, a, "day", None)
    assert len(days.rows) == 32 and days.rows[5].used_mwh == 0.0
    months = rollups(s, figures, f, a, "month", None).rows
    assert [m.key for m in months] == ["2024-12", "2025-01"]
    assert months[0].opex_gbp == pytest.approx(10.0) and months[1].opex_gbp == pytest.approx(310.0)
    years = rollups(s, figures, f, a, "year", None).rows
    assert [y.key for y in years] == ["2024", "2025"]
    assert days.total.used_mwh == sum(m.used_mwh for m in months)
    assert days.total.energy_cost_gbp == days.total.used_mwh


def _month(key: str, revenue: float) -> Rollup:
    return Rollup(key, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, revenue, 0, None, 0, 0, revenue)


def test_payback_month() -> None:
    months = [_month("2025-01", 40.0), _month("2025-02", 40.0), _month("2025-03", 40.0)]
    reached = payback(months, 80.0)
    assert (reached.status, reached.months, reached.month) == ("reached", 2, "2025-02")
    assert payback(months, 121.0).status == "not_within_range"
    assert payback(months, 0.0).status == "no_capex"


energy_lists = st.lists(st.floats(0.0, 500.0, allow_nan=False), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(
    energy_lists,
    st.integers(1, 200_000),
    st.integers(1, 200_000),
    st.floats(0.0, 100.0),
    st.floats(0.0, 99.0),
)
def test_properties(energies: list[float], n1: int, n2: int, uptime: float, pool: float) -> None:
    s = site(energies)
    a = Assumptions(uptime_pct=uptime, pool_fee_pct=pool)
    small, large = fleet(min(n1, n2)), fleet(max(n1, n2))
    fs, fl = evaluate(s, small, a, prices(s)), evaluate(s, large, a, prices(s))
    e = s.energy_mwh
    assert np.all(fs.used_mwh <= np.minimum(e, small.capacity_mwh_per_period))
    assert np.all(fs.used_mwh >= 0) and np.all(fs.spilled_mwh >= 0)
    assert np.allclose(fs.used_mwh + fs.spilled_mwh, e)
    assert np.all(fs.used_mwh <= fl.used_mwh) and np.all(fs.btc <= fl.btc)  # monotone in N
    ts = rollups(s, fs, small, a, "day", None).total
    tl = rollups(s, fl, large, a, "day", None).total
    assert 0.0 <= ts.utilisation <= 1.0 + 1e-12
    assert ts.btc is not None and tl.btc is not None and ts.btc <= tl.btc
    assert ts.used_mwh <= tl.used_mwh and ts.spilled_mwh >= tl.spilled_mwh


@settings(max_examples=30, deadline=None)
@given(energy_lists, st.lists(st.floats(0.01, 400.0), min_size=1, max_size=8))
def test_sweep_agrees_with_each_scenario(energies: list[float], sizes: list[float]) -> None:
    s = site(energies)
    a = Assumptions(uptime_pct=97.0, capex_gbp_per_miner=5.0)
    points = sweep(s, *S21, sizes, a, prices(s))
    for mw, point in zip(sizes, points, strict=True):
        f = fleet(miners_for_mw(3500.0, mw))
        total = rollups(s, evaluate(s, f, a, prices(s)), f, a, "month", None)
        assert point.miners == f.miners
        assert point.btc == pytest.approx(total.total.btc, rel=1e-9, abs=1e-15)
        assert point.utilisation == pytest.approx(total.total.utilisation, rel=1e-9, abs=1e-15)
        assert point.revenue_gbp == pytest.approx(total.total.revenue_gbp, rel=1e-9, abs=1e-9)
        assert point.payback_months == total.payback.months


def test_best_size_and_bad_sizes() -> None:
    s = site([50.0, 1.0, 1.0, 0.5])
    points = sweep(s, *S21, [1.0, 2.0, 100.0], Assumptions(capex_gbp_per_miner=0.01), prices(s))
    best, _ = best_size(points)
    assert best is not None and best.size_mw == 1.0  # all pay back at once: the smallest
    with pytest.raises(BadInput, match="one S21 needs"):
        sweep(s, *S21, [0.001], Assumptions(), prices(s))
    with pytest.raises(BadInput, match="MIN:MAX:COUNT"):
        size_grid(-1.0, 5.0, 3)
    assert size_grid(1.0, 500.0, 50)[-1] == 500.0 and len(size_grid(1.0, 500.0, 50)) == 50
    assert best_size(sweep(s, *S21, [1.0], Assumptions(), prices(s)))[0] is None


def test_duration_curve() -> None:
    s = site([5.0, 10.0, 10.0, 0.5])  # 10, 20, 20, 1 MW
    curve = duration_curve(s, [0.0, 1.0, 15.0, 20.0, 21.0])
    assert [p.hours for p in curve] == [2.0, 2.0, 1.0, 1.0, 0.0]
    assert curve[1].hours_per_year == pytest.approx(2.0 * 8766.0 / 24.0)


def test_bad_assumptions() -> None:
    with pytest.raises(BadInput, match="uptime 101"):
        Assumptions(uptime_pct=101.0)
    with pytest.raises(BadInput, match="not both"):
        Assumptions(capex_gbp_per_miner=1.0, capex_gbp_per_th=1.0)
    with pytest.raises(BadInput, match="BTC price"):
        Assumptions(btc_price_gbp=0.0)


def test_worked_example_of_the_docs() -> None:
    """docs/economics.md's worked example, figure by figure."""
    s = SitePeriods(
        date(2025, 1, 17),
        date(2025, 1, 17),
        np.zeros(4, dtype=np.int64),
        np.array([20, 21, 22, 23], dtype=np.int64),
        np.array([4.0, 15.0, 30.0, 9.0]),
        np.full(4, D),
        np.full(4, R),
    )
    f = fleet(miners_for_mw(3500.0, 20.0))
    a = Assumptions(
        uptime_pct=95.0,
        pool_fee_pct=2.0,
        energy_cost_gbp_per_mwh=5.0,
        capex_gbp_per_miner=3000.0,
        opex_gbp_per_month=3100.0,
    )
    assert (f.miners, f.capacity_mwh_per_period) == (5714, 9.9995)
    assert btc_for_energy(1.0, 200.0, 3500.0, D, R) == pytest.approx(0.00135513135, rel=1e-9)
    out = rollups(s, evaluate(s, f, a, np.array([80_000.0])), f, a, "period", None)
    assert [round(r.btc or 0.0, 8) for r in out.rows] == [
        0.00504651,
        0.01261564,
        0.01261564,
        0.01135465,
    ]
    t = out.total
    assert (t.available_mwh, round(t.used_mwh, 5), round(t.spilled_mwh, 5)) == (
        58.0,
        31.34905,
        26.65095,
    )
    assert (round(t.capacity_mwh, 3), round(t.utilisation, 4), t.hours_run_h) == (
        479.976,
        0.0653,
        2.0,
    )
    assert round(t.btc or 0.0, 8) == 0.04163244
    assert (round(t.revenue_gbp or 0.0, 2), round(t.energy_cost_gbp, 2)) == (3330.60, 156.75)
    assert (round(t.opex_gbp, 2), round(t.margin_gbp or 0.0, 2)) == (100.0, 3073.85)
    assert out.payback.status == "not_within_range" and out.payback.capex_gbp == 17_142_000
