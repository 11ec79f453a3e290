"""The curtailment share's inputs over a date range, from the roll-ups (``db.share_tables``).

National: per date the headline (``daily_summaries``), the national wind generation roll-up and
the stack's successful periods (``stack_daily_summaries``); per period ``settlement_periods``
and ``national_wind_generation`` (a short range only). Per BM unit: curtailment and metered
generation from the farm-month roll-ups for the range's whole months and the farm-day rows for
its other dates, summed per unit in SQL, so three years of every unit read ~36 rows a unit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from curtailcoin.db.curtailment_tables import settlement_periods
from curtailcoin.db.generation_tables import national_wind_generation
from curtailcoin.db.reference_tables import bm_units
from curtailcoin.db.share_tables import (
    farm_generation_daily_summaries,
    farm_generation_monthly_summaries,
    generation_daily_summaries,
    stack_daily_summaries,
)
from curtailcoin.db.summary_tables import (
    daily_summaries,
    farm_daily_summaries,
    farm_monthly_summaries,
)
from curtailcoin.settlement import month_bounds, year_month
from curtailcoin.web.queries.values import as_date, as_int

sp = settlement_periods.c
g = generation_daily_summaries.c


@dataclass
class DayInputs:
    """A date's share inputs (``None`` / 0: nothing stored for it)."""

    curtailed_mwh: float = 0.0
    onshore_mwh: float = 0.0
    offshore_mwh: float = 0.0
    national_periods: int = 0
    national_status: str | None = None
    national_error: str | None = None
    unit_status: str | None = None
    unit_error: str | None = None
    stack_periods_ok: int = 0


def national_days(
    conn: Connection, first: date, last: date, *, curtailment: bool = True
) -> dict[date, DayInputs]:
    """Each date of ``first..last`` with anything stored, with its inputs (without the
    headline when ``curtailment`` is false: the per-farm answers take theirs per unit)."""
    days: dict[date, DayInputs] = {}

    def at(value: Any) -> DayInputs:
        day = as_date(value)
        assert day is not None
        return days.setdefault(day, DayInputs())

    d = daily_summaries.c
    headline = select(d.summary_date, d.curtailed_energy_mwh).where(
        d.summary_date >= first, d.summary_date <= last
    )
    for day, energy in conn.execute(headline) if curtailment else ():
        at(day).curtailed_mwh = float(energy)
    for row in conn.execute(
        select(
            g.summary_date,
            g.onshore_wind_mwh,
            g.offshore_wind_mwh,
            g.national_period_count,
            g.national_status,
            g.national_error,
            g.unit_status,
            g.unit_error,
        ).where(g.summary_date >= first, g.summary_date <= last)
    ):
        item = at(row[0])
        item.onshore_mwh, item.offshore_mwh = float(row[1]), float(row[2])
        item.national_periods = int(row[3])
        item.national_status, item.national_error = row[4], row[5]
        item.unit_status, item.unit_error = row[6], row[7]
    st = stack_daily_summaries.c
    for day, count in conn.execute(
        select(st.summary_date, st.successful_period_count).where(
            st.summary_date >= first, st.summary_date <= last
        )
    ):
        at(day).stack_periods_ok = int(count)
    return days


@dataclass
class PeriodInputs:
    """A period's headline and national wind generation (``None``: no figure)."""

    curtailed_mwh: float = 0.0
    stack_status: str | None = None
    onshore_mwh: float | None = None
    offshore_mwh: float | None = None


def national_periods(
    conn: Connection, first: date, last: date
) -> dict[tuple[date, int], PeriodInputs]:
    periods: dict[tuple[date, int], PeriodInputs] = {}
    for day, period, status, energy in conn.execute(
        select(
            sp.settlement_date, sp.settlement_period, sp.fetch_status, sp.curtailed_energy_mwh
        ).where(sp.settlement_date >= first, sp.settlement_date <= last)
    ):
        key = (as_date(day) or first, int(period))
        periods[key] = PeriodInputs(float(energy), status)
    n = national_wind_generation.c
    for day, period, onshore, offshore in conn.execute(
        select(
            n.settlement_date, n.settlement_period, n.onshore_wind_mwh, n.offshore_wind_mwh
        ).where(n.settlement_date >= first, n.settlement_date <= last)
    ):
        item = periods.setdefault((as_date(day) or first, int(period)), PeriodInputs())
        item.onshore_mwh, item.offshore_mwh = onshore, offshore
    return periods


