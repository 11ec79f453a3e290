"""Per-BM-unit figures of a scope: curtailment, and BTC with its value at each date's price.

A month or a year without a lead-party filter reads the per-farm-month roll-ups
(``curtailcoin.farm_months``), with a lead party the farm-day summaries, and a day the records
and calculations (:func:`curtailcoin.web.queries.plan.level`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Float, and_, case, func, literal, select

from curtailcoin.db.curtailment_tables import (
    curtailment_records,
    historical_bitcoin_calculations,
    settlement_periods,
)
from curtailcoin.db.dialect import hash_joins
from curtailcoin.db.reference_tables import btc_prices
from curtailcoin.db.summary_tables import (
    bitcoin_farm_daily_summaries,
    bitcoin_farm_monthly_summaries,
    farm_daily_summaries,
    farm_monthly_summaries,
)
from curtailcoin.miners import MinerModel
from curtailcoin.web.queries.bitcoin import KNOWN, model_btc, tracked_farm_days
from curtailcoin.web.queries.curtailment import Totals
from curtailcoin.web.queries.plan import (
    Level,
    farm_day_filter,
    farm_month_filter,
    level,
    record_filter,
)
from curtailcoin.web.queries.scope import Scope
from curtailcoin.web.queries.values import as_date, as_float, as_int

r = curtailment_records.c
c = historical_bitcoin_calculations.c
sp = settlement_periods.c
fd = farm_daily_summaries.c
bfd = bitcoin_farm_daily_summaries.c
fm = farm_monthly_summaries.c
bfm = bitcoin_farm_monthly_summaries.c


@dataclass
class FarmRow:
    """One BM unit's curtailment in a scope (lead party as recorded)."""

    farm_id: str
    lead_party: str | None
    totals: Totals


def farm_totals(conn: Connection, scope: Scope) -> list[FarmRow]:
    """Curtailment per BM unit in the scope (and its lead party), largest energy first."""
    where = level(scope, "farm")
    if where is Level.FARM_MONTH:
        rows = conn.execute(
            select(
                fm.farm_id,
                func.min(fm.lead_party_name),
                func.sum(fm.curtailed_energy_mwh),
                func.sum(fm.payment_gbp),
                func.sum(fm.record_count),
            )
            .where(farm_month_filter(fm, scope))
            .group_by(fm.farm_id)
        ).all()
    elif where is Level.FARM_DAY:
        rows = conn.execute(
            select(
                fd.farm_id,
                func.min(fd.lead_party_name),
                func.sum(fd.curtailed_energy_mwh),
                func.sum(fd.payment_gbp),
                func.sum(fd.record_count),
            )
            .where(farm_day_filter(scope))
            .group_by(fd.farm_id)
        ).all()
    else:
        rows = conn.execute(
            select(
                r.farm_id,
                func.min(r.lead_party_name),
                -func.sum(r.volume_mwh),
                func.sum(r.payment_gbp),
                func.count(),
            )
            .where(record_filter(scope))
            .group_by(r.farm_id)
        ).all()
    farms = [
        FarmRow(row[0], row[1], Totals(as_float(row[2]), as_float(row[3]), as_int(row[4]), 1))
        for row in rows
    ]
    farms.sort(key=lambda f: (-f.totals.energy_mwh, f.farm_id))
    return farms


@dataclass
class FarmBtc:
    """BTC of a BM unit in a scope and its value at each date's GBP price."""

    btc: float = 0.0
    covered_mwh: float = 0.0
    value_gbp: float | None = 0.0
    unpriced_first: date | None = None
    unpriced_last: date | None = None


def farm_btc(
    conn: Connection, scope: Scope, model: MinerModel, tracked: bool
) -> dict[str, FarmBtc]:
    """BTC per BM unit and its value at each date's GBP price, aggregated in SQL.

    ``value_gbp`` is None when a date with Bitcoin has no price (first/last such date kept).
    """
    where = level(scope, "farm")
    if where is Level.FARM_MONTH:
        return _farm_btc_by_month(conn, scope, model, tracked)
    if where is Level.FARM_DAY:
        b = _farm_day_btc(conn, scope, model, tracked)
    elif tracked:
        b = _calculation_btc(scope, model)
    else:
        b = _record_btc(scope, model)
    g = btc_prices.alias("g")
    missing = and_(g.c.price.is_(None), b.c.btc > 0)
    # PostgreSQL underestimates records per period and would probe the records once per period
    # (a nested loop); a hash join over the scope's records is several times faster.
    with hash_joins(conn, when=not tracked and where is Level.RECORDS):
        rows = _farm_btc_rows(conn, b, g, missing)
    out: dict[str, FarmBtc] = {}
    for row in rows:
        unpriced = as_int(row[4]) > 0
        out[row[0]] = FarmBtc(
            btc=as_float(row[1]),
            covered_mwh=as_float(row[2]),
            value_gbp=None if unpriced else as_float(row[3]),
            unpriced_first=as_date(row[5]) if unpriced else None,
            unpriced_last=as_date(row[6]) if unpriced else None,
        )
    return out


# The three stored levels below a month are each a subquery of (farm_id, settlement_date, btc,
# covered) rows, aggregated by the caller in one pass with the price join.


