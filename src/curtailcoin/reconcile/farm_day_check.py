"""Whether the farm-day tables (``farm_daily_summaries``, ``bitcoin_farm_daily_summaries``)
equal their base rows: screened per date (and model) by one ``GROUP BY`` each, a date that
fails the screen compared farm by farm with what the rebuild would write."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache, partial
from typing import TypeVar

from sqlalchemy import Connection, func, select

from curtailcoin.db.curtailment_tables import historical_bitcoin_calculations
from curtailcoin.db.summary_tables import bitcoin_farm_daily_summaries, farm_daily_summaries
from curtailcoin.reconcile.aggregates import (
    BtcSums,
    PeriodRecords,
    StoredPeriod,
    as_date,
    between,
)
from curtailcoin.reconcile.calc_check import btc_factor
from curtailcoin.reconcile.expected import PeriodKey
from curtailcoin.reconcile.report import DateReport, SummaryMismatch
from curtailcoin.reconcile.summary_check import bitcoin_values, month_span
from curtailcoin.reconcile.tolerance import differing_keys, values_equal
from curtailcoin.summaries import bitcoin_farm_daily_rows, farm_daily_rows

_Key = TypeVar("_Key")

FARM_DAY_FIELDS = (
    "farm_rows",
    "curtailed_energy_mwh",
    "payment_gbp",
    "record_count",
    "energy_x_farm_id_length",
    "btc_per_th_per_w",
    "pending_energy_mwh",
)
"""The screened sums of a date's farm-day rows (``farm_rows``: how many)."""


@dataclass
class FarmDaySums:
    """The farm-day rows of the whole months in range, summed per date (and model): what the
    farm-month roll-ups must add up to."""

    farm: dict[date, dict[str, float]]
    bitcoin: BtcSums


def model_count(per_model: Callable[[_Key], Mapping[str, int]], key: _Key, model: str) -> int:
    """The model's count in ``per_model(key)`` (0 when it has none)."""
    return per_model(key).get(model, 0)


def drilled(
    out: list[SummaryMismatch],
    where: tuple[str, str, str | None, date],
    stored: Mapping[str, float] | None,
    expected: Mapping[str, float] | None,
    screened: bool,
    rows_differ: Callable[[], int],
    exact: bool,
) -> bool:
    """Record a mismatch of a per-farm table (table, key, model, date to fix): compared row by
    row when the screen failed or with ``exact``. True when there was one."""
    bad = rows_differ() if (not screened or exact) else 0
    if screened and not bad:
        return False
    table, key, model, settlement_date = where
    out.append(
        SummaryMismatch(
            table,
            key,
            model,
            None if stored is None else dict(stored) | {"mismatched_rows": float(bad)},
            None if expected is None else dict(expected) | {"mismatched_rows": 0.0},
            settlement_date,
        )
    )
    return True


def farm_day_expected(
    records: Mapping[PeriodKey, PeriodRecords],
    stored: Mapping[PeriodKey, StoredPeriod],
    farms: Mapping[date, int],
) -> dict[date, dict[str, float]]:
    """What the farm-day rows of each date must add up to, from the records' per-period
    aggregates (a period without conditions counts as pending energy)."""
    out: dict[date, dict[str, float]] = {}
    for (d, p), rec in records.items():
        s = stored.get((d, p))
        sums = out.get(d)
        if sums is None:
            sums = out[d] = dict.fromkeys(FARM_DAY_FIELDS, 0.0)
            sums["farm_rows"] = float(farms.get(d, 0))
        sums["curtailed_energy_mwh"] += rec.energy_mwh
        sums["payment_gbp"] += rec.payment_gbp
        sums["record_count"] += rec.n
        sums["energy_x_farm_id_length"] += rec.energy_x_id_length_mwh
        if s is not None and s.difficulty is not None and s.block_subsidy_btc is not None:
            factor = btc_factor(s.difficulty, s.block_subsidy_btc)
            sums["btc_per_th_per_w"] += factor * rec.energy_mwh
        else:
            sums["pending_energy_mwh"] += rec.energy_mwh
    return out


