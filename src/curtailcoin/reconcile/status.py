"""``reconcile status``: every problem kind (see :mod:`.report`) counted set-based over any
date range (SPEC §6–7).

Each large table is read by one ``GROUP BY`` per period over the whole range (records: rows,
farms, Σ MWh, Σ £, Σ MWh × len(farm id); calculations: rows, Σ MWh, Σ MWh × len(farm id), Σ BTC,
min/max difficulty and subsidy). Expected network conditions come from
:class:`~curtailcoin.network.NetworkTimeline` for every period in range (one call per day when no
epoch change or halving falls in it) and are compared in Python with the ~50 k period rows. A
period whose aggregates break the identities that hold when every row is right is then counted
row by row, one date at a time (index range reads); ``exact=True`` counts every period that way.
No query runs per row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from sqlalchemy import Connection

from curtailcoin.coverage import expected_period_count
from curtailcoin.db.dialect import restore_session, tune_session
from curtailcoin.network import NetworkTimeline
from curtailcoin.reconcile.aggregates import (
    BtcSums,
    btc_sums_in_range,
    btc_sums_on,
    calc_screen,
    data_bounds,
    farms_per_date,
    other_models,
    records_per_period,
    stored_periods,
)
from curtailcoin.reconcile.calc_check import Figures, exact_periods
from curtailcoin.reconcile.expected import expected_conditions
from curtailcoin.reconcile.farm_day_check import FarmDayChecker, farm_day_expected
from curtailcoin.reconcile.farm_month_check import FarmMonthChecker
from curtailcoin.reconcile.generation_check import fill_generation_reasons
from curtailcoin.reconcile.period_scan import PeriodInputs, PeriodScan
from curtailcoin.reconcile.report import DateReport, ReconciliationStatus, SummaryMismatch
from curtailcoin.reconcile.share_check import ShareChecker
from curtailcoin.reconcile.summary_check import (
    SummaryChecker,
    daily_record_totals,
    prefer_problem_dates,
)
from curtailcoin.settlement import date_range, settlement_today
from curtailcoin.suspects import load_suspects


def get_reconciliation_status(
    conn: Connection,
    models: Sequence[str],
    *,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
    timeline: NetworkTimeline | None = None,
    exact: bool = False,
    generation: bool = False,
) -> ReconciliationStatus:
    """Counts of every problem kind over ``start..end`` (default: every stored date).

    With ``generation`` (``settings.fetch_generation``) a date whose wind generation is absent or
    not fetched with data is incomplete too (``DateReport.generation_reasons``), unless its B1610
    is only pending (not published yet: ``DateReport.generation_pending``).

    Large tables are read once each with ``GROUP BY``. Without ``exact`` the calculations are
    screened per period (rows = farms × models, Σ energy and Σ energy × len(farm id) = models ×
    the records', one difficulty and subsidy equal to the period's expected conditions,
    Σ BTC = K × Σ(H/P) × energy), and every period that fails is counted row by row, one date at
    a time; ``exact`` counts every period row by row (slower, same definitions).
    """
    import time

    began = time.perf_counter()
    models = list(dict.fromkeys(models))
    today = settlement_today(now)
    if start is None or end is None:
        low, high = data_bounds(conn)
        start = start or low
        end = end or high
    status = ReconciliationStatus(start, end, models, exact)
    if start is None or end is None:
        return status
    end = min(end, today)
    status.end = end
    if start > end:
        return status
    previous = tune_session(conn)
    try:
        _fill_status(conn, status, start, end, now, timeline)
        if generation:
            fill_generation_reasons(conn, status.per_date, now)
    finally:
        restore_session(conn, previous)
    status.elapsed_s = time.perf_counter() - began
    return status


def _read_inputs(
    conn: Connection,
    status: ReconciliationStatus,
    start: date,
    end: date,
    timeline: NetworkTimeline | None,
) -> tuple[PeriodInputs, Figures, list[str]]:
    """The aggregates of the range, every catalogue model's figures, and the untracked models
    with calculations in range."""
    from curtailcoin.reference import load_miner_models, load_timeline

    models = status.models
    timeline = timeline or load_timeline(conn)
    expected = expected_conditions(timeline, date_range(start, end))
    catalogue = load_miner_models(conn)
    ratios = {k: catalogue[k].hashrate_th / catalogue[k].power_w for k in models if k in catalogue}
    figures = {k: (m.hashrate_th, m.power_w) for k, m in catalogue.items()}
    stored = stored_periods(conn, start, end)
    records = records_per_period(conn, start, end)
    farms = farms_per_date(conn, start, end)
    others = other_models(conn, start, end, models)
    screen = {} if status.exact else calc_screen(conn, start, end, models, filtered=bool(others))
    inputs = PeriodInputs(
        models, status.exact, expected, stored, records, farms, screen, ratios, sum(ratios.values())
    )
    return inputs, figures, others


def _factorised_sums(
    day: date, pieces: Sequence[tuple[float, float]], ratios: Mapping[str, float]
) -> BtcSums:
    """Σ BTC and Σ MWh per model of a date whose periods all passed the screen, from each
    period's (K, MWh): BTC = Σ K × (H/P) × MWh."""
    energy_mwh = math.fsum(e for _, e in pieces)
    return {
        (day, model): (math.fsum(k * ratio * e for k, e in pieces), energy_mwh)
        for model, ratio in ratios.items()
    }


