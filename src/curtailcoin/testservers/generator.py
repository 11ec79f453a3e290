"""Deterministic, realistic data for the test servers.

* :class:`StackGenerator`: Elexon settlement bid/offer stacks (ISPSTACK) per settlement period,
  from ``(seed, date, period, day kind, revision)``, and the acceptance volumes (BOAV) derived
  from them.
* :func:`load_difficulty_epochs`: the package's difficulty epochs with plausible start times
  for the epochs whose time is unknown.
* :class:`PriceBook`: BTC prices per day in USD, EUR, GBP, CAD, CHF, AUD and JPY.

Everything is a pure function of the seed and the arguments (``random.Random`` seeded with
strings, which is stable across processes and Python versions).

The stack fields derived from ``volume`` (``dmatAdjustedVolume`` … ``tlmAdjustedCost``) follow a
plausible pattern (de minimis lines below 0.1 MWh have ``dmatAdjustedVolume == 0`` and null
later adjustments, as in the real sample), not Elexon's settlement algorithm.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib.resources import files
from random import Random
from typing import Any, Literal

from curtailcoin.settlement import period_start_utc, periods_in_day

DayKind = Literal["calm", "light", "heavy", "empty"]
DAY_KINDS: tuple[str, ...] = ("calm", "light", "heavy", "empty")
Side = Literal["bid", "offer"]
SIDES: tuple[str, ...] = ("bid", "offer")

#: The 23 fields of ``SettlementStackResponse``, in Elexon's order.
STACK_FIELDS: tuple[str, ...] = (
    "settlementDate",
    "settlementPeriod",
    "startTime",
    "createdDateTime",
    "sequenceNumber",
    "id",
    "acceptanceId",
    "bidOfferPairId",
    "cadlFlag",
    "soFlag",
    "storProviderFlag",
    "repricedIndicator",
    "reserveScarcityPrice",
    "originalPrice",
    "volume",
    "dmatAdjustedVolume",
    "arbitrageAdjustedVolume",
    "nivAdjustedVolume",
    "parAdjustedVolume",
    "finalPrice",
    "transmissionLossMultiplier",
    "tlmAdjustedVolume",
    "tlmAdjustedCost",
)

#: The 12 fields of ``AcceptanceVolumeResponse``.
ACCEPTANCE_FIELDS: tuple[str, ...] = (
    "createdDateTime",
    "settlementDate",
    "settlementPeriod",
    "startTime",
    "bmUnit",
    "bmUnitType",
    "leadPartyName",
    "nationalGridBmUnit",
    "acceptanceId",
    "acceptanceDuration",
    "totalVolumeAccepted",
    "pairVolumes",
)

PAIR_VOLUME_FIELDS: tuple[str, ...] = tuple(
    f"{sign}{n}" for n in range(1, 7) for sign in ("negative", "positive")
)

_DAY0 = date(2015, 1, 1)  # origin of the acceptance-number day index


def iso_z(instant: datetime) -> str:
    """``2025-01-17T09:15:00Z``."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_bmunits_snapshot() -> list[dict[str, Any]]:
    """The package's real ``/reference/bmunits/all`` response (a list of 22-field dicts)."""
    text = (files("curtailcoin") / "data" / "bmunits_snapshot.json").read_text(encoding="utf-8")
    units: list[dict[str, Any]] = json.loads(text)
    return units


def wind_unit_ids(bm_units: Iterable[Mapping[str, Any]]) -> set[str]:
    """Elexon ids of the ``fuelType == "WIND"`` units (entries without an id are dropped)."""
    return {
        str(u["elexonBmUnit"])
        for u in bm_units
        if u.get("fuelType") == "WIND" and u.get("elexonBmUnit")
    }


