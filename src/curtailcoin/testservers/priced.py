"""The price plumbing the mempool and CoinGecko test servers share: a :class:`PriceBook`, a clock
and the query helper."""

from __future__ import annotations

from datetime import UTC, date, datetime

from curtailcoin.testservers.prices import PriceBook
from curtailcoin.testservers.responses import Query
from curtailcoin.testservers.server import BaseTestServer


def first_param(query: Query, name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


class PricedServer(BaseTestServer):
    """Common price plumbing of the mempool and CoinGecko servers."""

    def __init__(
        self,
        *,
        seed: int = 1,
        prices: PriceBook | None = None,
        latency_s: float = 0.0,
        timeout_s: float = 5.0,
        host: str = "127.0.0.1",
        port: int = 0,
        now: datetime | None = None,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            host=host, port=port, latency_s=latency_s, timeout_s=timeout_s, verbose=verbose
        )
        self.seed = seed
        self.prices = prices if prices is not None else PriceBook(seed)
        self._now = now

    @property
    def now(self) -> datetime:
        return self._now if self._now is not None else datetime.now(UTC)

    def set_now(self, now: datetime | None) -> None:
        """Fix the server clock (None: follow the real clock)."""
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self._now = now

    def set_price(
        self, day: date, *, gbp: float | None = None, usd: float | None = None, **others: float
    ) -> None:
        """Fix a day's price (the other currencies follow through the day's exchange rates)."""
        self.prices.set_price(day, gbp=gbp, usd=usd, **others)

    def set_no_price(self, *days: date, missing: bool = True) -> None:
        """Make days have no price (``missing=False`` restores them)."""
        for d in days:
            self.prices.set_missing(d, missing)
