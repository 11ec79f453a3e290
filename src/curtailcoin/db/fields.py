"""The field registry: one entry per stored or served quantity, with its unit and sign.

A quantity has one name (with its unit), and the texts every layer shows for it come from here:
the database column comments (``db.*_tables``), the API's field descriptions (``web.schemas``)
and the CSV headers (``web.csvout``). The seed's SQL column names stay as SPEC §6 has them
(``volume``, ``payment``, ``total_curtailed_energy``, ``bitcoin_mined``); the column's
``info["quantity"]`` names its registry entry. Where Python gives such a column a key with its
unit, the key is the entry's name (the summaries' ``total_curtailed_energy`` is
``daily_summaries.c.curtailed_energy_mwh``, ``total_payment`` is ``.c.payment_gbp``).

Signs: Elexon's ``volume`` is signed (< 0 for bids); curtailed energy = −Σ volume (positive);
payment = ``original_price × volume`` = £ paid **to** the farm (positive when it was paid).

Where one quantity is stored or shown in more than one role (the energy a calculation used, the
energy a Bitcoin sum covers), a :meth:`Quantity.variant` keeps the name, unit and sign and
changes only the text of that role. Pure data: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Quantity:
    """A quantity: its one name (with unit), unit, sign convention and the texts shown for it.

    ``comment`` is the database comment of its columns (None: stored without one);
    ``description`` the API's; ``csv`` the CSV header (``{model}`` is the miner model key).
    """

    name: str
    unit: str
    sign: str
    description: str
    comment: str | None = None
    csv: str | None = None

    def variant(
        self,
        *,
        comment: str | None = None,
        description: str | None = None,
        csv: str | None = None,
    ) -> Quantity:
        """The same quantity in another role: another comment, description or CSV header."""
        return replace(
            self,
            comment=self.comment if comment is None else comment,
            description=self.description if description is None else description,
            csv=self.csv if csv is None else csv,
        )

    def header(self, model: str = "") -> str:
        """The CSV header (``model``: the miner model key, for per-model figures)."""
        return (self.csv or self.name).format(model=model)

    def column_args(self, *, commented: bool = True) -> dict[str, Any]:
        """``Column(...)`` keywords: the comment (when the column carries one) and the link."""
        return {"comment": self.comment if commented else None, "info": {"quantity": self.name}}


POSITIVE = "positive"
SIGNED_TO_FARM = "positive = paid to the farm; negative = the farm paid (never abs())"

# --- Identifiers -----------------------------------------------------------------------------

BM_UNIT = Quantity(
    "farm_id", "", "", "Elexon BM unit id", comment="Elexon BM unit id", csv="bm_unit"
)
BM_UNITS = BM_UNIT.variant(csv="bm_units")
LEAD_PARTY = Quantity(
    "lead_party_name",
    "",
    "",
    'Lead party ("Unknown lead party" when not recorded)',
    csv="lead_party",
)
MONTH_LEAD_PARTY = LEAD_PARTY.variant(comment="the smallest lead party name of the month's rows")

# --- Energy ----------------------------------------------------------------------------------

VOLUME = Quantity(
    "volume",
    "MWh",
    "signed as Elexon: < 0 for bids",
    "Elexon's signed volume (MWh, < 0 for bids)",
    comment="signed MWh as Elexon (< 0)",
)
CURTAILED_ENERGY = Quantity(
    "curtailed_energy_mwh",
    "MWh",
    POSITIVE + " = curtailed (= −Σ volume)",
    "MWh, positive (curtailed energy = −Σ volume)",
    comment="MWh, positive",
)
#: the energy a calculation row was computed from (it becomes stale when the records change)
CALCULATION_ENERGY = CURTAILED_ENERGY.variant(comment="energy used (positive)")
#: the energy a Bitcoin sum covers (curtailed energy less the pending and uncalculated)
COVERED_ENERGY = CURTAILED_ENERGY.variant(comment="MWh the BTC figure covers")
PENDING_ENERGY = Quantity(
    "pending_energy_mwh",
    "MWh",
    POSITIVE,
    "MWh in periods whose difficulty (or subsidy) is not known yet",
    comment="MWh in periods whose difficulty (or subsidy) is not known yet",
)
ENERGY_WITHOUT_BITCOIN = Quantity(
    "energy_without_bitcoin_mwh",
    "MWh",
    POSITIVE,
    "MWh with no Bitcoin figure: difficulty pending or calculation missing",
)
PERCENT_OF_ENERGY = Quantity(
    "percentage_of_total",
    "%",
    POSITIVE,
    "% of the scope's curtailed energy",
    csv="percent_of_total",
)

# --- Money -----------------------------------------------------------------------------------

PAYMENT = Quantity(
    "payment_gbp",
    "£",
    SIGNED_TO_FARM + "; = original_price × volume",
    "£ paid to the farms (positive = farms were paid; negative = farms paid)",
    comment="£ paid to the farm (signed)",
    csv="payment_to_farms_gbp",
)
RECORD_PAYMENT = PAYMENT.variant(comment="£ paid to the farm = original_price × volume")
TOTAL_PAYMENT = PAYMENT.variant(comment="£ paid to farms")
PAYMENT_PER_MWH = Quantity(
    "payment_gbp_per_mwh", "£/MWh", SIGNED_TO_FARM, "£ to farms per curtailed MWh"
)
BID_PRICE = Quantity(
    "original_price",
    "£/MWh",
    "Elexon's: < 0 when the farm is paid to curtail",
    "The bid's original price",
    comment="£/MWh",
)
FINAL_PRICE = Quantity("final_price", "£/MWh", "Elexon's", "The bid's final price", comment="£/MWh")

# --- Bitcoin ---------------------------------------------------------------------------------

BITCOIN = Quantity(
    "bitcoin_mined_btc", "BTC", POSITIVE, "BTC", comment="BTC", csv="bitcoin_{model}_btc"
)
BITCOIN_PER_MWH = Quantity("bitcoin_per_mwh", "BTC/MWh", POSITIVE, "BTC per curtailed MWh covered")
UNPRICED_BITCOIN = Quantity(
    "unpriced_btc",
    "BTC",
    POSITIVE,
    "BTC of dates without a GBP price",
    comment="BTC of dates without a GBP price",
)
DIFFICULTY = Quantity(
    "difficulty",
    "",
    POSITIVE,
    "Effective network difficulty",
    comment="effective difficulty over the period; NULL = pending",
)
CALCULATION_DIFFICULTY = DIFFICULTY.variant(comment="effective difficulty used")
BLOCK_SUBSIDY = Quantity(
    "block_subsidy_btc",
    "BTC/block",
    POSITIVE,
    "Block subsidy",
    comment="time-weighted subsidy over the period",
)
CALCULATION_SUBSIDY = BLOCK_SUBSIDY.variant(comment="block subsidy used")
#: the farm-day factor: a model's BTC = hashrate_th / power_w × this
BTC_PER_TH_PER_W = Quantity(
    "btc_per_th_per_w",
    "BTC·W/TH",
    POSITIVE,
    "BTC per TH/s per W of a miner model",
    comment="Σ over periods with known conditions of E × 3.6e9 × 1e12 / (D × 2^32) × R; "
    "a model's BTC = hashrate_th / power_w × this",
)
MONTH_BTC_PER_TH_PER_W = BTC_PER_TH_PER_W.variant(comment="Σ of the farm-day factor")
BTC_PER_TH_PER_W_GBP = Quantity(
    "btc_per_th_per_w_gbp",
    "£·W/TH",
    POSITIVE,
    "£ value per TH/s per W at each date's price",
    comment="Σ over dates with a BTC/GBP price of the farm-day factor × that price; "
    "a model's £ value = hashrate_th / power_w × this",
)
UNPRICED_BTC_PER_TH_PER_W = Quantity(
    "unpriced_btc_per_th_per_w",
    "BTC·W/TH",
    POSITIVE,
    "The farm-day factor of dates without a BTC/GBP price",
    comment="Σ of the farm-day factor over dates without a BTC/GBP price",
)

# --- Bitcoin's value and price ---------------------------------------------------------------

VALUE_GBP = Quantity(
    "value_gbp",
    "£",
    POSITIVE,
    "£ at the dates' prices (null if missing)",
    comment="Σ over dates with a BTC/GBP price of the farm-day BTC × that price",
    csv="bitcoin_value_gbp_at_date_prices",
)
#: a table row's value (one date, or the dates of a month)
ROW_VALUE_GBP = VALUE_GBP.variant(
    description="BTC × the date's GBP price; null if missing", csv="value_gbp_at_date_price"
)
TOP_FARM_VALUE_GBP = VALUE_GBP.variant(
    description="£: BTC at each date's GBP price (null when a needed price is missing)"
)
VALUE_GBP_AT_LATEST_PRICE = Quantity(
    "value_gbp_at_latest_price",
    "£",
    POSITIVE,
    "£ at the latest GBP price",
    csv="bitcoin_value_gbp_at_latest_price",
)
BTC_PRICE = Quantity(
    "price",
    "£/BTC or $/BTC",
    POSITIVE,
    "Price of 1 BTC used (single-date valuations and the latest price)",
    comment="price of 1 BTC in currency",
)
LATEST_BTC_PRICE = BTC_PRICE.variant(description="Latest GBP price of 1 BTC (null if none)")

# --- Wind generation and the all-bids measure (issue 13) ----------------------------------------

NET_IMPORT = "positive = generated; negative = net import"
ONSHORE_WIND = Quantity(
    "onshore_wind_mwh",
    "MWh",
    POSITIVE,
    "AGWS onshore wind, MWh",
    comment="AGWS Wind Onshore, MW × 0.5 h (MWh, ≥ 0)",
)
DAY_ONSHORE_WIND = ONSHORE_WIND.variant(comment="Σ AGWS onshore wind of those periods")
OFFSHORE_WIND = Quantity(
    "offshore_wind_mwh",
    "MWh",
    POSITIVE,
    "AGWS offshore wind, MWh",
    comment="AGWS Wind Offshore, MW × 0.5 h (MWh, ≥ 0)",
)
DAY_OFFSHORE_WIND = OFFSHORE_WIND.variant(comment="Σ AGWS offshore wind of those periods")
METERED_GENERATION = Quantity(
    "metered_generation_mwh",
    "MWh",
    NET_IMPORT,
    "B1610 metered generation of the period, MWh",
    comment="B1610 quantity: metered output in the period (MWh; negative = net import)",
)
GENERATED = Quantity(
    "generated_mwh",
    "MWh",
    NET_IMPORT,
    "Σ B1610 metered generation, MWh",
    comment="Σ B1610 metered generation (MWh; negative = net import)",
)
MONTH_GENERATED = GENERATED.variant(comment="Σ of the month's farm-day rows")
ALL_BIDS_ENERGY = Quantity(
    "all_bids_curtailed_energy_mwh",
    "MWh",
    POSITIVE,
    "The all-bids measure: −Σ volume of every wind bid with volume < 0, whatever its soFlag",
    comment="−Σ volume of every wind bid-stack line with volume < 0, any soFlag (MWh, ≥ 0)",
)

# --- Counts ----------------------------------------------------------------------------------

RECORD_COUNT = Quantity(
    "record_count", "records", POSITIVE, "Curtailment records (SO-flagged wind bids)", csv="records"
)
FARM_COUNT = Quantity(
    "farm_count", "BM units", POSITIVE, "Distinct BM units with curtailment", csv="farms"
)

# --- Miner models ----------------------------------------------------------------------------

GENERATION_CAPACITY = Quantity("generation_capacity_mw", "MW", POSITIVE, "Registered capacity")
HASHRATE = Quantity("hashrate_th", "TH/s", POSITIVE, "TH/s")
POWER = Quantity("power_w", "W", POSITIVE, "W at the wall")
EFFICIENCY = Quantity("efficiency_j_per_th", "J/TH", POSITIVE, "J/TH")


def registry() -> dict[str, Quantity]:
    """Every entry of this module by its name (variants share their quantity's name)."""
    out: dict[str, Quantity] = {}
    for value in globals().values():
        if isinstance(value, Quantity):
            out.setdefault(value.name, value)
    return out