# Non-wind units that are not in the snapshot (ids look like real ones; the rest is invented).
# (elexonBmUnit, nationalGridBmUnit, bmUnitType, leadPartyName, fuelType, capacity MW)
INVENTED_NON_WIND: tuple[tuple[str, str, str, str, str | None, float], ...] = (
    ("T_CARR-1", "CARR-1", "T", "Carrington Power Limited", "CCGT", 430.0),
    ("T_PEMB-11", "PEMB-11", "T", "RWE Generation UK plc", "CCGT", 470.0),
    ("T_GRAI-6", "GRAI-6", "T", "RWE Generation UK plc", "CCGT", 440.0),
    ("T_STAY-2", "STAY-2", "T", "RWE Generation UK plc", "CCGT", 430.0),
    ("T_DIDCB6", "DIDCB6", "T", "RWE Generation UK plc", "CCGT", 740.0),
    ("T_CNQPS-1", "CNQPS-1", "T", "Uniper UK Limited", "CCGT", 350.0),
    ("T_WBURB-1", "WBURB-1", "T", "Uniper UK Limited", "CCGT", 430.0),
    ("T_MRWD-1", "MRWD-1", "T", "Marchwood Power Ltd", "CCGT", 900.0),
    ("T_SEAB-1", "SEAB-1", "T", "Seabank Power Ltd", "CCGT", 800.0),
    ("T_SCCL-1", "SCCL-1", "T", "Saltend Cogeneration Co Ltd", "CCGT", 400.0),
    ("T_SPLN-1", "SPLN-1", "T", "Spalding Energy Expansion Ltd", "CCGT", 880.0),
    ("T_ROCK-1", "ROCK-1", "T", "Rocksavage Power Co Ltd", "CCGT", 810.0),
    ("T_KEAD-1", "KEAD-1", "T", "SSE Generation Ltd", "CCGT", 450.0),
    ("T_SHBA-1", "SHBA-1", "T", "Shoreham Power Ltd", "CCGT", 420.0),
    ("T_SIZB-1", "SIZB-1", "T", "EDF Energy Nuclear Generation Ltd", "NUCLEAR", 600.0),
    ("T_FOYE-1", "FOYE-1", "T", "SSE Generation Ltd", "PS", 150.0),
    ("T_DINO-1", "DINO-1", "T", "First Hydro Company", "PS", 300.0),
    ("T_DINO-2", "DINO-2", "T", "First Hydro Company", "PS", 300.0),
    ("T_FFES-1", "FFES-1", "T", "First Hydro Company", "PS", 90.0),
    ("E_LITRB-1", "LITRB-1", "E", "Example Battery Storage Ltd", "OTHER", 50.0),
    ("E_PILLB-1", "PILLB-1", "E", "Example Battery Storage Ltd", "OTHER", 50.0),
    ("E_CLAYB-1", "CLAYB-1", "E", "Example Grid Storage Ltd", "OTHER", 49.0),
    ("2__ABCDE001", "AG-ABC001", "S", "Example Flex Aggregator Ltd", None, 20.0),
    ("2__DUKPR008", "AG-DUKP08", "S", "Example Demand Response Ltd", None, 30.0),
    ("2__HFLEX001", "AG-HFX01", "S", "Example Flex Aggregator Ltd", None, 25.0),
    ("2__KLIMB002", "AG-KLM02", "S", "Example Virtual Power Ltd", None, 40.0),
    ("V__KFLEX001", "AG-KFX01", "V", "Example Virtual Power Ltd", None, 15.0),
)


@dataclass(frozen=True)
class UnitInfo:
    """What the generator knows of one BM unit."""

    bm_unit: str
    national_grid_bm_unit: str | None
    bm_unit_type: str
    lead_party_name: str | None
    fuel_type: str | None
    capacity_mw: float
    tlm: float
    bid_price: float  # typical bid price, £/MWh (wind: mostly negative)
    offer_price: float
    acceptance_base: int

    @property
    def is_wind(self) -> bool:
        return self.fuel_type == "WIND"


