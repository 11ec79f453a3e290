"""Response models of the JSON API: field names in camelCase, units and signs in descriptions.

Conventions (every route):

* energy: ``curtailedEnergy`` / ``totalCurtailedEnergy`` in **MWh, positive** (−Σ Elexon volume);
* money: ``totalPayment`` / ``payment`` in **£ paid to the farms** for curtailing (positive when
  the farms were paid, which is usual; negative when farms paid to curtail). Never an ``abs()``;
* Bitcoin: ``bitcoinMined`` in **BTC**, the expected reward had all curtailed energy run the
  chosen miner model (SPEC §5);
* prices: 1 BTC in GBP or USD on a date (its UTC close); values are BTC × that price. A value
  whose price is not stored is ``null`` with a ``missingReason``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from curtailcoin.db import fields as F

MWH = F.CURTAILED_ENERGY.description
GBP_TO_FARMS = F.PAYMENT.description
BTC = F.BITCOIN.description


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class ErrorResponse(ApiModel):
    error: str = Field(description="One-line message naming the offending value")
    detail: list[dict[str, object]] | None = Field(
        default=None, description="Per-field problems: loc (where), msg (what is allowed)"
    )


class Health(ApiModel):
    status: Literal["ok", "degraded"]
    start_time: datetime = Field(description="When this server process started (UTC)")
    database: Literal["ok", "unavailable"]
    version: str


class DataStatusOut(ApiModel):
    """Completeness of the stored data (from the per-period fetch status)."""

    state: Literal["complete", "incomplete", "no_data", "not_started"] = Field(
        description="complete: every period up to now fetched; incomplete: some not fetched; "
        "no_data: nothing fetched; not_started: the scope lies in the future"
    )
    periods_expected: int = Field(description="Settlement periods of the scope up to now")
    periods_fetched: int = Field(description="Periods fetched successfully (with or without data)")
    periods_failed: int = Field(description="Periods whose last fetch failed")
    periods_incomplete: int = Field(
        description="Periods fetched and stored with a figure the headline needs null in the "
        "source (soFlag or originalPrice of a wind bid): neither complete nor failed"
    )
    periods_missing: int = Field(
        description="Periods not fetched successfully (failed, incomplete or never fetched)"
    )
    days_expected: int
    days_complete: int
    incomplete_dates: list[date] = Field(description="Dates not fully fetched (up to 62 shown)")
    missing_periods: list[int] = Field(
        description="Day scope: period numbers not fetched successfully"
    )
    incomplete_periods: dict[int, str] = Field(
        description="Day scope: the incomplete periods and why (e.g. 'soFlag null on 3 wind bid "
        "lines (T_ABRBO-1)')"
    )
    pending_periods: int = Field(
        description="Periods with curtailment whose network difficulty is not known yet: their "
        "energy has no Bitcoin figure until it is"
    )
    last_fetched_at: datetime | None


class SummaryRow(ApiModel):
    total_curtailed_energy: float = Field(description=MWH)
    total_payment: float = Field(description=GBP_TO_FARMS)
    record_count: int = Field(description=F.RECORD_COUNT.description)
    farm_count: int = Field(description=F.FARM_COUNT.description)
    all_bids_curtailed_energy_mwh: float | None = Field(
        default=None,
        description="The all-bids measure (as REF counts): −Σ volume of every wind bid with "
        "volume < 0, whatever its soFlag, MWh, positive; ≥ totalCurtailedEnergy (the "
        "SO-flagged headline). All wind only: null with a leadParty or farmId filter",
    )


class DaySummaryRow(SummaryRow):
    date: date


class MonthSummaryRow(SummaryRow):
    year_month: str


class DailySummary(SummaryRow):
    date: date
    lead_party: str | None
    farm_id: str | None
    data_status: DataStatusOut


class MonthlySummary(SummaryRow):
    year_month: str
    lead_party: str | None
    farm_id: str | None
    days: list[DaySummaryRow] = Field(
        description="The month's daily rows; the month's energy, payment and records are their sums"
    )
    data_status: DataStatusOut


class YearlySummary(SummaryRow):
    year: str
    lead_party: str | None
    farm_id: str | None
    months: list[MonthSummaryRow] = Field(
        description="The year's monthly rows; the year's energy, payment and records are their sums"
    )
    data_status: DataStatusOut


class MinerModelOut(ApiModel):
    key: str = Field(description="Stable identifier, e.g. S19J_PRO")
    manufacturer: str
    name: str
    hashrate_th: float = Field(description=F.HASHRATE.description)
    power_w: float = Field(description=F.POWER.description)
    efficiency_j_per_th: float = Field(description=F.EFFICIENCY.description)
    release_year: int | None
    tracked: bool = Field(
        description="Materialised in historical_bitcoin_calculations; other models are computed "
        "from the records with each period's stored difficulty and subsidy"
    )
    is_custom: bool


class PriceValue(ApiModel):
    """A Bitcoin amount valued at a price (or why it cannot be)."""

    amount: float | None = Field(description="Value in the currency; null when a price is missing")
    price: float | None = Field(description=F.BTC_PRICE.description)
    price_date: date | None = Field(description="Date of the price used (single price only)")
    source: str | None = Field(description="Where the price came from")
    provisional: bool = Field(
        default=False, description="The price is a live price of a day that has not closed"
    )
    days_priced: int = Field(default=0, description="Dates whose price was used")
    days_needed: int = Field(default=0, description="Dates with Bitcoin to value")
    missing_reason: str | None = Field(description="Why amount is null")


class CurrencyValue(ApiModel):
    at_date_price: PriceValue = Field(
        description="Each date's Bitcoin at that date's price (the value when it was curtailed)"
    )
    at_latest_price: PriceValue = Field(description="All of it at the most recent stored price")


class Valuation(ApiModel):
    GBP: CurrencyValue
    USD: CurrencyValue

    model_config = ConfigDict(alias_generator=None, populate_by_name=True)


class DifficultyRange(ApiModel):
    min: float | None = Field(description="Lowest effective difficulty of the periods used")
    max: float | None = Field(description="Highest effective difficulty of the periods used")


class MiningRow(ApiModel):
    key: str = Field(description="Date (YYYY-MM-DD), month (YYYY-MM) or hour label")
    curtailed_energy: float = Field(description=MWH)
    total_payment: float = Field(description=GBP_TO_FARMS)
    bitcoin_mined: float = Field(description=BTC)
    value_gbp: float | None = Field(description=F.ROW_VALUE_GBP.description)
    complete: bool = Field(description="Every settlement period of the row's dates was fetched")


class MiningPotential(ApiModel):
    timeframe: Literal["day", "month", "year"]
    period: str = Field(description="YYYY-MM-DD, YYYY-MM or YYYY")
    miner_model: str
    model: MinerModelOut
    calculation: Literal["tracked", "computed"] = Field(
        description="tracked: summed from historical_bitcoin_calculations; computed: from "
        "curtailment_records × each period's stored difficulty and subsidy"
    )
    lead_party: str | None
    farm_id: str | None
    curtailed_energy: float = Field(description=MWH)
    total_payment: float = Field(description=GBP_TO_FARMS)
    payment_per_mwh: float | None = Field(description=F.PAYMENT_PER_MWH.description)
    bitcoin_mined: float = Field(description=BTC + " (sum of the rows)")
    bitcoin_per_mwh: float | None = Field(description=F.BITCOIN_PER_MWH.description)
    energy_without_bitcoin: float = Field(description=F.ENERGY_WITHOUT_BITCOIN.description)
    difficulty: DifficultyRange
    value: Valuation
    value_at_current_price: float | None = Field(
        description="Seed-compatible: value in GBP at the latest stored price (null if none)"
    )
    current_price: float | None = Field(
        description="Seed-compatible: latest stored price of 1 BTC in GBP (null if none)"
    )
    ratio_value_to_payment: float | None = Field(
        description="Bitcoin value at the dates' GBP prices ÷ payments to farms (null when either "
        "is missing or payments ≤ 0)"
    )
    rows: list[MiningRow] = Field(description="Per day (month scope) or per month (year scope)")
    data_status: DataStatusOut


class HourRow(ApiModel):
    hour: str = Field(description="Local clock hour (Europe/London), e.g. 01:00 or 01:00 BST")
    index: int = Field(description="0-based position in the day (23, 24 or 25 hours)")
    start_utc: datetime
    periods: list[int] = Field(description="Settlement periods of the hour")
    curtailed_energy: float = Field(description=MWH)
    total_payment: float = Field(description=GBP_TO_FARMS)
    bitcoin_mined: float = Field(description=BTC)
    periods_fetched: int = Field(description="How many of the hour's periods were fetched")
    pending: bool = Field(description="Some curtailment of the hour has no known difficulty yet")


class HourlyCurtailment(ApiModel):
    date: date
    timezone: str
    hour_count: int = Field(description="23, 24 or 25 (clock changes)")
    miner_model: str
    calculation: Literal["tracked", "computed"]
    lead_party: str | None
    farm_id: str | None
    hours: list[HourRow]
    total_curtailed_energy: float = Field(description=MWH + "; the sum of the hours")
    total_payment: float = Field(description=GBP_TO_FARMS + "; the sum of the hours")
    total_bitcoin: float = Field(description=BTC + "; the sum of the hours")
    price_gbp: PriceValue = Field(description="The date's GBP price, used for the £/MWh lines")
    data_status: DataStatusOut


class LeadPartyFarms(ApiModel):
    name: str = Field(description=F.LEAD_PARTY.description)
    lead_party: str | None
    farm_ids: list[str] = Field(description="BM units with curtailment in the scope")
    curtailed_energy: float = Field(description=MWH)
    total_payment: float = Field(description=GBP_TO_FARMS)


class TopFarm(ApiModel):
    name: str
    lead_party: str | None
    farm_ids: list[str]
    curtailed_energy: float = Field(description=MWH)
    curtailment_payment: float = Field(description=GBP_TO_FARMS)
    bitcoin_mined: float = Field(description=BTC)
    bitcoin_value: float | None = Field(description=F.TOP_FARM_VALUE_GBP.description)
    bitcoin_value_at_latest_price: float | None = Field(
        description=F.VALUE_GBP_AT_LATEST_PRICE.description
    )
    value_missing_reason: str | None


class UnitRow(ApiModel):
    farm_id: str = Field(description=F.BM_UNIT.description)
    curtailed_energy: float = Field(description=MWH)
    percentage_of_total: float = Field(description=F.PERCENT_OF_ENERGY.description)
    payment: float = Field(description=GBP_TO_FARMS)
    payment_per_mwh: float | None
    potential_btc: float = Field(description=BTC)
    btc_value: float | None = Field(description=F.VALUE_GBP.description)
    btc_value_at_latest_price: float | None
    record_count: int


class LeadPartyGroup(ApiModel):
    lead_party_name: str | None
    name: str
    total_curtailed_energy: float = Field(description=MWH)
    total_percentage_of_total: float
    total_payment: float = Field(description=GBP_TO_FARMS)
    payment_per_mwh: float | None
    total_potential_btc: float = Field(description=BTC)
    btc_value: float | None = Field(description=F.VALUE_GBP.description)
    btc_value_at_latest_price: float | None
    record_count: int
    farms: list[UnitRow]


class GroupedMeta(ApiModel):
    timeframe: Literal["day", "month", "year"]
    value: str
    miner_model: str
    calculation: Literal["tracked", "computed"]
    lead_party: str | None
    current_price: float | None = Field(description=F.LATEST_BTC_PRICE.description)
    current_price_date: date | None
    value_missing_reason: str | None = Field(
        description="Why btcValue is null where it is (a date's price is missing)"
    )


class GroupedTotals(ApiModel):
    curtailed_energy: float = Field(description=MWH)
    payment: float = Field(description=GBP_TO_FARMS)
    potential_btc: float
    btc_value: float | None
    farm_count: int
    lead_party_count: int


class GroupedData(ApiModel):
    farms: list[LeadPartyGroup]
    totals: GroupedTotals
    meta: GroupedMeta


class ReconciliationDate(ApiModel):
    date: date
    records: int = Field(description="Curtailment records of the date")
    periods_expected: int
    periods_fetched: int
    missing: int = Field(description="Farm-periods with curtailment and no tracked calculation")
    stale: int = Field(description="Calculations whose energy, difficulty or subsidy changed")
    pending: int = Field(description="Calculations waiting for a known difficulty")
    complete: bool
    problems: list[str] = Field(description="Problem kinds, in the order a fix handles them")


class ReconciliationOut(ApiModel):
    """The same definitions and counts as ``curtailcoin reconcile status --json``."""

    start: date | None
    end: date | None
    models: list[str] = Field(description="Tracked models checked")
    dates_checked: int
    incomplete_dates: list[date] = Field(description="Dates with a period not fetched")
    missing_calculations: int
    stale_calculations: int
    pending_calculations: int
    summary_mismatches: int = Field(description="Summary rows not equal to the sum of their rows")
    completion_percentage: float = Field(
        description="Fresh calculations as a % of those expected (reconcile status)"
    )
    problem_dates: list[date] = Field(description="Dates a reconciliation run would fix")
    suspect_dates: list[date] = Field(
        default_factory=list,
        description="Dates whose latest answer from Elexon the drift guard held back",
    )
    per_date: list[ReconciliationDate]
    data_status: DataStatusOut


class DataRangeOut(ApiModel):
    first_date: date | None = Field(description="Earliest date with a fetched period")
    last_date: date | None = Field(description="Latest date with a fetched period")
    last_date_with_curtailment: date | None
    today: date = Field(description="Today's settlement date (Europe/London)")
    latest_price: dict[str, PriceValue] = Field(description="Latest stored price per currency")
    tracked_models: list[str]
    default_model: str


class IngestOut(ApiModel):
    date: date
    complete: bool
    written: bool = Field(description="False when a fetch failed: the stored date is unchanged")
    periods: int
    periods_fetched: int
    records: int
    farms: int
    curtailed_energy: float = Field(description=MWH)
    total_payment: float = Field(description=GBP_TO_FARMS)
    bitcoin: dict[str, float] = Field(description=BTC + " per tracked model")
    failed_periods: dict[str, str]
    incomplete_periods: dict[str, str] = Field(
        description="Periods stored with a figure missing at the source (soFlag or "
        "originalPrice null on a wind bid), and why"
    )
    pending_periods: list[int]
    warnings: list[str]
    suspect: str | None = Field(
        default=None,
        description="Why the drift guard held Elexon's answer back (the stored date is kept; "
        "`curtailcoin reingest DATE --accept-shrink` applies it); null when it was not",
    )
