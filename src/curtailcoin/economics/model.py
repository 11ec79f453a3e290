"""A fixed fleet at a site, run only when the site is curtailed: the pure model (no I/O).

Per settlement period (every one is 30 minutes, on 46- and 50-period days too):

* available ``E`` = the site's curtailed MWh; fleet capacity ``C = N × P_W × 0.5 h / 1e6`` MWh;
* used ``= min(E, C) × uptime``, spilled ``= E − used``;
* BTC = the one formula of :mod:`curtailcoin.mining` on the used energy, with the period's
  stored effective difficulty and subsidy (time-weighted by :mod:`curtailcoin.network`), plus
  the period's fees per block when ``fees=actual``, less the pool fee.

With uptime 100 %, no pool fee, no fees and ``C ≥ E`` in every period this is the energy-limited
figure, operation for operation. A pending difficulty or a missing fee leaves the period's BTC
unknown (its energy counted apart); a missing price leaves its revenue unknown: never filled.
Roll-ups are ``math.fsum`` sums of the period figures (correctly rounded, order-independent).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from curtailcoin.economics.inputs import (
    PERIOD_HOURS,
    Assumptions,
    Calendar,
    Fleet,
    Floats,
    SitePeriods,
)
from curtailcoin.economics.results import Level, Payback, Rollup
from curtailcoin.mining import btc_array


@dataclass(frozen=True)
class PeriodFigures:
    """The model's per-period arrays (NaN where a figure is unknown)."""

    used_mwh: Floats
    spilled_mwh: Floats
    btc: Floats  # NaN: difficulty pending or fee data missing
    revenue_gbp: Floats  # NaN: BTC unknown or no price
    pending: NDArray[np.bool_]
    no_fee_data: NDArray[np.bool_]


def btc_per_mwh(
    hashrate_th: float, power_w: float, periods: SitePeriods, fee_btc_per_block: Floats | None
) -> Floats:
    """BTC per used MWh of each period, before the pool fee (NaN when unknown): the block
    reward is the subsidy plus, with fees, the period's fees per block."""
    reward = (
        periods.subsidy_btc
        if fee_btc_per_block is None
        else (periods.subsidy_btc + fee_btc_per_block)
    )
    factor: Floats = btc_array(1.0, hashrate_th, power_w, periods.difficulty, reward)
    return factor


def evaluate(
    periods: SitePeriods,
    fleet: Fleet,
    assumptions: Assumptions,
    price_gbp_by_day: Floats,
    fee_btc_per_block: Floats | None = None,
) -> PeriodFigures:
    """Every period's used, spilled, BTC and revenue (``price_gbp_by_day``: per day of the
    range, NaN when the date has no price)."""
    energy = periods.energy_mwh
    used = np.minimum(energy, fleet.capacity_mwh_per_period) * (assumptions.uptime_pct / 100.0)
    keep = 1.0 - assumptions.pool_fee_pct / 100.0
    btc = used * btc_per_mwh(fleet.hashrate_th, fleet.power_w, periods, fee_btc_per_block) * keep
    pending = np.isnan(periods.difficulty) | np.isnan(periods.subsidy_btc)
    no_fee = (
        np.zeros(energy.shape, dtype=np.bool_)
        if fee_btc_per_block is None
        else np.isnan(fee_btc_per_block) & ~pending
    )
    return PeriodFigures(
        used, energy - used, btc, btc * price_gbp_by_day[periods.day], pending, no_fee
    )


def _zero(values: Floats) -> list[float]:
    """NaN → 0.0, as Python floats (``math.fsum`` of list slices is the fast path)."""
    out: list[float] = np.where(np.isnan(values), 0.0, values).tolist()
    return out


