"""Response models of the site-economics routes (``/api/scenario…``, issue 12): camelCase, the
unit in every field's description, a missing figure ``null`` with a ``missingReason``.

They mirror :mod:`curtailcoin.economics.results` field for field (the dataclasses' names carry
the units), so a response is ``Model.model_validate(to_json(result))`` plus the reasons.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from curtailcoin.web.schemas import ApiModel

Grain = Literal["total", "day", "month", "year"]


class FleetOut(ApiModel):
    model_key: str = Field(description="Miner model key (see /api/miner-models)")
    hashrate_th: float = Field(description="Hashrate of one miner, TH/s")
    power_w: float = Field(description="Power of one miner, W")
    miners: int = Field(description="Miners in the fleet (whole miners; MW sizes rounded down)")
    capacity_mw: float = Field(description="Fleet power, MW (miners × W ÷ 1e6)")
    capacity_mwh_per_period: float = Field(
        description="Energy the fleet can use in one 30-minute settlement period, MWh "
        "(C = N × P_W × 0.5 h ÷ 1e6)"
    )
    hashrate_total_th: float = Field(description="Fleet hashrate, TH/s")
    capex_gbp: float = Field(description="Fleet purchase cost, £ (0 when no capex is given)")


class AssumptionsOut(ApiModel):
    uptime_pct: float = Field(description="Share of the capped energy actually used, %")
    pool_fee_pct: float = Field(description="Pool fee taken off the BTC, %")
    fees: Literal["none", "actual"] = Field(
        description="Transaction fees: none (subsidy only) or actual (stored fee history)"
    )
    energy_cost_gbp_per_mwh: float = Field(description="Cost of the energy used, £/MWh")
    capex_gbp_per_miner: float | None = Field(description="Capex, £ per miner (or null)")
    capex_gbp_per_th: float | None = Field(description="Capex, £ per TH/s (or null)")
    opex_gbp_per_month: float = Field(description="Fixed running cost, £ per calendar month")
    btc_price_gbp: float | None = Field(
        description="Constant BTC price, £/BTC; null = each settlement date's stored price"
    )


class PriceBasisOut(ApiModel):
    label: str = Field(description="Which BTC/GBP price the revenue uses")
    constant_gbp_per_btc: float | None = Field(description="The constant price, £/BTC (or null)")
    latest_price_date: date | None = Field(description="Date of the latest stored BTC/GBP price")
    latest_gbp_per_btc: float | None = Field(
        description="The latest stored BTC/GBP price, £/BTC (null when none is stored)"
    )


class RollupOut(ApiModel):
    """One day, month, year or the whole range (``key``)."""

    key: str = Field(description="YYYY-MM-DD, YYYY-MM, YYYY, or 'total'")
    available_mwh: float = Field(description="Site's curtailed energy, MWh (positive)")
    used_mwh: float = Field(description="Energy the fleet used, MWh: Σ min(E, C) × uptime")
    spilled_mwh: float = Field(description="Curtailed energy the fleet could not use, MWh")
    capacity_mwh: float = Field(description="Fleet capacity over every period of the row, MWh")
    utilisation: float = Field(description="Used ÷ capacity, a fraction (0..1)")
    hours_run_h: float = Field(description="Hours with the fleet running (0.5 h per period), h")
    full_load_hours_h: float = Field(description="Used MWh ÷ fleet MW, h")
    btc: float | None = Field(
        description="Expected BTC, after the pool fee; counts periods whose BTC is known "
        "(null when none is)"
    )
    pending_mwh: float = Field(description="Used energy whose difficulty is pending (no BTC), MWh")
    no_fee_data_mwh: float = Field(
        description="Used energy without fee data when fees=actual (no BTC), MWh"
    )
    revenue_gbp: float | None = Field(
        description="BTC × each date's BTC/GBP price (or the constant), £; priced BTC only; "
        "null when none of the row's BTC has a price"
    )
    unpriced_btc: float = Field(description="BTC on dates without a stored price (not valued), BTC")
    revenue_at_latest_price_gbp: float | None = Field(
        description="The same BTC × the latest stored price (see price), £; null when unknown"
    )
    energy_cost_gbp: float = Field(description="Used MWh × energy cost, £")
    opex_gbp: float = Field(description="Opex of the row's days, £")
    margin_gbp: float | None = Field(
        description="Revenue − energy cost − opex, £ (capex is paid back from it); null with "
        "revenue"
    )
    missing_reason: str | None = Field(
        default=None,
        description="Why a figure of the row is null or partial (pending difficulty, no fee "
        "data, no stored price); null when nothing is missing",
    )


class PaybackOut(ApiModel):
    status: Literal["reached", "not_within_range", "no_capex"] = Field(
        description="reached, not_within_range (capex not covered by the range's end), or "
        "no_capex (none given)"
    )
    capex_gbp: float = Field(description="Capex to pay back, £")
    months: int | None = Field(description="Months from the range's first month (1 = within it)")
    month: str | None = Field(description="The month it is reached, YYYY-MM")
    cumulative_margin_gbp: float = Field(description="Margin over the whole range, £")


class ScenarioOut(ApiModel):
    """A fleet at a site, run only when the site was curtailed (docs/economics.md)."""

    site: str = Field(description="The site: BM unit(s), lead party or all wind")
    site_units: int = Field(description="BM units the registry has for the site")
    start: date = Field(alias="from", description="First settlement date")
    end: date = Field(alias="to", description="Last settlement date")
    grain: Grain = Field(description="Rows per day, month or year; total: no rows")
    fleet: FleetOut
    assumptions: AssumptionsOut
    price: PriceBasisOut
    rows: list[RollupOut] = Field(description="One row per day, month or year of the range")
    total: RollupOut
    payback: PaybackOut


class SizePointOut(ApiModel):
    size_mw: float = Field(description="Fleet size asked for, MW")
    miners: int = Field(description="Whole miners in that size")
    capacity_mw: float = Field(description="Fleet power, MW")
    btc: float = Field(description="Expected BTC over the range (known periods), BTC")
    used_mwh: float = Field(description="Energy used, MWh")
    utilisation: float = Field(description="Used ÷ capacity over the range, a fraction (0..1)")
    revenue_gbp: float = Field(description="Revenue of the priced BTC, £")
    revenue_per_mw_gbp: float = Field(description="Revenue ÷ fleet MW, £/MW")
    capex_gbp: float = Field(description="Capex of the size, £")
    margin_gbp: float = Field(description="Revenue − energy cost − opex, £")
    payback_months: int | None = Field(
        description="Months until the cumulative margin covers the capex; null: not within the "
        "range or no capex"
    )


class DurationPointOut(ApiModel):
    mw: float = Field(description="Threshold, MW curtailed at the site (MWh ÷ 0.5 h)")
    hours: float = Field(description="Hours of the range with at least mw curtailed, h")
    hours_per_year: float = Field(description="The same per year (× 8,766 h ÷ the range's hours)")


class SizingOut(ApiModel):
    """The scenario over a sweep of fleet sizes, the best size, and the duration curve."""

    site: str = Field(description="The site: BM unit(s), lead party or all wind")
    site_units: int = Field(description="BM units the registry has for the site")
    start: date = Field(alias="from", description="First settlement date")
    end: date = Field(alias="to", description="Last settlement date")
    model_key: str = Field(description="Miner model key")
    assumptions: AssumptionsOut
    price: PriceBasisOut
    sizes: list[SizePointOut]
    best: SizePointOut | None = Field(description="The size with the shortest payback, or null")
    best_reason: str = Field(description="Why best is that size (or null)")
    duration_curve: list[DurationPointOut]
    missing_reason: str | None = Field(
        default=None,
        description="What the figures leave out for missing data (dates without a stored "
        "price, pending difficulty); null when nothing",
    )


class DurationOut(ApiModel):
    """The site's curtailment duration curve."""

    site: str = Field(description="The site: BM unit(s), lead party or all wind")
    site_units: int = Field(description="BM units the registry has for the site")
    start: date = Field(alias="from", description="First settlement date")
    end: date = Field(alias="to", description="Last settlement date")
    duration_curve: list[DurationPointOut]
