"""The site scenario's options, declared and checked once.

``curtailcoin scenario`` and ``curtailcoin export scenario`` take the same site, fleet and
assumptions: each option is declared here (a command names it as a parameter's default) and
:class:`ScenarioOptions` turns the values into the economics inputs, raising ``BadInput`` (one
line naming the value and what is allowed) for what can be refused before the database is
opened. Light: Typer only; the economics modules are imported when the values are checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import typer

from curtailcoin.pipeline.inputs import BadInput

if TYPE_CHECKING:
    from curtailcoin.economics.inputs import Assumptions
    from curtailcoin.economics.results import Level
    from curtailcoin.economics.scenario import ScenarioRequest
    from curtailcoin.economics.site import Site

BM_UNIT = typer.Option([], "--bm-unit", help="A BM unit of the site (repeat for several units).")
LEAD_PARTY = typer.Option(None, "--lead-party", help="Every unit of a lead party.")
ALL_WIND = typer.Option(False, "--all-wind", help="Every wind BM unit.")
MODEL = typer.Option("S19J_PRO", "--model", help="Miner model key (catalogue or own).")
MINERS = typer.Option(None, "--miners", help="Fleet size in miners.")
MW = typer.Option(None, "--mw", help="Fleet size in MW (whole miners).")
UPTIME = typer.Option(100.0, "--uptime", help="Uptime in % (0..100).")
POOL_FEE = typer.Option(0.0, "--pool-fee", help="Pool fee in % (0..100).")
FEES = typer.Option("none", "--fees", help="Transaction fees: none | actual.")
ENERGY_COST = typer.Option(0.0, "--energy-cost", help="Cost of the curtailed energy used, £/MWh.")
CAPEX_PER_MINER = typer.Option(None, "--capex-per-miner", help="Capex, £ per miner.")
CAPEX_PER_TH = typer.Option(None, "--capex-per-th", help="Capex, £ per TH/s.")
OPEX_PER_MONTH = typer.Option(0.0, "--opex-per-month", help="Opex, £ per month.")
BTC_PRICE = typer.Option(
    None, "--btc-price", help="A constant BTC price in £ (default: each date's price)."
)


@dataclass(frozen=True)
class ScenarioOptions:
    """The values of the scenario's options as given on the command line."""

    bm_unit: list[str]
    lead_party: str | None
    all_wind: bool
    model: str
    miners: int | None
    mw: float | None
    uptime: float
    pool_fee: float
    fees: str
    energy_cost: float
    capex_per_miner: float | None
    capex_per_th: float | None
    opex_per_month: float
    btc_price: float | None

    @classmethod
    def given(cls, values: Mapping[str, Any]) -> ScenarioOptions:
        """The options from a command's parameters (``locals()``), by their names."""
        return cls(**{name: values[name] for name in cls.__dataclass_fields__})

    def site(self) -> Site:
        from curtailcoin.economics.site import site_of

        return site_of(self.bm_unit, self.lead_party, self.all_wind)

    def assumptions(self) -> Assumptions:
        """The assumptions, checked (``BadInput`` names the value and what is allowed)."""
        from curtailcoin.economics.inputs import Assumptions

        if self.fees not in ("none", "actual"):
            raise BadInput(f"--fees {self.fees!r} is not allowed: use none or actual")
        return Assumptions(
            uptime_pct=self.uptime,
            pool_fee_pct=self.pool_fee,
            fees="actual" if self.fees == "actual" else "none",
            energy_cost_gbp_per_mwh=self.energy_cost,
            capex_gbp_per_miner=self.capex_per_miner,
            capex_gbp_per_th=self.capex_per_th,
            opex_gbp_per_month=self.opex_per_month,
            btc_price_gbp=self.btc_price,
        )

    @property
    def has_fleet(self) -> bool:
        return self.miners is not None or self.mw is not None

    def request(self, start: date, end: date, level: Level) -> ScenarioRequest:
        """A fleet scenario's request (exactly one of ``--miners`` / ``--mw``)."""
        from curtailcoin.economics.scenario import ScenarioRequest

        site, assumptions = self.site(), self.assumptions()
        if (self.miners is None) == (self.mw is None):
            raise BadInput("fleet size: give exactly one of --miners N or --mw X")
        return ScenarioRequest(
            site, self.model, start, end, self.miners, self.mw, assumptions, level
        )


def level_of(text: str, option: str) -> Level:
    """A roll-up level (period, day, month, year) given as ``option``."""
    from curtailcoin.economics.scenario import LEVELS

    for level in LEVELS:
        if text == level:
            return level
    raise BadInput(f"{option} {text!r} is not allowed: use {', '.join(LEVELS)}")
