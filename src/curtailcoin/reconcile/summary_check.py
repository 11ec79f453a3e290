"""Whether the six summary tables equal the sums of their base rows: daily ← records or
calculations, monthly ← daily, yearly ← monthly (curtailment and bitcoin, per model)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, select

from curtailcoin.db.summary_tables import (
    bitcoin_daily_summaries,
    bitcoin_monthly_summaries,
    bitcoin_yearly_summaries,
    daily_summaries,
    monthly_summaries,
    yearly_summaries,
)
from curtailcoin.reconcile.aggregates import BtcSums, PeriodRecords, as_date, between
from curtailcoin.reconcile.expected import PeriodKey
from curtailcoin.reconcile.report import DateReport, SummaryMismatch
from curtailcoin.reconcile.tolerance import values_equal
from curtailcoin.settlement import month_bounds, year_month

# A mismatch names the SQL columns (what a user's SQL reads), not the Python keys.
_CURTAILMENT_FIELDS = ("total_curtailed_energy", "total_payment", "record_count")
_BITCOIN_FIELDS = ("bitcoin_mined", "curtailed_energy_mwh")

_Key = TypeVar("_Key")
_Level = TypeVar("_Level")
Pair = tuple[float, float]
"""(Σ bitcoin_mined, Σ curtailed MWh)."""


def month_span(start: date, end: date) -> tuple[date, date]:
    """First and last date of the whole months that ``start..end`` touches."""
    return month_bounds(start)[0], month_bounds(end)[1] - timedelta(days=1)


def _curtailment_values(row: Any) -> dict[str, float]:
    return {
        "total_curtailed_energy": float(row.total_curtailed_energy),
        "total_payment": float(row.total_payment),
        "record_count": float(row.record_count),
    }


def bitcoin_values(pair: Pair | None) -> dict[str, float] | None:
    if pair is None:
        return None
    return {"bitcoin_mined": pair[0], "curtailed_energy_mwh": pair[1]}


def daily_record_totals(
    records: Mapping[PeriodKey, PeriodRecords],
) -> dict[date, tuple[float, float, int]]:
    """date → (Σ MWh, Σ £, records) of its periods' records (summed in the periods' order)."""
    out: dict[date, tuple[float, float, int]] = {}
    for (d, _p), rec in records.items():
        energy_mwh, payment_gbp, count = out.get(d, (0.0, 0.0, 0))
        out[d] = (energy_mwh + rec.energy_mwh, payment_gbp + rec.payment_gbp, count + rec.n)
    return out


def _fix_dates(dates: Sequence[date], daily: Mapping[date, Any]) -> tuple[dict[str, date], ...]:
    """The date whose rebuild fixes a month or a year: the first in range with a daily row,
    else the first in range (month → date, year → date)."""
    month_date: dict[str, date] = {}
    year_date: dict[str, date] = {}
    for d in dates:
        for name, chosen in ((year_month(d), month_date), (f"{d.year:04d}", year_date)):
            if name not in chosen or (chosen[name] not in daily and d in daily):
                chosen[name] = d
    return month_date, year_date


def _roll_up_curtailment(
    rows: Mapping[_Key, Any], level: Callable[[_Key], str]
) -> dict[str, dict[str, float]]:
    """Σ of the curtailment fields of ``rows`` per ``level(key)`` (in the rows' order)."""
    sums: dict[str, dict[str, float]] = {}
    for key, row in rows.items():
        acc = sums.setdefault(level(key), dict.fromkeys(_CURTAILMENT_FIELDS, 0.0))
        for name, value in _curtailment_values(row).items():
            acc[name] += value
    return sums


def _roll_up_bitcoin(
    pairs: Mapping[tuple[_Level, str], Pair], level: Callable[[_Level], str]
) -> dict[tuple[str, str], Pair]:
    """Σ (BTC, MWh) of ``pairs`` per (``level(key)``, model) (in the pairs' order)."""
    sums: dict[tuple[str, str], Pair] = {}
    for (key, model), (btc, energy_mwh) in pairs.items():
        old = sums.get((level(key), model), (0.0, 0.0))
        sums[(level(key), model)] = (old[0] + btc, old[1] + energy_mwh)
    return sums


def _bitcoin_pairs(conn: Connection, table: Table, key: str, where: Any) -> dict[Any, Pair]:
    """(key, model) → (BTC, MWh) of a bitcoin summary table's rows."""
    return {
        (row._mapping[key], row.miner_model): (
            float(row.bitcoin_mined),
            float(row.curtailed_energy_mwh),
        )
        for row in conn.execute(select(table).where(where))
    }


class SummaryChecker:
    """Compares the six summary tables with the sums of their base rows; mismatches are
    appended to ``out``."""

    def __init__(
        self,
        conn: Connection,
        start: date,
        end: date,
        dates: Sequence[date],
        out: list[SummaryMismatch],
    ) -> None:
        self.conn = conn
        self.start = start
        self.end = end
        self.dates = dates
        self.out = out

    def add(
        self,
        table: str,
        key: str,
        model: str | None,
        stored: dict[str, float] | None,
        expected: dict[str, float] | None,
        settlement_date: date | None,
    ) -> bool:
        """Record a mismatch (an absent row counts as zeros); True when there was one."""
        zeros = dict.fromkeys(_BITCOIN_FIELDS if model else _CURTAILMENT_FIELDS, 0.0)
        if table == "daily_summaries":
            zeros["farm_count"] = 0.0
        if stored is None and (expected is None or values_equal(zeros, expected)):
            return False
        if stored is not None and values_equal(stored, expected or zeros):
            return False
        self.out.append(SummaryMismatch(table, key, model, stored, expected, settlement_date))
        return True

    def check(
        self,
        reports: Mapping[date, DateReport],
        records_by_date: Mapping[date, tuple[float, float, int]],
        farms: Mapping[date, int],
        btc_expected: BtcSums,
    ) -> dict[str, date]:
        """Every level in order (daily, bitcoin daily, monthly, yearly, bitcoin monthly and
        yearly); returns the date whose rebuild fixes each month."""
        first, last = month_span(self.start, self.end)
        d_ = daily_summaries.c
        daily = {
            as_date(row.summary_date): row
            for row in self.conn.execute(
                select(daily_summaries).where(between(d_.summary_date, first, last))
            )
        }
        month_date, year_date = _fix_dates(self.dates, daily)
        self._check_daily(reports, daily, records_by_date, farms)
        b_ = bitcoin_daily_summaries.c
        bdaily = _bitcoin_pairs(
            self.conn,
            bitcoin_daily_summaries,
            "summary_date",
            between(b_.summary_date, first, last),
        )
        bdaily = {(as_date(d), model): pair for (d, model), pair in bdaily.items()}
        self._check_bitcoin_daily(reports, bdaily, btc_expected)
        self._check_curtailment_rollups(daily, month_date, year_date)
        self._check_bitcoin_rollups(bdaily, month_date, year_date)
        return month_date

    def _check_daily(
        self,
        reports: Mapping[date, DateReport],
        daily: Mapping[date, Any],
        records_by_date: Mapping[date, tuple[float, float, int]],
        farms: Mapping[date, int],
    ) -> None:
        for d in self.dates:
            base = records_by_date.get(d)
            row = daily.get(d)
            expected = None
            if base is not None:
                expected = {
                    "total_curtailed_energy": base[0],
                    "total_payment": base[1],
                    "record_count": float(base[2]),
                    "farm_count": float(farms.get(d, 0)),
                }
            stored = None
            if row is not None:
                stored = _curtailment_values(row) | {"farm_count": float(row.farm_count)}
            if self.add("daily_summaries", d.isoformat(), None, stored, expected, d):
                reports[d].summary_mismatches += 1

    def _check_bitcoin_daily(
        self,
        reports: Mapping[date, DateReport],
        bdaily: Mapping[tuple[date, str], Pair],
        btc_expected: BtcSums,
    ) -> None:
        in_range = set(self.dates)
        for day, model in sorted(set(btc_expected) | {k for k in bdaily if k[0] in in_range}):
            if self.add(
                "bitcoin_daily_summaries",
                day.isoformat(),
                model,
                bitcoin_values(bdaily.get((day, model))),
                bitcoin_values(btc_expected.get((day, model))),
                day,
            ):
                reports[day].summary_mismatches += 1

    def _check_curtailment_rollups(
        self,
        daily: Mapping[date, Any],
        month_date: Mapping[str, date],
        year_date: Mapping[str, date],
    ) -> None:
        """Monthly ← daily rows, yearly ← monthly rows."""
        years = sorted(year_date)
        m_ = monthly_summaries.c
        monthly = {
            row.year_month: row
            for row in self.conn.execute(
                select(monthly_summaries).where(
                    m_.year_month.between(f"{years[0]}-01", f"{years[-1]}-12")
                )
            )
        }
        self._check_curtailment_level(
            "monthly_summaries", monthly, _roll_up_curtailment(daily, year_month), month_date
        )
        y_ = yearly_summaries.c
        yearly = {
            row.year: row
            for row in self.conn.execute(select(yearly_summaries).where(y_.year.in_(years)))
        }
        year_sums = _roll_up_curtailment(monthly, lambda ym: ym[:4])
        self._check_curtailment_level("yearly_summaries", yearly, year_sums, year_date)

    def _check_curtailment_level(
        self,
        table: str,
        stored: Mapping[str, Any],
        sums: Mapping[str, dict[str, float]],
        fix_date: Mapping[str, date],
    ) -> None:
        for key in sorted(fix_date):
            row = stored.get(key)
            values = None if row is None else _curtailment_values(row)
            self.add(table, key, None, values, sums.get(key), fix_date[key])

    def _check_bitcoin_rollups(
        self,
        bdaily: Mapping[tuple[date, str], Pair],
        month_date: Mapping[str, date],
        year_date: Mapping[str, date],
    ) -> None:
        """The same for the bitcoin summaries, per model."""
        years = sorted(year_date)
        bm_ = bitcoin_monthly_summaries.c
        bmonthly = _bitcoin_pairs(
            self.conn,
            bitcoin_monthly_summaries,
            "year_month",
            bm_.year_month.between(f"{years[0]}-01", f"{years[-1]}-12"),
        )
        month_sums = _roll_up_bitcoin(bdaily, year_month)
        self._check_bitcoin_level("bitcoin_monthly_summaries", bmonthly, month_sums, month_date)
        by_ = bitcoin_yearly_summaries.c
        byearly = _bitcoin_pairs(self.conn, bitcoin_yearly_summaries, "year", by_.year.in_(years))
        year_sums = _roll_up_bitcoin(bmonthly, lambda ym: ym[:4])
        self._check_bitcoin_level("bitcoin_yearly_summaries", byearly, year_sums, year_date)

    def _check_bitcoin_level(
        self,
        table: str,
        stored: Mapping[tuple[str, str], Pair],
        sums: Mapping[tuple[str, str], Pair],
        fix_date: Mapping[str, date],
    ) -> None:
        wanted = set(fix_date)
        for key, model in sorted(k for k in set(sums) | set(stored) if k[0] in wanted):
            self.add(
                table,
                key,
                model,
                bitcoin_values(stored.get((key, model))),
                bitcoin_values(sums.get((key, model))),
                fix_date[key],
            )


def prefer_problem_dates(
    mismatches: list[SummaryMismatch], reports: Mapping[date, DateReport]
) -> list[SummaryMismatch]:
    """Attach a month's or a year's mismatch to a date that is being fixed anyway (its rebuild
    rebuilds the month and the year), so that fixing needs no extra date."""
    busy = {d for d, r in reports.items() if not r.complete}
    busy |= {m.settlement_date for m in mismatches if m.settlement_date and len(m.key) == 10}
    out = []
    for level in (7, 4):  # months (YYYY-MM), then years (YYYY)
        for m in mismatches:
            if len(m.key) != level:
                continue
            mine = sorted(d for d in busy if d.isoformat().startswith(m.key))
            if mine and m.settlement_date not in mine:
                m = SummaryMismatch(m.table, m.key, m.miner_model, m.stored, m.expected, mine[0])
            if m.settlement_date is not None:
                busy.add(m.settlement_date)
            out.append(m)
    return [m for m in mismatches if len(m.key) == 10] + out