def _to_float(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _unit_type_from_id(uid: str) -> str:
    prefix = uid.split("_", 1)[0]
    return {"T": "T", "E": "E", "2": "S", "C": "S", "V": "V", "I": "I", "M": "T"}.get(prefix, "T")


def make_unit(ref: Mapping[str, Any], seed: int) -> UnitInfo:
    """A :class:`UnitInfo` from a ``/reference/bmunits/all`` entry (with an ``elexonBmUnit``)."""
    uid = str(ref["elexonBmUnit"])
    fuel = ref.get("fuelType")
    rng = Random(f"{seed}|unit|{uid}")
    cap = _to_float(ref.get("generationCapacity"), 0.0)
    if cap < 1.0:
        cap = rng.uniform(20.0, 80.0)
    tlf = _to_float(ref.get("transmissionLossFactor"), 0.0)
    tlm = round(1.0 + tlf + rng.uniform(-0.004, 0.004), 6)
    if fuel == "WIND":
        bid = rng.uniform(-90.0, -5.0) if rng.random() < 0.9 else rng.uniform(0.5, 60.0)
    elif fuel in ("CCGT", "OCGT", "COAL", "BIOMASS", "NUCLEAR"):
        bid = rng.uniform(10.0, 90.0)
    elif fuel in ("PS", "NPSHYD"):
        bid = rng.uniform(0.0, 70.0)
    elif fuel is not None and fuel.startswith("INT"):
        bid = rng.uniform(-20.0, 90.0)
    else:
        bid = rng.uniform(-30.0, 80.0)
    offer = max(bid, 0.0) + rng.uniform(40.0, 150.0)
    unit_type = ref.get("bmUnitType") or _unit_type_from_id(uid)
    return UnitInfo(
        bm_unit=uid,
        national_grid_bm_unit=ref.get("nationalGridBmUnit"),
        bm_unit_type=str(unit_type),
        lead_party_name=ref.get("leadPartyName"),
        fuel_type=fuel,
        capacity_mw=cap,
        tlm=tlm,
        bid_price=bid,
        offer_price=offer,
        acceptance_base=rng.randint(1_000, 400_000),
    )


class StackLine:
    """One generated stack line (the 23-field dict is built by :meth:`record`).

    ``volume`` is MWh (negative for bids), ``price`` the ``originalPrice`` £/MWh.
    """

    __slots__ = (
        "acc",
        "cadl",
        "final",
        "niv_tagged",
        "order",
        "pair",
        "price",
        "repriced",
        "rsp",
        "so",
        "stor",
        "tlm",
        "unit",
        "volume",
    )

    def __init__(
        self,
        *,
        unit: str | None,
        acc: int | None,
        pair: int | None,
        so: bool,
        cadl: bool | None,
        stor: bool | None,
        repriced: bool,
        rsp: float | None,
        price: float | None,
        final: float | None,
        volume: float,
        tlm: float | None,
        niv_tagged: bool,
        order: int,
    ) -> None:
        self.unit = unit
        self.acc = acc
        self.pair = pair
        self.so = so
        self.cadl = cadl
        self.stor = stor
        self.repriced = repriced
        self.rsp = rsp
        self.price = price
        self.final = final
        self.volume = volume
        self.tlm = tlm
        self.niv_tagged = niv_tagged
        self.order = order

    def copy(self) -> StackLine:
        new = StackLine.__new__(StackLine)
        for name in StackLine.__slots__:
            setattr(new, name, getattr(self, name))
        return new

    def sort_key(self) -> tuple[float, int]:
        # The bid stack is ranked from the highest price down; null prices last.
        return (-self.price if self.price is not None else math.inf, self.order)

    def record(
        self, settlement_date: str, period: int, start: str, created: str, sequence: int
    ) -> dict[str, Any]:
        v = self.volume
        dmat = 0.0 if abs(v) < 0.1 else v
        arb = None if dmat == 0.0 else dmat
        niv = None if arb is None else (0.0 if self.niv_tagged else arb)
        par = None if niv is None or niv == 0.0 else niv
        tlm_vol = None if par is None or self.tlm is None else par * self.tlm
        tlm_cost = None if tlm_vol is None or self.final is None else tlm_vol * self.final
        return {
            "settlementDate": settlement_date,
            "settlementPeriod": period,
            "startTime": start,
            "createdDateTime": created,
            "sequenceNumber": sequence,
            "id": self.unit,
            "acceptanceId": self.acc,
            "bidOfferPairId": self.pair,
            "cadlFlag": self.cadl,
            "soFlag": self.so,
            "storProviderFlag": self.stor,
            "repricedIndicator": self.repriced,
            "reserveScarcityPrice": self.rsp,
            "originalPrice": self.price,
            "volume": v,
            "dmatAdjustedVolume": dmat,
            "arbitrageAdjustedVolume": arb,
            "nivAdjustedVolume": niv,
            "parAdjustedVolume": par,
            "finalPrice": self.final,
            "transmissionLossMultiplier": self.tlm,
            "tlmAdjustedVolume": tlm_vol,
            "tlmAdjustedCost": tlm_cost,
        }


@dataclass(frozen=True)
class _DayProfile:
    active_wind: tuple[UnitInfo, ...]
    calm_counts: Mapping[int, int]


class _PeriodContext:
    """Per-period bookkeeping: acceptance slots per unit, line order counter."""

    def __init__(self, d: date, period: int) -> None:
        self.day_index = (d - _DAY0).days
        self.period = period
        self.next_slot: dict[str, int] = {}
        self.order = 0

    def next_order(self) -> int:
        self.order += 1
        return self.order

    def acceptance(self, unit: UnitInfo, rng: Random, *, first_slot: int = 0) -> int | None:
        slot = max(self.next_slot.get(unit.bm_unit, 0), first_slot)
        if slot > 15:
            return None
        self.next_slot[unit.bm_unit] = slot + 1
        period = self.period
        if slot == 0 and period > 1 and rng.random() < 0.2:
            period -= 1  # an acceptance that started in the previous period
        return unit.acceptance_base + self.day_index * 1000 + period * 16 + slot


def _loguniform(rng: Random, lo: float, hi: float) -> float:
    if hi <= lo:
        return lo
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def _volume(rng: Random, unit: UnitInfo, lo: float, hi_cap: float) -> float:
    """A positive MWh value shaped like Elexon's: MW level × minutes / 60."""
    hi = max(lo, min(hi_cap, unit.capacity_mw * 0.5))
    target = _loguniform(rng, lo, hi)
    minutes = 30 if rng.random() < 0.55 else rng.randint(2, 29)
    mw = min(round(target * 60.0 / minutes, 3), unit.capacity_mw)
    return min(max(mw * minutes / 60.0, lo), hi_cap)


class StackGenerator:
    """Settlement stacks for any date and period, deterministic in ``seed``.

    Day kinds: ``heavy`` (≈7,000 headline lines a day: 120–170 wind, SO-flagged,
    negative-volume lines per period over 150–200 wind units), ``light`` (a few hundred),
    ``calm`` (0–5 for the whole day), ``empty`` (no line at all, bid or offer).
    """

    CACHE_SIZE = 512

    def __init__(self, seed: int = 1, bm_units: Sequence[Mapping[str, Any]] | None = None) -> None:
        self.seed = seed
        refs = list(bm_units) if bm_units is not None else load_bmunits_snapshot()
        self._lock = threading.RLock()
        self._units: dict[str, UnitInfo] = {}
        wind: list[UnitInfo] = []
        nonwind: list[UnitInfo] = []
        for ref in refs:
            uid = ref.get("elexonBmUnit")
            if not uid or uid in self._units:
                continue
            unit = make_unit(ref, seed)
            self._units[unit.bm_unit] = unit
            (wind if unit.is_wind else nonwind).append(unit)
        for uid, ngc, utype, lead, fuel, cap in INVENTED_NON_WIND:
            if uid in self._units:
                continue
            ref = {
                "elexonBmUnit": uid,
                "nationalGridBmUnit": ngc,
                "bmUnitType": utype,
                "leadPartyName": lead,
                "fuelType": fuel,
                "generationCapacity": f"{cap:.3f}",
            }
            unit = make_unit(ref, seed)
            self._units[uid] = unit
            nonwind.append(unit)
        self.wind_units: tuple[UnitInfo, ...] = tuple(wind)
        self.nonwind_units: tuple[UnitInfo, ...] = tuple(nonwind)
        self._added_wind: list[tuple[UnitInfo, date | None]] = []
        self._version = 0
        self._cache: OrderedDict[tuple[Any, ...], list[StackLine]] = OrderedDict()
        self._profiles: OrderedDict[tuple[date, str], _DayProfile] = OrderedDict()

    # -- units -----------------------------------------------------------------------------

    def unit(self, uid: str) -> UnitInfo | None:
        with self._lock:
            return self._units.get(uid)

    def add_wind_unit(self, ref: Mapping[str, Any], since: date | None = None) -> UnitInfo:
        """Give a (new) wind unit curtailment lines on light and heavy days from ``since`` on."""
        unit = make_unit({**ref, "fuelType": "WIND"}, self.seed)
        with self._lock:
            self._units[unit.bm_unit] = unit
            self._added_wind.append((unit, since))
            self._version += 1
            self._cache.clear()
        return unit

    # -- days ------------------------------------------------------------------------------

    def natural_day_kind(self, d: date) -> DayKind:
        """The kind a date has unless forced: 25% calm, 40% light, 35% heavy."""
        x = Random(f"{self.seed}|kind|{d.isoformat()}").random()
        if x < 0.25:
            return "calm"
        if x < 0.65:
            return "light"
        return "heavy"

    def _profile(self, d: date, kind: str) -> _DayProfile:
        key = (d, kind)
        with self._lock:
            found = self._profiles.get(key)
            if found is not None:
                return found
        rng = Random(f"{self.seed}|day|{d.isoformat()}|{kind}")
        pool = list(self.wind_units)
        calm: dict[int, int] = {}
        if kind == "heavy":
            k = rng.randint(min(150, len(pool)), min(200, len(pool)))
        elif kind == "light":
            k = rng.randint(min(20, len(pool)), min(60, len(pool)))
        elif kind == "calm":
            k = rng.randint(min(1, len(pool)), min(4, len(pool)))
            for _ in range(rng.randint(0, 5)):
                p = rng.randint(1, periods_in_day(d))
                calm[p] = calm.get(p, 0) + 1
        else:
            k = 0
        profile = _DayProfile(tuple(rng.sample(pool, k)), calm)
        with self._lock:
            self._profiles[key] = profile
            while len(self._profiles) > 4096:
                self._profiles.popitem(last=False)
        return profile

    def created(self, d: date, period: int, revision: int) -> datetime:
        """``createdDateTime``: about 09:15Z the next day; each revision one day (and a few
        minutes) later."""
        jitter = Random(f"{self.seed}|created|{d.isoformat()}|{period}").randint(0, 150)
        base = datetime.combine(d + timedelta(days=1), time(9, 15), tzinfo=UTC)
        return base + timedelta(days=revision, seconds=jitter + 420 * revision)

    # -- stacks ----------------------------------------------------------------------------

    def lines(self, d: date, period: int, side: str, kind: str, revision: int) -> list[StackLine]:
        """The period's stack lines in ``sequenceNumber`` order (shared: do not mutate)."""
        if side not in SIDES:
            raise ValueError(f"side must be bid or offer, not {side!r}")
        if kind not in DAY_KINDS:
            raise ValueError(f"day kind must be one of {', '.join(DAY_KINDS)}, not {kind!r}")
        if not 1 <= period <= periods_in_day(d):
            raise ValueError(f"period {period} does not exist on {d}")
        with self._lock:
            key = (d, period, side, kind, revision, self._version)
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
            if revision <= 0:
                result = self._generate(d, period, side, kind)
            else:
                prev = self.lines(d, period, side, kind, revision - 1)
                result = self._revise(prev, d, period, side, kind, revision)
            self._cache[key] = result
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
            return result

    def records(
        self, d: date, period: int, side: str, kind: str, revision: int
    ) -> list[dict[str, Any]]:
        """The period's stack as Elexon's JSON records (23 fields each)."""
        lines = self.lines(d, period, side, kind, revision)
        ds = d.isoformat()
        start = iso_z(period_start_utc(d, period))
        created = iso_z(self.created(d, period, revision))
        return [ln.record(ds, period, start, created, i) for i, ln in enumerate(lines, 1)]

    def acceptance_volumes(
        self, d: date, period: int, side: str, kind: str, revision: int
    ) -> list[dict[str, Any]]:
        """BOAV items for the period: one per (BM unit, acceptance), summing its stack lines."""
        groups: dict[tuple[str, int], list[StackLine]] = {}
        for ln in self.lines(d, period, side, kind, revision):
            if ln.unit is None or ln.acc is None:
                continue
            groups.setdefault((ln.unit, ln.acc), []).append(ln)
        ds = d.isoformat()
        start = iso_z(period_start_utc(d, period))
        created = iso_z(self.created(d, period, revision))
        items: list[dict[str, Any]] = []
        for (uid, acc), lines in sorted(groups.items()):
            unit = self.unit(uid)
            pairs: dict[str, float | None] = dict.fromkeys(PAIR_VOLUME_FIELDS)
            for ln in lines:
                if ln.pair is None or ln.pair == 0:
                    continue
                name = f"{'negative' if ln.pair < 0 else 'positive'}{abs(ln.pair)}"
                pairs[name] = (pairs[name] or 0.0) + ln.volume
            items.append(
                {
                    "createdDateTime": created,
                    "settlementDate": ds,
                    "settlementPeriod": period,
                    "startTime": start,
                    "bmUnit": uid,
                    "bmUnitType": unit.bm_unit_type if unit else _unit_type_from_id(uid),
                    "leadPartyName": unit.lead_party_name if unit else None,
                    "nationalGridBmUnit": unit.national_grid_bm_unit if unit else None,
                    "acceptanceId": acc,
                    "acceptanceDuration": "S" if any(ln.cadl for ln in lines) else "L",
                    "totalVolumeAccepted": sum(ln.volume for ln in lines),
                    "pairVolumes": pairs,
                }
            )
        return items

    # -- generation ------------------------------------------------------------------------

    def _headline_count(self, rng: Random, d: date, period: int, kind: str) -> int:
        if kind == "heavy":
            return rng.randint(120, 170)
        if kind == "light":
            return rng.randint(1, 30) if rng.random() < 0.6 else 0
        if kind == "calm":
            return self._profile(d, kind).calm_counts.get(period, 0)
        return 0

    def _generate(self, d: date, period: int, side: str, kind: str) -> list[StackLine]:
        if kind == "empty":
            return []
        rng = Random(f"{self.seed}|{side}|{d.isoformat()}|{period}|{kind}")
        ctx = _PeriodContext(d, period)
        lines: list[StackLine] = []
        if side == "bid":
            self._wind_bids(lines, rng, ctx, d, period, kind)
            others: list[StackLine] = []
            for _ in range(rng.randint(60, 140)):
                line = self._nonwind_bid(rng, ctx, rng.choice(self.nonwind_units))
                if line is not None:
                    others.append(line)
            self._split(others, rng, ctx, round(len(others) * 0.03), wind=False)
            lines.extend(others)
            for _ in range(rng.randint(2, 6)):
                lines.append(self._null_id_line(rng, ctx))
        else:
            for _ in range(rng.randint(30, 90)):
                line = self._offer(rng, ctx, rng.choice(self.nonwind_units))
                if line is not None:
                    lines.append(line)
            if self.wind_units:
                for _ in range(rng.randint(0, 3)):
                    line = self._offer(rng, ctx, rng.choice(self.wind_units))
                    if line is not None:
                        lines.append(line)
        lines.sort(key=StackLine.sort_key)
        return lines

    def _wind_bids(
        self,
        lines: list[StackLine],
        rng: Random,
        ctx: _PeriodContext,
        d: date,
        period: int,
        kind: str,
    ) -> None:
        count = self._headline_count(rng, d, period, kind)
        active = self._profile(d, kind).active_wind
        if count and active:
            n_split = round(count * rng.uniform(0.02, 0.08)) if count >= 10 else 0
            n_acc = count - n_split
            m = min(len(active), max(1, round(n_acc / rng.uniform(1.1, 1.4))))
            chosen = rng.sample(active, m)
            headline: list[StackLine] = []
            for i in range(n_acc):
                unit = chosen[i] if i < m else rng.choice(chosen)
                line = self._wind_bid(rng, ctx, unit)
                if line is not None:
                    headline.append(line)
            self._split(headline, rng, ctx, n_split, wind=True)
            lines.extend(headline)
            n_extra = round(count * rng.uniform(0.04, 0.12))
            if n_extra == 0 and rng.random() < 0.5:
                n_extra = 1
            for _ in range(n_extra):
                x = rng.random()
                unit = rng.choice(active)
                if x < 0.6:
                    line = self._wind_bid(rng, ctx, unit, so=False)
                elif x < 0.85:
                    line = self._wind_bid(rng, ctx, unit, sign=0)
                else:
                    line = self._wind_bid(rng, ctx, unit, sign=1)
                if line is not None:
                    lines.append(line)
        # Wind units registered later (server.add_bm_unit) get their own, independent lines.
        for unit, since in self._added_wind:
            if since is not None and d < since:
                continue
            r = Random(f"{self.seed}|added|{unit.bm_unit}|{d.isoformat()}|{period}")
            chance = {"heavy": 0.7, "light": 0.25 if count else 0.0}.get(kind, 0.0)
            if r.random() < chance:
                line = self._wind_bid(r, ctx, unit)
                if line is not None:
                    lines.append(line)

    def _wind_bid(
        self,
        rng: Random,
        ctx: _PeriodContext,
        unit: UnitInfo,
        *,
        so: bool = True,
        sign: int = -1,
        first_slot: int = 0,
    ) -> StackLine | None:
        acc = ctx.acceptance(unit, rng, first_slot=first_slot)
        if acc is None:
            return None
        if sign < 0:
            volume = -_volume(rng, unit, 0.1, 150.0)
        elif sign > 0:
            volume = _volume(rng, unit, 0.1, 10.0)
        else:
            volume = 0.0
        price = round(unit.bid_price + rng.gauss(0.0, 1.0), 2)
        price = min(price, -1.0) if unit.bid_price < 0 else max(price, 0.5)
        repriced = rng.random() < 0.03
        return StackLine(
            unit=unit.bm_unit,
            acc=acc,
            pair=-1 if rng.random() < 0.9 else -2,
            so=so,
            cadl=rng.random() < 0.04,
            stor=False,
            repriced=repriced,
            rsp=0.0,
            price=price,
            final=round(rng.uniform(30.0, 110.0), 2) if repriced else price,
            volume=volume,
            tlm=unit.tlm,
            niv_tagged=rng.random() < 0.6,
            order=ctx.next_order(),
        )

    def _nonwind_bid(
        self, rng: Random, ctx: _PeriodContext, unit: UnitInfo, *, first_slot: int = 0
    ) -> StackLine | None:
        acc = ctx.acceptance(unit, rng, first_slot=first_slot)
        if acc is None:
            return None
        if rng.random() < 0.04:  # de minimis lines like -0.004166… MWh
            volume = -(rng.choice((0.25, 0.5, 1.0, 2.0)) * rng.randint(1, 5) / 60.0)
        else:
            volume = -_volume(rng, unit, 0.5, 300.0)
        x = rng.random()
        pair = -1 if x < 0.7 else -2 if x < 0.88 else 1 if x < 0.96 else 2
        price = round(unit.bid_price + rng.gauss(0.0, 3.0), 2)
        repriced = rng.random() < 0.02
        return StackLine(
            unit=unit.bm_unit,
            acc=acc,
            pair=pair,
            so=rng.random() < 0.45,
            cadl=rng.random() < 0.12,
            stor=rng.random() < 0.02,
            repriced=repriced,
            rsp=0.0,
            price=price,
            final=round(rng.uniform(20.0, 120.0), 2) if repriced else price,
            volume=volume,
            tlm=unit.tlm,
            niv_tagged=rng.random() < 0.6,
            order=ctx.next_order(),
        )

    def _offer(
        self, rng: Random, ctx: _PeriodContext, unit: UnitInfo, *, first_slot: int = 0
    ) -> StackLine | None:
        acc = ctx.acceptance(unit, rng, first_slot=first_slot)
        if acc is None:
            return None
        price = round(unit.offer_price + rng.gauss(0.0, 4.0), 2)
        return StackLine(
            unit=unit.bm_unit,
            acc=acc,
            pair=1 if rng.random() < 0.75 else 2,
            so=rng.random() < 0.5,
            cadl=rng.random() < 0.1,
            stor=rng.random() < 0.03,
            repriced=False,
            rsp=0.0,
            price=price,
            final=price,
            volume=_volume(rng, unit, 0.5, 300.0),
            tlm=unit.tlm,
            niv_tagged=rng.random() < 0.5,
            order=ctx.next_order(),
        )

    @staticmethod
    def _null_id_line(rng: Random, ctx: _PeriodContext) -> StackLine:
        """A balancing-services adjustment line: no BM unit, no acceptance."""
        price = round(rng.uniform(20.0, 120.0), 2)
        return StackLine(
            unit=None,
            acc=None,
            pair=None,
            so=rng.random() < 0.5,
            cadl=None,
            stor=None,
            repriced=False,
            rsp=None,
            price=price,
            final=price,
            volume=-_loguniform(rng, 1.0, 200.0),
            tlm=None,
            niv_tagged=rng.random() < 0.5,
            order=ctx.next_order(),
        )

    @staticmethod
    def _split(
        lines: list[StackLine], rng: Random, ctx: _PeriodContext, count: int, *, wind: bool
    ) -> None:
        """Split ``count`` lines in two: same acceptance and pair, different sequenceNumber."""
        candidates = [ln for ln in lines if ln.unit is not None and abs(ln.volume) >= 0.5]
        for _ in range(count):
            if not candidates:
                return
            original = rng.choice(candidates)
            part = original.copy()
            fraction = rng.uniform(0.2, 0.8)
            part.volume = original.volume * (1.0 - fraction)
            original.volume = original.volume * fraction
            part.order = ctx.next_order()
            if not wind and rng.random() < 0.3:
                part.so = not original.so
            lines.append(part)
            if abs(original.volume) < 0.5:
                candidates.remove(original)

    # -- revisions -------------------------------------------------------------------------

    def _revise(
        self,
        prev: list[StackLine],
        d: date,
        period: int,
        side: str,
        kind: str,
        revision: int,
    ) -> list[StackLine]:
        """A later settlement run: some volumes/prices change, a few lines go, a few come."""
        rng = Random(f"{self.seed}|rev|{side}|{d.isoformat()}|{period}|{kind}|{revision}")
        if kind == "empty":
            return []
        ctx = _PeriodContext(d, period)
        ctx.order = max((ln.order for ln in prev), default=0)
        out: list[StackLine] = []
        headline_changed = False
        for ln in prev:
            x = rng.random()
            if x < 0.03 and len(prev) > 1:
                if _is_headline(ln, self._units):
                    headline_changed = True
                continue
            new = ln.copy()
            if x < 0.18 and new.volume != 0.0:
                new.volume = ln.volume * rng.uniform(0.7, 1.3)
                headline_changed = headline_changed or _is_headline(ln, self._units)
            elif x < 0.23 and new.price is not None:
                new.price = round(new.price + rng.uniform(-3.0, 3.0), 2)
                if not new.repriced:
                    new.final = new.price
                headline_changed = headline_changed or _is_headline(ln, self._units)
            out.append(new)
        if not headline_changed:
            for new in out:
                if _is_headline(new, self._units):
                    new.volume *= 1.1
                    break
        # Slots above those of the first run, so new acceptances never collide with old ones.
        for ln in out:
            unit = self._units.get(ln.unit) if ln.unit is not None else None
            if unit is None or ln.acc is None:
                continue
            slot = ln.acc - (unit.acceptance_base + ctx.day_index * 1000 + period * 16)
            floor = slot + 1 if 0 <= slot <= 15 else 8
            ctx.next_slot[unit.bm_unit] = max(ctx.next_slot.get(unit.bm_unit, 8), floor)
        active = self._profile(d, kind).active_wind
        n_add = 1 + len(prev) // 50 if kind in ("heavy", "light") else rng.randint(0, 1)
        for _ in range(n_add):
            if side == "bid" and active and kind in ("heavy", "light"):
                line = self._wind_bid(rng, ctx, rng.choice(active), first_slot=8)
            elif side == "bid":
                line = self._nonwind_bid(rng, ctx, rng.choice(self.nonwind_units), first_slot=8)
            else:
                line = self._offer(rng, ctx, rng.choice(self.nonwind_units), first_slot=8)
            if line is not None:
                out.append(line)
        out.sort(key=StackLine.sort_key)
        return out


def _is_headline(line: StackLine, units: Mapping[str, UnitInfo]) -> bool:
    if line.unit is None or not line.so or line.volume >= 0:
        return False
    unit = units.get(line.unit)
    return unit is not None and unit.is_wind


# ----------------------------------------------------------------------------------------------
# Difficulty epochs


@dataclass(frozen=True)
class Epoch:
    """One difficulty epoch: its first block's height and time, and the difficulty."""

    epoch: int
    height: int
    time: int  # unix seconds of the epoch's first block
    difficulty: float
    source: str  # start_time_source from the CSV, or "generated" / "added"


def load_difficulty_epochs(seed: int = 1) -> list[Epoch]:
    """The package's ``difficulty_epochs.csv``, oldest first.

    Epochs whose ``start_time_source`` is ``unknown_use_live_api`` get deterministic start
    times: the previous epoch's time + 14 days ± up to 12 hours.
    """
    text = (files("curtailcoin") / "data" / "difficulty_epochs.csv").read_text(encoding="utf-8")
    epochs: list[Epoch] = []
    for row in csv.DictReader(text.splitlines()):
        n = int(row["epoch"])
        raw_time = (row.get("start_time_unix") or "").strip()
        if raw_time:
            ts = int(raw_time)
            source = row["start_time_source"]
        else:
            if not epochs:
                raise ValueError("the first epoch has no start time")
            jitter = Random(f"{seed}|epoch|{n}").randint(-43_200, 43_200)
            ts = epochs[-1].time + 14 * 86_400 + jitter
            source = "generated"
        # mempool.space answers the exact difficulty (max_target / target), not the CSV's
        # two-decimal rounding.
        difficulty = 0xFFFF * 2**208 / int(row["target_hex"], 16)
        epochs.append(Epoch(n, int(row["start_height"]), ts, difficulty, source))
    return epochs


# ----------------------------------------------------------------------------------------------
# Prices

CURRENCIES: tuple[str, ...] = ("USD", "EUR", "GBP", "CAD", "CHF", "AUD", "JPY")
FIRST_PRICE_DAY = date(2010, 7, 18)

# Rough BTC/USD on 1 January of each year (log-interpolated in between) and USD→GBP.
_USD_ANCHORS: tuple[tuple[int, float], ...] = (
    (2010, 0.06), (2011, 0.30), (2012, 5.3), (2013, 13.3), (2014, 770.0), (2015, 314.0),
    (2016, 434.0), (2017, 998.0), (2018, 13_650.0), (2019, 3_840.0), (2020, 7_200.0),
    (2021, 29_400.0), (2022, 47_700.0), (2023, 16_600.0), (2024, 42_300.0), (2025, 94_400.0),
    (2026, 88_000.0), (2027, 95_000.0), (2028, 100_000.0), (2030, 120_000.0),
)  # fmt: skip
_GBP_ANCHORS: tuple[tuple[int, float], ...] = (
    (2010, 0.64), (2014, 0.60), (2016, 0.68), (2017, 0.81), (2018, 0.74), (2019, 0.78),
    (2020, 0.76), (2021, 0.73), (2022, 0.74), (2023, 0.83), (2024, 0.79), (2025, 0.80),
    (2026, 0.74), (2030, 0.75),
)  # fmt: skip
_FX_OTHER: dict[str, float] = {"EUR": 0.91, "CAD": 1.33, "CHF": 0.92, "AUD": 1.42, "JPY": 135.0}


def _interp(anchors: Sequence[tuple[int, float]], d: date, *, log: bool) -> float:
    x = d.year + (d.timetuple().tm_yday - 1) / 366.0
    if x <= anchors[0][0]:
        return anchors[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(anchors):
        if x <= x1:
            f = (x - x0) / (x1 - x0)
            if log:
                return math.exp(math.log(y0) + f * (math.log(y1) - math.log(y0)))
            return y0 + f * (y1 - y0)
    return anchors[-1][1]


class PriceBook:
    """Deterministic daily BTC prices (at 00:00 UTC) in seven currencies, with overrides.

    Share one book between a :class:`~curtailcoin.testservers.mempool.MempoolTestServer` and a
    :class:`~curtailcoin.testservers.mempool.CoinGeckoTestServer` to make them agree.
    """

    def __init__(self, seed: int = 1) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self._overrides: dict[date, dict[str, float]] = {}
        self._missing: set[date] = set()

    def fx(self, d: date) -> dict[str, float]:
        """USD→currency rates for the day (``{"GBP": 0.79, …}``; USD is 1)."""
        rng = Random(f"{self.seed}|fx|{d.isoformat()}")
        rates = {"USD": 1.0, "GBP": round(_interp(_GBP_ANCHORS, d, log=False), 4)}
        for cur, base in _FX_OTHER.items():
            rates[cur] = round(base * (1.0 + rng.uniform(-0.03, 0.03)), 4)
        return rates

    def _natural_usd(self, d: date) -> float:
        rng = Random(f"{self.seed}|btc|{d.isoformat()}")
        wave = 0.04 * math.sin(d.toordinal() / 9.0 + self.seed)
        return _interp(_USD_ANCHORS, d, log=True) * (1.0 + wave + rng.uniform(-0.015, 0.015))

    def quote(self, d: date) -> dict[str, float] | None:
        """The day's prices per currency, or None when the day has no price."""
        with self._lock:
            if d in self._missing or d < FIRST_PRICE_DAY:
                return None
            override = dict(self._overrides.get(d, {}))
        rates = self.fx(d)
        usd = override.get("USD")
        if usd is None:
            gbp = override.get("GBP")
            usd = gbp / rates["GBP"] if gbp is not None else self._natural_usd(d)
        out = {}
        for cur in CURRENCIES:
            value = override.get(cur, usd * rates[cur])
            out[cur] = round(value) if cur == "JPY" else round(value, 2)
        return out

    def price(self, d: date, currency: str = "GBP") -> float | None:
        q = self.quote(d)
        return None if q is None else q[currency.upper()]

    def price_at(self, instant: datetime, currency: str = "GBP") -> float | None:
        """Price at any instant: linear between the day's and the next day's 00:00 prices."""
        d = instant.astimezone(UTC).date()
        here = self.price(d, currency)
        if here is None:
            return None
        nxt = self.price(d + timedelta(days=1), currency)
        if nxt is None:
            return here
        start = datetime.combine(d, time(0), tzinfo=UTC)
        f = (instant - start).total_seconds() / 86_400.0
        return round(here + f * (nxt - here), 2)

    def set_price(
        self, d: date, *, gbp: float | None = None, usd: float | None = None, **others: float
    ) -> None:
        """Fix the day's price (GBP and/or USD; other currencies by keyword, e.g. EUR=…)."""
        values = {k.upper(): float(v) for k, v in others.items()}
        if gbp is not None:
            values["GBP"] = float(gbp)
        if usd is not None:
            values["USD"] = float(usd)
        unknown = set(values) - set(CURRENCIES)
        if unknown:
            raise ValueError(f"unknown currencies {sorted(unknown)}: allowed {CURRENCIES}")
        with self._lock:
            self._overrides[d] = values
            self._missing.discard(d)

    def set_missing(self, d: date, missing: bool = True) -> None:
        """Make the day have no price (or restore it)."""
        with self._lock:
            if missing:
                self._missing.add(d)
            else:
                self._missing.discard(d)
