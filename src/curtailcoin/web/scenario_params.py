"""The site-economics routes' query parameters (``/api/scenario…``): the site and the range,
the assumptions, the sizes of a sweep and the duration-curve thresholds, each checked here so a
bad one is a 422 naming it — the economics package's ``BadInput`` turned into the API's
``InputError`` at the parameter it concerns (:func:`at`). Work per request is bounded: at most
:data:`MAX_RANGE_DAYS` days, ``MAX_SIZES`` sizes and :data:`MAX_THRESHOLDS` thresholds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal, TypeVar

from fastapi import Depends, Query
from sqlalchemy import Connection

from curtailcoin.economics.inputs import Assumptions
from curtailcoin.economics.scenario import resolve_model
from curtailcoin.economics.site import Site, check_site, site_of
from curtailcoin.economics.sizing import MAX_SIZES, size_grid
from curtailcoin.miners import MinerModel
from curtailcoin.pipeline.inputs import BadInput
from curtailcoin.web import params as pv
from curtailcoin.web.deps import Conn
from curtailcoin.web.routes.common import DATE_DOC

MAX_RANGE_DAYS = 3653
"""Ten years: the longest range one request reads."""
MAX_UNITS = 50
MAX_THRESHOLDS = 200

T = TypeVar("T")


def at(name: str, call: Callable[[], T]) -> T:
    """``call()``, its ``BadInput`` answered as a 422 at query parameter ``name``."""
    try:
        return call()
    except BadInput as exc:
        message = str(exc)
        if not message.startswith(name):
            message = f"{name}: {message}"
        raise pv.InputError(("query", name), message) from None


# --- shared parameters -----------------------------------------------------------------------


@dataclass(frozen=True)
class SiteRange:
    site: Site
    start: date
    end: date


def site_range(
    conn: Conn,
    start_text: Annotated[
        str, Query(alias="from", pattern=pv.DATE_PATTERN, description="First " + DATE_DOC)
    ],
    end_text: Annotated[
        str, Query(alias="to", pattern=pv.DATE_PATTERN, description="Last " + DATE_DOC)
    ],
    farm_id: Annotated[
        list[str] | None,
        Query(
            alias="farmId",
            description="A BM unit of the site (Elexon id; repeat for several units)",
        ),
    ] = None,
    lead_party: Annotated[
        str | None,
        Query(
            alias="leadParty",
            max_length=pv.NAME_MAX,
            description="Every BM unit of this lead party (exact name, see /api/lead-parties)",
        ),
    ] = None,
    all_wind: Annotated[
        bool, Query(alias="allWind", description="Every wind BM unit (the whole GB fleet)")
    ] = False,
) -> SiteRange:
    """The site (exactly one of farmId…, leadParty, allWind; known to the database) and the
    range (at most :data:`MAX_RANGE_DAYS` days)."""
    start = pv.parse_day(start_text, ("query", "from"))
    end = pv.parse_day(end_text, ("query", "to"))
    if end < start:
        raise pv.InputError(("query", "to"), f"to {end} is before from {start}: allowed to >= from")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise pv.InputError(
            ("query", "to"),
            f"from {start} to {end} is {(end - start).days + 1} days: allowed up to "
            f"{MAX_RANGE_DAYS} days (10 years) per request",
        )
    units = [pv.check_name(u, ("query", "farmId"), 64) or "" for u in farm_id or []]
    if len(units) > MAX_UNITS:
        raise pv.InputError(
            ("query", "farmId"), f"{len(units)} farmId values: allowed up to {MAX_UNITS}"
        )
    lead = pv.check_name(lead_party, ("query", "leadParty"))
    given = [n for n, on in (("farmId", units), ("leadParty", lead), ("allWind", all_wind)) if on]
    if len(given) != 1:
        raise pv.InputError(
            ("query", given[-1] if given else "farmId"),
            f"site: {' and '.join(given) or 'none'} given: allowed exactly one of farmId "
            "(repeatable), leadParty or allWind=true",
        )
    name = given[0]
    site = at(name, lambda: site_of(units, lead, all_wind))
    at(name, lambda: check_site(conn, site))
    return SiteRange(site, start, end)


def assumptions(
    uptime: Annotated[
        float, Query(ge=0, le=100, allow_inf_nan=False, description="Uptime, % (0..100)")
    ] = 100.0,
    pool_fee: Annotated[
        float,
        Query(alias="poolFee", ge=0, le=100, allow_inf_nan=False, description="Pool fee, %"),
    ] = 0.0,
    fees: Annotated[
        Literal["none", "actual"],
        Query(description="Transaction fees: none (subsidy only) or actual (stored history)"),
    ] = "none",
    energy_cost: Annotated[
        float,
        Query(
            alias="energyCost",
            ge=-1e6,
            le=1e6,
            allow_inf_nan=False,
            description="Cost of the curtailed energy used, £/MWh (negative: paid to take it)",
        ),
    ] = 0.0,
    capex_per_miner: Annotated[
        float | None,
        Query(alias="capexPerMiner", ge=0, allow_inf_nan=False, description="Capex, £ per miner"),
    ] = None,
    capex_per_th: Annotated[
        float | None,
        Query(alias="capexPerTh", ge=0, allow_inf_nan=False, description="Capex, £ per TH/s"),
    ] = None,
    opex_per_month: Annotated[
        float,
        Query(alias="opexPerMonth", ge=0, allow_inf_nan=False, description="Opex, £ per month"),
    ] = 0.0,
    price: Annotated[
        Literal["stored", "constant"],
        Query(description="BTC/GBP price: stored (each date's) or constant (btcPrice)"),
    ] = "stored",
    btc_price: Annotated[
        float | None,
        Query(
            alias="btcPrice",
            gt=0,
            allow_inf_nan=False,
            description="The constant BTC price, £/BTC (with price=constant only)",
        ),
    ] = None,
) -> Assumptions:
    if price == "constant" and btc_price is None:
        raise pv.InputError(("query", "btcPrice"), "price=constant needs btcPrice (£/BTC, > 0)")
    if price == "stored" and btc_price is not None:
        raise pv.InputError(("query", "btcPrice"), "btcPrice is allowed with price=constant only")
    if capex_per_miner is not None and capex_per_th is not None:
        raise pv.InputError(
            ("query", "capexPerTh"), "capexPerMiner and capexPerTh: give one or the other"
        )
    return at(
        "uptime",
        lambda: Assumptions(
            uptime_pct=uptime,
            pool_fee_pct=pool_fee,
            fees=fees,
            energy_cost_gbp_per_mwh=energy_cost,
            capex_gbp_per_miner=capex_per_miner,
            capex_gbp_per_th=capex_per_th,
            opex_gbp_per_month=opex_per_month,
            btc_price_gbp=btc_price,
        ),
    )


SiteRangeD = Annotated[SiteRange, Depends(site_range)]
AssumptionsD = Annotated[Assumptions, Depends(assumptions)]
ModelQ = Annotated[
    str | None,
    Query(
        alias="minerModel",
        max_length=40,
        description="Miner model key (see /api/miner-models); default the first tracked model",
    ),
]


def model_of(conn: Connection, text: str | None, default: str) -> MinerModel:
    key = pv.check_name(text, ("query", "minerModel"), 40) or default
    return at("minerModel", lambda: resolve_model(conn, key))


def parse_sizes(text: str) -> list[float]:
    """``MIN:MAX:COUNT`` (MW) or a comma-separated list of MW."""
    if ":" in text:
        parts = text.split(":")
        try:
            if len(parts) != 3:
                raise ValueError
            low, high, count = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise BadInput(
                f"sizes {text[:40]!r} is not allowed: MIN:MAX:COUNT in MW (e.g. 1:500:50) or "
                "a comma-separated list of MW"
            ) from None
        return size_grid(low, high, count)
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise BadInput(
            f"sizes {text[:40]!r} is not allowed: MW numbers separated by commas, or MIN:MAX:COUNT"
        ) from None
    if not 1 <= len(values) <= MAX_SIZES:
        raise BadInput(f"sizes: {len(values)} sizes are not allowed: use 1..{MAX_SIZES}")
    return values


def parse_thresholds(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise BadInput(
            f"thresholds {text[:40]!r} is not allowed: MW numbers separated by commas"
        ) from None
    if not 1 <= len(values) <= MAX_THRESHOLDS:
        raise BadInput(f"thresholds: {len(values)} are not allowed: use 1..{MAX_THRESHOLDS}")
    for x in values:
        if not (x == x and abs(x) != float("inf") and x >= 0):
            raise BadInput(f"threshold {x!r} MW is not allowed: use a number >= 0")
    return values


SizesQ = Annotated[
    str,
    Query(
        max_length=4000,
        description=f"Fleet sizes, MW: MIN:MAX:COUNT (COUNT ≤ {MAX_SIZES}) or a comma-separated "
        "list",
    ),
]
ThresholdsQ = Annotated[
    str | None,
    Query(
        max_length=4000,
        description="Duration-curve thresholds, MW, comma-separated (default 50 up to the "
        "site's largest)",
    ),
]