@dataclass(frozen=True)
class _Sums:
    """The period figures as lists, ready for ``math.fsum`` over any slice."""

    available: list[float]
    used: list[float]
    spilled: list[float]
    btc: list[float]
    pending: list[float]
    no_fee: list[float]
    revenue: list[float]
    unpriced: list[float]
    ran: NDArray[np.int64]  # cumulative count of periods with energy used

    @classmethod
    def of(cls, periods: SitePeriods, figures: PeriodFigures) -> _Sums:
        used = figures.used_mwh
        known_btc = ~np.isnan(figures.btc)
        unpriced = np.where(known_btc & np.isnan(figures.revenue_gbp), figures.btc, 0.0)
        return cls(
            periods.energy_mwh.tolist(),
            used.tolist(),
            figures.spilled_mwh.tolist(),
            _zero(figures.btc),
            np.where(figures.pending, used, 0.0).tolist(),
            np.where(figures.no_fee_data, used, 0.0).tolist(),
            _zero(figures.revenue_gbp),
            unpriced.tolist(),
            np.concatenate([[0], np.cumsum(used > 0)]).astype(np.int64),
        )


def _rollup(
    key: str,
    sums: _Sums,
    lo: int,
    hi: int,
    capacity_mwh: float,
    capacity_mw: float,
    opex_gbp: float,
    assumptions: Assumptions,
    latest_gbp: float | None,
    unknown_btc: bool = False,
    unpriced: bool = False,
) -> Rollup:
    """Sums of the periods ``lo:hi``; ``unknown_btc`` / ``unpriced`` mark a period row whose
    BTC / revenue is missing (shown as None). Revenue (and margin) is also None when the row
    has BTC and none of it is priced; otherwise it is the priced part, ``unpriced_btc`` the
    rest."""
    f = math.fsum
    used = f(sums.used[lo:hi])
    btc = f(sums.btc[lo:hi])
    revenue = f(sums.revenue[lo:hi])
    no_price = f(sums.unpriced[lo:hi])
    unpriced = unpriced or (no_price > 0 and no_price == btc)  # none of its BTC has a price
    energy_cost = assumptions.energy_cost_gbp_per_mwh * used
    return Rollup(
        key=key,
        available_mwh=f(sums.available[lo:hi]),
        used_mwh=used,
        spilled_mwh=f(sums.spilled[lo:hi]),
        capacity_mwh=capacity_mwh,
        utilisation=used / capacity_mwh if capacity_mwh > 0 else 0.0,
        hours_run_h=PERIOD_HOURS * int(sums.ran[hi] - sums.ran[lo]),
        full_load_hours_h=used / capacity_mw if capacity_mw > 0 else 0.0,
        btc=None if unknown_btc else btc,
        pending_mwh=f(sums.pending[lo:hi]),
        no_fee_data_mwh=f(sums.no_fee[lo:hi]),
        revenue_gbp=None if unknown_btc or unpriced else revenue,
        unpriced_btc=no_price,
        revenue_at_latest_price_gbp=None if latest_gbp is None or unknown_btc else btc * latest_gbp,
        energy_cost_gbp=energy_cost,
        opex_gbp=opex_gbp,
        margin_gbp=None if unknown_btc or unpriced else revenue - energy_cost - opex_gbp,
    )


@dataclass(frozen=True)
class Rollups:
    """The rows of one level, the total and the payback."""

    rows: list[Rollup]
    total: Rollup
    payback: Payback


def _group_keys(cal: Calendar, level: Level) -> list[tuple[str, int, int]]:
    """(key, first day index, day index after the last) of each day, month or year."""
    groups: list[tuple[str, int, int]] = []
    for i, d in enumerate(cal.dates):
        key = d.isoformat() if level == "day" else d.isoformat()[: 7 if level == "month" else 4]
        if groups and groups[-1][0] == key:
            groups[-1] = (key, groups[-1][1], i + 1)
        else:
            groups.append((key, i, i + 1))
    return groups


