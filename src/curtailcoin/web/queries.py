"""Read-only analytics queries behind the JSON API and the dashboard.

Every figure comes from the database, with parameterised SQL (SQLAlchemy Core) only:

* curtailment (MWh, positive; £ paid **to** farms, signed) without a farm filter from the summary
  tables; with a lead-party / BM-unit filter, and per BM unit, from ``farm_daily_summaries`` for a
  month or a year and from ``curtailment_records`` for a day;
* Bitcoin for a **tracked** model from ``bitcoin_daily_summaries`` (no filter) or
  ``historical_bitcoin_calculations`` (filtered); for any other catalogue model it is **computed**
  from the records and each period's stored difficulty and subsidy with the same SQL expression
  as the stored calculations (:func:`curtailcoin.mining.btc_sql`), per (date, period, farm);
  for a month or a year per BM unit or filtered, tracked models come from
  ``bitcoin_farm_daily_summaries`` and any model is ``hashrate_th / power_w ×
  farm_daily_summaries.btc_per_th_per_w`` (the formula is linear in energy and in H/P); per BM
  unit without a lead-party filter the same figures, and their value at each date's price, come
  from the per-farm-month roll-ups (``curtailcoin.farm_months``); a computed model's daily
  figures without a filter come from each period's stored total;
* every Bitcoin query also returns the energy its figure covers, so energy without a Bitcoin
  figure (difficulty pending, or a tracked calculation missing) is reported, never hidden.

A *scope* is a half-open date range (a day, a month or a year) plus optional filters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    Connection,
    Float,
    and_,
    case,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.sql import ColumnElement

from curtailcoin.coverage import (
    FAILED,
    FETCHED_INCOMPLETE,
    SUCCESSFUL_STATUSES,
    expected_period_count,
)
from curtailcoin.db.curtailment_tables import (
    curtailment_records,
    historical_bitcoin_calculations,
    settlement_periods,
)
from curtailcoin.db.reference_tables import bm_units, btc_prices, miner_models
from curtailcoin.db.summary_tables import (
    bitcoin_daily_summaries,
    bitcoin_farm_daily_summaries,
    bitcoin_farm_monthly_summaries,
    daily_summaries,
    farm_daily_summaries,
    farm_monthly_summaries,
    monthly_summaries,
    yearly_summaries,
)
from curtailcoin.miners import MinerModel, load_catalogue
from curtailcoin.mining import btc_sql
from curtailcoin.settlement import (
    local_hours,
    settlement_today,
    year_month,
)

Timeframe = Literal["day", "month", "year"]

r = curtailment_records.c
c = historical_bitcoin_calculations.c
sp = settlement_periods.c
fd = farm_daily_summaries.c
bfd = bitcoin_farm_daily_summaries.c
fm = farm_monthly_summaries.c
bfm = bitcoin_farm_monthly_summaries.c


@dataclass(frozen=True)
class Scope:
    """A day, month or year (``start`` inclusive, ``end`` exclusive) and optional filters."""

    timeframe: Timeframe
    label: str
    start: date
    end: date
    lead_party: str | None = None
    farm_id: str | None = None

    @property
    def filtered(self) -> bool:
        return self.lead_party is not None or self.farm_id is not None

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days)]


def day_scope(day: date, lead_party: str | None = None, farm_id: str | None = None) -> Scope:
    return Scope("day", day.isoformat(), day, day + timedelta(days=1), lead_party, farm_id)


def month_scope(
    year: int, month: int, lead_party: str | None = None, farm_id: str | None = None
) -> Scope:
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return Scope("month", f"{year:04d}-{month:02d}", start, end, lead_party, farm_id)


def year_scope(year: int, lead_party: str | None = None, farm_id: str | None = None) -> Scope:
    return Scope("year", f"{year:04d}", date(year, 1, 1), date(year + 1, 1, 1), lead_party, farm_id)


def _record_filter(scope: Scope) -> ColumnElement[bool]:
    cond = and_(r.settlement_date >= scope.start, r.settlement_date < scope.end)
    if scope.lead_party is not None:
        cond = and_(cond, r.lead_party_name == scope.lead_party)
    if scope.farm_id is not None:
        cond = and_(cond, r.farm_id == scope.farm_id)
    return cond


def _by_farm_day(scope: Scope) -> bool:
    """Month and year scopes read the farm-day summaries; a day reads the base rows."""
    return scope.timeframe != "day"


def _by_farm_month(scope: Scope) -> bool:
    """Month and year scopes without a lead-party filter read the per-farm-month roll-ups (a
    lead party is a property of a BM unit's date, so its scopes read the farm-day rows)."""
    return scope.timeframe != "day" and scope.lead_party is None


def _farm_month_filter(table: Any, scope: Scope) -> ColumnElement[bool]:
    cond = and_(
        table.year_month >= year_month(scope.start), table.year_month < year_month(scope.end)
    )
    if scope.farm_id is not None:
        cond = and_(cond, table.farm_id == scope.farm_id)
    return cond


def _farm_day_filter(scope: Scope) -> ColumnElement[bool]:
    cond = and_(fd.summary_date >= scope.start, fd.summary_date < scope.end)
    if scope.lead_party is not None:
        cond = and_(cond, fd.lead_party_name == scope.lead_party)
    if scope.farm_id is not None:
        cond = and_(cond, fd.farm_id == scope.farm_id)
    return cond


def month_key(conn: Connection, column: Any) -> Any:
    """``YYYY-MM`` of a date column, on either database."""
    if conn.dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


# --- reference lists -------------------------------------------------------------------------


def miner_catalogue(conn: Connection) -> dict[str, MinerModel]:
    """Every model in ``miner_models`` (user models included); the packaged list if empty."""
    rows = conn.execute(select(miner_models).order_by(miner_models.c.model_key)).all()
    if not rows:
        return load_catalogue()
    return {
        row.model_key: MinerModel(
            key=row.model_key,
            manufacturer=row.manufacturer,
            model_name=row.model_name,
            hashrate_th=row.hashrate_th,
            power_w=row.power_w,
            efficiency_j_per_th=row.efficiency_j_per_th,
            release_year=row.release_year,
            is_custom=bool(row.is_custom),
        )
        for row in rows
    }


def lead_parties(conn: Connection) -> list[str]:
    """Distinct lead parties of the curtailment records, sorted (a loose index scan)."""
    name: Any = literal_column("name")
    first = select(func.min(r.lead_party_name).label("name")).cte("lp", recursive=True)
    following = select(
        select(func.min(r.lead_party_name))
        .where(r.lead_party_name > first.c.name)
        .scalar_subquery()
        .label("name")
    ).where(first.c.name.is_not(None))
    lp = first.union_all(following)
    rows = conn.execute(select(lp.c.name).where(lp.c.name.is_not(None)).order_by(name)).scalars()
    return list(rows)


def lead_parties_on(conn: Connection, day: date) -> list[str]:
    rows = conn.execute(
        select(r.lead_party_name)
        .where(r.settlement_date == day, r.lead_party_name.is_not(None))
        .group_by(r.lead_party_name)
        .order_by(r.lead_party_name)
    ).scalars()
    return list(rows)


def lead_party_exists(conn: Connection, name: str) -> bool:
    found = conn.execute(
        select(r.lead_party_name).where(r.lead_party_name == name).limit(1)
    ).first()
    if found is not None:
        return True
    return (
        conn.execute(
            select(bm_units.c.elexon_bm_unit).where(bm_units.c.lead_party_name == name).limit(1)
        ).first()
        is not None
    )


def farm_exists(conn: Connection, farm_id: str) -> bool:
    found = conn.execute(
        select(bm_units.c.elexon_bm_unit).where(bm_units.c.elexon_bm_unit == farm_id)
    ).first()
    if found is not None:
        return True
    return conn.execute(select(r.farm_id).where(r.farm_id == farm_id).limit(1)).first() is not None


@dataclass(frozen=True)
class DataRange:
    first_date: date | None
    last_date: date | None
    last_date_with_curtailment: date | None


def data_range(conn: Connection) -> DataRange:
    first, last = conn.execute(
        select(func.min(sp.settlement_date), func.max(sp.settlement_date)).where(
            sp.fetch_status.in_(SUCCESSFUL_STATUSES)
        )
    ).one()
    d = daily_summaries.c
    last_curtailed = conn.execute(
        select(func.max(d.summary_date)).where(d.record_count > 0)
    ).scalar_one_or_none()
    return DataRange(first, last, last_curtailed)


# --- data completeness -----------------------------------------------------------------------


@dataclass
class DataStatus:
    """How complete the stored data is for a scope, from ``settlement_periods``."""

    periods_expected: int = 0
    periods_fetched: int = 0
    periods_failed: int = 0
    periods_incomplete: int = 0  # stored, but a needed figure was null (neither ok nor failed)
    periods_missing: int = 0
    days_expected: int = 0
    days_complete: int = 0
    incomplete_dates: list[date] = field(default_factory=list)
    missing_periods: list[int] = field(default_factory=list)  # day scope only
    incomplete_periods: dict[int, str] = field(default_factory=dict)  # day scope: the reasons
    pending_periods: int = 0  # periods with curtailment and no known difficulty
    last_fetched_at: datetime | None = None

    @property
    def state(self) -> str:
        if self.periods_expected == 0:
            return "not_started"
        if self.periods_fetched == 0:
            return "no_data"
        if self.periods_fetched < self.periods_expected:
            return "incomplete"
        return "complete"


def data_status(conn: Connection, scope: Scope, now: datetime | None = None) -> DataStatus:
    """Fetch status of every period of the scope up to now (Europe/London days).

    Aggregated per date in SQL; only today's date (whose periods are still being published)
    and a single-day scope are looked at period by period.
    """
    today = settlement_today(now)
    last = min(scope.end - timedelta(days=1), today)
    status = DataStatus()
    if last < scope.start:
        return status
    ok = sp.fetch_status.in_(SUCCESSFUL_STATUSES)
    per_day = conn.execute(
        select(
            sp.settlement_date,
            func.sum(case((ok, 1), else_=0)),
            func.sum(case((sp.fetch_status == FAILED, 1), else_=0)),
            func.sum(case((and_(sp.record_count > 0, sp.difficulty.is_(None)), 1), else_=0)),
            func.max(sp.fetched_at),
            func.sum(case((sp.fetch_status == FETCHED_INCOMPLETE, 1), else_=0)),
        )
        .where(sp.settlement_date >= scope.start, sp.settlement_date <= last)
        .group_by(sp.settlement_date)
    ).all()
    stored = {row[0]: row for row in per_day}
    for row in per_day:
        status.pending_periods += _int(row[3])
        if row[4] is not None and (
            status.last_fetched_at is None or row[4] > status.last_fetched_at
        ):
            status.last_fetched_at = row[4]
    detailed = {today} if scope.start <= today <= last else set()
    if scope.timeframe == "day":
        detailed.add(scope.start)
    periods: dict[date, dict[int, str]] = {}
    reasons: dict[date, dict[int, str]] = {}
    if detailed:
        for detail in conn.execute(
            select(sp.settlement_date, sp.settlement_period, sp.fetch_status, sp.error).where(
                sp.settlement_date.in_(sorted(detailed))
            )
        ):
            periods.setdefault(detail[0], {})[int(detail[1])] = detail[2]
            if detail[2] == FETCHED_INCOMPLETE:
                reasons.setdefault(detail[0], {})[int(detail[1])] = detail[3] or ""
    day = scope.start
    while day <= last:
        expected = expected_period_count(day, now)  # today: the periods started so far
        if day in detailed:
            have = periods.get(day, {})
            fetched_list = [p for p in range(1, expected + 1) if have.get(p) in SUCCESSFUL_STATUSES]
            fetched = len(fetched_list)
            failed = sum(1 for p in range(1, expected + 1) if have.get(p) == FAILED)
            why = {p: e for p, e in reasons.get(day, {}).items() if p <= expected}
            incomplete = len(why)
            if fetched < expected and scope.timeframe == "day":
                got = set(fetched_list)
                status.missing_periods = [p for p in range(1, expected + 1) if p not in got]
                status.incomplete_periods = dict(sorted(why.items()))
        else:
            counts = stored.get(day)
            fetched = min(expected, _int(counts[1])) if counts is not None else 0
            failed = _int(counts[2]) if counts is not None else 0
            incomplete = _int(counts[5]) if counts is not None else 0
        status.periods_expected += expected
        status.periods_fetched += fetched
        status.periods_failed += failed
        status.periods_incomplete += incomplete
        status.days_expected += 1
        if fetched == expected:
            status.days_complete += 1
        else:
            status.incomplete_dates.append(day)
        day += timedelta(days=1)
    status.periods_missing = status.periods_expected - status.periods_fetched
    return status


# --- curtailment totals ----------------------------------------------------------------------


@dataclass
class Totals:
    """Curtailment of a scope or a row: MWh positive, £ paid to farms (signed)."""

    energy_mwh: float = 0.0
    payment_gbp: float = 0.0
    records: int = 0
    farms: int = 0


def _float(value: Any) -> float:
    return float(value) if value is not None else 0.0


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


def scope_totals(conn: Connection, scope: Scope) -> Totals:
    """Totals of the whole scope (farm count is distinct over the scope)."""
    if not scope.filtered:
        table: Any
        value: Any
        if scope.timeframe == "day":
            table, key, value = daily_summaries, "summary_date", scope.start
        elif scope.timeframe == "month":
            table, key, value = monthly_summaries, "year_month", scope.label
        else:
            table, key, value = yearly_summaries, "year", scope.label
        t = table.c
        row = conn.execute(
            select(t.total_curtailed_energy, t.total_payment, t.record_count, t.farm_count).where(
                t[key] == value
            )
        ).first()
        if row is None:
            return Totals()
        return Totals(_float(row[0]), _float(row[1]), _int(row[2]), _int(row[3]))
    if _by_farm_day(scope):
        row = conn.execute(
            select(
                func.sum(fd.curtailed_energy_mwh),
                func.sum(fd.payment_gbp),
                func.sum(fd.record_count),
                func.count(func.distinct(fd.farm_id)),
            ).where(_farm_day_filter(scope))
        ).one()
        return Totals(_float(row[0]), _float(row[1]), _int(row[2]), _int(row[3]))
    row = conn.execute(
        select(
            -func.sum(r.volume),
            func.sum(r.payment),
            func.count(),
            func.count(func.distinct(r.farm_id)),
        ).where(_record_filter(scope))
    ).one()
    return Totals(_float(row[0]), _float(row[1]), _int(row[2]), _int(row[3]))


def _record_totals(scope: Scope, key: Any) -> Any:
    """(key, MWh, £, records, farms) of the scope's records grouped by ``key``."""
    return (
        select(
            key,
            -func.sum(r.volume),
            func.sum(r.payment),
            func.count(),
            func.count(func.distinct(r.farm_id)),
        )
        .where(_record_filter(scope))
        .group_by(key)
    )


def totals_by_day(conn: Connection, scope: Scope) -> dict[date, Totals]:
    """One row per day with data (daily summaries, or the filtered records)."""
    if not scope.filtered:
        d = daily_summaries.c
        rows = conn.execute(
            select(
                d.summary_date,
                d.total_curtailed_energy,
                d.total_payment,
                d.record_count,
                d.farm_count,
            ).where(d.summary_date >= scope.start, d.summary_date < scope.end)
        ).all()
    elif _by_farm_day(scope):
        rows = conn.execute(
            select(
                fd.summary_date,
                func.sum(fd.curtailed_energy_mwh),
                func.sum(fd.payment_gbp),
                func.sum(fd.record_count),
                func.count(),
            )
            .where(_farm_day_filter(scope))
            .group_by(fd.summary_date)
        ).all()
    else:
        rows = conn.execute(_record_totals(scope, r.settlement_date)).all()
    return {
        row[0]: Totals(_float(row[1]), _float(row[2]), _int(row[3]), _int(row[4])) for row in rows
    }


def totals_by_month(conn: Connection, scope: Scope) -> dict[str, Totals]:
    """One row per month with data (monthly summaries, or the filtered records)."""
    if not scope.filtered:
        m = monthly_summaries.c
        rows = conn.execute(
            select(
                m.year_month,
                m.total_curtailed_energy,
                m.total_payment,
                m.record_count,
                m.farm_count,
            ).where(
                m.year_month >= scope.start.isoformat()[:7],
                m.year_month < scope.end.isoformat()[:7],
            )
        ).all()
    elif _by_farm_day(scope):
        fym = month_key(conn, fd.summary_date).label("ym")
        rows = conn.execute(
            select(
                fym,
                func.sum(fd.curtailed_energy_mwh),
                func.sum(fd.payment_gbp),
                func.sum(fd.record_count),
                func.count(func.distinct(fd.farm_id)),
            )
            .where(_farm_day_filter(scope))
            .group_by(fym)
        ).all()
    else:
        ym = month_key(conn, r.settlement_date).label("ym")
        rows = conn.execute(_record_totals(scope, ym)).all()
    return {
        str(row[0]): Totals(_float(row[1]), _float(row[2]), _int(row[3]), _int(row[4]))
        for row in rows
    }


def totals_by_period(conn: Connection, scope: Scope) -> dict[int, Totals]:
    """One row per settlement period of a day with records."""
    rows = conn.execute(_record_totals(scope, r.settlement_period)).all()
    return {
        int(row[0]): Totals(_float(row[1]), _float(row[2]), _int(row[3]), _int(row[4]))
        for row in rows
    }


# --- Bitcoin ---------------------------------------------------------------------------------


@dataclass
class Btc:
    """BTC of a row and the curtailed energy (MWh) that figure covers."""

    btc: float = 0.0
    covered_mwh: float = 0.0

    def add(self, other: Btc) -> None:
        self.btc += other.btc
        self.covered_mwh += other.covered_mwh


GroupBy = Literal["day", "period", "farm"]


def _period_energy(scope: Scope, *, per_farm: bool) -> Any:
    """Curtailed MWh per (date, period[, BM unit]) of the scope's records (a subquery)."""
    cols = [r.settlement_date, r.settlement_period] + ([r.farm_id] if per_farm else [])
    return (
        select(*cols, (-func.sum(r.volume)).label("energy"))
        .where(_record_filter(scope))
        .group_by(*cols)
        .subquery("e")
    )


def _with_conditions(e: Any) -> Any:
    return e.join(
        settlement_periods,
        and_(
            sp.settlement_date == e.c.settlement_date,
            sp.settlement_period == e.c.settlement_period,
        ),
    )


def _model_btc(energy: Any, model: MinerModel) -> Any:
    return btc_sql(
        energy,
        hashrate_th=literal(model.hashrate_th, Float),
        power_w=literal(model.power_w, Float),
        difficulty=sp.difficulty,
        subsidy=sp.block_subsidy_btc,
    )


KNOWN = and_(sp.difficulty.is_not(None), sp.block_subsidy_btc.is_not(None))


def _computed_btc(scope: Scope, model: MinerModel, group: GroupBy) -> Any:
    """BTC for a non-tracked model from the records and each period's stored conditions.

    The records' energy is summed per (date, period) — per (date, period, BM unit) when BM units
    are wanted, exactly as the stored calculations are — and :func:`btc_sql` applies the formula
    with the period's difficulty and subsidy. BTC is linear in energy, so coarser groups change
    only the float rounding (~1e-15 relative).
    """
    e = _period_energy(scope, per_farm=group == "farm")
    keys = _group_keys(group, e.c)
    return (
        select(
            *keys,
            func.sum(_model_btc(e.c.energy, model)).label("btc"),
            func.sum(e.c.energy).label("covered"),
        )
        .select_from(_with_conditions(e))
        .where(KNOWN)
        .group_by(*keys)
    )


def _group_keys(group: GroupBy, cols: Any) -> list[Any]:
    if group == "day":
        return [cols.settlement_date]
    if group == "period":
        return [cols.settlement_period]
    return [cols.farm_id]


def _lead_party_units(conn: Connection, scope: Scope) -> tuple[list[str], set[tuple[date, str]]]:
    """The lead party's BM units in the scope and its (date, BM unit) pairs.

    A date is ingested in one go, so all of a unit's records of a date carry the same lead
    party: a unit's calculations of a date belong to the lead party it had that date.
    """
    pairs = {
        (_as_date(row[0]) or scope.start, row[1])
        for row in conn.execute(
            select(r.settlement_date, r.farm_id).where(_record_filter(scope)).distinct()
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
        func.sum(c.bitcoin_mined).label("btc"),
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


def _tracked_farm_days(conn: Connection, scope: Scope, model: MinerModel, *columns: Any) -> Any:
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
            conn.execute(select(fd.farm_id).where(_farm_day_filter(scope)).distinct())
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
            .where(_farm_day_filter(scope))
            .where(bfd.farm_id.in_(sorted(farms)))
        )
    return query


def btc_rows(
    conn: Connection, scope: Scope, model: MinerModel, tracked: bool, group: GroupBy
) -> dict[Any, Btc]:
    """BTC (and the energy it covers) grouped by day, period or BM unit."""
    if tracked and group == "day" and not scope.filtered:
        b = bitcoin_daily_summaries.c
        rows = conn.execute(
            select(b.summary_date, b.bitcoin_mined, b.curtailed_energy_mwh).where(
                b.miner_model == model.key,
                b.summary_date >= scope.start,
                b.summary_date < scope.end,
            )
        ).all()
        return {row[0]: Btc(_float(row[1]), _float(row[2])) for row in rows}
    out: dict[Any, Btc] = {}
    if not tracked and group == "day" and not scope.filtered:
        # Each period's stored total energy × its factor: BTC is linear in energy, so this is
        # the per-(period, BM unit) sum up to float rounding, from one row per period.
        for period_row in conn.execute(
            select(
                sp.settlement_date,
                func.sum(_model_btc(sp.curtailed_energy_mwh, model)),
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
            out[_as_date(day)] = Btc(_float(btc), _float(covered))
        return out
    if _by_farm_day(scope) and group != "period":
        key = fd.summary_date if group == "day" else fd.farm_id
        if not tracked:
            ratio = model.hashrate_th / model.power_w
            for row in conn.execute(
                select(
                    key,
                    func.sum(fd.btc_per_th_per_w),
                    func.sum(fd.curtailed_energy_mwh),
                    func.sum(fd.pending_energy_mwh),
                )
                .where(_farm_day_filter(scope))
                .group_by(key)
            ):
                out[row[0]] = Btc(ratio * _float(row[1]), _float(row[2]) - _float(row[3]))
            return out
        bkey = bfd.summary_date if group == "day" else bfd.farm_id
        for row in conn.execute(
            _tracked_farm_days(
                conn,
                scope,
                model,
                bkey,
                func.sum(bfd.bitcoin_mined),
                func.sum(bfd.curtailed_energy_mwh),
            ).group_by(bkey)
        ):
            out[row[0]] = Btc(_float(row[1]), _float(row[2]))
        return out
    if not tracked:
        for row in conn.execute(_computed_btc(scope, model, group)):
            out[row[0]] = Btc(_float(row.btc), _float(row.covered))
        return out
    farms: list[str] | None = None
    pairs: set[tuple[date, str]] | None = None
    if scope.lead_party is not None:
        farms, pairs = _lead_party_units(conn, scope)
        if not farms:
            return out
    for row in conn.execute(_tracked_btc(scope, model, group, farms)):
        if pairs is not None and ((_as_date(row.settlement_date), row.farm_id) not in pairs):
            continue
        value = out.setdefault(row[0], Btc())
        value.add(Btc(_float(row.btc), _float(row.covered)))
    return out


# --- farms -----------------------------------------------------------------------------------


@dataclass
class FarmRow:
    """One BM unit's curtailment in a scope (lead party as recorded)."""

    farm_id: str
    lead_party: str | None
    totals: Totals


def farm_totals(conn: Connection, scope: Scope) -> list[FarmRow]:
    """Curtailment per BM unit in the scope (and its lead party), largest energy first."""
    if _by_farm_month(scope):
        rows = conn.execute(
            select(
                fm.farm_id,
                func.min(fm.lead_party_name),
                func.sum(fm.curtailed_energy_mwh),
                func.sum(fm.payment_gbp),
                func.sum(fm.record_count),
            )
            .where(_farm_month_filter(fm, scope))
            .group_by(fm.farm_id)
        ).all()
    elif _by_farm_day(scope):
        rows = conn.execute(
            select(
                fd.farm_id,
                func.min(fd.lead_party_name),
                func.sum(fd.curtailed_energy_mwh),
                func.sum(fd.payment_gbp),
                func.sum(fd.record_count),
            )
            .where(_farm_day_filter(scope))
            .group_by(fd.farm_id)
        ).all()
    else:
        rows = conn.execute(
            select(
                r.farm_id,
                func.min(r.lead_party_name),
                -func.sum(r.volume),
                func.sum(r.payment),
                func.count(),
            )
            .where(_record_filter(scope))
            .group_by(r.farm_id)
        ).all()
    farms = [
        FarmRow(row[0], row[1], Totals(_float(row[2]), _float(row[3]), _int(row[4]), 1))
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


def _btc_by_farm_day(conn: Connection, scope: Scope, model: MinerModel, tracked: bool) -> Any:
    """A subquery of (farm_id, settlement_date, btc, covered) rows at the stored level.

    Tracked: the calculation rows; computed: each record's BTC with its period's conditions
    (BTC is linear in energy, so per-record sums equal the per-(period, unit) figures up to
    float rounding). Aggregated by the caller, one pass with the price join. A month or a year
    reads the farm-day summaries instead (one row per BM unit and date).
    """
    if _by_farm_day(scope):
        if tracked:
            return _tracked_farm_days(
                conn,
                scope,
                model,
                bfd.farm_id,
                bfd.summary_date.label("settlement_date"),
                bfd.bitcoin_mined.label("btc"),
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
            .where(_farm_day_filter(scope))
            .subquery("b")
        )
    if tracked:
        query = select(
            c.farm_id,
            c.settlement_date,
            c.bitcoin_mined.label("btc"),
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
                .where(_record_filter(scope))
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
    # One factor per period (BTC per curtailed MWh with the period's conditions), then one pass
    # over the records: E × factor equals the formula up to float rounding (~1e-16 relative).
    factor = (
        select(
            sp.settlement_date,
            sp.settlement_period,
            _model_btc(literal(1.0, Float), model).label("btc_per_mwh"),
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
            (-r.volume * factor.c.btc_per_mwh).label("btc"),
            (-r.volume).label("covered"),
        )
        .select_from(joined)
        .where(_record_filter(scope))
        .subquery("b")
    )


def farm_btc(
    conn: Connection, scope: Scope, model: MinerModel, tracked: bool
) -> dict[str, FarmBtc]:
    """BTC per BM unit and its value at each date's GBP price, aggregated in SQL.

    ``value_gbp`` is None when a date with Bitcoin has no price (first/last such date kept).
    """
    if _by_farm_month(scope):
        return _farm_btc_by_month(conn, scope, model, tracked)
    b = _btc_by_farm_day(conn, scope, model, tracked)
    g = btc_prices.alias("g")
    missing = and_(g.c.price.is_(None), b.c.btc > 0)
    # PostgreSQL underestimates records per period and would probe the records once per period
    # (a nested loop); a hash join over the scope's records is several times faster.
    steer = conn.dialect.name == "postgresql" and not tracked and not _by_farm_day(scope)
    if steer:
        conn.exec_driver_sql("SET LOCAL enable_nestloop = off")
    try:
        rows = _farm_btc_rows(conn, b, g, missing)
    finally:
        if steer:
            conn.exec_driver_sql("SET LOCAL enable_nestloop TO DEFAULT")
    out: dict[str, FarmBtc] = {}
    for row in rows:
        unpriced = _int(row[4]) > 0
        out[row[0]] = FarmBtc(
            btc=_float(row[1]),
            covered_mwh=_float(row[2]),
            value_gbp=None if unpriced else _float(row[3]),
            unpriced_first=_as_date(row[5]) if unpriced else None,
            unpriced_last=_as_date(row[6]) if unpriced else None,
        )
    return out


def _farm_btc_by_month(
    conn: Connection, scope: Scope, model: MinerModel, tracked: bool
) -> dict[str, FarmBtc]:
    """:func:`farm_btc` from the per-farm-month roll-ups: the value at each date's price was
    summed when the month was built; a month with unpriced Bitcoin makes the value None."""
    if tracked:
        rows = conn.execute(
            select(
                bfm.farm_id,
                func.sum(bfm.bitcoin_mined),
                func.sum(bfm.curtailed_energy_mwh),
                func.sum(bfm.value_gbp),
                func.sum(bfm.unpriced_btc),
                func.min(bfm.first_unpriced_date),
                func.max(bfm.last_unpriced_date),
            )
            .where(bfm.miner_model == model.key, _farm_month_filter(bfm, scope))
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
            .where(_farm_month_filter(fm, scope))
            .group_by(fm.farm_id)
        ).all()
        ratio = model.hashrate_th / model.power_w
    out: dict[str, FarmBtc] = {}
    for farm, btc, covered, value, unpriced_btc, first, last in rows:
        unpriced = _float(unpriced_btc) > 0
        out[farm] = FarmBtc(
            btc=ratio * _float(btc),
            covered_mwh=_float(covered),
            value_gbp=None if unpriced else ratio * _float(value),
            unpriced_first=_as_date(first) if unpriced else None,
            unpriced_last=_as_date(last) if unpriced else None,
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


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def period_conditions(conn: Connection, day: date) -> dict[int, tuple[float | None, float | None]]:
    rows = conn.execute(
        select(sp.settlement_period, sp.difficulty, sp.block_subsidy_btc).where(
            sp.settlement_date == day
        )
    ).all()
    return {int(row[0]): (row[1], row[2]) for row in rows}


def difficulty_range(conn: Connection, scope: Scope) -> tuple[float | None, float | None]:
    """Min and max effective difficulty over the scope's periods with curtailment."""
    row = conn.execute(
        select(func.min(sp.difficulty), func.max(sp.difficulty)).where(
            sp.settlement_date >= scope.start,
            sp.settlement_date < scope.end,
            sp.record_count > 0,
            sp.difficulty.is_not(None),
        )
    ).one()
    return (row[0], row[1])


def hour_periods(day: date) -> list[tuple[str, datetime, tuple[int, ...]]]:
    """The day's local clock hours (23, 24 or 25) and their periods."""
    return [(h.label, h.start_utc, h.periods) for h in local_hours(day)]
