"""Wind generation consistent with the served stacks: AGWS per period and B1610 per BM unit.

Each wind unit could have generated ``potential = capacity × 0.5 h × load factor`` in a period
(the load factor is drawn from the seed, the date's kind — a heavy curtailment day is a windy
one — the unit and the period) and at least what it was curtailed; its metered generation is
``potential − curtailed``, where *curtailed* is every negative wind bid-stack line of the unit in
the period (any soFlag, so the headline's records are covered too). So metered + curtailed never
exceeds what the unit could have generated. The national series is the listed wind units'
metered sum plus embedded wind the units do not cover, split onshore/offshore, so national ≥ Σ
farms. Everything is a pure function of the seed, the date and the stacks' revisions.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from random import Random
from typing import TYPE_CHECKING, Any

from curtailcoin.settlement import (
    day_start_utc,
    period_end_utc,
    period_start_utc,
    periods_in_day,
)
from curtailcoin.testservers.lines import iso_z
from curtailcoin.testservers.responses import Response, json_response

if TYPE_CHECKING:
    from curtailcoin.testservers.elexon import ElexonTestServer

#: days after a settlement day ends until Elexon publishes its B1610 ("five days after the end
#: of the operational period", the II settlement run: OpenAPI ``/datasets/B1610``)
B1610_LAG_DAYS = 5
#: load factor range of a date by its kind
_LOAD = {"heavy": (0.55, 0.9), "light": (0.3, 0.6), "calm": (0.05, 0.25), "empty": (0.15, 0.4)}


class GenerationModel:
    """The generation a server answers: per (unit, period) metered MWh and per period national
    onshore/offshore MWh, cached per date and stack state."""

    CACHE_SIZE = 64

    def __init__(self, server: ElexonTestServer) -> None:
        self.server = server
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()

    def _key(self, d: date) -> tuple[Any, ...]:
        s = self.server
        count = periods_in_day(d)
        return (
            d,
            s.day_kind(d),
            s.available_periods(d),
            tuple(s.revision(d, p) for p in range(1, count + 1)),
            s.generator._version,
            tuple(sorted(s.wind_unit_ids())),
        )

    def day(self, d: date) -> dict[str, Any]:
        """``potential``, ``curtailed`` and ``metered`` ((unit, period) → MWh) and ``national``
        (period → (onshore, offshore) MWh) of the date's ended periods."""
        key = self._key(d)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        result = self._compute(d, key[1], key[2])
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
        return result

    def _compute(self, d: date, kind: str, available: int) -> dict[str, Any]:
        s = self.server
        seed = s.seed
        wind = sorted(s.wind_unit_ids())
        lo, hi = _LOAD[kind]
        day_rng = Random(f"{seed}|gen|{d.isoformat()}|{kind}")
        day_load = day_rng.uniform(lo, hi)
        potential: dict[tuple[str, int], float] = {}
        curtailed: dict[tuple[str, int], float] = {}
        metered: dict[tuple[str, int], float] = {}
        national: dict[int, tuple[float, float]] = {}
        wanted = set(wind)
        for p in range(1, available + 1):
            by_unit: dict[str, float] = {}
            for line in s._lines(d, p, "bid"):
                if line.unit in wanted and line.volume < 0:
                    by_unit[line.unit] = by_unit.get(line.unit, 0.0) - line.volume
            total = 0.0
            for uid in wind:
                unit = s.generator.unit(uid)
                capacity = unit.capacity_mw if unit is not None else 0.0
                r = Random(f"{seed}|gen|{d.isoformat()}|{p}|{uid}")
                load = min(1.0, day_load * r.uniform(0.6, 1.25))
                cut = by_unit.get(uid, 0.0)
                could = max(capacity * 0.5 * load, cut)
                out = math.floor((could - cut) * 1000.0) / 1000.0  # 3 decimals, never above
                potential[(uid, p)] = could
                curtailed[(uid, p)] = cut
                metered[(uid, p)] = out
                total += out
            pr = Random(f"{seed}|agws|{d.isoformat()}|{p}")
            nation = total * pr.uniform(1.15, 1.4) + pr.uniform(50.0, 400.0)
            offshore = nation * pr.uniform(0.55, 0.7)
            national[p] = (nation - offshore, offshore)
        return {
            "potential": potential,
            "curtailed": curtailed,
            "metered": metered,
            "national": national,
        }

    # -- answers ---------------------------------------------------------------------------

    def b1610_published(self, d: date) -> bool:
        """Whether B1610 of the date is out by the server clock: Elexon publishes it "five
        days after the end of the operational period" (the II settlement run; OpenAPI
        ``/datasets/B1610``), i.e. from local midnight ``b1610_lag_days`` after the day ends."""
        lag = self.server.b1610_lag_days
        return self.server.now >= day_start_utc(d + timedelta(days=1 + lag))

    def published(self, d: date, period: int) -> str:
        """AGWS ``publishTime``: about an hour after the period ends."""
        jitter = Random(f"{self.server.seed}|agwspub|{d.isoformat()}|{period}").randint(0, 900)
        return iso_z(period_end_utc(d, period) + timedelta(minutes=50, seconds=jitter))

    def wind_and_solar(self, d: date, first: int, last: int) -> list[dict[str, Any]]:
        """The ``/generation/actual/per-type/wind-and-solar`` rows of the date's periods
        ``first..last`` (MW, three psrTypes per period)."""
        national = self.day(d)["national"]
        rows: list[dict[str, Any]] = []
        for p in range(first, last + 1):
            if p not in national:
                continue
            onshore, offshore = national[p]
            start = period_start_utc(d, p)
            common = {
                "publishTime": self.published(d, p),
                "startTime": iso_z(start),
                "settlementDate": d.isoformat(),
                "settlementPeriod": p,
            }
            solar = _solar_mw(start, Random(f"{self.server.seed}|solar|{d.isoformat()}|{p}"))
            for business, psr, mw in (
                ("Wind generation", "Wind Onshore", math.ceil(onshore / 0.5 * 1000) / 1000),
                ("Wind generation", "Wind Offshore", math.ceil(offshore / 0.5 * 1000) / 1000),
                ("Solar generation", "Solar", solar),
            ):
                rows.append(
                    {
                        "publishTime": common["publishTime"],
                        "businessType": business,
                        "psrType": psr,
                        "quantity": mw,
                        "startTime": common["startTime"],
                        "settlementDate": common["settlementDate"],
                        "settlementPeriod": p,
                    }
                )
        return rows

    def b1610(
        self, d: date, first: int, last: int, units: Iterable[str] | None
    ) -> list[dict[str, Any]]:
        """The ``/datasets/B1610/stream`` rows of the date's periods ``first..last`` for
        ``units`` (default: every wind unit); a unit without generation here has no rows, and
        a date Elexon has not published yet (:meth:`b1610_published`) none at all."""
        if not self.b1610_published(d):
            return []
        metered: Mapping[tuple[str, int], float] = self.day(d)["metered"]
        wind = sorted(self.server.wind_unit_ids())
        chosen = wind if units is None else sorted(set(units) & set(wind))
        rows: list[dict[str, Any]] = []
        for p in range(first, last + 1):
            end = iso_z(period_end_utc(d, p))
            for uid in chosen:
                mwh = metered.get((uid, p))
                if mwh is None:
                    continue
                unit = self.server.generator.unit(uid)
                rows.append(
                    {
                        "dataset": "B1610",
                        "psrType": "Generation",
                        "bmUnit": uid,
                        "nationalGridBmUnitId": unit.national_grid_bm_unit if unit else None,
                        "settlementDate": d.isoformat(),
                        "settlementPeriod": p,
                        "halfHourEndTime": end,
                        "quantity": mwh,
                    }
                )
        return rows


