"""The BTC prices of a response: a scope's dates, the latest, and why one is missing; and the
stored list of ``/api/prices``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, select

from curtailcoin.db.reference_tables import btc_prices
from curtailcoin.prices import (
    StoredPrice,
    latest_prices,
    missing_reason,
    stored_prices,
    update_failures,
)
from curtailcoin.sources.prices import CURRENCIES
from curtailcoin.web.queries.scope import Scope
from curtailcoin.web.schemas import CurrencyValue, PriceValue, Valuation


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

    @classmethod
    def for_scope(cls, conn: Connection, scope: Scope) -> PriceBook:
        return cls.load(conn, scope.start, scope.end - timedelta(days=1))

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


def price_list(conn: Connection, first: date, last: date) -> list[dict[str, Any]]:
    """The stored prices of ``first..last`` (inclusive), by date then currency."""
    p = btc_prices.c
    rows = conn.execute(
        select(p.price_date, p.currency, p.price, p.source, p.fetched_at)
        .where(p.price_date >= first, p.price_date <= last)
        .order_by(p.price_date, p.currency)
    ).all()
    return [
        {
            "date": row.price_date.isoformat(),
            "currency": row.currency,
            "price": row.price,
            "source": row.source,
            "fetchedAt": row.fetched_at.isoformat() if row.fetched_at else None,
        }
        for row in rows
    ]
