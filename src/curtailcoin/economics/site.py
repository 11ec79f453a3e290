"""A site (one BM unit, a list of units, a lead party, or all wind) and its per-period energies.

The per-period energy vector is one set-based read of the stored curtailment records (covering
index order: date, period; the driver's tuples, no date parsed per record); a period's
volumes are summed with ``math.fsum``, as the calculations sum a farm-period's, so a one-unit
site's energies are the calculations' own, bit for bit, on both databases. Each period's stored
effective difficulty and subsidy (time-weighted by :mod:`curtailcoin.network` when the period
was written) come from one grouped read per day, period by period only on days where they vary.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, Connection, func, select, true

from curtailcoin.db.curtailment_tables import curtailment_records, settlement_periods
from curtailcoin.db.dialect import day_number
from curtailcoin.db.reference_tables import bm_units
from curtailcoin.economics.inputs import Floats, SitePeriods
from curtailcoin.pipeline.inputs import BadInput
from curtailcoin.settlement import periods_in_day

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


def _days_from(value: Any, start: date) -> int:
    """Days from ``start`` to a raw driver date (a ``date``, or ISO text on SQLite)."""
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return (day - start).days


def _site_volumes(
    conn: Connection, site: Site, start: date, end: date
) -> tuple[NDArray[np.int64], NDArray[np.int64], list[float]]:
    """(day number, period, volume) of the site's records, in index order (date, period)."""
    result = conn.execute(
        select(r.settlement_date, r.settlement_period, r.volume_mwh)
        .where(site.record_filter(), r.settlement_date >= start, r.settlement_date <= end)
        .order_by(r.settlement_date, r.settlement_period)
    )
    with _collector_paused():
        # the driver's tuples, without a Row per record nor a date parsed per record
        rows = result.cursor.fetchall() if result.cursor is not None else []
        result.close()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), []
        raw_days, periods, volumes = zip(*rows, strict=True)
        number = {value: _days_from(value, start) for value in set(raw_days)}
        return (
            np.array([number[value] for value in raw_days], dtype=np.int64),
            np.array(periods, dtype=np.int64),
            list(volumes),  # floats as the drivers give them (REAL, float8)
        )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while ~100k record tuples are made: they hold no cycles
    (freed by reference counting), and each collection they trigger walks every live object
    of the process (a third of a lead party's three-year read)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _conditions(
    conn: Connection, start: date, end: date, day: NDArray[np.int64], period: NDArray[np.int64]
) -> tuple[Floats, Floats]:
    """Each (day, period)'s stored difficulty and subsidy (NaN = pending or no period row).

    Most days have one (difficulty, subsidy) for all their periods: one read of the covering
    status index, grouped per day in its order (min = max), gives those; only the other days (a
    retarget or a halving inside, pending or absent periods) are read period by period.
    """
    per_day: dict[int, tuple[float, float]] = {}
    mixed: set[int] = set()
    for d, d_min, d_max, r_min, r_max, n, n_known in conn.execute(
        select(
            day_number(conn, p.settlement_date, start),
            func.min(p.difficulty),
            func.max(p.difficulty),
            func.min(p.block_subsidy_btc),
            func.max(p.block_subsidy_btc),
            func.count(),
            func.count(p.difficulty + p.block_subsidy_btc),  # periods with both known
        )
        .where(p.settlement_date >= start, p.settlement_date <= end)
        .group_by(p.settlement_date)
    ):
        whole = n == n_known == periods_in_day(start + timedelta(days=int(d)))
        if whole and d_min == d_max and r_min == r_max:
            per_day[d] = (d_min, r_min)
        else:
            mixed.add(d)
    nan = (math.nan, math.nan)
    by_period: dict[tuple[int, int], tuple[float, float]] = {}
    wanted = sorted(mixed & set(np.unique(day).tolist()))
    if wanted:
        for d, per, difficulty, subsidy in conn.execute(
            select(
                day_number(conn, p.settlement_date, start),
                p.settlement_period,
                p.difficulty,
                p.block_subsidy_btc,
            ).where(p.settlement_date.in_([start + timedelta(days=d) for d in wanted]))
        ):
            by_period[(d, per)] = (
                math.nan if difficulty is None else difficulty,
                math.nan if subsidy is None else subsidy,
            )
    pairs = [
        per_day[d] if d in per_day else by_period.get((d, per), nan)
        for d, per in zip(day.tolist(), period.tolist(), strict=True)
    ]
    values = np.array(pairs, dtype=np.float64).reshape(-1, 2)
    return values[:, 0].copy(), values[:, 1].copy()


def read_site_periods(conn: Connection, site: Site, start: date, end: date) -> SitePeriods:
    """The site's curtailed MWh per settlement period of ``start..end`` (periods without any
    record are absent), with each period's stored difficulty and subsidy (NaN = pending)."""
    days, periods, volumes = _site_volumes(conn, site, start, end)
    key = days * 64 + periods
    firsts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]])) if key.size else key
    bounds = [*firsts.tolist(), len(volumes)]
    v = np.array(volumes, dtype=np.float64)
    sizes = np.diff(np.array(bounds, dtype=np.int64))
    # the calculations' sum of a farm-period is math.fsum, the correctly rounded sum: for one
    # or two volumes that is the volume, or one IEEE addition (also correctly rounded)
    energies = -v[firsts] + 0.0
    pairs = np.flatnonzero(sizes == 2)
    energies[pairs] = -(v[firsts[pairs]] + v[firsts[pairs] + 1]) + 0.0
    for i in np.flatnonzero(sizes > 2).tolist():
        energies[i] = -math.fsum(volumes[bounds[i] : bounds[i + 1]]) + 0.0
    day, period = days[firsts], periods[firsts]
    difficulty, subsidy = _conditions(conn, start, end, day, period)
    return SitePeriods(start, end, day, period, energies, difficulty, subsidy)
