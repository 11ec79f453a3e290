"""Synthetic, internally consistent data written with bulk SQL (benchmarks and tests).

``generate(engine, start, end)`` fills every table reconciliation reads — period statuses,
curtailment records, calculations for the tracked models and the six summaries — as an ingest of
those dates would, without any HTTP. Records come from one ``INSERT … SELECT`` over a helper table
of periods; calculations from one ``INSERT … SELECT`` applying the same SQL formula as
:func:`curtailcoin.calculations.calculate`; monthly and yearly summaries from the foundation's own
rebuild functions. The result has no reconciliation problem, so a benchmark or a test can create
each problem on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    delete,
    func,
    literal,
    or_,
    select,
)

from curtailcoin.db.curtailment_tables import (
    curtailment_records,
    historical_bitcoin_calculations,
    settlement_periods,
)
from curtailcoin.db.reference_tables import miner_models
from curtailcoin.db.summary_tables import (
    bitcoin_daily_summaries,
    bitcoin_farm_daily_summaries,
    daily_summaries,
    farm_daily_summaries,
)
from curtailcoin.farm_months import months_between, rebuild_months
from curtailcoin.ingest import FETCHED_WITH_DATA
from curtailcoin.mining import btc_per_th_per_w_sql, btc_sql
from curtailcoin.pipeline import prepare_database
from curtailcoin.reconcile.expected import expected_conditions
from curtailcoin.reference import load_timeline
from curtailcoin.registry import wind_units
from curtailcoin.settlement import date_range, month_bounds, periods_in_day
from curtailcoin.stack_daily import rebuild_stack_daily
from curtailcoin.summaries import rebuild_bitcoin_summaries, rebuild_curtailment_summaries

_meta = MetaData()
_gen_periods = Table(
    "cc_gen_periods",
    _meta,
    Column("d", Date, primary_key=True),
    Column("p", Integer, primary_key=True),
    Column("k", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
_gen_farms = Table(
    "cc_gen_farms",
    _meta,
    Column("i", Integer, primary_key=True, autoincrement=False),
    Column("farm_id", String(64), nullable=False),
    Column("lead_party", String(200)),
    prefixes=["TEMPORARY"],
)
_gen_small = Table(
    "cc_gen_small",
    _meta,
    Column("n", Integer, primary_key=True, autoincrement=False),
    prefixes=["TEMPORARY"],
)
_gen_tables = (_gen_periods, _gen_farms, _gen_small)


def fill_farm_daily_summaries(conn: Connection, start: date, end: date) -> None:
    """Both farm-day summary tables of ``start..end`` from the stored records, periods and
    calculations, in bulk SQL (``INSERT … SELECT``; the rebuilds of :mod:`curtailcoin.summaries`
    give the same figures up to float rounding). Existing rows of the range are replaced."""
    now = datetime.now(UTC)
    r, p_, c = curtailment_records.c, settlement_periods.c, historical_bitcoin_calculations.c
    fd, bfd = farm_daily_summaries.c, bitcoin_farm_daily_summaries.c
    conn.execute(delete(farm_daily_summaries).where(fd.summary_date.between(start, end)))
    conn.execute(delete(bitcoin_farm_daily_summaries).where(bfd.summary_date.between(start, end)))
    e = (
        select(
            r.settlement_date,
            r.settlement_period,
            r.farm_id,
            func.min(r.lead_party_name).label("lead"),
            (-func.sum(r.volume_mwh)).label("energy"),
            func.coalesce(func.sum(r.payment_gbp), 0.0).label("payment"),
            func.count().label("n"),
        )
        .where(r.settlement_date.between(start, end))
        .group_by(r.settlement_date, r.settlement_period, r.farm_id)
        .subquery("e")
    )
    known = and_(p_.difficulty.is_not(None), p_.block_subsidy_btc.is_not(None))
    factor = btc_per_th_per_w_sql(e.c.energy, p_.difficulty, p_.block_subsidy_btc)
    conn.execute(
        farm_daily_summaries.insert().from_select(
            [
                "summary_date",
                "farm_id",
                "lead_party_name",
                "curtailed_energy_mwh",
                "payment_gbp",
                "record_count",
                "btc_per_th_per_w",
                "pending_energy_mwh",
                "updated_at",
            ],
            select(
                e.c.settlement_date,
                e.c.farm_id,
                func.min(e.c.lead),
                func.sum(e.c.energy),
                func.sum(e.c.payment),
                func.sum(e.c.n),
                func.coalesce(func.sum(case((known, factor), else_=0.0)), 0.0),
                func.coalesce(func.sum(case((known, 0.0), else_=e.c.energy)), 0.0),
                literal(now, type_=farm_daily_summaries.c.updated_at.type),
            )
            .select_from(
                e.outerjoin(
                    settlement_periods,
                    and_(
                        p_.settlement_date == e.c.settlement_date,
                        p_.settlement_period == e.c.settlement_period,
                    ),
                )
            )
            .group_by(e.c.settlement_date, e.c.farm_id),
        )
    )
    conn.execute(
        bitcoin_farm_daily_summaries.insert().from_select(
            [
                "summary_date",
                "farm_id",
                "miner_model",
                "bitcoin_mined_btc",
                "curtailed_energy_mwh",
                "updated_at",
            ],
            select(
                c.settlement_date,
                c.farm_id,
                c.miner_model,
                func.sum(c.bitcoin_mined_btc),
                func.sum(c.curtailed_energy_mwh),
                literal(now, type_=bitcoin_farm_daily_summaries.c.updated_at.type),
            )
            .where(c.settlement_date.between(start, end))
            .group_by(c.settlement_date, c.farm_id, c.miner_model),
        )
    )
    rebuild_months(conn, months_between(start, end), now)


@dataclass(frozen=True)
class Generated:
    dates: int
    periods: int
    records: int
    calculations: int


def _drop(conn: Connection) -> None:
    for table in _gen_tables:
        table.drop(conn, checkfirst=True)


def generate(
    engine: Engine,
    start: date,
    end: date,
    models: Sequence[str],
    *,
    farms: int = 200,
) -> Generated:
    """Fill ``start..end``: 8–19 farms per period (13.5 on average), 1.39 records per farm."""
    if farms < 199:
        raise ValueError("need at least 199 farms so that a period's farms are distinct")
    prepare_database(engine)
    now = datetime.now(UTC)
    dates = date_range(start, end)
    with engine.begin() as conn:
        timeline = load_timeline(conn)
        wind = sorted(wind_units(conn).items())
        if len(wind) < farms:
            raise ValueError(f"only {len(wind)} wind units in the registry, need {farms}")
        _drop(conn)
        for table in _gen_tables:
            table.create(conn)
        period_rows: list[dict[str, Any]] = []
        for d in dates:
            for p in range(1, periods_in_day(d) + 1):
                period_rows.append({"d": d, "p": p, "k": len(period_rows)})
        conn.execute(_gen_periods.insert(), period_rows)
        conn.execute(
            _gen_farms.insert(),
            [{"i": i, "farm_id": unit, "lead_party": lead} for i, (unit, lead) in enumerate(wind)],
        )
        conn.execute(_gen_small.insert(), [{"n": n} for n in range(max(20, 3))])

        t_alias, s_alias = _gen_small.alias("t"), _gen_small.alias("s")
        g, f, t, s = _gen_periods.c, _gen_farms.c, t_alias.c, s_alias.c
        volume = -(literal(0.5) + ((g.k * 37 + t.n * 101 + s.n * 13) % 997) / literal(10.0))
        price = literal(20.0) - ((g.k * 11 + f.i * 7 + s.n) % 120) * literal(1.0)
        source = (
            select(
                g.d,
                g.p,
                f.farm_id,
                f.lead_party,
                volume,
                price * volume,
                price,
                price,
                literal(True),
                literal(False),
                s.n,
                g.k * 100 + t.n,
                s.n * -1,
                literal(now, type_=curtailment_records.c.fetched_at.type),
            )
            .select_from(_gen_periods)
            .join(t_alias, t.n < (8 + g.k % 12))
            .join(_gen_farms, f.i == (g.k * 7 + t.n * 11) % farms)
            .join(
                s_alias,
                or_(
                    s.n == 1,
                    and_(s.n == 2, (g.k * 3 + t.n * 5) % 100 < 30),
                    and_(s.n == 3, (g.k * 3 + t.n * 5) % 100 < 9),
                ),
            )
        )
        conn.execute(
            curtailment_records.insert().from_select(
                [
                    "settlement_date",
                    "settlement_period",
                    "farm_id",
                    "lead_party_name",
                    "volume_mwh",
                    "payment_gbp",
                    "original_price",
                    "final_price",
                    "so_flag",
                    "cadl_flag",
                    "sequence_number",
                    "acceptance_id",
                    "bid_offer_pair_id",
                    "fetched_at",
                ],
                source,
            )
        )
        _drop(conn)

        r = curtailment_records.c
        totals = {
            (row[0], row[1]): row
            for row in conn.execute(
                select(
                    r.settlement_date,
                    r.settlement_period,
                    func.count(),
                    -func.sum(r.volume_mwh),
                    func.sum(r.payment_gbp),
                )
                .where(r.settlement_date.between(start, end))
                .group_by(r.settlement_date, r.settlement_period)
            )
        }
        expected = expected_conditions(timeline, dates)
        status_rows = []
        for d in dates:
            for p in range(1, periods_in_day(d) + 1):
                cond = expected[(d, p)]
                row = totals.get((d, p))
                status_rows.append(
                    {
                        "settlement_date": d,
                        "settlement_period": p,
                        "start_time_utc": cond.start_utc,
                        "fetch_status": FETCHED_WITH_DATA,
                        "fetched_at": now,
                        "source_created_at": None,
                        "stack_line_count": row[2] if row else 0,
                        "wind_line_count": row[2] if row else 0,
                        "record_count": row[2] if row else 0,
                        "curtailed_energy_mwh": float(row[3]) if row else 0.0,
                        "payment_gbp": float(row[4]) if row else 0.0,
                        "difficulty": cond.difficulty,
                        "block_subsidy_btc": cond.block_subsidy_btc,
                        "error": None,
                    }
                )
        conn.execute(settlement_periods.insert(), status_rows)

        energy = (
            select(
                r.settlement_date,
                r.settlement_period,
                r.farm_id,
                (-func.sum(r.volume_mwh)).label("energy_mwh"),
            )
            .where(r.settlement_date.between(start, end))
            .group_by(r.settlement_date, r.settlement_period, r.farm_id)
            .subquery("e")
        )
        p_, m = settlement_periods.c, miner_models.c
        calc_source = (
            select(
                energy.c.settlement_date,
                energy.c.settlement_period,
                energy.c.farm_id,
                m.model_key,
                energy.c.energy_mwh,
                p_.difficulty,
                p_.block_subsidy_btc,
                m.hashrate_th,
                m.power_w,
                btc_sql(
                    energy.c.energy_mwh,
                    hashrate_th=m.hashrate_th,
                    power_w=m.power_w,
                    difficulty=p_.difficulty,
                    subsidy=p_.block_subsidy_btc,
                ),
                literal(now, type_=historical_bitcoin_calculations.c.calculated_at.type),
            )
            .select_from(
                energy.join(
                    settlement_periods,
                    and_(
                        p_.settlement_date == energy.c.settlement_date,
                        p_.settlement_period == energy.c.settlement_period,
                    ),
                ).join(miner_models, m.model_key.in_(list(models)))
            )
            .where(p_.difficulty.is_not(None), p_.block_subsidy_btc.is_not(None))
        )
        calculations = (
            conn.execute(
                historical_bitcoin_calculations.insert().from_select(
                    [
                        "settlement_date",
                        "settlement_period",
                        "farm_id",
                        "miner_model",
                        "curtailed_energy_mwh",
                        "difficulty",
                        "block_subsidy_btc",
                        "hashrate_th",
                        "power_w",
                        "bitcoin_mined_btc",
                        "calculated_at",
                    ],
                    calc_source,
                )
            ).rowcount
            or 0
        )

        # Daily summaries in bulk, then each month and year through the foundation's rebuild.
        conn.execute(
            daily_summaries.insert().from_select(
                [
                    "summary_date",
                    "curtailed_energy_mwh",
                    "payment_gbp",
                    "record_count",
                    "farm_count",
                    "updated_at",
                ],
                select(
                    r.settlement_date,
                    -func.sum(r.volume_mwh),
                    func.sum(r.payment_gbp),
                    func.count(),
                    func.count(func.distinct(r.farm_id)),
                    literal(now, type_=daily_summaries.c.updated_at.type),
                )
                .where(r.settlement_date.between(start, end))
                .group_by(r.settlement_date),
            )
        )
        c = historical_bitcoin_calculations.c
        conn.execute(
            bitcoin_daily_summaries.insert().from_select(
                [
                    "summary_date",
                    "miner_model",
                    "bitcoin_mined_btc",
                    "curtailed_energy_mwh",
                    "updated_at",
                ],
                select(
                    c.settlement_date,
                    c.miner_model,
                    func.sum(c.bitcoin_mined_btc),
                    func.sum(c.curtailed_energy_mwh),
                    literal(now, type_=bitcoin_daily_summaries.c.updated_at.type),
                )
                .where(c.settlement_date.between(start, end))
                .group_by(c.settlement_date, c.miner_model),
            )
        )
        fill_farm_daily_summaries(conn, start, end)
        for d in dates:  # the stack's roll-up (no bid lines here: the periods' statuses)
            rebuild_stack_daily(conn, d, now)
        month_ends: dict[tuple[int, int], date] = {}
        for d in dates:
            month_ends[(d.year, d.month)] = d
        for last in month_ends.values():
            # Rebuilds the month from its daily rows and the year from its months.
            assert month_bounds(last)[0] <= last
            rebuild_curtailment_summaries(conn, last)
            rebuild_bitcoin_summaries(conn, last, list(models))
    return Generated(
        dates=len(dates),
        periods=len(status_rows),
        records=sum(int(row[2]) for row in totals.values()),
        calculations=calculations,
    )
