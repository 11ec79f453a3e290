"""BTC prices in GBP and USD per day, cached in ``btc_prices``: reading and writing them.

Convention: the price of a date is its **UTC close** (the price at 00:00 UTC of the next day). The
current UTC day has no close yet; its row holds the **live** price (source ``mempool.space live``)
and is replaced by the close on the first update after the day ends. The *latest price* is the
most recent row of each currency, shown with its date and source.

Sources: mempool.space (``/v1/historical-price``, ``/v1/prices``) first, CoinGecko
(``market_chart/range``) for the dates mempool.space could not answer. A date neither source could
price stays absent, and the reason is kept (``source_refreshes`` row ``btc_prices``) so the API can
say why a value is missing. No fallback constant, no fixed exchange rate: GBP is fetched as GBP.
The update from the sources is ``curtailcoin.price_updates``, the CSV import
``curtailcoin.price_csv``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, select

from curtailcoin.db.reference_tables import btc_prices, source_refreshes
from curtailcoin.db.upsert import upsert
from curtailcoin.farm_months import PRICE_CURRENCY, months_of, rebuild_months
from curtailcoin.sources.prices import (
    CURRENCIES,
    MEMPOOL_LIVE,
    DailyPrice,
)
from curtailcoin.summaries import lock_rollups

log = logging.getLogger("curtailcoin.prices")

REFRESH_SOURCE = "btc_prices"
"""``source_refreshes`` row that keeps the last update's unpriced dates and reasons."""


class PriceInputError(ValueError):
    """Bad input for a price command (one line naming the value)."""


@dataclass(frozen=True)
class StoredPrice:
    """A row of ``btc_prices``: 1 BTC = ``price`` ``currency`` on ``price_date``."""

    price_date: date
    currency: str
    price: float
    source: str
    fetched_at: datetime | None

    @property
    def provisional(self) -> bool:
        """A live price standing in for a close that does not exist yet."""
        return self.source == MEMPOOL_LIVE


def today_utc(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(UTC).date()


def _row(r: Any) -> StoredPrice:
    return StoredPrice(r.price_date, r.currency, float(r.price), r.source, r.fetched_at)


def stored_prices(
    conn: Connection, start: date, end: date, currencies: Sequence[str] = CURRENCIES
) -> dict[tuple[date, str], StoredPrice]:
    """Stored prices from ``start`` to ``end`` inclusive, keyed by (date, currency)."""
    p = btc_prices.c
    rows = conn.execute(
        select(p.price_date, p.currency, p.price, p.source, p.fetched_at).where(
            p.price_date >= start, p.price_date <= end, p.currency.in_(list(currencies))
        )
    ).all()  # fetched in one go: a year is ~730 rows
    return {
        (day, currency): StoredPrice(day, currency, float(price), source, fetched_at)
        for day, currency, price, source, fetched_at in rows
    }


def latest_prices(
    conn: Connection, currencies: Sequence[str] = CURRENCIES
) -> dict[str, StoredPrice | None]:
    """The most recent stored price of each currency (None when none is stored)."""
    p = btc_prices.c
    out: dict[str, StoredPrice | None] = {}
    for currency in currencies:
        row = conn.execute(
            select(p.price_date, p.currency, p.price, p.source, p.fetched_at)
            .where(p.currency == currency)
            .order_by(p.price_date.desc())
            .limit(1)
        ).first()
        out[currency] = _row(row) if row is not None else None
    return out


def update_failures(conn: Connection) -> dict[str, str]:
    """Dates (ISO) the last update could not price, with the reason."""
    detail = conn.execute(
        select(source_refreshes.c.detail).where(source_refreshes.c.source == REFRESH_SOURCE)
    ).scalar_one_or_none()
    if not detail:
        return {}
    try:
        data = json.loads(detail)
    except ValueError:
        return {}
    failed = data.get("failed") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in failed.items()} if isinstance(failed, dict) else {}


def missing_reason(currency: str, day: date, failures: dict[str, str] | None = None) -> str:
    """Why there is no ``currency`` price for ``day``, with the command that would fetch it."""
    command = f"`curtailcoin prices update --from {day} --to {day}`"
    known = (failures or {}).get(day.isoformat())
    if known:
        return (
            f"no BTC/{currency} price for {day}: the last update failed ({known}); "
            f"retry with {command}"
        )
    return f"no BTC/{currency} price stored for {day}; fetch it with {command} or import a CSV"


def store(conn: Connection, prices: Iterable[DailyPrice], fetched_at: datetime) -> int:
    prices = list(prices)
    rows = [
        {
            "price_date": p.price_date,
            "currency": p.currency,
            "price": p.price,
            "source": p.source,
            "fetched_at": fetched_at,
        }
        for p in prices
    ]
    upsert(conn, btc_prices, rows, ["price_date", "currency"])
    reprice_farm_months(conn, [p.price_date for p in prices if p.currency == PRICE_CURRENCY])
    return len(rows)


def reprice_farm_months(conn: Connection, days: Sequence[date]) -> None:
    """Rebuild the per-farm-month roll-ups of the months whose GBP prices were written: their
    rows hold the value at each date's price (``curtailcoin.farm_months``)."""
    months = months_of(days)
    for year in sorted({int(ym[:4]) for ym in months}):  # ascending, as every writer takes them
        lock_rollups(conn, year)
    rebuild_months(conn, months)


def day_prices(conn: Connection, day: date) -> tuple[dict[str, StoredPrice], dict[str, str]]:
    """The stored prices of ``day`` per currency, and for each currency without one the reason
    (:func:`missing_reason`, with the last update's failure when there was one)."""
    stored = stored_prices(conn, day, day)
    have = {c: stored[(day, c)] for c in CURRENCIES if (day, c) in stored}
    failures = update_failures(conn) if len(have) < len(CURRENCIES) else {}
    missing = {c: missing_reason(c, day, failures) for c in CURRENCIES if c not in have}
    return have, missing
