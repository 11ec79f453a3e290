"""Per-farm-month roll-ups of the farm-day summaries, with the value at each date's price.

``farm_monthly_summaries`` and ``bitcoin_farm_monthly_summaries`` let a month or a year of every
BM unit be read from ~200 rows a month. The £ value of Bitcoin is the sum over dates of that
date's BTC × that date's BTC/GBP close, so it cannot be rebuilt from monthly BTC alone: each
row keeps Σ figure × price over the dates that have a price, the figure of the dates that have
none, and the first and last such date (so a missing price stays visible as missing). A month is
rebuilt, inside the caller's transaction, whenever one of its dates is rewritten
(``curtailcoin.summaries``) and whenever one of its GBP prices is written (``curtailcoin.prices``).
Sums use ``math.fsum`` (correctly rounded, independent of row order).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, delete, func, select

from curtailcoin.db.bulk import bulk_insert
from curtailcoin.db.reference_tables import btc_prices
from curtailcoin.db.summary_tables import (
    bitcoin_farm_daily_summaries,
    bitcoin_farm_monthly_summaries,
    farm_daily_summaries,
    farm_monthly_summaries,
)
from curtailcoin.settlement import month_bounds, year_month

PRICE_CURRENCY = "GBP"


def month_span(ym: str) -> tuple[date, date]:
    """First date of the month ``YYYY-MM`` and first date of the next month."""
    return month_bounds(date(int(ym[:4]), int(ym[5:7]), 1))


def months_of(days: Iterable[date]) -> list[str]:
    return sorted({year_month(d) for d in days})


@dataclass
class _Unpriced:
    """The dates of a roll-up row with a figure and no GBP price."""

    dates: list[date] = field(default_factory=list)

    def first_last(self) -> tuple[date | None, date | None]:
        return (min(self.dates), max(self.dates)) if self.dates else (None, None)


@dataclass
class _FarmAcc(_Unpriced):
    """The addends of one ``farm_monthly_summaries`` row (summed with ``math.fsum``)."""

    energy_mwh: list[float] = field(default_factory=list)
    payment_gbp: list[float] = field(default_factory=list)
    btc_per_th_per_w: list[float] = field(default_factory=list)
    pending_energy_mwh: list[float] = field(default_factory=list)
    btc_per_th_per_w_gbp: list[float] = field(default_factory=list)
    unpriced_btc_per_th_per_w: list[float] = field(default_factory=list)


@dataclass
class _BitcoinAcc(_Unpriced):
    """The addends of one ``bitcoin_farm_monthly_summaries`` row."""

    bitcoin_btc: list[float] = field(default_factory=list)
    energy_mwh: list[float] = field(default_factory=list)
    value_gbp: list[float] = field(default_factory=list)
    unpriced_btc: list[float] = field(default_factory=list)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


class FarmMonth(NamedTuple):
    """A ``farm_monthly_summaries`` row of one BM unit, in its columns' order."""

    lead_party_name: str | None
    curtailed_energy_mwh: float
    payment_gbp: float
    record_count: int
    btc_per_th_per_w: float
    pending_energy_mwh: float
    btc_per_th_per_w_gbp: float
    unpriced_btc_per_th_per_w: float
    first_unpriced_date: date | None
    last_unpriced_date: date | None


class BitcoinFarmMonth(NamedTuple):
    """A ``bitcoin_farm_monthly_summaries`` row of one BM unit and model, in column order."""

    bitcoin_mined: float
    curtailed_energy_mwh: float
    value_gbp: float
    unpriced_btc: float
    first_unpriced_date: date | None
    last_unpriced_date: date | None


def _price_join(day_column: Any) -> Any:
    g = btc_prices.c
    return and_(g.price_date == day_column, g.currency == PRICE_CURRENCY)


def farm_monthly_rows(conn: Connection, ym: str) -> dict[str, FarmMonth]:
    """What the month's ``farm_monthly_summaries`` rows must hold, from its farm-day rows and
    the GBP prices of their dates."""
    first, following = month_span(ym)
    fd, g = farm_daily_summaries.c, btc_prices.c
    rows = conn.execute(
        select(
            fd.farm_id,
            fd.summary_date,
            fd.lead_party_name,
            fd.curtailed_energy_mwh,
            fd.payment_gbp,
            fd.record_count,
            fd.btc_per_th_per_w,
            fd.pending_energy_mwh,
            g.price,
        )
        .select_from(farm_daily_summaries.outerjoin(btc_prices, _price_join(fd.summary_date)))
        .where(fd.summary_date >= first, fd.summary_date < following)
    ).all()
    acc: dict[str, _FarmAcc] = {}
    leads: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    for farm, day, lead, energy, payment, n, factor, pending, price in rows:
        a = acc.get(farm)
        if a is None:
            a = acc[farm] = _FarmAcc()
        a.energy_mwh.append(energy)
        a.payment_gbp.append(payment)
        a.btc_per_th_per_w.append(factor)
        a.pending_energy_mwh.append(pending)
        if price is None:
            a.unpriced_btc_per_th_per_w.append(factor)
            if factor > 0:
                a.dates.append(_as_date(day))
        else:
            a.btc_per_th_per_w_gbp.append(factor * price)
        if lead is not None:
            leads.setdefault(farm, []).append(lead)
        counts[farm] = counts.get(farm, 0) + int(n)
    out: dict[str, FarmMonth] = {}
    for farm in sorted(acc):
        a = acc[farm]
        out[farm] = FarmMonth(
            min(leads[farm]) if farm in leads else None,
            math.fsum(a.energy_mwh),
            math.fsum(a.payment_gbp),
            counts[farm],
            math.fsum(a.btc_per_th_per_w),
            math.fsum(a.pending_energy_mwh),
            math.fsum(a.btc_per_th_per_w_gbp),
            math.fsum(a.unpriced_btc_per_th_per_w),
            *a.first_last(),
        )
    return out