def _farm_day_btc(conn: Connection, scope: Scope, model: MinerModel, tracked: bool) -> Any:
    """One row per BM unit and date from the farm-day summaries (a month or a year)."""
    if tracked:
        return tracked_farm_days(
            conn,
            scope,
            model,
            bfd.farm_id,
            bfd.summary_date.label("settlement_date"),
            bfd.bitcoin_mined_btc.label("btc"),
            bfd.curtailed_energy_mwh.label("covered"),
        ).subquery("b")
    ratio = literal(model.hashrate_th / model.power_w, Float)
    return (
        select(
            fd.farm_id,
            fd.summary_date.label("settlement_date"),
            (fd.btc_per_th_per_w * ratio).label("btc"),
            (fd.curtailed_energy_mwh - fd.pending_energy_mwh).label("covered"),
        )
        .where(farm_day_filter(scope))
        .subquery("b")
    )


def _calculation_btc(scope: Scope, model: MinerModel) -> Any:
    """A tracked model's calculation rows of a day (a lead party's by its (date, unit) pairs)."""
    query = select(
        c.farm_id,
        c.settlement_date,
        c.bitcoin_mined_btc.label("btc"),
        c.curtailed_energy_mwh.label("covered"),
    ).where(
        c.miner_model == model.key,
        c.settlement_date >= scope.start,
        c.settlement_date < scope.end,
    )
    if scope.farm_id is not None:
        query = query.where(c.farm_id == scope.farm_id)
    if scope.lead_party is not None:
        k = (
            select(r.settlement_date, r.farm_id)
            .where(record_filter(scope))
            .distinct()
            .subquery("k")
        )
        query = query.where(
            c.farm_id.in_(select(k.c.farm_id).distinct()),
            select(k.c.farm_id)
            .where(k.c.settlement_date == c.settlement_date, k.c.farm_id == c.farm_id)
            .exists(),
        )
    return query.subquery("b")


def _record_btc(scope: Scope, model: MinerModel) -> Any:
    """Each record's BTC with its period's conditions (a computed model, a day).

    One factor per period (BTC per curtailed MWh with the period's conditions), then one pass
    over the records: E × factor equals the formula up to float rounding (~1e-16 relative), and
    per-record sums equal the per-(period, unit) figures up to float rounding.
    """
    factor = (
        select(
            sp.settlement_date,
            sp.settlement_period,
            model_btc(literal(1.0, Float), model).label("btc_per_mwh"),
        )
        .where(KNOWN, sp.settlement_date >= scope.start, sp.settlement_date < scope.end)
        .subquery("f")
    )
    joined = curtailment_records.join(
        factor,
        and_(
            factor.c.settlement_date == r.settlement_date,
            factor.c.settlement_period == r.settlement_period,
        ),
    )
    return (
        select(
            r.farm_id,
            r.settlement_date,
            (-r.volume_mwh * factor.c.btc_per_mwh).label("btc"),
            (-r.volume_mwh).label("covered"),
        )
        .select_from(joined)
        .where(record_filter(scope))
        .subquery("b")
    )


def _farm_btc_by_month(
    conn: Connection, scope: Scope, model: MinerModel, tracked: bool
) -> dict[str, FarmBtc]:
    """:func:`farm_btc` from the per-farm-month roll-ups: the value at each date's price was
    summed when the month was built; a month with unpriced Bitcoin makes the value None."""
    if tracked:
        rows = conn.execute(
            select(
                bfm.farm_id,
                func.sum(bfm.bitcoin_mined_btc),
                func.sum(bfm.curtailed_energy_mwh),
                func.sum(bfm.value_gbp),
                func.sum(bfm.unpriced_btc),
                func.min(bfm.first_unpriced_date),
                func.max(bfm.last_unpriced_date),
            )
            .where(bfm.miner_model == model.key, farm_month_filter(bfm, scope))
            .group_by(bfm.farm_id)
        ).all()
        ratio = 1.0
    else:
        rows = conn.execute(
            select(
                fm.farm_id,
                func.sum(fm.btc_per_th_per_w),
                func.sum(fm.curtailed_energy_mwh - fm.pending_energy_mwh),
                func.sum(fm.btc_per_th_per_w_gbp),
                func.sum(fm.unpriced_btc_per_th_per_w),
                func.min(fm.first_unpriced_date),
                func.max(fm.last_unpriced_date),
            )
            .where(farm_month_filter(fm, scope))
            .group_by(fm.farm_id)
        ).all()
        ratio = model.hashrate_th / model.power_w
    out: dict[str, FarmBtc] = {}
    for farm, btc, covered, value, unpriced_btc, first, last in rows:
        unpriced = as_float(unpriced_btc) > 0
        out[farm] = FarmBtc(
            btc=ratio * as_float(btc),
            covered_mwh=as_float(covered),
            value_gbp=None if unpriced else ratio * as_float(value),
            unpriced_first=as_date(first) if unpriced else None,
            unpriced_last=as_date(last) if unpriced else None,
        )
    return out


def _farm_btc_rows(conn: Connection, b: Any, g: Any, missing: Any) -> Sequence[Any]:
    return conn.execute(
        select(
            b.c.farm_id,
            func.sum(b.c.btc),
            func.sum(b.c.covered),
            func.sum(b.c.btc * g.c.price),
            func.sum(case((missing, 1), else_=0)),
            func.min(case((missing, b.c.settlement_date))),
            func.max(case((missing, b.c.settlement_date))),
        )
        .select_from(
            b.outerjoin(g, and_(g.c.price_date == b.c.settlement_date, g.c.currency == "GBP"))
        )
        .group_by(b.c.farm_id)
    ).all()
