"""The Bitcoin potential of a scope: what its curtailed energy could have mined, valued at each
date's price and at the latest, with a row per day (month scope) or per month (year scope)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Connection

from curtailcoin.miners import MinerModel
from curtailcoin.settlement import settlement_today
from curtailcoin.web.queries.bitcoin import btc_rows
from curtailcoin.web.queries.conditions import difficulty_range
from curtailcoin.web.queries.curtailment import Totals, totals_by_day
from curtailcoin.web.queries.scope import Scope
from curtailcoin.web.queries.status import DataStatus, data_status
from curtailcoin.web.schemas import DifficultyRange, MiningPotential, MiningRow
from curtailcoin.web.service.prices import PriceBook
from curtailcoin.web.service.ratios import per, ratio
from curtailcoin.web.service.reference import model_out
from curtailcoin.web.service.status import status_out

COVERAGE_EPSILON_MWH = 1e-6


def _row_dates(scope: Scope, today: date) -> list[tuple[str, list[date]]]:
    """The rows' keys and dates up to today: a month's days, or a year's months."""
    if scope.timeframe == "day":
        return []
    if scope.timeframe == "month":
        return [(d.isoformat(), [d]) for d in scope.days() if d <= today]
    by_month: dict[str, list[date]] = {}
    for d in scope.days():
        if d <= today:
            by_month.setdefault(d.isoformat()[:7], []).append(d)
    return list(by_month.items())


def _rows(
    scope: Scope,
    today: date,
    days: dict[date, Totals],
    btc_by_day: dict[date, float],
    prices: PriceBook,
    status: DataStatus,
) -> list[MiningRow]:
    incomplete = set(status.incomplete_dates)
    rows: list[MiningRow] = []
    for key, members in _row_dates(scope, today):
        row_btc = {d: btc_by_day.get(d, 0.0) for d in members}
        value = prices.at_dates(row_btc, "GBP")
        rows.append(
            MiningRow(
                key=key,
                curtailed_energy=sum(days[d].energy_mwh for d in members if d in days),
                total_payment=sum(days[d].payment_gbp for d in members if d in days),
                bitcoin_mined=sum(row_btc.values()),
                value_gbp=value.amount,
                complete=not any(d in incomplete for d in members),
            )
        )
    return rows


def mining_potential(
    conn: Connection,
    scope: Scope,
    model: MinerModel,
    tracked_models: Sequence[str],
    now: datetime | None = None,
) -> MiningPotential:
    tracked = model.key in tracked_models
    days = totals_by_day(conn, scope)
    btc_days = btc_rows(conn, scope, model, tracked, "day")
    prices = PriceBook.for_scope(conn, scope)
    btc_by_day = {d: b.btc for d, b in btc_days.items()}

    energy = sum(t.energy_mwh for t in days.values())
    payment = sum(t.payment_gbp for t in days.values())
    btc = sum(btc_by_day.values())
    covered = sum(b.covered_mwh for b in btc_days.values())
    uncovered = energy - covered
    if uncovered < COVERAGE_EPSILON_MWH:
        uncovered = 0.0

    status = data_status(conn, scope, now)
    rows = _rows(scope, settlement_today(now), days, btc_by_day, prices, status)
    valuation = prices.valuation(btc_by_day)
    low, high = difficulty_range(conn, scope)
    latest_gbp = prices.latest.get("GBP")
    return MiningPotential(
        timeframe=scope.timeframe,
        period=scope.label,
        miner_model=model.key,
        model=model_out(model, tracked_models),
        calculation="tracked" if tracked else "computed",
        lead_party=scope.lead_party,
        farm_id=scope.farm_id,
        curtailed_energy=energy,
        total_payment=payment,
        payment_per_mwh=per(payment, energy),
        bitcoin_mined=btc,
        bitcoin_per_mwh=per(btc, covered),
        energy_without_bitcoin=uncovered,
        difficulty=DifficultyRange(min=low, max=high),
        value=valuation,
        value_at_current_price=valuation.GBP.at_latest_price.amount,
        current_price=latest_gbp.price if latest_gbp else None,
        ratio_value_to_payment=ratio(valuation.GBP.at_date_price.amount, payment),
        rows=rows,
        data_status=status_out(status),
    )