def split_range(first: date, last: date) -> tuple[list[str], list[tuple[date, date]]]:
    """``first..last`` as its whole months (``YYYY-MM``) and the half-open date ranges of the
    rest (at most two: the head and the tail)."""
    months: list[str] = []
    rest: list[tuple[date, date]] = []
    end = last + timedelta(days=1)
    day = first
    while day < end:
        month_start, following = month_bounds(day)
        if day == month_start and following <= end:
            months.append(year_month(day))
        elif rest and rest[-1][1] == day:
            rest[-1] = (rest[-1][0], min(following, end))
        else:
            rest.append((day, min(following, end)))
        day = following
    return months, rest


@dataclass
class FarmInputs:
    """One BM unit's curtailment and metered generation over a range."""

    lead_party: str | None = None
    curtailed: list[float] = field(default_factory=list)
    generated: list[float] = field(default_factory=list)  # empty: no B1610 figure at all
    generation_periods: int = 0

    def add_curtailed(self, lead: str | None, mwh: float) -> None:
        if lead is not None and (self.lead_party is None or lead < self.lead_party):
            self.lead_party = lead  # the smallest, as the farm-day rows' min()
        self.curtailed.append(mwh)

    def add_generated(self, mwh: float, periods: int) -> None:
        self.generated.append(mwh)
        self.generation_periods += periods


def _parts(
    months: list[str], rest: list[tuple[date, date]], monthly: Any, daily: Any
) -> Iterator[Any]:
    """The WHERE clauses reading a range: its whole months, then each other date range."""
    if months:
        yield monthly.year_month.in_(months)
    for start, end in rest:
        yield (daily.summary_date >= start) & (daily.summary_date < end)


def farm_inputs(
    conn: Connection, first: date, last: date, lead_party: str | None = None
) -> dict[str, FarmInputs]:
    """Per BM unit with curtailment or metered generation in ``first..last``: one grouped
    read per part of the range (its whole months, then each other date range) and table."""
    months, rest = split_range(first, last)
    farms: dict[str, FarmInputs] = {}
    fm, fd = farm_monthly_summaries.c, farm_daily_summaries.c
    for i, where in enumerate(_parts(months, rest, fm, fd)):
        t = fm if i == 0 and months else fd
        for farm, lead, mwh in conn.execute(
            select(t.farm_id, func.min(t.lead_party_name), func.sum(t.curtailed_energy_mwh))
            .where(where)
            .group_by(t.farm_id)
        ):
            farms.setdefault(farm, FarmInputs()).add_curtailed(lead, float(mwh))
    gm, gd = farm_generation_monthly_summaries.c, farm_generation_daily_summaries.c
    for i, where in enumerate(_parts(months, rest, gm, gd)):
        g_ = gm if i == 0 and months else gd
        for farm, mwh, periods in conn.execute(
            select(g_.farm_id, func.sum(g_.generated_mwh), func.sum(g_.period_count))
            .where(where)
            .group_by(g_.farm_id)
        ):
            farms.setdefault(farm, FarmInputs()).add_generated(float(mwh), as_int(periods))
    unknown = [farm for farm, item in farms.items() if item.lead_party is None]
    if unknown:
        u = bm_units.c
        for farm, lead in conn.execute(
            select(u.elexon_bm_unit, u.lead_party_name).where(u.elexon_bm_unit.in_(unknown))
        ):
            farms[farm].lead_party = lead
    if lead_party is not None:
        farms = {k: v for k, v in farms.items() if v.lead_party == lead_party}
    return farms
