"""Whether the per-farm-month roll-ups (``farm_monthly_summaries``,
``bitcoin_farm_monthly_summaries``) equal the farm-day rows and the dates' GBP prices:
screened per month (and model), a month that fails compared BM unit by BM unit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date
from functools import cache, partial

from sqlalchemy import Connection, func, select

from curtailcoin.db.reference_tables import btc_prices
from curtailcoin.db.summary_tables import bitcoin_farm_monthly_summaries, farm_monthly_summaries
from curtailcoin.farm_months import PRICE_CURRENCY, bitcoin_farm_monthly_rows, farm_monthly_rows
from curtailcoin.reconcile.aggregates import as_date, between
from curtailcoin.reconcile.farm_day_check import FarmDaySums, drilled, model_count
from curtailcoin.reconcile.report import SummaryMismatch
from curtailcoin.reconcile.summary_check import month_span
from curtailcoin.reconcile.tolerance import differing_keys, values_equal
from curtailcoin.settlement import year_month

_FARM_MONTH_FIELDS = (
    "curtailed_energy_mwh",
    "payment_gbp",
    "record_count",
    "energy_x_farm_id_length",
    "btc_per_th_per_w",
    "pending_energy_mwh",
    "btc_per_th_per_w_gbp",
    "unpriced_btc_per_th_per_w",
)
_BITCOIN_FARM_MONTH_FIELDS = ("bitcoin_mined", "curtailed_energy_mwh", "value_gbp", "unpriced_btc")


def _farm_month_expected(
    farm_day: Mapping[date, dict[str, float]], prices: Mapping[date, float]
) -> dict[str, dict[str, float]]:
    """Σ over each month's dates of the farm-day sums; the value at each date's price."""
    expected: dict[str, dict[str, float]] = {}
    for d, sums in farm_day.items():
        month = expected.setdefault(year_month(d), dict.fromkeys(_FARM_MONTH_FIELDS, 0.0))
        for name in _FARM_MONTH_FIELDS[:6]:
            month[name] += sums[name]
        factor = sums["btc_per_th_per_w"]
        if d in prices:
            month["btc_per_th_per_w_gbp"] += factor * prices[d]
        else:
            month["unpriced_btc_per_th_per_w"] += factor
    return expected


def _bitcoin_farm_month_expected(
    bitcoin_farm_day: Mapping[tuple[date, str], tuple[float, float]],
    prices: Mapping[date, float],
) -> dict[tuple[str, str], dict[str, float]]:
    """Σ BTC and MWh per (month, model); the value at each date's price (BTC summed per date)."""
    expected: dict[tuple[str, str], dict[str, float]] = {}
    for (d, model), (btc, energy_mwh) in bitcoin_farm_day.items():
        key = (year_month(d), model)
        month = expected.setdefault(key, dict.fromkeys(_BITCOIN_FARM_MONTH_FIELDS, 0.0))
        month["bitcoin_mined"] += btc
        month["curtailed_energy_mwh"] += energy_mwh
        if d in prices:
            month["value_gbp"] += btc * prices[d]
        else:
            month["unpriced_btc"] += btc
    return expected