def _solar_mw(start: datetime, rng: Random) -> float:
    """A daylight bump (MW) around 12:00 UTC; 0 at night."""
    hour = (start - datetime.combine(start.date(), time(0), tzinfo=UTC)).total_seconds() / 3600
    level = max(0.0, math.cos((hour - 12.25) / 12.0 * math.pi * 1.6))
    return round(level * rng.uniform(2000.0, 9000.0), 3)


# -- routes ----------------------------------------------------------------------------------

NATIONAL_ROUTE = "/generation/actual/per-type/wind-and-solar"
UNIT_ROUTE = "/datasets/B1610/stream"
MAX_RANGE_DAYS = 7
#: "This should be an integer from 1-50 inclusive" (the OpenAPI document's period filters)
PERIOD_RANGE = range(1, 51)


def _one(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _instant_of(value: str) -> datetime:
    """A ``from``/``to`` value as an instant: a bare date is its 00:00 UTC."""
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


Bound = tuple[date, int] | datetime
"""A range end: a settlement (date, period) when the period filter is given, else a start
time."""


def _bound(raw: str, period: int | None) -> Bound:
    """Elexon's rule: with its ``settlementPeriod…`` filter a ``from``/``to`` value is a
    settlement date (the time ignored), without it a start time (inclusive)."""
    if period is None:
        return _instant_of(raw)
    return (date.fromisoformat(raw[:10]), period)


def _parse_range(query: Mapping[str, list[str]]) -> tuple[Bound, Bound] | dict[str, list[str]]:
    """The ``from`` and ``to`` bounds, or the 400's errors."""
    errors: dict[str, list[str]] = {}
    periods: dict[str, int | None] = {}
    for name in ("settlementPeriodFrom", "settlementPeriodTo"):
        raw = _one(query, name)
        if raw is None:
            periods[name] = None
        elif not raw.lstrip("+-").isdigit() or int(raw) not in PERIOD_RANGE:
            errors[name] = [f"The value '{raw}' is not valid: an integer from 1-50 inclusive."]
        else:
            periods[name] = int(raw)
    bounds: list[Bound] = []
    for name, period_name in (("from", "settlementPeriodFrom"), ("to", "settlementPeriodTo")):
        raw = _one(query, name)
        if raw is None:
            errors[name] = [f"The {name} field is required."]
            continue
        try:
            bounds.append(_bound(raw, periods.get(period_name)))
        except ValueError:
            errors[name] = [f"The value '{raw}' is not valid."]
    return errors if errors else (bounds[0], bounds[1])


def _day_of(bound: Bound) -> date:
    return bound[0] if isinstance(bound, tuple) else bound.date()


def _after(d: date, period: int, bound: Bound) -> bool:
    if isinstance(bound, tuple):
        return (d, period) >= bound
    return period_start_utc(d, period) >= bound


def _before(d: date, period: int, bound: Bound) -> bool:
    if isinstance(bound, tuple):
        return (d, period) <= bound
    return period_start_utc(d, period) <= bound


def generation_answer(
    server: ElexonTestServer, path: str, query: Mapping[str, list[str]]
) -> Response | None:
    """The answer of a generation route (None: not one of them). ``from``/``to`` are
    inclusive: with ``settlementPeriodFrom`` ``from`` is a settlement date whose periods from
    that one on are served (likewise ``to`` with ``settlementPeriodTo``), without it a start
    time — Elexon's filters as its OpenAPI document describes them (``/balancing/physical``,
    ``/datasets/B1610/stream``: "the "from" start time or settlement date for the filter")."""
    stripped = path.rstrip("/")
    if stripped not in (NATIONAL_ROUTE, UNIT_ROUTE):
        return None
    parsed = _parse_range(query)
    if isinstance(parsed, dict):
        return server.error_response(400, errors=parsed)
    low, high = parsed
    first_day, last_day = _day_of(low), _day_of(high)
    if last_day < first_day:
        return server.error_response(400, detail="The 'to' date must not be before 'from'.")
    if (last_day - first_day).days >= MAX_RANGE_DAYS:
        return server.error_response(
            400, detail=f"The date range must not exceed {MAX_RANGE_DAYS} days."
        )
    units = {u for v in query.get("bmUnit", []) for u in v.split(",") if u} or None
    rows: list[dict[str, Any]] = []
    # a start time's settlement date can be the UTC date's neighbour (Europe/London)
    d = first_day - timedelta(days=1)
    while d <= last_day + timedelta(days=1):
        periods = [
            p for p in range(1, periods_in_day(d) + 1) if _after(d, p, low) and _before(d, p, high)
        ]
        if periods and stripped == NATIONAL_ROUTE:
            rows.extend(server.generation.wind_and_solar(d, periods[0], periods[-1]))
        elif periods:
            rows.extend(server.generation.b1610(d, periods[0], periods[-1], units))
        d += timedelta(days=1)
    if stripped == UNIT_ROUTE:
        return json_response(rows)
    body = {"data": rows, "metadata": {"datasets": ["AGWS"]}}
    return Response(200, json.dumps(body, separators=(",", ":")).encode())
