"""Deterministic daily BTC prices in USD, EUR, GBP, CAD, CHF, AUD and JPY, with overrides.

Prices follow rough yearly anchors (log-interpolated) with a seeded daily wobble; exchange rates
likewise. The mempool and CoinGecko test servers share a :class:`PriceBook` to agree.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from random import Random

CURRENCIES: tuple[str, ...] = ("USD", "EUR", "GBP", "CAD", "CHF", "AUD", "JPY")
FIRST_PRICE_DAY = date(2010, 7, 18)

# Rough BTC/USD on 1 January of each year (log-interpolated in between) and USD→GBP.
_USD_ANCHORS: tuple[tuple[int, float], ...] = (
    (2010, 0.06), (2011, 0.30), (2012, 5.3), (2013, 13.3), (2014, 770.0), (2015, 314.0),
    (2016, 434.0), (2017, 998.0), (2018, 13_650.0), (2019, 3_840.0), (2020, 7_200.0),
    (2021, 29_400.0), (2022, 47_700.0), (2023, 16_600.0), (2024, 42_300.0), (2025, 94_400.0),
    (2026, 88_000.0), (2027, 95_000.0), (2028, 100_000.0), (2030, 120_000.0),
)  # fmt: skip
_GBP_ANCHORS: tuple[tuple[int, float], ...] = (
    (2010, 0.64), (2014, 0.60), (2016, 0.68), (2017, 0.81), (2018, 0.74), (2019, 0.78),
    (2020, 0.76), (2021, 0.73), (2022, 0.74), (2023, 0.83), (2024, 0.79), (2025, 0.80),
    (2026, 0.74), (2030, 0.75),
)  # fmt: skip
_FX_OTHER: dict[str, float] = {"EUR": 0.91, "CAD": 1.33, "CHF": 0.92, "AUD": 1.42, "JPY": 135.0}


def _interp(anchors: Sequence[tuple[int, float]], d: date, *, log: bool) -> float:
    x = d.year + (d.timetuple().tm_yday - 1) / 366.0
    if x <= anchors[0][0]:
        return anchors[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(anchors):
        if x <= x1:
            f = (x - x0) / (x1 - x0)
            if log:
                return math.exp(math.log(y0) + f * (math.log(y1) - math.log(y0)))
            return y0 + f * (y1 - y0)
    return anchors[-1][1]


class PriceBook:
    """Deterministic daily BTC prices (at 00:00 UTC) in seven currencies, with overrides.

    Share one book between a :class:`~curtailcoin.testservers.mempool.MempoolTestServer` and a
    :class:`~curtailcoin.testservers.coingecko.CoinGeckoTestServer` to make them agree.
    """

    def __init__(self, seed: int = 1) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self._overrides: dict[date, dict[str, float]] = {}
        self._missing: set[date] = set()

    def fx(self, d: date) -> dict[str, float]:
        """USD→currency rates for the day (``{"GBP": 0.79, …}``; USD is 1)."""
        rng = Random(f"{self.seed}|fx|{d.isoformat()}")
        rates = {"USD": 1.0, "GBP": round(_interp(_GBP_ANCHORS, d, log=False), 4)}
        for cur, base in _FX_OTHER.items():
            rates[cur] = round(base * (1.0 + rng.uniform(-0.03, 0.03)), 4)
        return rates

    def _natural_usd(self, d: date) -> float:
        rng = Random(f"{self.seed}|btc|{d.isoformat()}")
        wave = 0.04 * math.sin(d.toordinal() / 9.0 + self.seed)
        return _interp(_USD_ANCHORS, d, log=True) * (1.0 + wave + rng.uniform(-0.015, 0.015))

    def quote(self, d: date) -> dict[str, float] | None:
        """The day's prices per currency, or None when the day has no price."""
        with self._lock:
            if d in self._missing or d < FIRST_PRICE_DAY:
                return None
            override = dict(self._overrides.get(d, {}))
        rates = self.fx(d)
        usd = override.get("USD")
        if usd is None:
            gbp = override.get("GBP")
            usd = gbp / rates["GBP"] if gbp is not None else self._natural_usd(d)
        out = {}
        for cur in CURRENCIES:
            value = override.get(cur, usd * rates[cur])
            out[cur] = round(value) if cur == "JPY" else round(value, 2)
        return out

    def price(self, d: date, currency: str = "GBP") -> float | None:
        q = self.quote(d)
        return None if q is None else q[currency.upper()]

    def price_at(self, instant: datetime, currency: str = "GBP") -> float | None:
        """Price at any instant: linear between the day's and the next day's 00:00 prices."""
        d = instant.astimezone(UTC).date()
        here = self.price(d, currency)
        if here is None:
            return None
        nxt = self.price(d + timedelta(days=1), currency)
        if nxt is None:
            return here
        start = datetime.combine(d, time(0), tzinfo=UTC)
        f = (instant - start).total_seconds() / 86_400.0
        return round(here + f * (nxt - here), 2)

    def set_price(
        self, d: date, *, gbp: float | None = None, usd: float | None = None, **others: float
    ) -> None:
        """Fix the day's price (GBP and/or USD; other currencies by keyword, e.g. EUR=…)."""
        values = {k.upper(): float(v) for k, v in others.items()}
        if gbp is not None:
            values["GBP"] = float(gbp)
        if usd is not None:
            values["USD"] = float(usd)
        unknown = set(values) - set(CURRENCIES)
        if unknown:
            raise ValueError(f"unknown currencies {sorted(unknown)}: allowed {CURRENCIES}")
        with self._lock:
            self._overrides[d] = values
            self._missing.discard(d)

    def set_missing(self, d: date, missing: bool = True) -> None:
        """Make the day have no price (or restore it)."""
        with self._lock:
            if missing:
                self._missing.add(d)
            else:
                self._missing.discard(d)
