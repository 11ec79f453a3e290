"""Local mempool.space and CoinGecko APIs: difficulty adjustments and BTC prices.

:class:`MempoolTestServer`, base URL ``http://127.0.0.1:PORT/api`` (real:
``https://mempool.space/api``):

* ``GET /v1/mining/difficulty-adjustments[/{interval}]`` (``interval`` one of 24h, 3d, 1w, 1m,
  3m, 6m, 1y, 2y, 3y, all) → ``[[timestamp_s, height, difficulty, ratio_new_over_old], ...]``,
  newest first.
* ``GET /v1/historical-price?currency=GBP&timestamp=<unix>`` →
  ``{"prices": [{"time": <day 00:00 UTC>, "USD": …, "EUR": …, "GBP": …, "CAD": …, "CHF": …,
  "AUD": …, "JPY": …}], "exchangeRates": {"USDEUR": …, "USDGBP": …, …}}``; ``{"prices": [], …}``
  for a day without a price.
* ``GET /v1/prices`` → ``{"time": <now>, "USD": …, "EUR": …, "GBP": …, …}``.
* ``GET /v1/mining/blocks/fees/{period}`` and ``/v1/mining/reward-stats/{blockCount}``: see
  :mod:`curtailcoin.testservers.fees` (``server.fee_book`` holds the fees and the gaps).

:class:`CoinGeckoTestServer`, base URL ``http://127.0.0.1:PORT/api/v3`` (real:
``https://api.coingecko.com/api/v3``):

* ``GET /coins/bitcoin/market_chart/range?vs_currency=gbp&from=<unix>&to=<unix>`` →
  ``{"prices": [[ms, price], …], "market_caps": [[ms, v], …], "total_volumes": [[ms, v], …]}``
  (daily points at 00:00 UTC for ranges over 90 days or ``interval=daily``, hourly otherwise).
* ``GET /simple/price?ids=bitcoin&vs_currencies=gbp,usd`` and ``GET /ping``.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from http import HTTPStatus
from random import Random
from typing import Any

from curtailcoin.testservers.faults import (
    BaseTestServer,
    Query,
    Response,
    format_retry_after,
    json_response,
)
from curtailcoin.testservers.fees import FeeBook, handle_fee_route
from curtailcoin.testservers.generator import CURRENCIES, Epoch, PriceBook, load_difficulty_epochs

__all__ = ["CoinGeckoTestServer", "MempoolTestServer"]

INTERVALS: dict[str, timedelta | None] = {
    "24h": timedelta(days=1),
    "3d": timedelta(days=3),
    "1w": timedelta(weeks=1),
    "1m": timedelta(days=30),
    "3m": timedelta(days=90),
    "6m": timedelta(days=180),
    "1y": timedelta(days=365),
    "2y": timedelta(days=730),
    "3y": timedelta(days=1095),
    "all": None,
}


def _unix(instant: datetime | int | float) -> int:
    if isinstance(instant, datetime):
        if instant.tzinfo is None:
            raise ValueError("datetimes must be timezone-aware")
        return int(instant.timestamp())
    return int(instant)


def _day_start(d: date) -> int:
    return int(datetime.combine(d, time(0), tzinfo=UTC).timestamp())


def _first(query: Query, name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


class _PricedServer(BaseTestServer):
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


class MempoolTestServer(_PricedServer):
    """A local mempool.space API (difficulty adjustments and prices) with injectable faults.

    With ``now`` set, epochs that start after ``now`` are hidden (as the live API cannot know
    them); by default every epoch is listed.
    """

    base_path = "/api"
    name = "mempool test server"

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
            seed=seed,
            prices=prices,
            latency_s=latency_s,
            timeout_s=timeout_s,
            host=host,
            port=port,
            now=now,
            verbose=verbose,
        )
        self._epochs: list[Epoch] = load_difficulty_epochs(seed)
        self._epoch_lock = threading.Lock()
        self._current: dict[str, float] | None = None
        self.fee_book = FeeBook(seed)

    # -- epochs ----------------------------------------------------------------------------

    @property
    def epochs(self) -> list[Epoch]:
        """Every epoch the server knows, oldest first (including hidden future ones)."""
        with self._epoch_lock:
            return list(self._epochs)

    def add_epoch(
        self,
        time: datetime | int,
        height: int | None = None,
        difficulty: float | None = None,
    ) -> Epoch:
        """Append an epoch (default height: the last + 2016; difficulty: the last one's)."""
        with self._epoch_lock:
            last = self._epochs[-1]
            epoch = Epoch(
                epoch=last.epoch + 1,
                height=last.height + 2016 if height is None else height,
                time=_unix(time),
                difficulty=last.difficulty if difficulty is None else float(difficulty),
                source="added",
            )
            if epoch.height <= last.height or epoch.time <= last.time:
                raise ValueError("an added epoch must come after the last one")
            self._epochs.append(epoch)
            return epoch

    def difficulty_adjustments(self, interval: str = "all") -> list[list[float | int]]:
        """What the endpoint answers: newest first, ``[time, height, difficulty, ratio]``."""
        if interval not in INTERVALS:
            raise ValueError(f"unknown interval {interval!r}: allowed {', '.join(INTERVALS)}")
        rows = epochs_as_rows(self.epochs)
        now = self.now.timestamp()
        if self._now is not None:
            rows = [r for r in rows if r[0] <= now]
        span = INTERVALS[interval]
        if span is not None:
            rows = [r for r in rows if r[0] >= now - span.total_seconds()]
        return rows

    # -- prices ----------------------------------------------------------------------------

    def set_current_price(self, *, gbp: float | None = None, usd: float | None = None) -> None:
        """Fix what ``/v1/prices`` answers (None for both: back to today's price)."""
        if gbp is None and usd is None:
            self._current = None
            return
        rates = self.prices.fx(self.now.date())
        usd_v = usd if usd is not None else float(gbp or 0.0) / rates["GBP"]
        values = {c: usd_v * rates[c] for c in CURRENCIES}
        if gbp is not None:
            values["GBP"] = gbp
        self._current = {c: round(v) if c == "JPY" else round(v, 2) for c, v in values.items()}

    def _exchange_rates(self, d: date) -> dict[str, float]:
        rates = self.prices.fx(d)
        return {f"USD{c}": rates[c] for c in CURRENCIES if c != "USD"}

    def _price_entry(self, d: date) -> dict[str, Any] | None:
        quote = self.prices.quote(d)
        if quote is None:
            return None
        return {"time": _day_start(d), **quote}

    # -- HTTP ------------------------------------------------------------------------------

    def error_response(
        self, status: int, *, detail: str | None = None, retry_after_s: float | None = None
    ) -> Response:
        text = detail if detail and status < 500 and status != 429 else HTTPStatus(status).phrase
        headers = {}
        if retry_after_s is not None:
            headers["Retry-After"] = format_retry_after(retry_after_s)
        return Response(status, text.encode(), "text/plain; charset=utf-8", headers)

    def handle(self, method: str, path: str, query: Query) -> Response:
        m = re.match(r"^/v1/mining/difficulty-adjustments(?:/(?P<interval>[^/]+))?/?$", path)
        if m:
            interval = m["interval"] or "all"
            if interval not in INTERVALS:
                return self.error_response(400, detail=f"Invalid interval {interval}")
            return json_response(self.difficulty_adjustments(interval))
        if path in ("/v1/historical-price", "/v1/historical-price/"):
            return self._historical_price(query)
        if path in ("/v1/prices", "/v1/prices/"):
            return self._current_prices()
        fees = handle_fee_route(self, path)
        if fees is not None:
            return fees
        return self.error_response(404, detail="Not Found")

    def _historical_price(self, query: Query) -> Response:
        currency = (_first(query, "currency") or "").upper()
        if currency and currency not in CURRENCIES:
            return self.error_response(400, detail="Invalid currency")
        raw = _first(query, "timestamp")
        today = self.now.astimezone(UTC).date()
        if raw is None or raw == "":
            entries = []
            d = date(2010, 7, 18)
            while d <= today:
                entry = self._price_entry(d)
                if entry is not None:
                    entries.append(entry)
                d += timedelta(days=1)
            return json_response({"prices": entries, "exchangeRates": self._exchange_rates(today)})
        try:
            ts = int(float(raw))
        except (ValueError, OverflowError):
            return self.error_response(400, detail="Invalid timestamp")
        if ts < 0:
            return self.error_response(400, detail="Invalid timestamp")
        d = min(datetime.fromtimestamp(ts, UTC).date(), today)
        entry = self._price_entry(d)
        return json_response(
            {"prices": [] if entry is None else [entry], "exchangeRates": self._exchange_rates(d)}
        )

    def _current_prices(self) -> Response:
        now = self.now
        values = self._current
        if values is None:
            values = self.prices.quote(now.astimezone(UTC).date())
        if values is None:
            return self.error_response(503)
        return json_response({"time": int(now.timestamp()), **values})


class CoinGeckoTestServer(_PricedServer):
    """A local CoinGecko API (BTC price history) with injectable faults."""

    base_path = "/api/v3"
    name = "CoinGecko test server"

    SUPPORTED = tuple(c.lower() for c in CURRENCIES)

    def error_response(
        self, status: int, *, detail: str | None = None, retry_after_s: float | None = None
    ) -> Response:
        headers = {}
        if retry_after_s is not None:
            headers["Retry-After"] = format_retry_after(retry_after_s)
        if status == 429:
            body: dict[str, Any] = {
                "status": {
                    "error_code": 429,
                    "error_message": "You've exceeded the Rate Limit. Please visit "
                    "https://www.coingecko.com/en/api/pricing to subscribe to our API plans "
                    "for higher rate limits.",
                }
            }
        elif status >= 500:
            body = {"status": {"error_code": status, "error_message": HTTPStatus(status).phrase}}
        else:
            body = {"error": detail or HTTPStatus(status).phrase}
        return json_response(body, status, headers=headers)

    def market_chart(
        self, currency: str, start: float, end: float, interval: str | None = None
    ) -> dict[str, list[list[float | int]]]:
        """What ``market_chart/range`` answers for unix seconds ``start``..``end``."""
        cur = currency.upper()
        daily = interval == "daily" or (interval is None and end - start > 90 * 86_400)
        step = 86_400 if daily else 3_600
        t = math.ceil(start / step) * step
        prices: list[list[float | int]] = []
        caps: list[list[float | int]] = []
        volumes: list[list[float | int]] = []
        while t <= end:
            instant = datetime.fromtimestamp(t, UTC)
            price = (
                self.prices.price(instant.date(), cur)
                if daily
                else self.prices.price_at(instant, cur)
            )
            if price is not None:
                ms = int(t) * 1000
                supply = _supply(instant.date())
                traded = Random(f"{self.seed}|vol|{t}").uniform(15_000.0, 60_000.0)
                prices.append([ms, price])
                caps.append([ms, round(price * supply, 2)])
                volumes.append([ms, round(price * traded, 2)])
            t += step
        return {"prices": prices, "market_caps": caps, "total_volumes": volumes}

    def handle(self, method: str, path: str, query: Query) -> Response:
        if path in ("/ping", "/ping/"):
            return json_response({"gecko_says": "(V3) To the Moon!"})
        m = re.match(r"^/coins/(?P<coin>[^/]+)/market_chart/range/?$", path)
        if m:
            if m["coin"] != "bitcoin":
                return self.error_response(404, detail="coin not found")
            currency = (_first(query, "vs_currency") or "").lower()
            if currency not in self.SUPPORTED:
                return self.error_response(400, detail="invalid vs_currency")
            start = _parse_instant(_first(query, "from"))
            end = _parse_instant(_first(query, "to"))
            if start is None or end is None:
                return self.error_response(400, detail="invalid from/to: unix seconds or ISO dates")
            interval = _first(query, "interval")
            if interval not in (None, "", "daily", "hourly"):
                return self.error_response(400, detail="invalid interval")
            return json_response(self.market_chart(currency, start, end, interval or None))
        if path in ("/simple/price", "/simple/price/"):
            ids = [i for i in (_first(query, "ids") or "").split(",") if i]
            wanted = [c.lower() for c in (_first(query, "vs_currencies") or "").split(",") if c]
            out: dict[str, dict[str, float]] = {}
            if "bitcoin" in ids:
                quote = self.prices.quote(self.now.astimezone(UTC).date())
                if quote is not None:
                    out["bitcoin"] = {
                        c: quote[c.upper()] for c in wanted if c.upper() in CURRENCIES
                    }
            return json_response(out)
        return self.error_response(404, detail="Not Found")


def _supply(d: date) -> float:
    """Rough BTC supply on a day (for market caps)."""
    days = (d - date(2024, 4, 20)).days
    return max(0.0, min(21_000_000.0, 19_687_000.0 + days * 450.0))


def _parse_instant(raw: str | None) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
        return value if math.isfinite(value) else None
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def epochs_as_rows(epochs: Sequence[Epoch]) -> list[list[float | int]]:
    """Epochs (oldest first) as mempool rows (newest first)."""
    rows: list[list[float | int]] = []
    prev: Epoch | None = None
    for e in epochs:
        ratio = 1.0 if prev is None else e.difficulty / prev.difficulty
        rows.append([e.time, e.height, e.difficulty, ratio])
        prev = e
    rows.reverse()
    return rows
