"""A site (one BM unit, a list of units, a lead party, or all wind) and its per-period energies.

The per-period energy vector is one set-based read of the stored curtailment records (index
order: date, period), joined to each period's stored effective difficulty and subsidy; the
volumes of a period are summed with ``math.fsum``, as the calculations sum a farm-period's, so
a one-unit site's energies are the calculations' own, bit for bit, on both databases.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
from sqlalchemy import ColumnElement, Connection, and_, func, select, true

from curtailcoin.db.schema import bm_units, curtailment_records, settlement_periods
from curtailcoin.economics.model import SitePeriods
from curtailcoin.pipeline.inputs import BadInput

SiteKind = Literal["bm_unit", "units", "lead_party", "all_wind"]

r = curtailment_records.c
p = settlement_periods.c
b = bm_units.c


@dataclass(frozen=True)
class Site:
    """Which BM units' curtailment feeds the fleet."""

    kind: SiteKind
    units: tuple[str, ...] = ()
    lead_party: str | None = None

    @property
    def label(self) -> str:
        if self.kind == "bm_unit":
            return f"BM unit {self.units[0]}"
        if self.kind == "units":
            return f"BM units {', '.join(self.units)}"
        if self.kind == "lead_party":
            return f"lead party {self.lead_party}"
        return "all wind"

    def record_filter(self) -> ColumnElement[bool]:
        if self.kind in ("bm_unit", "units"):
            return r.farm_id.in_(list(self.units))
        if self.kind == "lead_party":
            return r.lead_party_name == self.lead_party
        return true()  # every curtailment record is a wind unit's


def site_of(
    units: Sequence[str] = (), lead_party: str | None = None, all_wind: bool = False
) -> Site:
    """The site named by exactly one of: BM units (one or several), a lead party, all wind."""
    names = list(dict.fromkeys(u.strip() for u in units))
    given = sum([bool(names), lead_party is not None, all_wind])
    if given != 1:
        raise BadInput(
            "site: give exactly one of --bm-unit (repeatable), --lead-party or --all-wind"
        )
    if any(not u for u in names):
        raise BadInput("BM unit '' is not allowed: give an Elexon BM unit id, e.g. T_ABRBO-1")
    if lead_party is not None:
        if not lead_party.strip():
            raise BadInput("lead party '' is not allowed: give a lead party name")
        return Site("lead_party", lead_party=lead_party.strip())
    if all_wind:
        return Site("all_wind")
    return Site("bm_unit" if len(names) == 1 else "units", tuple(names))


def _first(conn: Connection, query: Any) -> bool:
    return conn.execute(query.limit(1)).first() is not None


def check_site(conn: Connection, site: Site) -> int:
    """``BadInput`` for a unit or lead party the database has never seen; else the number of
    BM units the registry has for the site (0 when it knows none)."""
    if site.kind in ("bm_unit", "units"):
        for unit in site.units:
            if not (
                _first(conn, select(b.elexon_bm_unit).where(b.elexon_bm_unit == unit))
                or _first(conn, select(r.farm_id).where(r.farm_id == unit))
            ):
                raise BadInput(
                    f"unknown BM unit {unit!r}: allowed the BM unit ids of the registry or of "
                    "the curtailment records (e.g. T_ABRBO-1)"
                )
        return len(site.units)
    if site.kind == "lead_party":
        count = conn.execute(
            select(func.count()).where(b.lead_party_name == site.lead_party, b.is_wind)
        ).scalar_one()
        if not count and not _first(
            conn, select(r.lead_party_name).where(r.lead_party_name == site.lead_party)
        ):
            raise BadInput(
                f"unknown lead party {site.lead_party!r}: allowed the lead party names of the "
                "registry or of the curtailment records"
            )
        return int(count)
    return int(conn.execute(select(func.count()).where(b.is_wind)).scalar_one())


def read_site_periods(conn: Connection, site: Site, start: date, end: date) -> SitePeriods:
    """The site's curtailed MWh per settlement period of ``start..end`` (periods without any
    record are absent), with each period's stored difficulty and subsidy (NaN = pending)."""
    rows = conn.execute(
        select(
            r.settlement_date,
            r.settlement_period,
            r.volume,
            p.difficulty,
            p.block_subsidy_btc,
        )
        .select_from(
            curtailment_records.outerjoin(
                settlement_periods,
                and_(
                    p.settlement_date == r.settlement_date,
                    p.settlement_period == r.settlement_period,
                ),
            )
        )
        .where(site.record_filter(), r.settlement_date >= start, r.settlement_date <= end)
        .order_by(r.settlement_date, r.settlement_period)
    ).all()
    days: list[int] = []
    periods: list[int] = []
    energies: list[float] = []
    difficulties: list[float] = []
    subsidies: list[float] = []
    volumes: list[float] = []
    previous: tuple[date, int] | None = None
    nan = math.nan
    for day, period, volume, difficulty, subsidy in rows:
        if (day, period) != previous:
            if volumes:
                energies.append(-math.fsum(volumes) + 0.0)
            volumes = []
            previous = (day, period)
            days.append((day - start).days)
            periods.append(period)
            difficulties.append(nan if difficulty is None else difficulty)
            subsidies.append(nan if subsidy is None else subsidy)
        volumes.append(volume)
    if volumes:
        energies.append(-math.fsum(volumes) + 0.0)
    return SitePeriods(
        start,
        end,
        np.array(days, dtype=np.int64),
        np.array(periods, dtype=np.int64),
        np.array(energies, dtype=np.float64),
        np.array(difficulties, dtype=np.float64),
        np.array(subsidies, dtype=np.float64),
    )
