"""Fleet sizing: one scenario over many fleet sizes at once, and the curtailment duration curve.

Pure and vectorised: the site's per-period energy vector is read once, and every size is a row
of one ``sizes × periods`` array (``min(E, C_i) × uptime``), so a 50-size sweep costs a few
array operations, not a query per size. Figures equal :mod:`curtailcoin.economics.model`'s for
the same size up to summation order (numpy's pairwise sums here, ``math.fsum`` there).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from curtailcoin.economics.inputs import (
    PERIOD_HOURS,
    Assumptions,
    Calendar,
    Fleet,
    Floats,
    SitePeriods,
    miners_for_mw,
)
from curtailcoin.economics.model import btc_per_mwh
from curtailcoin.economics.results import DurationPoint, SizePoint
from curtailcoin.pipeline.inputs import BadInput

HOURS_PER_YEAR = 365.25 * 24
MAX_SIZES = 200
"""The most fleet sizes one sweep takes (bounded work per call)."""


def size_grid(low_mw: float, high_mw: float, count: int) -> list[float]:
    """``count`` sizes evenly from ``low_mw`` to ``high_mw`` MW inclusive (checked)."""
    if not (np.isfinite(low_mw) and np.isfinite(high_mw)) or low_mw <= 0 or high_mw < low_mw:
        raise BadInput(
            f"sizes {low_mw:g}:{high_mw:g} are not allowed: use MIN:MAX:COUNT MW with "
            "0 < MIN <= MAX"
        )
    if not 1 <= count <= MAX_SIZES:
        raise BadInput(f"size count {count} is not allowed: use 1..{MAX_SIZES}")
    if count == 1:
        return [float(low_mw)]
    grid: list[float] = np.linspace(low_mw, high_mw, count).tolist()
    return grid


_CHUNK_CELLS = 4_000_000
"""Sizes × periods cells held at once (~32 MB a float array)."""


def _month_sums(values: Floats, bounds: NDArray[np.intp]) -> Floats:
    """Row sums of ``values`` over each column slice ``bounds[k]:bounds[k + 1]``."""
    running = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(values, axis=1)], axis=1)
    sums: Floats = running[:, bounds[1:]] - running[:, bounds[:-1]]
    return sums


def sweep(
    periods: SitePeriods,
    model_key: str,
    hashrate_th: float,
    power_w: float,
    sizes_mw: list[float],
    assumptions: Assumptions,
    price_gbp_by_day: Floats,
    fee_btc_per_block: Floats | None = None,
    cal: Calendar | None = None,
) -> list[SizePoint]:
    """Each size's BTC, utilisation, revenue (per MW too), margin and payback over the range.

    A size too small for one miner raises ``BadInput``. Revenue counts BTC with a price only,
    payback the first month whose cumulative margin covers the size's capex (None: not within
    the range, or no capex).
    """
    cal = cal or Calendar.of(periods.start, periods.end)
    miners = [miners_for_mw(power_w, mw) for mw in sizes_mw]
    for mw, n in zip(sizes_mw, miners, strict=True):
        if n < 1:
            raise BadInput(
                f"size {mw:g} MW is not allowed: one {model_key} needs {power_w / 1e6:g} MW"
            )
    fleets = [Fleet(model_key, hashrate_th, power_w, n) for n in miners]
    capacity = np.array([f.capacity_mwh_per_period for f in fleets])
    keep = 1.0 - assumptions.pool_fee_pct / 100.0
    factor = btc_per_mwh(hashrate_th, power_w, periods, fee_btc_per_block)
    value = factor * price_gbp_by_day[periods.day]
    btc_weight = np.where(np.isnan(factor), 0.0, factor) * keep
    value_weight = np.where(np.isnan(value), 0.0, value) * keep
    # the first period of each month of the range: month sums are differences of running sums
    firsts = [i for i, d in enumerate(cal.dates) if i == 0 or d.day == 1]
    month_bounds = np.searchsorted(periods.day, np.array([*firsts, len(cal.dates)]))
    opex_month = np.array(
        [
            assumptions.opex_gbp_per_month * float(cal.month_share[a:b].sum())
            for a, b in zip(firsts, [*firsts[1:], len(cal.dates)], strict=True)
        ]
    )
    btc = np.empty(len(fleets))
    used_total = np.empty(len(fleets))
    revenue = np.empty(len(fleets))
    margin_month = np.empty((len(fleets), len(firsts)))
    step = max(1, _CHUNK_CELLS // max(1, periods.energy_mwh.size))
    for lo in range(0, len(fleets), step):  # bounded memory: a chunk of sizes at a time
        hi = min(len(fleets), lo + step)
        used = np.minimum(periods.energy_mwh[None, :], capacity[lo:hi, None]) * (
            assumptions.uptime_pct / 100.0
        )
        btc[lo:hi] = used @ btc_weight
        used_total[lo:hi] = used.sum(axis=1)
        revenue[lo:hi] = used @ value_weight
        used_month = _month_sums(used, month_bounds)
        revenue_month = _month_sums(used * value_weight[None, :], month_bounds)
        margin_month[lo:hi] = (
            revenue_month - assumptions.energy_cost_gbp_per_mwh * used_month - opex_month[None, :]
        )
    cumulative = np.cumsum(margin_month, axis=1)
    margin = margin_month.sum(axis=1)
    total_capacity = capacity * float(cal.periods.sum())

    points: list[SizePoint] = []
    for i, (mw, fleet) in enumerate(zip(sizes_mw, fleets, strict=True)):
        capex = assumptions.capex_gbp(fleet)
        months: int | None = None
        if capex > 0 and cumulative.shape[1]:
            reached = np.nonzero(cumulative[i] >= capex)[0]
            months = int(reached[0]) + 1 if reached.size else None
        points.append(
            SizePoint(
                size_mw=float(mw),
                miners=fleet.miners,
                capacity_mw=fleet.capacity_mw,
                btc=float(btc[i]),
                used_mwh=float(used_total[i]),
                utilisation=float(used_total[i] / total_capacity[i]),
                revenue_gbp=float(revenue[i]),
                revenue_per_mw_gbp=float(revenue[i] / fleet.capacity_mw),
                capex_gbp=capex,
                margin_gbp=float(margin[i]),
                payback_months=months,
            )
        )
    return points


def best_size(points: list[SizePoint]) -> tuple[SizePoint | None, str]:
    """The size with the shortest payback (the smallest such size on a tie), and why."""
    paying = [p for p in points if p.payback_months is not None]
    if not paying:
        if all(p.capex_gbp <= 0 for p in points):
            return None, "no capex given: every size pays back at once"
        return None, "no size pays back within the range"
    best = min(paying, key=lambda p: (p.payback_months, p.size_mw))
    return best, "shortest payback (smallest size on a tie)"


def duration_curve(
    periods: SitePeriods, thresholds_mw: list[float], cal: Calendar | None = None
) -> list[DurationPoint]:
    """Hours with at least ``x`` MW curtailed at the site, for each ``x`` (MW in a period =
    MWh ÷ 0.5 h), over the range and per year of it (× 8,766 h ÷ the range's hours)."""
    cal = cal or Calendar.of(periods.start, periods.end)
    range_hours = PERIOD_HOURS * float(cal.periods.sum())
    mw: NDArray[np.float64] = np.sort(periods.energy_mwh / PERIOD_HOURS)
    at_least = mw.size - np.searchsorted(mw, np.array(thresholds_mw, dtype=np.float64), "left")
    return [
        DurationPoint(
            float(x),
            PERIOD_HOURS * int(n),
            PERIOD_HOURS * int(n) * HOURS_PER_YEAR / range_hours if range_hours else 0.0,
        )
        for x, n in zip(thresholds_mw, at_least.tolist(), strict=True)
    ]


def default_thresholds(periods: SitePeriods, count: int = 50) -> list[float]:
    """``count`` thresholds evenly up to the site's largest MW in a period."""
    top = float(periods.energy_mwh.max()) / PERIOD_HOURS if periods.energy_mwh.size else 0.0
    if top <= 0:
        return [0.0]
    grid: list[float] = np.linspace(top / count, top, count).tolist()
    return grid
