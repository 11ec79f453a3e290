"""Response models of the curtailment-share routes (camelCase; units in the descriptions).

``curtailmentShare = curtailed ÷ (generated + curtailed)``, a fraction 0..1 of the wind energy
that was available: the headline curtailment (SO-flagged bids, MWh, positive) over metered or
outturn generation plus it. A row whose generation or curtailment is not complete has
``curtailmentShare`` and ``generatedEnergyMwh`` null and says why in ``missingReason``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from curtailcoin.web.schemas import ApiModel

SHARE = (
    "curtailed ÷ (generated + curtailed), a fraction 0..1; null when an input is missing "
    "(see missingReason)"
)
CURTAILED = "Headline curtailment (SO-flagged wind bids), MWh, positive"
REASON = (
    "Why the share is missing: the dataset and its state (not fetched yet, not yet published "
    "(B1610, with the date it is expected from), failed: …, fetched_empty, figures for n of m "
    "periods), or stack periods not fetched; null when present"
)
Grain = Literal["period", "day", "month", "year"]


class ShareRow(ApiModel):
    period: str = Field(description="The row: YYYY-MM-DD, YYYY-MM-DD Pnn, YYYY-MM or YYYY")
    date: dt.date | None = Field(description="Settlement date (day and period rows)")
    settlement_period: int | None = Field(description="Settlement period (period rows)")
    curtailed_energy_mwh: float = Field(description=CURTAILED)
    generated_energy_mwh: float | None = Field(
        description="National wind generation (AGWS onshore + offshore, MW × 0.5 h), MWh; "
        "null when not every period has a figure"
    )
    onshore_wind_mwh: float | None = Field(description="AGWS onshore wind, MWh")
    offshore_wind_mwh: float | None = Field(description="AGWS offshore wind, MWh")
    curtailment_share: float | None = Field(description=SHARE)
    missing_reason: str | None = Field(description=REASON)


class CurtailmentShare(ApiModel):
    from_date: dt.date = Field(alias="from", description="First settlement date (inclusive)")
    to_date: dt.date = Field(alias="to", description="Last settlement date (inclusive)")
    grain: Grain
    rows: list[ShareRow]
    total: ShareRow = Field(description="The whole range")


class FarmShareRow(ApiModel):
    lead_party_name: str | None = Field(description="Lead party (the registry's, as recorded)")
    farm_id: str | None = Field(description="Elexon BM unit id (null in lead-party rows)")
    unit_count: int = Field(description="BM units in the row")
    curtailed_energy_mwh: float = Field(description=CURTAILED)
    generated_energy_mwh: float | None = Field(
        description="Σ B1610 metered generation (MWh; negative = net import); null when a BM "
        "unit lacks a figure for a period of the range"
    )
    generation_periods: int = Field(description="Periods with a B1610 figure (Σ of the units)")
    expected_periods: int = Field(description="Settlement periods of the range up to now × units")
    curtailment_share: float | None = Field(description=SHARE)
    missing_reason: str | None = Field(description=REASON)


class PendingGeneration(ApiModel):
    date: dt.date = Field(description="Settlement date whose B1610 Elexon has not published yet")
    expected_from: dt.date = Field(
        description="Date from which Elexon should publish it (five days after the settlement "
        "day ends); the worker's daily reconciliation fetches it then"
    )


class FarmShares(ApiModel):
    from_date: dt.date = Field(alias="from", description="First settlement date (inclusive)")
    to_date: dt.date = Field(alias="to", description="Last settlement date (inclusive)")
    by: Literal["leadParty", "bmUnit"]
    lead_party: str | None = Field(description="The leadParty filter, if any")
    rows: list[FarmShareRow] = Field(description="Largest curtailment first")
    pending: list[PendingGeneration] = Field(
        default_factory=list,
        description="Dates of the range whose B1610 is not yet published (pending, not a "
        "failure: their rows show no share until it is)",
    )
