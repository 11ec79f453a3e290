"""Assemble API responses from :mod:`curtailcoin.web.queries` (one place for the arithmetic).

Totals are always the sums of the rows they are shown with, and every Bitcoin value says which
price it used or why it has none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection

from curtailcoin.miners import MinerModel
from curtailcoin.prices import (
    StoredPrice,
    latest_prices,
    missing_reason,
    stored_prices,
    update_failures,
)
from curtailcoin.settlement import LONDON, settlement_today
from curtailcoin.sources.prices import CURRENCIES
from curtailcoin.web import queries as q
from curtailcoin.web.schemas import (
    CurrencyValue,
    DailySummary,
    DataStatusOut,
    DaySummaryRow,
    DifficultyRange,
    GroupedData,
    GroupedMeta,
    GroupedTotals,
    HourlyCurtailment,
    HourRow,
    LeadPartyFarms,
    LeadPartyGroup,
    MinerModelOut,
    MiningPotential,
    MiningRow,
    MonthlySummary,
    MonthSummaryRow,
    PriceValue,
    ReconciliationDate,
    ReconciliationOut,
    TopFarm,
    UnitRow,
    Valuation,
    YearlySummary,
)

UNKNOWN_LEAD_PARTY = "Unknown lead party"
MAX_LISTED_DATES = 62
COVERAGE_EPSILON_MWH = 1e-6


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def _per(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def status_out(status: q.DataStatus) -> DataStatusOut:
    return DataStatusOut(
        state=status.state,
        periods_expected=status.periods_expected,
        periods_fetched=status.periods_fetched,
        periods_failed=status.periods_failed,
        periods_incomplete=status.periods_incomplete,
        periods_missing=status.periods_missing,
        days_expected=status.days_expected,
        days_complete=status.days_complete,
        incomplete_dates=status.incomplete_dates[:MAX_LISTED_DATES],
        missing_periods=status.missing_periods,
        incomplete_periods=status.incomplete_periods,
        pending_periods=status.pending_periods,
        last_fetched_at=status.last_fetched_at,
    )


def model_out(model: MinerModel, tracked: Sequence[str]) -> MinerModelOut:
    return MinerModelOut(
        key=model.key,
        manufacturer=model.manufacturer,
        name=model.model_name,
        hashrate_th=model.hashrate_th,
        power_w=model.power_w,
        efficiency_j_per_th=model.efficiency_j_per_th,
        release_year=model.release_year,
        tracked=model.key in tracked,
        is_custom=model.is_custom,
    )


# --- prices ----------------------------------------------------------------------------------


@dataclass
class PriceBook:
    """The prices a response needs: per date in the scope, the latest, and update failures."""

    by_date: dict[tuple[date, str], StoredPrice]
    latest: dict[str, StoredPrice | None]
    failures: dict[str, str]

    @classmethod
    def load(cls, conn: Connection, start: date, end_inclusive: date) -> PriceBook:
        return cls(
            stored_prices(conn, start, end_inclusive),
            latest_prices(conn),
            update_failures(conn),
        )

    def at_dates(self, btc_by_day: Mapping[date, float], currency: str) -> PriceValue:
        """Σ BTC of each date × that date's price, or null with the reason."""
        needed = sorted(d for d, b in btc_by_day.items() if b > 0)
        missing = [d for d in needed if (d, currency) not in self.by_date]
        single = self.by_date.get((needed[0], currency)) if len(needed) == 1 else None
        if missing:
            if len(missing) == 1:
                reason = missing_reason(currency, missing[0], self.failures)
            else:
                shown = ", ".join(d.isoformat() for d in missing[:5])
                more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
                reason = (
                    f"no BTC/{currency} price for {len(missing)} of {len(needed)} dates with "
                    f"Bitcoin ({shown}{more}); fetch them with `curtailcoin prices update "
                    f"--from {missing[0]} --to {missing[-1]}` or import a CSV"
                )
            return PriceValue(
                amount=None,
                price=None,
                price_date=missing[0] if len(needed) == 1 else None,
                source=None,
                days_priced=len(needed) - len(missing),
                days_needed=len(needed),
                missing_reason=reason,
            )
        amount = sum(btc_by_day[d] * self.by_date[(d, currency)].price for d in needed)
        return PriceValue(
            amount=amount,
            price=single.price if single else None,
            price_date=single.price_date if single else None,
            source=single.source if single else None,
            provisional=bool(single and single.provisional),
            days_priced=len(needed),
            days_needed=len(needed),
            missing_reason=None,
        )

    def day_price(self, day: date, currency: str) -> PriceValue:
        """The price of one date (amount = the price itself, for 1 BTC)."""
        price = self.by_date.get((day, currency))
        if price is None:
            return PriceValue(
                amount=None,
                price=None,
                price_date=day,
                source=None,
                days_needed=1,
                missing_reason=missing_reason(currency, day, self.failures),
            )
        return PriceValue(
            amount=price.price,
            price=price.price,
            price_date=day,
            source=price.source,
            provisional=price.provisional,
            days_priced=1,
            days_needed=1,
            missing_reason=None,
        )

    def at_latest(self, btc: float, currency: str) -> PriceValue:
        latest = self.latest.get(currency)
        if latest is None:
            return PriceValue(
                amount=None,
                price=None,
                price_date=None,
                source=None,
                missing_reason=f"no BTC/{currency} price stored yet; fetch prices with "
                "`curtailcoin prices update` or import a CSV",
            )
        return PriceValue(
            amount=btc * latest.price,
            price=latest.price,
            price_date=latest.price_date,
            source=latest.source,
            provisional=latest.provisional,
            days_priced=1,
            days_needed=1,
            missing_reason=None,
        )

    def latest_value(self, currency: str) -> PriceValue:
        return self.at_latest(1.0, currency)

    def valuation(self, btc_by_day: Mapping[date, float]) -> Valuation:
        total = sum(btc_by_day.values())
        values = {
            cur: CurrencyValue(
                at_date_price=self.at_dates(btc_by_day, cur),
                at_latest_price=self.at_latest(total, cur),
            )
            for cur in CURRENCIES
        }
        return Valuation(GBP=values["GBP"], USD=values["USD"])