class FarmMonthChecker:
    """Compares the farm-month roll-ups with the farm-day sums; mismatches are appended to
    ``out``."""

    def __init__(
        self,
        conn: Connection,
        start: date,
        end: date,
        month_date: Mapping[str, date],
        out: list[SummaryMismatch],
    ) -> None:
        self.conn = conn
        self.start = start
        self.end = end
        self.month_date = month_date  # the date whose rebuild fixes each month
        self.out = out

    def check(self, farm_day: FarmDaySums, exact: bool) -> None:
        """``farm_monthly_summaries`` and ``bitcoin_farm_monthly_summaries`` against the
        farm-day rows (as :meth:`FarmDayChecker.check` read them) and the dates' GBP prices.

        Screened per month (and model): each column's Σ against Σ over the month's dates of
        the farm-day sums, the value as Σ date's figure × date's price (BTC is summed per date
        before the price is applied, which changes only the rounding) and the unpriced figure
        from the dates without a price. A month that fails the screen, or every month with
        ``exact``, is compared BM unit by BM unit with what the rebuild would write.
        """
        if not self.month_date:
            return
        prices = self._prices()
        self._check_farm_monthly(_farm_month_expected(farm_day.farm, prices), exact)
        expected_b = _bitcoin_farm_month_expected(farm_day.bitcoin, prices)
        self._check_bitcoin_farm_monthly(expected_b, exact)

    def _prices(self) -> dict[date, float]:
        first, last = month_span(self.start, self.end)
        g = btc_prices.c
        return {
            as_date(row[0]): float(row[1])
            for row in self.conn.execute(
                select(g.price_date, g.price).where(
                    g.currency == PRICE_CURRENCY, between(g.price_date, first, last)
                )
            )
        }

    def _check_farm_monthly(self, expected: Mapping[str, dict[str, float]], exact: bool) -> None:
        fm = farm_monthly_summaries.c
        stored = {
            row[0]: dict(zip(_FARM_MONTH_FIELDS, (float(v or 0.0) for v in row[1:]), strict=True))
            for row in self.conn.execute(
                select(
                    fm.year_month,
                    func.sum(fm.curtailed_energy_mwh),
                    func.sum(fm.payment_gbp),
                    func.sum(fm.record_count),
                    func.sum(fm.curtailed_energy_mwh * func.length(fm.farm_id)),
                    func.sum(fm.btc_per_th_per_w),
                    func.sum(fm.pending_energy_mwh),
                    func.sum(fm.btc_per_th_per_w_gbp),
                    func.sum(fm.unpriced_btc_per_th_per_w),
                )
                .where(fm.year_month.in_(sorted(self.month_date)))
                .group_by(fm.year_month)
            )
        }
        for ym in sorted(self.month_date):
            have, want = stored.get(ym), expected.get(ym)
            screened = (have is None and want is None) or (
                have is not None and want is not None and values_equal(have, want)
            )
            drilled(
                self.out,
                ("farm_monthly_summaries", ym, None, self.month_date[ym]),
                have,
                want,
                screened,
                partial(self._farm_month_rows_differ, ym),
                exact,
            )

    def _check_bitcoin_farm_monthly(
        self, expected: Mapping[tuple[str, str], dict[str, float]], exact: bool
    ) -> None:
        bm = bitcoin_farm_monthly_summaries.c
        stored = {
            (row[0], row[1]): dict(
                zip(_BITCOIN_FARM_MONTH_FIELDS, (float(v or 0.0) for v in row[2:]), strict=True)
            )
            for row in self.conn.execute(
                select(
                    bm.year_month,
                    bm.miner_model,
                    func.sum(bm.bitcoin_mined_btc),
                    func.sum(bm.curtailed_energy_mwh),
                    func.sum(bm.value_gbp),
                    func.sum(bm.unpriced_btc),
                )
                .where(bm.year_month.in_(sorted(self.month_date)))
                .group_by(bm.year_month, bm.miner_model)
            )
        }
        drill_month = cache(self._bitcoin_farm_month_rows_differ)
        wanted = set(self.month_date)
        for ym, model in sorted(k for k in set(expected) | set(stored) if k[0] in wanted):
            have, want = stored.get((ym, model)), expected.get((ym, model))
            screened = have is not None and want is not None and values_equal(have, want)
            drilled(
                self.out,
                ("bitcoin_farm_monthly_summaries", ym, model, self.month_date[ym]),
                have,
                want,
                screened,
                partial(model_count, drill_month, ym, model),
                exact,
            )

    def _farm_month_rows_differ(self, ym: str) -> int:
        """Rows of the month that differ from (or are missing in / extra to) the rebuild."""
        fm = farm_monthly_summaries.c
        have = {
            row[0]: tuple(row[1:])
            for row in self.conn.execute(
                select(
                    fm.farm_id,
                    fm.lead_party_name,
                    fm.curtailed_energy_mwh,
                    fm.payment_gbp,
                    fm.record_count,
                    fm.btc_per_th_per_w,
                    fm.pending_energy_mwh,
                    fm.btc_per_th_per_w_gbp,
                    fm.unpriced_btc_per_th_per_w,
                    fm.first_unpriced_date,
                    fm.last_unpriced_date,
                ).where(fm.year_month == ym)
            )
        }
        return len(differing_keys(farm_monthly_rows(self.conn, ym), have))

    def _bitcoin_farm_month_rows_differ(self, ym: str) -> dict[str, int]:
        """Per model: rows of the month that differ from the rebuild."""
        bm = bitcoin_farm_monthly_summaries.c
        have = {
            (row[0], row[1]): tuple(row[2:])
            for row in self.conn.execute(
                select(
                    bm.farm_id,
                    bm.miner_model,
                    bm.bitcoin_mined_btc,
                    bm.curtailed_energy_mwh,
                    bm.value_gbp,
                    bm.unpriced_btc,
                    bm.first_unpriced_date,
                    bm.last_unpriced_date,
                ).where(bm.year_month == ym)
            )
        }
        want = bitcoin_farm_monthly_rows(self.conn, ym)
        return dict(Counter(model for _, model in differing_keys(want, have)))
