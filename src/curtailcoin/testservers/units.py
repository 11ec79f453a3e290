"""The BM units the generated stacks draw from: the packaged snapshot plus invented non-wind units.

Each unit gets seeded, stable traits (transmission loss multiplier, typical bid and offer price,
acceptance-number base), so a unit's lines look alike from one period to the next.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from random import Random
from typing import Any


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


@dataclass(frozen=True)
class UnitSet:
    """Every unit by id, and the wind and non-wind units in the order they were listed."""

    by_id: dict[str, UnitInfo]
    wind: tuple[UnitInfo, ...]
    nonwind: tuple[UnitInfo, ...]


def _to_float(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def unit_type_from_id(uid: str) -> str:
    """The ``bmUnitType`` an Elexon id's prefix implies (``T_…`` → ``T``, ``2__…`` → ``S``)."""
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
    unit_type = ref.get("bmUnitType") or unit_type_from_id(uid)
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


def build_units(refs: Sequence[Mapping[str, Any]], seed: int) -> UnitSet:
    """The listed units (the first entry of an id wins; entries without one are skipped), then
    the invented non-wind units whose ids are not listed."""
    by_id: dict[str, UnitInfo] = {}
    wind: list[UnitInfo] = []
    nonwind: list[UnitInfo] = []
    for ref in refs:
        uid = ref.get("elexonBmUnit")
        if not uid or uid in by_id:
            continue
        unit = make_unit(ref, seed)
        by_id[unit.bm_unit] = unit
        (wind if unit.is_wind else nonwind).append(unit)
    for uid, ngc, utype, lead, fuel, cap in INVENTED_NON_WIND:
        if uid in by_id:
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
        by_id[uid] = unit
        nonwind.append(unit)
    return UnitSet(by_id, tuple(wind), tuple(nonwind))
