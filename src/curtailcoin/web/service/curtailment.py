"""Curtailment answers: a date's, month's or year's totals with their rows, and a date by local
clock hour with its Bitcoin."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Connection

from curtailcoin.miners import MinerModel
from curtailcoin.settlement import LONDON, year_month
from curtailcoin.web.queries.bitcoin import btc_rows
from curtailcoin.web.queries.conditions import period_conditions
from curtailcoin.web.queries.curtailment import (
    all_bids_by_day,
    scope_totals,
    totals_by_day,
    totals_by_month,
    totals_by_period,
)
from curtailcoin.web.queries.scope import Scope, hour_periods
from curtailcoin.web.queries.status import data_status
from curtailcoin.web.schemas import (
    DailySummary,
    DaySummaryRow,
    HourlyCurtailment,
    HourRow,
    MonthlySummary,
    MonthSummaryRow,
    YearlySummary,
)
from curtailcoin.web.service.prices import PriceBook
from curtailcoin.web.service.status import status_out


def _all_bids(days: dict[date, float] | None, wanted: Sequence[date] | None = None) -> float | None:
    """The all-bids measure of ``wanted`` dates (all: None); None without a stored row."""
    if days is None:
        return None
    values = [v for d, v in days.items() if wanted is None or d in wanted]
    return math.fsum(values) if values else None


def daily_summary(conn: Connection, scope: Scope, now: datetime | None = None) -> DailySummary:
    totals = scope_totals(conn, scope)
    return DailySummary(
        date=scope.start,
        lead_party=scope.lead_party,
        farm_id=scope.farm_id,
        total_curtailed_energy=totals.energy_mwh,
        total_payment=totals.payment_gbp,
        record_count=totals.records,
        farm_count=totals.farms,
        all_bids_curtailed_energy_mwh=_all_bids(all_bids_by_day(conn, scope)),
        data_status=status_out(data_status(conn, scope, now)),
    )


def monthly_summary(conn: Connection, scope: Scope, now: datetime | None = None) -> MonthlySummary:
    totals = scope_totals(conn, scope)
    days = totals_by_day(conn, scope)
    all_bids = all_bids_by_day(conn, scope)
    rows = [
        DaySummaryRow(
            date=day,
            total_curtailed_energy=t.energy_mwh,
            total_payment=t.payment_gbp,
            record_count=t.records,
            farm_count=t.farms,
            all_bids_curtailed_energy_mwh=_all_bids(all_bids, [day]),
        )
        for day, t in sorted(days.items())
    ]
    return MonthlySummary(
        year_month=scope.label,
        lead_party=scope.lead_party,
        farm_id=scope.farm_id,
        total_curtailed_energy=totals.energy_mwh,
        total_payment=totals.payment_gbp,
        record_count=totals.records,
        farm_count=totals.farms,
        all_bids_curtailed_energy_mwh=_all_bids(all_bids),
        days=rows,
        data_status=status_out(data_status(conn, scope, now)),
    )


def yearly_summary(conn: Connection, scope: Scope, now: datetime | None = None) -> YearlySummary:
    totals = scope_totals(conn, scope)
    months = totals_by_month(conn, scope)
    all_bids = all_bids_by_day(conn, scope)
    by_month: dict[str, list[date]] = {}
    for day in all_bids or ():
        by_month.setdefault(year_month(day), []).append(day)
    rows = [
        MonthSummaryRow(
            year_month=ym,
            total_curtailed_energy=t.energy_mwh,
            total_payment=t.payment_gbp,
            record_count=t.records,
            farm_count=t.farms,
            all_bids_curtailed_energy_mwh=_all_bids(all_bids, by_month.get(ym, [])),
        )
        for ym, t in sorted(months.items())
    ]
    return YearlySummary(
        year=scope.label,
        lead_party=scope.lead_party,
        farm_id=scope.farm_id,
        total_curtailed_energy=totals.energy_mwh,
        total_payment=totals.payment_gbp,
        record_count=totals.records,
        farm_count=totals.farms,
        all_bids_curtailed_energy_mwh=_all_bids(all_bids),
        months=rows,
        data_status=status_out(data_status(conn, scope, now)),
    )


def hourly(
    conn: Connection,
    scope: Scope,
    model: MinerModel,
    tracked_models: Sequence[str],
    now: datetime | None = None,
) -> HourlyCurtailment:
    day = scope.start
    tracked = model.key in tracked_models
    periods = totals_by_period(conn, scope)
    btc = btc_rows(conn, scope, model, tracked, "period")
    conditions = period_conditions(conn, day)
    status = data_status(conn, scope, now)
    missing = set(status.missing_periods)
    expected = status.periods_expected
    hours: list[HourRow] = []
    for index, (label, start, members) in enumerate(hour_periods(day)):
        energy = sum(periods[p].energy_mwh for p in members if p in periods)
        pending = any(
            p in periods and (conditions.get(p, (None, None))[0] is None) for p in members
        )
        hours.append(
            HourRow(
                hour=label,
                index=index,
                start_utc=start,
                periods=list(members),
                curtailed_energy=energy,
                total_payment=sum(periods[p].payment_gbp for p in members if p in periods),
                bitcoin_mined=sum(btc[p].btc for p in members if p in btc),
                periods_fetched=sum(1 for p in members if p <= expected and p not in missing),
                pending=pending,
            )
        )
    prices = PriceBook.load(conn, day, day)
    return HourlyCurtailment(
        date=day,
        timezone=str(LONDON),
        hour_count=len(hours),
        miner_model=model.key,
        calculation="tracked" if tracked else "computed",
        lead_party=scope.lead_party,
        farm_id=scope.farm_id,
        hours=hours,
        total_curtailed_energy=sum(h.curtailed_energy for h in hours),
        total_payment=sum(h.total_payment for h in hours),
        total_bitcoin=sum(h.bitcoin_mined for h in hours),
        price_gbp=prices.day_price(day, "GBP"),
        data_status=status_out(status),
    )