def bitcoin_farm_monthly_rows(
    conn: Connection, ym: str, models: Sequence[str] | None = None
) -> dict[tuple[str, str], BitcoinFarmMonth]:
    """What the month's ``bitcoin_farm_monthly_summaries`` rows (of ``models``, default every
    model with farm-day rows) must hold."""
    first, following = month_span(ym)
    b, g = bitcoin_farm_daily_summaries.c, btc_prices.c
    query = (
        select(
            b.farm_id,
            b.miner_model,
            b.summary_date,
            b.bitcoin_mined_btc,
            b.curtailed_energy_mwh,
            g.price,
        )
        .select_from(
            bitcoin_farm_daily_summaries.outerjoin(btc_prices, _price_join(b.summary_date))
        )
        .where(b.summary_date >= first, b.summary_date < following)
    )
    if models is not None:
        query = query.where(b.miner_model.in_(list(models)))
    acc: dict[tuple[str, str], _BitcoinAcc] = {}
    for farm, model, day, btc, energy, price in conn.execute(query):
        a = acc.get((farm, model))
        if a is None:
            a = acc[(farm, model)] = _BitcoinAcc()
        a.bitcoin_btc.append(btc)
        a.energy_mwh.append(energy)
        if price is None:
            a.unpriced_btc.append(btc)
            if btc > 0:
                a.dates.append(_as_date(day))
        else:
            a.value_gbp.append(btc * price)
    out: dict[tuple[str, str], BitcoinFarmMonth] = {}
    for key in sorted(acc):
        a = acc[key]
        out[key] = BitcoinFarmMonth(
            math.fsum(a.bitcoin_btc),
            math.fsum(a.energy_mwh),
            math.fsum(a.value_gbp),
            math.fsum(a.unpriced_btc),
            *a.first_last(),
        )
    return out


_FARM_MONTHLY_COLUMNS = ("year_month", "farm_id", *FarmMonth._fields, "updated_at")
_BITCOIN_FARM_MONTHLY_COLUMNS = (
    "miner_model",
    "year_month",
    "farm_id",
    *BitcoinFarmMonth._fields,
    "updated_at",
)


def rebuild_farm_monthly(conn: Connection, ym: str, now: datetime | None = None) -> int:
    """Replace the month's ``farm_monthly_summaries`` rows; returns the rows written."""
    now = now or datetime.now(UTC)
    rows = farm_monthly_rows(conn, ym)
    conn.execute(delete(farm_monthly_summaries).where(farm_monthly_summaries.c.year_month == ym))
    return bulk_insert(
        conn,
        farm_monthly_summaries,
        _FARM_MONTHLY_COLUMNS,
        ((ym, farm, *row, now) for farm, row in rows.items()),
    )


def rebuild_bitcoin_farm_monthly(
    conn: Connection, ym: str, models: Sequence[str] | None = None, now: datetime | None = None
) -> int:
    """Replace the month's ``bitcoin_farm_monthly_summaries`` rows of ``models`` (default: all
    of the month's rows); returns the rows written."""
    if models is not None and not models:
        return 0
    now = now or datetime.now(UTC)
    rows = bitcoin_farm_monthly_rows(conn, ym, models)
    bm = bitcoin_farm_monthly_summaries.c
    where = bm.year_month == ym
    if models is not None:
        where = and_(where, bm.miner_model.in_(list(models)))
    conn.execute(delete(bitcoin_farm_monthly_summaries).where(where))
    return bulk_insert(
        conn,
        bitcoin_farm_monthly_summaries,
        _BITCOIN_FARM_MONTHLY_COLUMNS,
        ((model, ym, farm, *row, now) for (farm, model), row in rows.items()),
    )


def rebuild_months(conn: Connection, months: Iterable[str], now: datetime | None = None) -> None:
    """Rebuild both roll-ups of each month (every model), e.g. after its prices changed."""
    now = now or datetime.now(UTC)
    for ym in sorted(set(months)):
        rebuild_farm_monthly(conn, ym, now)
        rebuild_bitcoin_farm_monthly(conn, ym, None, now)


def months_between(first: date, last: date) -> list[str]:
    """``YYYY-MM`` of every month from ``first``'s to ``last``'s."""
    out: list[str] = []
    ym = year_month(first)
    while ym <= year_month(last):
        out.append(ym)
        ym = year_month(month_span(ym)[1])
    return out


def months_with_farm_days(conn: Connection) -> list[str]:
    """Every month from the first to the last farm-day row (for a full rebuild)."""
    fd = farm_daily_summaries.c
    days = conn.execute(select(func.min(fd.summary_date), func.max(fd.summary_date))).one()
    if days[0] is None:
        return []
    return months_between(_as_date(days[0]), _as_date(days[1]))
