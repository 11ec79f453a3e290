"""BTC price sources: mempool.space (primary) and CoinGecko (fallback).

The **daily price** of a date is its UTC close: the price at 00:00 UTC of the next day.
mempool.space's ``/v1/historical-price?currency=…&timestamp=<that instant>`` answers the price it
holds for that instant; from CoinGecko's ``/coins/bitcoin/market_chart/range`` series the first
point at or after that instant (within the day) is taken. A day that has not closed yet has no
close: its provisional price is the **live price** from mempool.space's ``/v1/prices``.

A source that answers without a usable value raises :class:`PriceUnavailable` (with the reason);
transport failures surface as :class:`~curtailcoin.sources.http.SourceError` after the retries of
:class:`~curtailcoin.sources.http.JsonHttpClient`. Nothing here ever invents a price.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from curtailcoin.config import Settings
from curtailcoin.sources.http import JsonHttpClient, RetryPolicy

CURRENCIES = ("GBP", "USD")
"""Currencies stored in ``btc_prices``."""

MEMPOOL = "mempool.space"
MEMPOOL_LIVE = "mempool.space live"
COINGECKO = "coingecko"

MAX_MEMPOOL_SKEW = timedelta(hours=36)
"""A historical answer further than this from the requested instant is not that date's price."""


class PriceUnavailable(Exception):
    """The source answered, but has no usable price for the request (the message says why)."""


def midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _positive(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PriceUnavailable(f"{what} is not a number: {value!r}")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise PriceUnavailable(f"{what} is not a positive price: {value!r}")
    return number


def _policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_tries=min(settings.max_tries, 4),
        max_time_s=min(settings.max_retry_time_s, 60.0),
        backoff_base_s=settings.backoff_base_s,
        backoff_max_s=settings.backoff_max_s,
    )


@dataclass(frozen=True)
class DailyPrice:
    """The price of 1 BTC in ``currency`` on ``price_date`` and where it came from."""

    price_date: date
    currency: str
    price: float
    source: str


class MempoolPrices:
    """mempool.space's price endpoints (base URL from ``mempool_base_url``)."""

    def __init__(self, client: JsonHttpClient) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> MempoolPrices:
        return cls(
            JsonHttpClient(
                settings.mempool_base_url,
                setting="CURTAILCOIN_MEMPOOL_BASE_URL",
                concurrency=2,
                requests_per_second=min(settings.requests_per_second or 4.0, 4.0),
                timeout_s=settings.request_timeout_s,
                policy=_policy(settings),
            )
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def close(self, day: date, currencies: Sequence[str] = CURRENCIES) -> list[DailyPrice]:
        """The UTC close of ``day`` in each currency (``PriceUnavailable`` if any lacks)."""
        wanted = midnight_utc(day + timedelta(days=1))
        out: list[DailyPrice] = []
        answers: dict[str, Any] = {}
        for currency in currencies:
            # USD is in every answer; other currencies need their own ``currency=`` request.
            entry = answers.get(currency)
            if entry is None:
                entry = await self._historical(currency, wanted)
                for key in entry:
                    answers.setdefault(key, entry)
            out.append(
                DailyPrice(
                    day, currency, _positive(entry.get(currency), f"{MEMPOOL} {currency}"), MEMPOOL
                )
            )
        return out

    async def _historical(self, currency: str, wanted: datetime) -> dict[str, Any]:
        payload = await self.client.get_json(
            "/v1/historical-price",
            params={"currency": currency, "timestamp": int(wanted.timestamp())},
        )
        prices = payload.get("prices") if isinstance(payload, dict) else None
        if not isinstance(prices, list) or not prices:
            raise PriceUnavailable(f"{MEMPOOL} has no {currency} price at {wanted:%Y-%m-%dT%H:%MZ}")
        entry = prices[0]
        if not isinstance(entry, dict) or not isinstance(entry.get("time"), int | float):
            raise PriceUnavailable(f"{MEMPOOL} answered a malformed price entry: {entry!r}")
        when = datetime.fromtimestamp(float(entry["time"]), tz=UTC)
        if abs(when - wanted) > MAX_MEMPOOL_SKEW:
            raise PriceUnavailable(
                f"{MEMPOOL} answered a price of {when:%Y-%m-%dT%H:%MZ} for "
                f"{wanted:%Y-%m-%dT%H:%MZ}: too far apart"
            )
        return entry

    async def live(
        self, currencies: Sequence[str] = CURRENCIES
    ) -> tuple[datetime, dict[str, float]]:
        """The current price (``/v1/prices``) and its time."""
        payload = await self.client.get_json("/v1/prices")
        if not isinstance(payload, dict):
            raise PriceUnavailable(f"{MEMPOOL} /v1/prices answered {type(payload).__name__}")
        stamp = payload.get("time")
        when = (
            datetime.fromtimestamp(float(stamp), tz=UTC)
            if isinstance(stamp, int | float) and not isinstance(stamp, bool)
            else datetime.now(UTC)
        )
        return when, {c: _positive(payload.get(c), f"{MEMPOOL} live {c}") for c in currencies}


class CoinGeckoPrices:
    """CoinGecko's ``market_chart/range`` (base URL from ``coingecko_base_url``)."""

    def __init__(self, client: JsonHttpClient) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> CoinGeckoPrices:
        return cls(
            JsonHttpClient(
                settings.coingecko_base_url,
                setting="CURTAILCOIN_COINGECKO_BASE_URL",
                concurrency=1,
                # Public CoinGecko allows ~30 calls/min: 0.5/s, or an eighth of a lower
                # configured cap.
                requests_per_second=min(0.5, (settings.requests_per_second or 4.0) / 8.0),
                timeout_s=settings.request_timeout_s,
                policy=_policy(settings),
            )
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def closes(self, start: date, end: date, currency: str) -> dict[date, float]:
        """UTC closes of the days ``start`` to ``end`` inclusive.

        The close of day D is the first point at or after 00:00 UTC of D+1, within D+1. Days
        without such a point are absent from the answer.
        """
        payload = await self.client.get_json(
            "/coins/bitcoin/market_chart/range",
            params={
                "vs_currency": currency.lower(),
                "from": int(midnight_utc(start + timedelta(days=1)).timestamp()),
                "to": int(midnight_utc(end + timedelta(days=2)).timestamp()) - 1,
            },
        )
        points = payload.get("prices") if isinstance(payload, dict) else None
        if not isinstance(points, list):
            raise PriceUnavailable(f"{COINGECKO} answered no price series for {currency}")
        first: dict[date, tuple[datetime, float]] = {}
        for point in points:
            if not (isinstance(point, list | tuple) and len(point) == 2):
                continue
            stamp, value = point
            if isinstance(stamp, bool) or not isinstance(stamp, int | float):
                continue
            try:
                price = _positive(value, f"{COINGECKO} {currency}")
            except PriceUnavailable:
                continue
            when = datetime.fromtimestamp(float(stamp) / 1000.0, tz=UTC)
            day = when.date() - timedelta(days=1)
            if start <= day <= end and (day not in first or when < first[day][0]):
                first[day] = (when, price)
        return {day: price for day, (_, price) in first.items()}
