"""Whether the curtailment share's roll-ups (``db.share_tables``) equal their base rows.

``stack_daily_summaries`` ← the date's wind bid lines and period statuses;
``generation_daily_summaries`` ← the date's AGWS periods and each dataset's fetch status;
``farm_generation_daily_summaries`` ← the date's B1610 periods per BM unit;
``farm_generation_monthly_summaries`` ← the month's farm-day rows. One ``GROUP BY`` per table
over the range; a mismatch names the date whose rebuild fixes it (a month: its first date in
range with farm-day rows), and the date's report counts it as a summary mismatch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, func, select

from curtailcoin.coverage import SUCCESSFUL_STATUSES
from curtailcoin.db.curtailment_tables import bid_stack_lines, settlement_periods
from curtailcoin.db.generation_tables import (
    NATIONAL_DATASET,
    UNIT_DATASET,
    farm_generation,
    generation_fetches,
    national_wind_generation,
)
from curtailcoin.db.share_tables import (
    farm_generation_daily_summaries,
    farm_generation_monthly_summaries,
    generation_daily_summaries,
    stack_daily_summaries,
)
from curtailcoin.reconcile.aggregates import as_date, between
from curtailcoin.reconcile.report import DateReport, SummaryMismatch
from curtailcoin.reconcile.summary_check import month_span
from curtailcoin.reconcile.tolerance import close
from curtailcoin.settlement import year_month

Values = dict[str, Any]

_STACK_ZERO: Values = {
    "all_bids_curtailed_energy_mwh": 0.0,
    "all_bids_line_count": 0,
    "successful_period_count": 0,
}
_GENERATION_ZERO: Values = {
    "national_status": None,
    "national_error": None,
    "unit_status": None,
    "unit_error": None,
    "national_period_count": 0,
    "onshore_wind_mwh": 0.0,
    "offshore_wind_mwh": 0.0,
}


def same(stored: Values, expected: Values) -> bool:
    """Floats within summation noise; counts, statuses and reasons exactly."""
    for name, want in expected.items():
        have = stored.get(name)
        if isinstance(want, float) or isinstance(have, float):
            if have is None or want is None or not close(float(have), float(want)):
                return False
        elif have != want:
            return False
    return True


def _stack_expected(conn: Connection, start: date, end: date) -> dict[date, Values]:
    b, p = bid_stack_lines.c, settlement_periods.c
    out: dict[date, Values] = {}
    lines = select(b.settlement_date, func.sum(b.volume_mwh), func.count()).where(
        between(b.settlement_date, start, end), b.volume_mwh < 0
    )
    for d, volume, count in conn.execute(lines.group_by(b.settlement_date)):
        out[as_date(d)] = _STACK_ZERO | {
            "all_bids_curtailed_energy_mwh": -float(volume) + 0.0,
            "all_bids_line_count": int(count),
        }
    periods = select(p.settlement_date, func.count()).where(
        between(p.settlement_date, start, end), p.fetch_status.in_(SUCCESSFUL_STATUSES)
    )
    for d, count in conn.execute(periods.group_by(p.settlement_date)):
        row = out.setdefault(as_date(d), dict(_STACK_ZERO))
        row["successful_period_count"] = int(count)
    return out


def _generation_expected(conn: Connection, start: date, end: date) -> dict[date, Values]:
    n, f = national_wind_generation.c, generation_fetches.c
    out: dict[date, Values] = {}
    national = select(
        n.settlement_date, func.count(), func.sum(n.onshore_wind_mwh), func.sum(n.offshore_wind_mwh)
    ).where(
        between(n.settlement_date, start, end),
        n.onshore_wind_mwh.is_not(None),
        n.offshore_wind_mwh.is_not(None),
    )
    for d, count, onshore, offshore in conn.execute(national.group_by(n.settlement_date)):
        out[as_date(d)] = _GENERATION_ZERO | {
            "national_period_count": int(count),
            "onshore_wind_mwh": float(onshore),
            "offshore_wind_mwh": float(offshore),
        }
    prefix = {NATIONAL_DATASET: "national", UNIT_DATASET: "unit"}
    fetches = select(f.settlement_date, f.dataset, f.fetch_status, f.error).where(
        between(f.settlement_date, start, end)
    )
    for d, dataset, status, error in conn.execute(fetches):
        if dataset in prefix:
            row = out.setdefault(as_date(d), dict(_GENERATION_ZERO))
            row[f"{prefix[dataset]}_status"] = status
            row[f"{prefix[dataset]}_error"] = error
    return out


def _farm_day_expected(conn: Connection, start: date, end: date) -> dict[tuple[date, str], Values]:
    g = farm_generation.c
    query = select(g.settlement_date, g.farm_id, func.sum(g.metered_generation_mwh), func.count())
    query = query.where(between(g.settlement_date, start, end))
    return {
        (as_date(d), farm): {"generated_mwh": float(mwh), "period_count": int(count)}
        for d, farm, mwh, count in conn.execute(query.group_by(g.settlement_date, g.farm_id))
    }


def _farm_day_stored(conn: Connection, start: date, end: date) -> dict[tuple[date, str], Values]:
    fd = farm_generation_daily_summaries.c
    query = select(fd.summary_date, fd.farm_id, fd.generated_mwh, fd.period_count)
    return {
        (as_date(d), farm): {"generated_mwh": float(mwh), "period_count": int(count)}
        for d, farm, mwh, count in conn.execute(query.where(between(fd.summary_date, start, end)))
    }


class ShareChecker:
    """Compares the share's four roll-up tables with their base rows; mismatches are appended
    to ``out`` and counted on the date whose rebuild fixes them."""

    def __init__(
        self,
        conn: Connection,
        start: date,
        end: date,
        dates: Sequence[date],
        out: list[SummaryMismatch],
    ) -> None:
        self.conn, self.start, self.end, self.dates, self.out = conn, start, end, dates, out

    def check(self, reports: Mapping[date, DateReport]) -> None:
        self._check_stack(reports)
        self._check_generation(reports)
        self._check_farm_generation(reports)

    def _add(
        self,
        reports: Mapping[date, DateReport],
        table: str,
        key: str,
        stored: Values | None,
        expected: Values | None,
        zero: Values,
        fix_date: date,
    ) -> None:
        """A mismatch when the two differ; an absent row counts as ``zero``."""
        if same(stored or zero, expected or zero):
            return
        self.out.append(SummaryMismatch(table, key, None, stored, expected, fix_date))
        if fix_date in reports:
            reports[fix_date].summary_mismatches += 1

    def _check_stack(self, reports: Mapping[date, DateReport]) -> None:
        expected = _stack_expected(self.conn, self.start, self.end)
        s = stack_daily_summaries.c
        query = select(
            s.summary_date,
            s.all_bids_curtailed_energy_mwh,
            s.all_bids_line_count,
            s.successful_period_count,
        ).where(between(s.summary_date, self.start, self.end))
        stored = {
            as_date(d): {
                "all_bids_curtailed_energy_mwh": float(mwh),
                "all_bids_line_count": int(lines),
                "successful_period_count": int(periods),
            }
            for d, mwh, lines, periods in self.conn.execute(query)
        }
        for d in self.dates:
            self._add(
                reports,
                "stack_daily_summaries",
                d.isoformat(),
                stored.get(d),
                expected.get(d),
                _STACK_ZERO,
                d,
            )

    def _check_generation(self, reports: Mapping[date, DateReport]) -> None:
        expected = _generation_expected(self.conn, self.start, self.end)
        g = generation_daily_summaries.c
        names = list(_GENERATION_ZERO)
        query = select(g.summary_date, *(g[name] for name in names)).where(
            between(g.summary_date, self.start, self.end)
        )
        stored: dict[date, Values] = {}
        for row in self.conn.execute(query):
            values = dict(zip(names, row[1:], strict=True))
            for name in ("onshore_wind_mwh", "offshore_wind_mwh"):
                values[name] = float(values[name])
            stored[as_date(row[0])] = values
        for d in self.dates:
            self._add(
                reports,
                "generation_daily_summaries",
                d.isoformat(),
                stored.get(d),
                expected.get(d),
                _GENERATION_ZERO,
                d,
            )

    def _check_farm_generation(self, reports: Mapping[date, DateReport]) -> None:
        """Farm-day rows against the B1610 periods, then whole months against farm-day rows."""
        zero: Values = {"generated_mwh": 0.0, "period_count": 0}
        months = _farm_day_stored(self.conn, *month_span(self.start, self.end))
        expected = _farm_day_expected(self.conn, self.start, self.end)
        stored = {k: v for k, v in months.items() if self.start <= k[0] <= self.end}
        for d, farm in sorted(set(expected) | set(stored)):
            have, want = stored.get((d, farm)), expected.get((d, farm))
            self._add(
                reports,
                "farm_generation_daily_summaries",
                d.isoformat(),
                None if have is None else {"farm_id": farm} | have,
                None if want is None else {"farm_id": farm} | want,
                {"farm_id": farm} | zero,
                d,
            )
        self._check_farm_months(reports, months, zero)

    def _check_farm_months(
        self,
        reports: Mapping[date, DateReport],
        days: Mapping[tuple[date, str], Values],
        zero: Values,
    ) -> None:
        """The months' rows against the farm-day rows of the whole months (``days``)."""
        first, last = month_span(self.start, self.end)
        expected: dict[tuple[str, str], Values] = {}
        fix_dates: dict[str, date] = {}
        for (d, farm), values in sorted(days.items()):
            ym = year_month(d)
            acc = expected.setdefault((ym, farm), {"generated_mwh": 0.0, "period_count": 0})
            acc["generated_mwh"] += values["generated_mwh"]
            acc["period_count"] += values["period_count"]
            if self.start <= d <= self.end:
                fix_dates.setdefault(ym, d)
        for d in self.dates:
            fix_dates.setdefault(year_month(d), d)
        fm = farm_generation_monthly_summaries.c
        query = select(fm.year_month, fm.farm_id, fm.generated_mwh, fm.period_count).where(
            and_(fm.year_month >= year_month(first), fm.year_month <= year_month(last))
        )
        stored = {
            (ym, farm): {"generated_mwh": float(mwh), "period_count": int(count)}
            for ym, farm, mwh, count in self.conn.execute(query)
        }
        for ym, farm in sorted(set(expected) | set(stored)):
            have, want = stored.get((ym, farm)), expected.get((ym, farm))
            self._add(
                reports,
                "farm_generation_monthly_summaries",
                ym,
                None if have is None else {"farm_id": farm} | have,
                None if want is None else {"farm_id": farm} | want,
                {"farm_id": farm} | zero,
                fix_dates[ym],
            )