class RollupMaker:
    """The roll-ups of one evaluated scenario: rows of any level made one at a time (an export
    streams them), the total and the payback; the period figures are held once, as lists."""

    def __init__(
        self,
        periods: SitePeriods,
        figures: PeriodFigures,
        fleet: Fleet,
        assumptions: Assumptions,
        latest_gbp: float | None,
        cal: Calendar | None = None,
    ) -> None:
        self.periods, self.figures, self.fleet = periods, figures, fleet
        self.assumptions, self.latest_gbp = assumptions, latest_gbp
        self.cal = cal or Calendar.of(periods.start, periods.end)
        self.sums = _Sums.of(periods, figures)
        # period slice of each day: periods of day i are bounds[i]:bounds[i + 1]
        self.bounds: list[int] = np.searchsorted(
            periods.day, np.arange(len(self.cal.dates) + 1)
        ).tolist()
        self.cum_periods: list[int] = np.concatenate([[0], np.cumsum(self.cal.periods)]).tolist()
        self.opex_list: list[float] = (
            assumptions.opex_gbp_per_month * self.cal.month_share
        ).tolist()

    def group(self, key: str, d0: int, d1: int) -> Rollup:
        """The roll-up of the days ``d0:d1`` of the range."""
        fleet = self.fleet
        capacity = fleet.capacity_mwh_per_period * (self.cum_periods[d1] - self.cum_periods[d0])
        return _rollup(
            key,
            self.sums,
            self.bounds[d0],
            self.bounds[d1],
            capacity,
            fleet.capacity_mw,
            math.fsum(self.opex_list[d0:d1]),
            self.assumptions,
            self.latest_gbp,
        )

    def _period_rows(self) -> Iterator[Rollup]:
        unknown = np.isnan(self.figures.btc).tolist()
        unpriced = np.isnan(self.figures.revenue_gbp).tolist()
        cal, fleet = self.cal, self.fleet
        for i in range(len(self.sums.used)):
            d = int(self.periods.day[i])
            yield _rollup(
                f"{cal.dates[d].isoformat()}/{int(self.periods.period[i])}",
                self.sums,
                i,
                i + 1,
                fleet.capacity_mwh_per_period,
                fleet.capacity_mw,
                self.opex_list[d] / int(cal.periods[d]),
                self.assumptions,
                self.latest_gbp,
                unknown[i],
                unpriced[i],
            )

    def rows(self, level: Level) -> Iterator[Rollup]:
        """The rows at ``level``, one at a time: a period row per period with curtailment; a
        day, month or year row for each of the range, curtailed or not."""
        if level == "period":
            return self._period_rows()
        return (self.group(*g) for g in _group_keys(self.cal, level))

    def total(self) -> Rollup:
        return self.group("total", 0, len(self.cal.dates))

    def payback(self, months: Sequence[Rollup] | None = None) -> Payback:
        """The payback over the range's months (``months``: the month rows, when made)."""
        if months is None:
            months = list(self.rows("month"))
        return payback(months, self.assumptions.capex_gbp(self.fleet))


def rollups(
    periods: SitePeriods,
    figures: PeriodFigures,
    fleet: Fleet,
    assumptions: Assumptions,
    level: Level,
    latest_gbp: float | None,
    cal: Calendar | None = None,
) -> Rollups:
    """The rows at ``level`` (see :meth:`RollupMaker.rows`), the total and the payback."""
    maker = RollupMaker(periods, figures, fleet, assumptions, latest_gbp, cal)
    rows = list(maker.rows(level))
    return Rollups(rows, maker.total(), maker.payback(rows if level == "month" else None))


def payback(months: Sequence[Rollup], capex_gbp: float) -> Payback:
    """The first month whose cumulative margin covers ``capex_gbp`` (months counted from 1)."""
    if capex_gbp <= 0:
        return Payback("no_capex", capex_gbp, None, None, 0.0)
    margins: list[float] = []
    for i, month in enumerate(months):
        # unpriced BTC counts for nothing, its month's costs in full
        margins.append((month.revenue_gbp or 0.0) - month.energy_cost_gbp - month.opex_gbp)
        cumulative = math.fsum(margins)
        if cumulative >= capex_gbp:
            return Payback("reached", capex_gbp, i + 1, month.key, cumulative)
    return Payback("not_within_range", capex_gbp, None, None, math.fsum(margins))