class FarmDayChecker:
    """Compares the farm-day tables with their base rows; mismatches are appended to ``out``."""

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

    def check(
        self,
        reports: Mapping[date, DateReport],
        expected: Mapping[date, dict[str, float]],
        btc_expected: BtcSums,
        exact: bool,
    ) -> FarmDaySums:
        """``farm_daily_summaries`` and ``bitcoin_farm_daily_summaries`` against their base rows.

        Screened per date (and model) in one ``GROUP BY`` each: row count = farms, Σ MWh, Σ £,
        Σ records, Σ MWh × len(farm id), Σ ``btc_per_th_per_w`` = Σ K(period) × period MWh and
        Σ pending MWh against the records' figures (Σ BTC and Σ MWh per model against the
        calculations'). A date that fails the screen, or every date with ``exact``, is compared
        farm by farm with what the rebuild would write. One mismatch per table, date (and model).
        """
        span = month_span(self.start, self.end)  # whole months, for the farm-month check
        sums = FarmDaySums(self._farm_day_sums(span), self._bitcoin_farm_day_sums(span))
        self._check_farm_daily(reports, sums.farm, expected, exact)
        self._check_bitcoin_farm_daily(reports, sums.bitcoin, btc_expected, exact)
        return sums

    def _farm_day_sums(self, span: tuple[date, date]) -> dict[date, dict[str, float]]:
        fd = farm_daily_summaries.c
        rows = self.conn.execute(
            select(
                fd.summary_date,
                func.count(),
                func.sum(fd.curtailed_energy_mwh),
                func.sum(fd.payment_gbp),
                func.sum(fd.record_count),
                func.sum(fd.curtailed_energy_mwh * func.length(fd.farm_id)),
                func.sum(fd.btc_per_th_per_w),
                func.sum(fd.pending_energy_mwh),
            )
            .where(between(fd.summary_date, *span))
            .group_by(fd.summary_date)
        )
        return {
            as_date(row[0]): dict(
                zip(FARM_DAY_FIELDS, (float(v or 0.0) for v in row[1:]), strict=True)
            )
            for row in rows
        }

    def _bitcoin_farm_day_sums(self, span: tuple[date, date]) -> BtcSums:
        b = bitcoin_farm_daily_summaries.c
        return {
            (as_date(row[0]), row[1]): (float(row[2]), float(row[3]))
            for row in self.conn.execute(
                select(
                    b.summary_date,
                    b.miner_model,
                    func.sum(b.bitcoin_mined_btc),
                    func.sum(b.curtailed_energy_mwh),
                )
                .where(between(b.summary_date, *span))
                .group_by(b.summary_date, b.miner_model)
            )
        }

    def _check_farm_daily(
        self,
        reports: Mapping[date, DateReport],
        stored_fd: Mapping[date, dict[str, float]],
        expected: Mapping[date, dict[str, float]],
        exact: bool,
    ) -> None:
        for d in self.dates:
            stored = stored_fd.get(d)
            exp = expected.get(d)
            if stored is None and exp is None:
                continue
            screened = (stored is not None and exp is not None and values_equal(stored, exp)) or (
                stored is None and exp is not None and exp["farm_rows"] == 0
            )
            if drilled(
                self.out,
                ("farm_daily_summaries", d.isoformat(), None, d),
                stored,
                exp,
                screened,
                partial(self._farm_day_rows_differ, d),
                exact,
            ):
                reports[d].summary_mismatches += 1

    def _check_bitcoin_farm_daily(
        self,
        reports: Mapping[date, DateReport],
        stored_b: BtcSums,
        btc_expected: BtcSums,
        exact: bool,
    ) -> None:
        in_range = set(self.dates)
        keys = {k for k in set(btc_expected) | set(stored_b) if k[0] in in_range}
        drill_day = cache(self._bitcoin_farm_day_rows_differ)
        for day, model in sorted(keys):
            stored_pair = bitcoin_values(stored_b.get((day, model)))
            exp_pair = bitcoin_values(btc_expected.get((day, model)))
            screened = (
                stored_pair is not None
                and exp_pair is not None
                and values_equal(stored_pair, exp_pair)
            )
            if drilled(
                self.out,
                ("bitcoin_farm_daily_summaries", day.isoformat(), model, day),
                stored_pair,
                exp_pair,
                screened,
                partial(model_count, drill_day, day, model),
                exact,
            ):
                reports[day].summary_mismatches += 1

    def _farm_day_rows_differ(self, day: date) -> int:
        """Farm-day rows of ``day`` that differ from (or are missing in / extra to) the rebuild."""
        fd = farm_daily_summaries.c
        want = farm_daily_rows(self.conn, day)
        have = {
            row[0]: tuple(row[1:])
            for row in self.conn.execute(
                select(
                    fd.farm_id,
                    fd.lead_party_name,
                    fd.curtailed_energy_mwh,
                    fd.payment_gbp,
                    fd.record_count,
                    fd.btc_per_th_per_w,
                    fd.pending_energy_mwh,
                ).where(fd.summary_date == day)
            )
        }
        return len(differing_keys(want, have))

    def _bitcoin_farm_day_rows_differ(self, day: date) -> dict[str, int]:
        """Per model: bitcoin farm-day rows of ``day`` that differ from the calculations' sums."""
        b = bitcoin_farm_daily_summaries.c
        have = {
            (row[0], row[1]): (float(row[2]), float(row[3]))
            for row in self.conn.execute(
                select(b.farm_id, b.miner_model, b.bitcoin_mined_btc, b.curtailed_energy_mwh).where(
                    b.summary_date == day
                )
            )
        }
        c = historical_bitcoin_calculations.c
        models = sorted(
            {m for _, m in have}
            | set(
                self.conn.execute(
                    select(c.miner_model).where(c.settlement_date == day).distinct()
                ).scalars()
            )
        )
        want = bitcoin_farm_daily_rows(self.conn, day, models)
        return dict(Counter(model for _, model in differing_keys(want, have)))
