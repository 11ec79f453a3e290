"""The one call an entry point makes: a scenario, or a sizing sweep, of a site over a range.

Checks the request (``BadInput``, one line naming the value and what is allowed), reads the
site's per-period energies, the prices and (``fees=actual``) the fees once, then runs the pure
model. The CLI prints the typed result; an API route returns ``to_json(result)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
from sqlalchemy import Connection

from curtailcoin.economics.fees import FeeSource, fee_vector, stored_fee_source
from curtailcoin.economics.inputs import (
    Assumptions,
    Calendar,
    Fleet,
    Floats,
    SitePeriods,
    fleet_spec,
    miners_for_mw,
)
from curtailcoin.economics.model import RollupMaker, evaluate
from curtailcoin.economics.results import (
    DurationResult,
    Level,
    PriceBasis,
    Rollup,
    ScenarioResult,
    SizingResult,
)
from curtailcoin.economics.site import Site, check_site, read_site_periods
from curtailcoin.economics.sizing import (
    MAX_SIZES,
    best_size,
    default_thresholds,
    duration_curve,
    sweep,
)
from curtailcoin.farm_months import PRICE_CURRENCY
from curtailcoin.miners import MinerModel, load_catalogue, resolve_models
from curtailcoin.pipeline.inputs import BadInput, validate_range
from curtailcoin.prices import latest_prices, stored_prices
from curtailcoin.reference import load_miner_models

LEVELS: tuple[Level, ...] = ("period", "day", "month", "year")
MAX_THRESHOLDS = 1000
"""The most duration-curve thresholds one call takes."""
MAX_MINERS = 10_000_000
"""A fleet larger than this (≈ 35 GW of S21s) is a typo."""


@dataclass(frozen=True)
class ScenarioRequest:
    """A site, a model and a size (``miners`` or ``size_mw``), a range and the assumptions."""

    site: Site
    model: str
    start: date
    end: date
    miners: int | None = None
    size_mw: float | None = None
    assumptions: Assumptions = field(default_factory=Assumptions)
    level: Level = "month"


@dataclass(frozen=True)
class SizingRequest:
    """A site, a model, a range, the sizes to sweep (MW) and the duration-curve thresholds."""

    site: Site
    model: str
    start: date
    end: date
    sizes_mw: list[float]
    assumptions: Assumptions = field(default_factory=Assumptions)
    thresholds_mw: list[float] | None = None


def resolve_model(conn: Connection, key: str) -> MinerModel:
    """A catalogue or user model by key (case-insensitive), or ``BadInput`` listing the keys."""
    catalogue = load_miner_models(conn) or load_catalogue()
    try:
        return resolve_models([key], catalogue)[0]
    except ValueError as exc:
        raise BadInput(str(exc)) from None


def fleet_of(model: MinerModel, miners: int | None, size_mw: float | None) -> Fleet:
    """The fleet of ``miners`` machines, or of as many as fit in ``size_mw`` MW."""
    if (miners is None) == (size_mw is None):
        raise BadInput("fleet size: give exactly one of --miners N or --mw X")
    if size_mw is not None:
        if not (np.isfinite(size_mw) and size_mw > 0):
            raise BadInput(f"size {size_mw!r} MW is not allowed: use a number > 0")
        miners = miners_for_mw(model.power_w, size_mw)
        if miners < 1:
            raise BadInput(
                f"size {size_mw:g} MW is not allowed: one {model.key} needs "
                f"{model.power_w / 1e6:g} MW"
            )
    assert miners is not None
    if not 1 <= miners <= MAX_MINERS:
        raise BadInput(f"miners {miners} is not allowed: use 1..{MAX_MINERS:,}")
    return Fleet(model.key, model.hashrate_th, model.power_w, miners)


@dataclass(frozen=True)
class _Inputs:
    periods: SitePeriods
    calendar: Calendar
    units: int
    price_gbp_by_day: Floats
    price: PriceBasis
    latest_gbp: float | None
    fees: Floats | None


def _inputs(
    conn: Connection,
    site: Site,
    start: date,
    end: date,
    assumptions: Assumptions,
    fee_source: FeeSource | None,
    now: datetime | None,
) -> _Inputs:
    validate_range(start, end, now)
    units = check_site(conn, site)
    source = None
    if assumptions.fees == "actual":
        source = fee_source or stored_fee_source(conn)  # refuses while no fee is stored
    periods = read_site_periods(conn, site, start, end)
    calendar = Calendar.of(start, end)
    latest = latest_prices(conn, (PRICE_CURRENCY,))[PRICE_CURRENCY]
    if assumptions.btc_price_gbp is not None:
        by_day = np.full(len(calendar.dates), assumptions.btc_price_gbp)
        label = f"constant £{assumptions.btc_price_gbp:,.2f}/BTC"
    else:
        stored = stored_prices(conn, start, end, (PRICE_CURRENCY,))
        by_day = np.array(
            [
                stored[(d, PRICE_CURRENCY)].price if (d, PRICE_CURRENCY) in stored else np.nan
                for d in calendar.dates
            ]
        )
        label = "each date's BTC/GBP price"
    basis = PriceBasis(
        label,
        assumptions.btc_price_gbp,
        None if latest is None else latest.price_date,
        None if latest is None else latest.price,
    )
    fees = None if source is None else fee_vector(conn, periods, source)
    return _Inputs(
        periods, calendar, units, by_day, basis, None if latest is None else latest.price, fees
    )


@dataclass(frozen=True)
class EvaluatedScenario:
    """A scenario read and evaluated once: its rows of any level on demand (one at a time, so an
    export streams them), its total, payback and the typed result."""

    request: ScenarioRequest
    fleet: Fleet
    inputs: _Inputs
    maker: RollupMaker

    def rows(self, level: Level | None = None) -> Iterator[Rollup]:
        """The rows at ``level`` (default the request's), made as they are consumed."""
        return self.maker.rows(self.request.level if level is None else level)

    def result(self, level: Level | None = None) -> ScenarioResult:
        """The rows at ``level`` (default the request's), the total and the payback."""
        level = self.request.level if level is None else level
        rows = list(self.rows(level))
        request, a = self.request, self.request.assumptions
        return ScenarioResult(
            site=request.site.label,
            site_units=self.inputs.units,
            start=request.start,
            end=request.end,
            fleet=fleet_spec(self.fleet, a),
            assumptions=a.assumed(),
            price=self.inputs.price,
            level=level,
            rows=rows,
            total=self.maker.total(),
            payback=self.maker.payback(rows if level == "month" else None),
        )


def evaluate_scenario(
    conn: Connection,
    request: ScenarioRequest,
    fee_source: FeeSource | None = None,
    now: datetime | None = None,
) -> EvaluatedScenario:
    """Check the request (``BadInput``), read the site, prices and fees once, run the model."""
    if request.level not in LEVELS:
        raise BadInput(f"level {request.level!r} is not allowed: use {', '.join(LEVELS)}")
    model = resolve_model(conn, request.model)
    fleet = fleet_of(model, request.miners, request.size_mw)
    a = request.assumptions
    data = _inputs(conn, request.site, request.start, request.end, a, fee_source, now)
    figures = evaluate(data.periods, fleet, a, data.price_gbp_by_day, data.fees)
    maker = RollupMaker(data.periods, figures, fleet, a, data.latest_gbp, data.calendar)
    return EvaluatedScenario(request, fleet, data, maker)


def run_scenario(
    conn: Connection,
    request: ScenarioRequest,
    fee_source: FeeSource | None = None,
    now: datetime | None = None,
) -> ScenarioResult:
    """The scenario's rows at ``request.level``, its total and its payback."""
    return evaluate_scenario(conn, request, fee_source, now).result()


def run_sizing(
    conn: Connection,
    request: SizingRequest,
    fee_source: FeeSource | None = None,
    now: datetime | None = None,
) -> SizingResult:
    """Every size of the sweep, the one with the shortest payback, and the duration curve."""
    model = resolve_model(conn, request.model)
    if not 1 <= len(request.sizes_mw) <= MAX_SIZES:
        raise BadInput(
            f"sizes: {len(request.sizes_mw)} fleet sizes are not allowed: use 1..{MAX_SIZES}"
        )
    for mw in request.sizes_mw:
        fleet_of(model, None, mw)  # each size checked alike
    a = request.assumptions
    data = _inputs(conn, request.site, request.start, request.end, a, fee_source, now)
    points = sweep(
        data.periods,
        model.key,
        model.hashrate_th,
        model.power_w,
        list(request.sizes_mw),
        a,
        data.price_gbp_by_day,
        data.fees,
        data.calendar,
    )
    best, reason = best_size(points)
    thresholds = _thresholds(data.periods, request.thresholds_mw)
    return SizingResult(
        site=request.site.label,
        site_units=data.units,
        start=request.start,
        end=request.end,
        model_key=model.key,
        assumptions=a.assumed(),
        price=data.price,
        sizes=points,
        best=best,
        best_reason=reason,
        duration_curve=duration_curve(data.periods, thresholds, data.calendar),
    )


def _thresholds(periods: SitePeriods, given: list[float] | None) -> list[float]:
    if given is None:
        return default_thresholds(periods)
    if len(given) > MAX_THRESHOLDS:
        raise BadInput(
            f"duration-curve thresholds: {len(given)} are not allowed: use 0..{MAX_THRESHOLDS}"
        )
    for x in given:
        if not (np.isfinite(x) and x >= 0):
            raise BadInput(f"duration-curve threshold {x!r} MW is not allowed: use a number >= 0")
    return list(given)


def run_duration_curve(
    conn: Connection,
    site: Site,
    start: date,
    end: date,
    thresholds_mw: list[float] | None = None,
    now: datetime | None = None,
) -> DurationResult:
    """Hours with at least x MW curtailed at the site (no fleet, no prices needed)."""
    validate_range(start, end, now)
    units = check_site(conn, site)
    periods = read_site_periods(conn, site, start, end)
    curve = duration_curve(periods, _thresholds(periods, thresholds_mw))
    return DurationResult(site.label, units, start, end, curve)
