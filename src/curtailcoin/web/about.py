"""The methodology page (``/about``): sources, the formula with ``mining``'s own constants, signs,
data states and the comparison with published figures.

The constants and the subsidy schedule are read from the modules that compute with them
(``curtailcoin.mining``, the packaged halvings), so the page cannot drift from the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from curtailcoin import __version__, mining
from curtailcoin.halvings import load_packaged_halvings
from curtailcoin.web.dashboard import TEMPLATES, asset_version

router = APIRouter(include_in_schema=False)

MEANINGS = {
    "JOULES_PER_MWH": "joules in one MWh (1e6 Wh × 3,600 s/h); over a power in W: miner-seconds",
    "HASHES_PER_TH": "hashes in one TH (a hashrate in TH/s times seconds gives TH)",
    "HASHES_PER_DIFFICULTY": "expected hashes per block per unit of difficulty (2^32; the exact "
    "2^48 / 0xFFFF differs by 1.5e-5 relative)",
}
SCIENTIFIC = {"JOULES_PER_MWH": "3.6e9", "HASHES_PER_TH": "1e12", "HASHES_PER_DIFFICULTY": "2^32"}


@dataclass(frozen=True)
class Constant:
    """One constant of the formula as the page shows it."""

    name: str
    value: float
    short: str
    meaning: str

    @property
    def plain(self) -> str:
        """The exact value with thousands separators (the constants are whole numbers)."""
        return f"{self.value:,.0f}"


def formula_constants() -> list[Constant]:
    """Every upper-case float of ``curtailcoin.mining``, in definition order."""
    return [
        Constant(name, value, SCIENTIFIC.get(name, f"{value:g}"), MEANINGS.get(name, ""))
        for name, value in vars(mining).items()
        if name.isupper() and isinstance(value, float)
    ]


@dataclass(frozen=True)
class SubsidyStep:
    height: int
    when: str
    subsidy_btc: float


def subsidy_schedule() -> list[SubsidyStep]:
    """The block subsidy from genesis through each halving (the estimate shown as such)."""
    steps = []
    for h in load_packaged_halvings():
        when = h.time_utc.strftime("%Y-%m-%d %H:%M:%SZ") if h.time_utc else "about April 2028"
        steps.append(SubsidyStep(h.height, when, h.subsidy_after_btc))
    return steps


@lru_cache(maxsize=2)
def page_html(simulated: bool = False) -> str:
    """The page never changes while the process runs: rendered once (with the simulated-data
    banner for a demo database)."""
    return TEMPLATES.get_template("about.html").render(
        simulated=simulated,
        version=__version__,
        v=asset_version(),
        constants=formula_constants(),
        named={c.name: c for c in formula_constants()},
        subsidies=subsidy_schedule(),
    )


@router.get("/about", response_class=HTMLResponse)
def about(request: Request) -> HTMLResponse:
    ctx = getattr(request.app.state, "ctx", None)
    simulated = ctx is not None and ctx.simulated
    return HTMLResponse(page_html(simulated), headers={"Cache-Control": "no-cache"})
