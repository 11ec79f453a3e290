"""The scenario's inputs: the fleet, the operator's assumptions, the site's periods and the
range's calendar (plain values, checked where they are made; no I/O).

``Assumptions`` raises ``BadInput`` (one line naming the value and what is allowed) so every
entry point rejects the same values alike.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray

from curtailcoin.economics.results import Assumed, FeeMode, FleetSpec
from curtailcoin.pipeline.inputs import BadInput
from curtailcoin.settlement import periods_in_day

PERIOD_HOURS = 0.5
"""Every settlement period lasts 30 minutes (46 and 50 on the clock-change days)."""

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Fleet:
    """``miners`` machines of ``hashrate_th`` TH/s drawing ``power_w`` W each."""

    model_key: str
    hashrate_th: float
    power_w: float
    miners: int

    @property
    def capacity_mw(self) -> float:
        return self.miners * self.power_w / 1e6

    @property
    def capacity_mwh_per_period(self) -> float:
        """``C = N × P_W × 0.5 h / 1e6``."""
        return self.miners * self.power_w * PERIOD_HOURS / 1e6


def miners_for_mw(power_w: float, size_mw: float) -> int:
    """Whole miners that fit in ``size_mw`` (rounded down; a hair of float error forgiven)."""
    return math.floor(size_mw * 1e6 / power_w + 1e-9)


def _check(name: str, value: float | None, low: float, high: float | None = None) -> None:
    if value is None:
        return
    allowed = f"{low:g}..{high:g}" if high is not None else f">= {low:g}"
    if not math.isfinite(value) or value < low or (high is not None and value > high):
        raise BadInput(f"{name} {value!r} is not allowed: use {allowed}")


@dataclass(frozen=True)
class Assumptions:
    """What the operator assumes; percentages as given (``uptime_pct`` 100 = always on)."""

    uptime_pct: float = 100.0
    pool_fee_pct: float = 0.0
    fees: FeeMode = "none"
    energy_cost_gbp_per_mwh: float = 0.0
    capex_gbp_per_miner: float | None = None
    capex_gbp_per_th: float | None = None
    opex_gbp_per_month: float = 0.0
    btc_price_gbp: float | None = None
    """A constant BTC/GBP price; None = each date's stored price."""

    def __post_init__(self) -> None:
        _check("uptime", self.uptime_pct, 0.0, 100.0)
        _check("pool fee", self.pool_fee_pct, 0.0, 100.0)
        _check("energy cost", self.energy_cost_gbp_per_mwh, -1e6, 1e6)
        _check("capex per miner", self.capex_gbp_per_miner, 0.0)
        _check("capex per TH/s", self.capex_gbp_per_th, 0.0)
        _check("opex per month", self.opex_gbp_per_month, 0.0)
        if self.btc_price_gbp is not None and not (
            math.isfinite(self.btc_price_gbp) and self.btc_price_gbp > 0
        ):
            raise BadInput(f"BTC price {self.btc_price_gbp!r} is not allowed: use a number > 0")
        if self.fees not in ("none", "actual"):
            raise BadInput(f"fees {self.fees!r} is not allowed: use none or actual")
        if self.capex_gbp_per_miner is not None and self.capex_gbp_per_th is not None:
            raise BadInput("capex: give it per miner or per TH/s, not both")

    def capex_gbp(self, fleet: Fleet) -> float:
        if self.capex_gbp_per_miner is not None:
            return fleet.miners * self.capex_gbp_per_miner
        if self.capex_gbp_per_th is not None:
            return fleet.miners * fleet.hashrate_th * self.capex_gbp_per_th
        return 0.0

    def assumed(self) -> Assumed:
        return Assumed(
            self.uptime_pct,
            self.pool_fee_pct,
            self.fees,
            self.energy_cost_gbp_per_mwh,
            self.capex_gbp_per_miner,
            self.capex_gbp_per_th,
            self.opex_gbp_per_month,
            self.btc_price_gbp,
        )


def fleet_spec(fleet: Fleet, assumptions: Assumptions) -> FleetSpec:
    return FleetSpec(
        fleet.model_key,
        fleet.hashrate_th,
        fleet.power_w,
        fleet.miners,
        fleet.capacity_mw,
        fleet.capacity_mwh_per_period,
        fleet.miners * fleet.hashrate_th,
        assumptions.capex_gbp(fleet),
    )


@dataclass(frozen=True)
class SitePeriods:
    """The site's periods with curtailment over ``start..end``, sorted by date and period.

    ``day`` is the index of the period's date from ``start`` (0 = ``start``); ``difficulty``
    and ``subsidy_btc`` are the stored effective values, NaN when pending.
    """

    start: date
    end: date
    day: NDArray[np.int64]
    period: NDArray[np.int64]
    energy_mwh: Floats
    difficulty: Floats
    subsidy_btc: Floats

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def date_of(self, index: int) -> date:
        return self.start + timedelta(days=index)


@dataclass(frozen=True)
class Calendar:
    """Per day of the range: its date, its periods (46/48/50) and its share of a month's opex."""

    dates: list[date]
    periods: NDArray[np.int64]
    month_share: Floats  # 1 / days in the date's month

    @classmethod
    def of(cls, start: date, end: date) -> Calendar:
        dates = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        return cls(
            dates,
            np.array([periods_in_day(d) for d in dates], dtype=np.int64),
            np.array([1.0 / calendar.monthrange(d.year, d.month)[1] for d in dates]),
        )
