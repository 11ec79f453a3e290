"""Response models of the earlier system's routes that CurtailCoin serves on its own figures
(``docs/api.md``, "The earlier system's routes"): the rate comparisons, the curtailed lead
parties of a date and the stored wind generation. Same conventions as ``web.schemas``: energy in
MWh (curtailed energy positive), £ paid to the farms signed, BTC, values at each date's price."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from curtailcoin.db import fields as F
from curtailcoin.web.schemas import BTC, GBP_TO_FARMS, MWH, ApiModel, DataStatusOut

VALUE_GBP = "£: the BTC × the BTC/GBP price of its date; null when that price is not stored"
PAID_PER_MWH = "£ paid to the farms per curtailed MWh (signed); null without curtailment"
VALUE_PER_MWH = "£ of Bitcoin per curtailed MWh (value ÷ energy); null without a price or energy"


class ComparisonRow(ApiModel):
    key: str = Field(description="Local clock hour label (a day) or YYYY-MM-DD (a month)")
    curtailed_energy: float = Field(description=MWH)
    total_payment: float = Field(description=GBP_TO_FARMS)
    bitcoin_mined: float = Field(description=BTC)
    bitcoin_value: float | None = Field(description=VALUE_GBP)
    payment_per_mwh: float | None = Field(description=PAID_PER_MWH)
    bitcoin_value_per_mwh: float | None = Field(description=VALUE_PER_MWH)
    complete: bool = Field(description="Every settlement period of the row was fetched")


class RateComparison(ApiModel):
    """£/MWh paid to the farms vs the £/MWh the same energy could have mined, per row."""

    timeframe: Literal["day", "month"]
    period: str = Field(description="YYYY-MM-DD (rows per local hour) or YYYY-MM (rows per day)")
    miner_model: str
    calculation: Literal["tracked", "computed"]
    lead_party: str | None
    farm_id: str | None
    curtailed_energy: float = Field(description=MWH + "; the sum of the rows")
    total_payment: float = Field(description=GBP_TO_FARMS + "; the sum of the rows")
    bitcoin_mined: float = Field(description=BTC + "; the sum of the rows")
    bitcoin_value: float | None = Field(description=VALUE_GBP + " (null if any row's is)")
    payment_per_mwh: float | None = Field(description=PAID_PER_MWH)
    bitcoin_value_per_mwh: float | None = Field(description=VALUE_PER_MWH)
    value_missing_reason: str | None = Field(description="Why a value is null")
    rows: list[ComparisonRow]
    data_status: DataStatusOut


class CurtailedLeadParty(ApiModel):
    lead_party_name: str | None = Field(description="Lead party (null when not recorded)")
    name: str = Field(description=F.LEAD_PARTY.description)
    farm_count: int = Field(description="BM units of the lead party with curtailment that day")
    farm_ids: list[str]
    total_curtailed_energy: float = Field(description=MWH)
    total_payment: float = Field(description=GBP_TO_FARMS)


GENERATION_STATE = (
    "The date's AGWS fetch: fetched_with_data | fetched_empty | fetched_incomplete | missing | "
    "failed, or not_fetched when the date was never fetched"
)


class WindPeriod(ApiModel):
    settlement_date: date
    settlement_period: int
    start_utc: datetime
    wind_onshore_mwh: float | None = Field(
        description="Onshore wind generation of the period, MWh (AGWS MW × 0.5 h, ≥ 0)"
    )
    wind_offshore_mwh: float | None = Field(
        description="Offshore wind generation of the period, MWh (AGWS MW × 0.5 h, ≥ 0)"
    )
    total_wind_mwh: float | None = Field(
        description="Onshore + offshore MWh; null when either is not published"
    )
    published_at: datetime | None = Field(description="Elexon's publishTime of the figures")
    fetched_at: datetime


class WindGenerationDay(ApiModel):
    date: date
    periods: int = Field(description="Settlement periods of the date (46, 48 or 50)")
    periods_expected: int = Field(description="Periods started by now (all of a past date)")
    fetch_status: str = Field(description=GENERATION_STATE)
    fetched_at: datetime | None
    source_published_at: datetime | None = Field(description="Latest publishTime of the date")
    missing_reason: str | None = Field(
        description="Why figures are missing (not fetched, failed, empty, periods absent)"
    )
    periods_with_data: int
    missing_periods: list[int] = Field(description="Expected periods without a stored figure")
    total_wind_mwh: float | None = Field(
        description="Σ onshore + offshore MWh of the date; null unless every expected period "
        "has both figures"
    )
    data: list[WindPeriod]


class WindGenerationCheck(ApiModel):
    date: date
    exists: bool = Field(description="Some wind generation of the date is stored")
    fetch_status: str = Field(description=GENERATION_STATE)
    periods_with_data: int
    periods_expected: int


class GenerationDatasetStatus(ApiModel):
    dataset: Literal["AGWS", "B1610"] = Field(
        description="AGWS: national wind per period; B1610: metered output per BM unit"
    )
    dates_fetched: int = Field(
        description="Dates whose last fetch succeeded (with or without data)"
    )
    first_date: date | None = Field(description="Earliest date fetched successfully")
    latest_date: date | None = Field(description="Latest date fetched successfully")
    last_fetched_at: datetime | None
    failed_dates: int = Field(description="Dates whose last fetch failed")
    last_failed_date: date | None
    last_error: str | None = Field(description="The error of the latest failed date")
    pending_dates: list[date] = Field(
        default_factory=list,
        description="B1610: dates answered empty before Elexon publishes them (five days after "
        "the settlement day): pending, not failed; fetched again once published",
    )


class WindGenerationStatus(ApiModel):
    latest_date: date | None = Field(description="Latest date with national wind figures stored")
    datasets: list[GenerationDatasetStatus]
