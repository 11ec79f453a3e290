"""Rate comparisons: £ per MWh paid to the farms against the £ per MWh the same energy could
have mined, per local hour of a date or per day of a month (the earlier system's
``hourly-comparison`` and ``monthly-comparison``). Built on the hourly curtailment and the
mining-potential answers, so every figure is the one those routes give."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection

from curtailcoin.miners import MinerModel
from curtailcoin.web.legacy_schemas import ComparisonRow, RateComparison
from curtailcoin.web.queries.scope import Scope
from curtailcoin.web.schemas import DataStatusOut
from curtailcoin.web.service.bitcoin import mining_potential
from curtailcoin.web.service.curtailment import hourly
from curtailcoin.web.service.ratios import per, sum_or_none


def _row(
    key: str,
    energy_mwh: float,
    payment_gbp: float,
    btc: float,
    value_gbp: float | None,
    complete: bool,
) -> ComparisonRow:
    return ComparisonRow(
        key=key,
        curtailed_energy=energy_mwh,
        total_payment=payment_gbp,
        bitcoin_mined=btc,
        bitcoin_value=value_gbp,
        payment_per_mwh=per(payment_gbp, energy_mwh),
        bitcoin_value_per_mwh=None if value_gbp is None else per(value_gbp, energy_mwh),
        complete=complete,
    )


def _comparison(
    scope: Scope,
    model_key: str,
    calculation: Literal["tracked", "computed"],
    rows: list[ComparisonRow],
    missing_reason: str | None,
    status: DataStatusOut,
) -> RateComparison:
    energy = sum(r.curtailed_energy for r in rows)
    payment = sum(r.total_payment for r in rows)
    value = sum_or_none([r.bitcoin_value for r in rows])
    assert scope.timeframe in ("day", "month")
    return RateComparison(
        timeframe="day" if scope.timeframe == "day" else "month",
        period=scope.label,
        miner_model=model_key,
        calculation=calculation,
        lead_party=scope.lead_party,
        farm_id=scope.farm_id,
        curtailed_energy=energy,
        total_payment=payment,
        bitcoin_mined=sum(r.bitcoin_mined for r in rows),
        bitcoin_value=value,
        payment_per_mwh=per(payment, energy),
        bitcoin_value_per_mwh=None if value is None else per(value, energy),
        value_missing_reason=missing_reason if value is None else None,
        rows=rows,
        data_status=status,
    )


def hourly_comparison(
    conn: Connection,
    scope: Scope,
    model: MinerModel,
    tracked_models: Sequence[str],
    now: datetime | None = None,
) -> RateComparison:
    """A date per local clock hour, the Bitcoin valued at the date's GBP price."""
    day = hourly(conn, scope, model, tracked_models, now)
    price = day.price_gbp.price
    rows = [
        _row(
            h.hour,
            h.curtailed_energy,
            h.total_payment,
            h.bitcoin_mined,
            None if price is None else h.bitcoin_mined * price,
            h.periods_fetched == len(h.periods),
        )
        for h in day.hours
    ]
    return _comparison(
        scope, model.key, day.calculation, rows, day.price_gbp.missing_reason, day.data_status
    )


def monthly_comparison(
    conn: Connection,
    scope: Scope,
    model: MinerModel,
    tracked_models: Sequence[str],
    now: datetime | None = None,
) -> RateComparison:
    """A month per day (up to today), each day's Bitcoin valued at that day's GBP price."""
    month = mining_potential(conn, scope, model, tracked_models, now)
    rows = [
        _row(r.key, r.curtailed_energy, r.total_payment, r.bitcoin_mined, r.value_gbp, r.complete)
        for r in month.rows
    ]
    return _comparison(
        scope,
        model.key,
        month.calculation,
        rows,
        month.value.GBP.at_date_price.missing_reason,
        month.data_status,
    )