def _btc_expected(
    conn: Connection,
    scan: PeriodScan,
    dates: Sequence[date],
    full_sums: BtcSums,
    others: Sequence[str],
    span: tuple[date, date],
) -> BtcSums:
    """Σ BTC per (date, model): exact sums where any period was not clean, else factorised."""
    out = btc_sums_in_range(conn, *span, others)
    exact_dates = scan.exact_dates
    for d in [d for d in dates if d in scan.factorised and d not in exact_dates]:
        out.update(_factorised_sums(d, scan.factorised[d], scan.inputs.ratios))
    if exact_dates:
        read = {d for d, _ in full_sums}
        for d in exact_dates:  # models without rows on such a date: nothing expected
            for model in scan.inputs.models:
                out.pop((d, model), None)
        out.update({k: v for k, v in full_sums.items() if k[0] in exact_dates})
        out.update(btc_sums_on(conn, sorted(exact_dates - read)))
    return out


def _fill_status(
    conn: Connection,
    status: ReconciliationStatus,
    start: date,
    end: date,
    now: datetime | None,
    timeline: NetworkTimeline | None,
) -> None:
    inputs, figures, others = _read_inputs(conn, status, start, end, timeline)
    dates = date_range(start, end)
    reports = {d: DateReport(d, expected_period_count(d, now)) for d in dates}
    scan = PeriodScan(inputs, reports)
    scan.run(dates)
    exact_counts, full_sums = exact_periods(conn, scan.drill, status.models, figures)
    scan.apply_exact(exact_counts)
    btc_expected = _btc_expected(conn, scan, dates, full_sums, others, (start, end))

    mismatches: list[SummaryMismatch] = []
    month_date = SummaryChecker(conn, start, end, dates, mismatches).check(
        reports, daily_record_totals(inputs.records), inputs.farms, btc_expected
    )
    farm_days = farm_day_expected(inputs.records, inputs.stored, inputs.farms)
    farm_day_sums = FarmDayChecker(conn, start, end, dates, mismatches).check(
        reports, farm_days, btc_expected, status.exact
    )
    FarmMonthChecker(conn, start, end, month_date, mismatches).check(farm_day_sums, status.exact)
    ShareChecker(conn, start, end, dates, mismatches).check(reports)

    status.per_date = [reports[d] for d in dates]
    status.summary_details = prefer_problem_dates(mismatches, reports)
    status.suspects = load_suspects(conn, start, end)
    for suspect in status.suspects:
        reports[suspect.settlement_date].suspect = suspect.reason


def check_date_reconciliation_status(
    conn: Connection,
    settlement_date: date,
    models: Sequence[str],
    *,
    now: datetime | None = None,
    timeline: NetworkTimeline | None = None,
    generation: bool = False,
) -> tuple[DateReport, list[SummaryMismatch]]:
    """The seed's ``checkDateReconciliationStatus``: one date, counted row by row."""
    status = get_reconciliation_status(
        conn,
        models,
        start=settlement_date,
        end=settlement_date,
        now=now,
        timeline=timeline,
        exact=True,
        generation=generation,
    )
    if not status.per_date:
        return DateReport(settlement_date, expected_period_count(settlement_date, now)), []
    return status.per_date[0], status.summary_details
