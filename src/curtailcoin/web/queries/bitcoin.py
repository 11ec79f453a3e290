"""Bitcoin of a scope by day or by settlement period, and the energy each figure covers.

A **tracked** model's BTC is stored: ``bitcoin_daily_summaries`` (no filter),
``bitcoin_farm_daily_summaries`` (a filtered month or year) or ``historical_bitcoin_calculations``.
Any other catalogue model's BTC is **computed** with the same SQL expression as the stored
calculations (:func:`curtailcoin.mining.btc_sql`) from the records and each period's stored
difficulty and subsidy — from each period's stored total without a filter, and as
``hashrate_th / power_w × farm_daily_summaries.btc_per_th_per_w`` for a filtered month or year
(the formula is linear in energy and in H/P). The level is chosen by
:func:`curtailcoin.web.queries.plan.level`.

Every figure comes with the energy it covers, so energy without a Bitcoin figure (difficulty
pending, or a tracked calculation missing) is reported, never hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import Connection, Float, and_, func, literal, select

from curtailcoin.db.curtailment_tables import (
    curtailment_records,
    historical_bitcoin_calculations,
    settlement_periods,
)
from curtailcoin.db.summary_tables import (
    bitcoin_daily_summaries,
    bitcoin_farm_daily_summaries,
    farm_daily_summaries,
)
from curtailcoin.miners import MinerModel
from curtailcoin.mining import btc_sql
from curtailcoin.web.queries.plan import Level, farm_day_filter, level, record_filter
from curtailcoin.web.queries.scope import Scope
from curtailcoin.web.queries.values import as_date, as_float

GroupBy = Literal["day", "period"]

r = curtailment_records.c
c = historical_bitcoin_calculations.c
sp = settlement_periods.c
fd = farm_daily_summaries.c
bfd = bitcoin_farm_daily_summaries.c

KNOWN = and_(sp.difficulty.is_not(None), sp.block_subsidy_btc.is_not(None))


@dataclass
class Btc:
    """BTC of a row and the curtailed energy (MWh) that figure covers."""

    btc: float = 0.0
    covered_mwh: float = 0.0

    def add(self, other: Btc) -> None:
        self.btc += other.btc
        self.covered_mwh += other.covered_mwh


def model_btc(energy: Any, model: MinerModel) -> Any:
    """BTC of ``energy`` MWh for the model with each period's stored conditions (SQL)."""
    return btc_sql(
        energy,
        hashrate_th=literal(model.hashrate_th, Float),
        power_w=literal(model.power_w, Float),
        difficulty=sp.difficulty,
        subsidy=sp.block_subsidy_btc,
    )


def tracked_farm_days(conn: Connection, scope: Scope, model: MinerModel, *columns: Any) -> Any:
    """``columns`` of ``bitcoin_farm_daily_summaries`` rows of the model in the scope, joined
    to the farm-day rows when a lead party is chosen (a BM unit's BTC of a date belongs to the
    lead party it had that date).

    A lead party's BM units are looked up first and named in the query, so the rows are read
    per BM unit from the (model, BM unit, date) index instead of every BM unit's year."""
    query = select(*columns).where(
        bfd.miner_model == model.key,
        bfd.summary_date >= scope.start,
        bfd.summary_date < scope.end,
    )
    if scope.farm_id is not None:
        query = query.where(bfd.farm_id == scope.farm_id)
    if scope.lead_party is not None:
        farms = (
            conn.execute(select(fd.farm_id).where(farm_day_filter(scope)).distinct())
            .scalars()
            .all()
        )
        query = (
            query.select_from(
                bitcoin_farm_daily_summaries.join(
                    farm_daily_summaries,
                    and_(fd.summary_date == bfd.summary_date, fd.farm_id == bfd.farm_id),
                )
            )
            .where(farm_day_filter(scope))
            .where(bfd.farm_id.in_(sorted(farms)))
        )
    return query


def btc_rows(
    conn: Connection, scope: Scope, model: MinerModel, tracked: bool, group: GroupBy
) -> dict[Any, Btc]:
    """BTC (and the energy it covers) grouped by day or by settlement period."""
    where = level(scope, group)
    if where is Level.SUMMARY:
        return _tracked_daily(conn, scope, model) if tracked else _period_totals(conn, scope, model)
    if where is Level.FARM_DAY:
        if tracked:
            return _tracked_farm_day_rows(conn, scope, model)
        return _computed_farm_day_rows(conn, scope, model)
    if tracked:
        return _tracked_rows(conn, scope, model, group)
    return {
        row[0]: Btc(as_float(row.btc), as_float(row.covered))
        for row in conn.execute(_computed_btc(scope, model, group))
    }


def _tracked_daily(conn: Connection, scope: Scope, model: MinerModel) -> dict[Any, Btc]:
    b = bitcoin_daily_summaries.c
    rows = conn.execute(
        select(b.summary_date, b.bitcoin_mined_btc, b.curtailed_energy_mwh).where(
            b.miner_model == model.key,
            b.summary_date >= scope.start,
            b.summary_date < scope.end,
        )
    ).all()
    return {row[0]: Btc(as_float(row[1]), as_float(row[2])) for row in rows}


