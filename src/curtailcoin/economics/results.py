"""The typed answers of a scenario and a sizing sweep, each serialisable to JSON as is.

One dataclass per answer, with the unit in every field name, so the CLI, an API route and a
test read the same object; ``to_json`` turns dates into ISO strings and keeps ``None`` for a
figure that is missing (never a made-up number, never NaN).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

FeeMode = Literal["none", "actual"]
Level = Literal["period", "day", "month", "year"]
PaybackStatus = Literal["reached", "not_within_range", "no_capex"]


def to_json(value: Any) -> Any:
    """A dataclass (or list, dict, date) as JSON-ready values: dates as ISO strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class FleetSpec:
    """The fleet: ``miners`` machines of one model; capacity in MW and MWh per 30-min period."""

    model_key: str
    hashrate_th: float
    power_w: float
    miners: int
    capacity_mw: float
    capacity_mwh_per_period: float
    hashrate_total_th: float
    capex_gbp: float


@dataclass(frozen=True)
class PriceBasis:
    """Which BTC/GBP price values the BTC: each date's stored price, or one constant; and the
    latest stored price (the second, labelled value)."""

    label: str
    constant_gbp_per_btc: float | None
    latest_price_date: date | None
    latest_gbp_per_btc: float | None


@dataclass(frozen=True)
class Rollup:
    """The figures of one period, day, month, year or the whole range (``key``).

    ``btc`` counts only periods whose BTC is known: used energy in periods whose difficulty is
    pending is ``pending_mwh``, in periods without fee data (``fees=actual``) ``no_fee_data_mwh``.
    ``revenue_gbp`` counts only BTC with a price (``unpriced_btc`` has none); ``btc`` and
    ``revenue_gbp`` are None in a period row whose BTC is unknown. ``margin_gbp`` is revenue
    less energy cost and opex (capex is paid back from it: see :class:`Payback`).
    """

    key: str
    available_mwh: float
    used_mwh: float
    spilled_mwh: float
    capacity_mwh: float
    utilisation: float
    hours_run_h: float
    full_load_hours_h: float
    btc: float | None
    pending_mwh: float
    no_fee_data_mwh: float
    revenue_gbp: float | None
    unpriced_btc: float
    revenue_at_latest_price_gbp: float | None
    energy_cost_gbp: float
    opex_gbp: float
    margin_gbp: float | None


@dataclass(frozen=True)
class Payback:
    """When the cumulative monthly margin first covers the capex: ``months`` counted from the
    range's first month (1 = within it), or ``not_within_range``; ``no_capex`` when none was
    given. Revenue of unpriced BTC is not counted, so a payback is never earlier than shown."""

    status: PaybackStatus
    capex_gbp: float
    months: int | None
    month: str | None
    cumulative_margin_gbp: float


@dataclass(frozen=True)
class Assumed:
    """The assumptions a result used, as given."""

    uptime_pct: float
    pool_fee_pct: float
    fees: FeeMode
    energy_cost_gbp_per_mwh: float
    capex_gbp_per_miner: float | None
    capex_gbp_per_th: float | None
    opex_gbp_per_month: float
    btc_price_gbp: float | None


@dataclass(frozen=True)
class ScenarioResult:
    """One fleet at one site over ``start..end``: rows at ``level``, the total and the payback."""

    site: str
    site_units: int
    start: date
    end: date
    fleet: FleetSpec
    assumptions: Assumed
    price: PriceBasis
    level: Level
    rows: list[Rollup]
    total: Rollup
    payback: Payback


@dataclass(frozen=True)
class SizePoint:
    """One fleet size of a sweep (figures over the whole range)."""

    size_mw: float
    miners: int
    capacity_mw: float
    btc: float
    used_mwh: float
    utilisation: float
    revenue_gbp: float
    revenue_per_mw_gbp: float
    capex_gbp: float
    margin_gbp: float
    payback_months: int | None


@dataclass(frozen=True)
class DurationPoint:
    """Hours with at least ``mw`` curtailed at the site (MW in a period = MWh ÷ 0.5 h)."""

    mw: float
    hours: float
    hours_per_year: float


@dataclass(frozen=True)
class SizingResult:
    """A sweep of fleet sizes from one per-period energy vector, the size with the shortest
    payback (None without capex, or when no size pays back), and the duration curve."""

    site: str
    site_units: int
    start: date
    end: date
    model_key: str
    assumptions: Assumed
    price: PriceBasis
    sizes: list[SizePoint]
    best: SizePoint | None
    best_reason: str
    duration_curve: list[DurationPoint]


@dataclass(frozen=True)
class DurationResult:
    """The site's curtailment duration curve alone."""

    site: str
    site_units: int
    start: date
    end: date
    duration_curve: list[DurationPoint]
