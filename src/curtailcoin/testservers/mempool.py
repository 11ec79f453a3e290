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

"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from http import HTTPStatus
from typing import Any

from curtailcoin.testservers.epochs import Epoch, load_difficulty_epochs
from curtailcoin.testservers.fees import FeeBook, handle_fee_route
from curtailcoin.testservers.priced import PricedServer, first_param
from curtailcoin.testservers.prices import CURRENCIES, PriceBook
from curtailcoin.testservers.responses import Query, Response, format_retry_after, json_response

__all__ = ["MempoolTestServer"]

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


class MempoolTestServer(PricedServer):
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
        currency = (first_param(query, "currency") or "").upper()
        if currency and currency not in CURRENCIES:
            return self.error_response(400, detail="Invalid currency")
        raw = first_param(query, "timestamp")
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