def _period_totals(conn: Connection, scope: Scope, model: MinerModel) -> dict[Any, Btc]:
    """Each period's stored total energy × its factor: BTC is linear in energy, so this is
    the per-(period, BM unit) sum up to float rounding, from one row per period."""
    out: dict[Any, Btc] = {}
    for period_row in conn.execute(
        select(
            sp.settlement_date,
            func.sum(model_btc(sp.curtailed_energy_mwh, model)),
            func.sum(sp.curtailed_energy_mwh),
        )
        .where(
            KNOWN,
            sp.record_count > 0,
            sp.settlement_date >= scope.start,
            sp.settlement_date < scope.end,
        )
        .group_by(sp.settlement_date)
    ):
        day, btc, covered = period_row
        out[as_date(day)] = Btc(as_float(btc), as_float(covered))
    return out


def _computed_farm_day_rows(conn: Connection, scope: Scope, model: MinerModel) -> dict[Any, Btc]:
    ratio = model.hashrate_th / model.power_w
    return {
        row[0]: Btc(ratio * as_float(row[1]), as_float(row[2]) - as_float(row[3]))
        for row in conn.execute(
            select(
                fd.summary_date,
                func.sum(fd.btc_per_th_per_w),
                func.sum(fd.curtailed_energy_mwh),
                func.sum(fd.pending_energy_mwh),
            )
            .where(farm_day_filter(scope))
            .group_by(fd.summary_date)
        )
    }


def _tracked_farm_day_rows(conn: Connection, scope: Scope, model: MinerModel) -> dict[Any, Btc]:
    query = tracked_farm_days(
        conn,
        scope,
        model,
        bfd.summary_date,
        func.sum(bfd.bitcoin_mined_btc),
        func.sum(bfd.curtailed_energy_mwh),
    ).group_by(bfd.summary_date)
    return {row[0]: Btc(as_float(row[1]), as_float(row[2])) for row in conn.execute(query)}


def _group_keys(group: GroupBy, cols: Any) -> list[Any]:
    if group == "day":
        return [cols.settlement_date]
    return [cols.settlement_period]


def _computed_btc(scope: Scope, model: MinerModel, group: GroupBy) -> Any:
    """BTC for a non-tracked model from the records and each period's stored conditions.

    The records' energy is summed per (date, period) and :func:`btc_sql` applies the formula
    with the period's difficulty and subsidy. BTC is linear in energy, so coarser groups change
    only the float rounding (~1e-15 relative).
    """
    cols = [r.settlement_date, r.settlement_period]
    e = (
        select(*cols, (-func.sum(r.volume_mwh)).label("energy"))
        .where(record_filter(scope))
        .group_by(*cols)
        .subquery("e")
    )
    keys = _group_keys(group, e.c)
    conditions = e.join(
        settlement_periods,
        and_(
            sp.settlement_date == e.c.settlement_date,
            sp.settlement_period == e.c.settlement_period,
        ),
    )
    return (
        select(
            *keys,
            func.sum(model_btc(e.c.energy, model)).label("btc"),
            func.sum(e.c.energy).label("covered"),
        )
        .select_from(conditions)
        .where(KNOWN)
        .group_by(*keys)
    )


def _lead_party_units(conn: Connection, scope: Scope) -> tuple[list[str], set[tuple[date, str]]]:
    """The lead party's BM units in the scope and its (date, BM unit) pairs.

    A date is ingested in one go, so all of a unit's records of a date carry the same lead
    party: a unit's calculations of a date belong to the lead party it had that date.
    """
    pairs = {
        (as_date(row[0]) or scope.start, row[1])
        for row in conn.execute(
            select(r.settlement_date, r.farm_id).where(record_filter(scope)).distinct()
        )
    }
    return sorted({farm for _, farm in pairs}), pairs


def _tracked_btc(scope: Scope, model: MinerModel, group: GroupBy, farms: list[str] | None) -> Any:
    """BTC of a tracked model from ``historical_bitcoin_calculations``.

    Grouped by the key and by (date, BM unit) so a lead-party filter can keep the pairs of
    :func:`_lead_party_units`.
    """
    keys = _group_keys(group, c)
    extra = [c.settlement_date, c.farm_id]
    query = select(
        *keys,
        *extra,
        func.sum(c.bitcoin_mined_btc).label("btc"),
        func.sum(c.curtailed_energy_mwh).label("covered"),
    ).where(
        c.miner_model == model.key,
        c.settlement_date >= scope.start,
        c.settlement_date < scope.end,
    )
    if scope.farm_id is not None:
        query = query.where(c.farm_id == scope.farm_id)
    if farms is not None:
        query = query.where(c.farm_id.in_(farms))
    return query.group_by(*keys, *extra)


def _tracked_rows(
    conn: Connection, scope: Scope, model: MinerModel, group: GroupBy
) -> dict[Any, Btc]:
    out: dict[Any, Btc] = {}
    farms: list[str] | None = None
    pairs: set[tuple[date, str]] | None = None
    if scope.lead_party is not None:
        farms, pairs = _lead_party_units(conn, scope)
        if not farms:
            return out
    for row in conn.execute(_tracked_btc(scope, model, group, farms)):
        if pairs is not None and ((as_date(row.settlement_date), row.farm_id) not in pairs):
            continue
        value = out.setdefault(row[0], Btc())
        value.add(Btc(as_float(row.btc), as_float(row.covered)))
    return out
