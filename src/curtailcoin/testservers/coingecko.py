"""A local CoinGecko API: BTC price history.

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
from datetime import UTC, date, datetime
from http import HTTPStatus
from random import Random
from typing import Any

from curtailcoin.testservers.priced import PricedServer, first_param
from curtailcoin.testservers.prices import CURRENCIES
from curtailcoin.testservers.responses import Query, Response, format_retry_after, json_response

__all__ = ["CoinGeckoTestServer"]


class CoinGeckoTestServer(PricedServer):
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
            currency = (first_param(query, "vs_currency") or "").lower()
            if currency not in self.SUPPORTED:
                return self.error_response(400, detail="invalid vs_currency")
            start = _parse_instant(first_param(query, "from"))
            end = _parse_instant(first_param(query, "to"))
            if start is None or end is None:
                return self.error_response(400, detail="invalid from/to: unix seconds or ISO dates")
            interval = first_param(query, "interval")
            if interval not in (None, "", "daily", "hourly"):
                return self.error_response(400, detail="invalid interval")
            return json_response(self.market_chart(currency, start, end, interval or None))
        if path in ("/simple/price", "/simple/price/"):
            ids = [i for i in (first_param(query, "ids") or "").split(",") if i]
            wanted = [
                c.lower() for c in (first_param(query, "vs_currencies") or "").split(",") if c
            ]
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