def _scope_last_day(scope: q.Scope) -> date:
    return scope.end - timedelta(days=1)


# --- summaries -------------------------------------------------------------------------------


def daily_summary(conn: Connection, scope: q.Scope, now: datetime | None = None) -> DailySummary:
    totals = q.scope_totals(conn, scope)
    return DailySummary(
        date=scope.start,
        lead_party=scope.lead_party,
        farm_id=scope.farm_id,
        total_curtailed_energy=totals.energy_mwh,
        total_payment=totals.payment_gbp,
        record_count=totals.records,
        farm_count=totals.farms,
        data_status=status_out(q.data_status(conn, scope, now)),
    )


def monthly_summary(
    conn: Connection, scope: q.Scope, now: datetime | None = None
) -> MonthlySummary:
    totals = q.scope_totals(conn, scope)
    days = q.totals_by_day(conn, scope)
    rows = [
        DaySummaryRow(
            date=day,
            total_curtailed_energy=t.energy_mwh,
            total_payment=t.payment_gbp,
            record_count=t.records,
            farm_count=t.farms,
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
        days=rows,
        data_status=status_out(q.data_status(conn, scope, now)),
    )


def yearly_summary(conn: Connection, scope: q.Scope, now: datetime | None = None) -> YearlySummary:
    totals = q.scope_totals(conn, scope)
    months = q.totals_by_month(conn, scope)
    rows = [
        MonthSummaryRow(
            year_month=ym,
            total_curtailed_energy=t.energy_mwh,
            total_payment=t.payment_gbp,
            record_count=t.records,
            farm_count=t.farms,
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
        months=rows,
        data_status=status_out(q.data_status(conn, scope, now)),
    )


# --- mining potential ------------------------------------------------------------------------


def mining_potential(
    conn: Connection,
    scope: q.Scope,
    model: MinerModel,
    tracked_models: Sequence[str],
    now: datetime | None = None,
) -> MiningPotential:
    tracked = model.key in tracked_models
    days = q.totals_by_day(conn, scope)
    btc_days = q.btc_rows(conn, scope, model, tracked, "day")
    prices = PriceBook.load(conn, scope.start, _scope_last_day(scope))
    btc_by_day = {d: b.btc for d, b in btc_days.items()}

    energy = sum(t.energy_mwh for t in days.values())
    payment = sum(t.payment_gbp for t in days.values())
    btc = sum(btc_by_day.values())
    covered = sum(b.covered_mwh for b in btc_days.values())
    uncovered = energy - covered
    if uncovered < COVERAGE_EPSILON_MWH:
        uncovered = 0.0

    status = q.data_status(conn, scope, now)
    incomplete = set(status.incomplete_dates)
    rows: list[MiningRow] = []
    if scope.timeframe != "day":
        today = settlement_today(now)
        keys: list[tuple[str, list[date]]] = []
        if scope.timeframe == "month":
            keys = [(d.isoformat(), [d]) for d in scope.days() if d <= today]
        else:
            by_month: dict[str, list[date]] = {}
            for d in scope.days():
                if d <= today:
                    by_month.setdefault(d.isoformat()[:7], []).append(d)
            keys = list(by_month.items())
        for key, members in keys:
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
    valuation = prices.valuation(btc_by_day)
    low, high = q.difficulty_range(conn, scope)
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
        payment_per_mwh=_per(payment, energy),
        bitcoin_mined=btc,
        bitcoin_per_mwh=_per(btc, covered),
        energy_without_bitcoin=uncovered,
        difficulty=DifficultyRange(min=low, max=high),
        value=valuation,
        value_at_current_price=valuation.GBP.at_latest_price.amount,
        current_price=latest_gbp.price if latest_gbp else None,
        ratio_value_to_payment=_ratio(valuation.GBP.at_date_price.amount, payment),
        rows=rows,
        data_status=status_out(status),
    )


def hourly(
    conn: Connection,
    scope: q.Scope,
    model: MinerModel,
    tracked_models: Sequence[str],
    now: datetime | None = None,
) -> HourlyCurtailment:
    day = scope.start
    tracked = model.key in tracked_models
    periods = q.totals_by_period(conn, scope)
    btc = q.btc_rows(conn, scope, model, tracked, "period")
    conditions = q.period_conditions(conn, day)
    status = q.data_status(conn, scope, now)
    missing = set(status.missing_periods)
    expected = status.periods_expected
    hours: list[HourRow] = []
    for index, (label, start, members) in enumerate(q.hour_periods(day)):
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


# --- farms -----------------------------------------------------------------------------------


def farms_by_lead_party(conn: Connection, scope: q.Scope) -> list[LeadPartyFarms]:
    groups: dict[str | None, LeadPartyFarms] = {}
    for farm in q.farm_totals(conn, scope):
        group = groups.get(farm.lead_party)
        if group is None:
            group = groups[farm.lead_party] = LeadPartyFarms(
                name=farm.lead_party or UNKNOWN_LEAD_PARTY,
                lead_party=farm.lead_party,
                farm_ids=[],
                curtailed_energy=0.0,
                total_payment=0.0,
            )
        group.farm_ids.append(farm.farm_id)
        group.curtailed_energy += farm.totals.energy_mwh
        group.total_payment += farm.totals.payment_gbp
    return sorted(groups.values(), key=lambda g: (-g.curtailed_energy, g.name))


def _sum_or_none(values: Sequence[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def grouped_data(
    conn: Connection,
    scope: q.Scope,
    model: MinerModel,
    tracked_models: Sequence[str],
) -> GroupedData:
    tracked = model.key in tracked_models
    farms = q.farm_totals(conn, scope)
    btc = q.farm_btc(conn, scope, model, tracked)
    prices = PriceBook.load(conn, scope.start, _scope_last_day(scope))
    total_energy = sum(f.totals.energy_mwh for f in farms)
    groups: dict[str | None, list[q.FarmRow]] = {}
    for farm in farms:
        groups.setdefault(farm.lead_party, []).append(farm)
    unpriced = [b for b in btc.values() if b.unpriced_first is not None]
    reason: str | None = None
    if unpriced:
        first = min(b.unpriced_first for b in unpriced if b.unpriced_first is not None)
        last = max(b.unpriced_last for b in unpriced if b.unpriced_last is not None)
        reason = (
            missing_reason("GBP", first, prices.failures)
            if first == last
            else f"no BTC/GBP price for some dates with Bitcoin between {first} and {last}; "
            f"fetch them with `curtailcoin prices update --from {first} --to {last}` "
            "or import a CSV"
        )

    def pct(energy: float) -> float:
        return 100.0 * energy / total_energy if total_energy > 0 else 0.0

    out: list[LeadPartyGroup] = []
    for lead_party, members in groups.items():
        rows: list[UnitRow] = []
        for farm in members:
            unit = btc.get(farm.farm_id, q.FarmBtc())
            t = farm.totals
            rows.append(
                UnitRow(
                    farm_id=farm.farm_id,
                    curtailed_energy=t.energy_mwh,
                    percentage_of_total=pct(t.energy_mwh),
                    payment=t.payment_gbp,
                    payment_per_mwh=_per(t.payment_gbp, t.energy_mwh),
                    potential_btc=unit.btc,
                    btc_value=unit.value_gbp,
                    btc_value_at_latest_price=prices.at_latest(unit.btc, "GBP").amount,
                    record_count=t.records,
                )
            )
        energy = sum(u.curtailed_energy for u in rows)
        payment = sum(u.payment for u in rows)
        group_btc = sum(u.potential_btc for u in rows)
        out.append(
            LeadPartyGroup(
                lead_party_name=lead_party,
                name=lead_party or UNKNOWN_LEAD_PARTY,
                total_curtailed_energy=energy,
                total_percentage_of_total=pct(energy),
                total_payment=payment,
                payment_per_mwh=_per(payment, energy),
                total_potential_btc=group_btc,
                btc_value=_sum_or_none([u.btc_value for u in rows]),
                btc_value_at_latest_price=prices.at_latest(group_btc, "GBP").amount,
                record_count=sum(u.record_count for u in rows),
                farms=rows,
            )
        )
    out.sort(key=lambda g: (-g.total_curtailed_energy, g.name))
    latest = prices.latest.get("GBP")
    return GroupedData(
        farms=out,
        totals=GroupedTotals(
            curtailed_energy=sum(g.total_curtailed_energy for g in out),
            payment=sum(g.total_payment for g in out),
            potential_btc=sum(g.total_potential_btc for g in out),
            btc_value=_sum_or_none([g.btc_value for g in out]),
            farm_count=len(farms),
            lead_party_count=len(out),
        ),
        meta=GroupedMeta(
            timeframe=scope.timeframe,
            value=scope.label,
            miner_model=model.key,
            calculation="tracked" if tracked else "computed",
            lead_party=scope.lead_party,
            current_price=latest.price if latest else None,
            current_price_date=latest.price_date if latest else None,
            value_missing_reason=reason,
        ),
    )


def top_farms(
    conn: Connection,
    scope: q.Scope,
    model: MinerModel,
    tracked_models: Sequence[str],
    limit: int,
) -> list[TopFarm]:
    data = grouped_data(conn, scope, model, tracked_models)
    prices_reason = data.meta.value_missing_reason
    out = [
        TopFarm(
            name=g.name,
            lead_party=g.lead_party_name,
            farm_ids=[f.farm_id for f in g.farms],
            curtailed_energy=g.total_curtailed_energy,
            curtailment_payment=g.total_payment,
            bitcoin_mined=g.total_potential_btc,
            bitcoin_value=g.btc_value,
            bitcoin_value_at_latest_price=g.btc_value_at_latest_price,
            value_missing_reason=prices_reason if g.btc_value is None else None,
        )
        for g in data.farms
    ]
    return out[:limit]


# --- reconciliation --------------------------------------------------------------------------


def reconciliation(
    conn: Connection,
    start: date,
    end: date,
    tracked_models: Sequence[str],
    now: datetime | None = None,
) -> ReconciliationOut:
    """``reconcile status`` over ``start..end`` (the reconciliation module's definitions)."""
    from curtailcoin.reconcile.status import get_reconciliation_status

    rs = get_reconciliation_status(conn, list(tracked_models), start=start, end=end, now=now)
    scope = q.Scope("month", f"{start}..{end}", start, end + timedelta(days=1))
    return ReconciliationOut(
        start=rs.start,
        end=rs.end,
        models=list(rs.models),
        dates_checked=rs.dates_checked,
        incomplete_dates=rs.incomplete_dates,
        missing_calculations=rs.total("missing"),
        stale_calculations=rs.total("stale"),
        pending_calculations=rs.total("pending"),
        summary_mismatches=rs.summary_mismatches,
        completion_percentage=rs.completion_percentage,
        problem_dates=rs.problem_dates,
        suspect_dates=rs.suspect_dates,
        per_date=[
            ReconciliationDate(
                date=r.settlement_date,
                records=r.records,
                periods_expected=r.periods_expected,
                periods_fetched=r.periods_fetched,
                missing=r.missing,
                stale=r.stale,
                pending=r.pending,
                complete=r.complete,
                problems=r.problems,
            )
            for r in rs.per_date
        ],
        data_status=status_out(q.data_status(conn, scope, now)),
    )
