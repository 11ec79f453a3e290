"""BTC prices in GBP and USD per day, cached in ``btc_prices``.

Convention: the price of a date is its **UTC close** (the price at 00:00 UTC of the next day). The
current UTC day has no close yet; its row holds the **live** price (source ``mempool.space live``)
and is replaced by the close on the first update after the day ends. The *latest price* is the
most recent row of each currency, shown with its date and source.

Sources: mempool.space (``/v1/historical-price``, ``/v1/prices``) first, CoinGecko
(``market_chart/range``) for the dates mempool.space could not answer. A date neither source could
price stays absent, and the reason is kept (``source_refreshes`` row ``btc_prices``) so the API can
say why a value is missing. No fallback constant, no fixed exchange rate: GBP is fetched as GBP.
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from curtailcoin.config import Settings
from curtailcoin.db.reference_tables import btc_prices, source_refreshes
from curtailcoin.db.upsert import upsert
from curtailcoin.farm_months import PRICE_CURRENCY, months_of, rebuild_months
from curtailcoin.sources.http import SourceError
from curtailcoin.sources.prices import (
    COINGECKO,
    CURRENCIES,
    MEMPOOL_LIVE,
    CoinGeckoPrices,
    DailyPrice,
    MempoolPrices,
    PriceUnavailable,
)
from curtailcoin.summaries import lock_rollups

log = logging.getLogger("curtailcoin.prices")

REFRESH_SOURCE = "btc_prices"
"""``source_refreshes`` row that keeps the last update's unpriced dates and reasons."""

MAX_KEPT_FAILURES = 400
COINGECKO_CHUNK_DAYS = 360
DEFAULT_LOOKBACK_DAYS = 30


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


# --- update from the live sources ------------------------------------------------------------


@dataclass
class UpdateResult:
    """What ``update_prices`` did."""

    start: date
    end: date
    stored: dict[str, int] = field(default_factory=dict)  # source -> rows written
    skipped: int = 0  # dates already priced
    failed: dict[date, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


FIRST_PRICE_DATE = date(2010, 7, 17)
"""The first day BTC had a market price."""


def check_update_range(start: date | None, end: date | None, now: datetime | None = None) -> None:
    """``PriceInputError`` for the ``--from``/``--to`` given (either may be left to default),
    so the CLI can reject them before it opens the database."""
    today = today_utc(now)
    if start is not None and end is not None and start > end:
        raise PriceInputError(f"--from {start} is after --to {end}: allowed --from <= --to")
    if end is not None and end > today:
        raise PriceInputError(f"--to {end} is in the future: allowed up to {today} (UTC)")
    if start is not None and start < FIRST_PRICE_DATE:
        raise PriceInputError(
            f"--from {start} is before BTC had a market price: allowed from {FIRST_PRICE_DATE}"
        )


def default_start(conn: Connection, now: datetime | None = None) -> date:
    """The first date an update without ``--from`` should look at.

    The day after the latest final (non-live) price, or 30 days back when nothing is stored.
    """
    p = btc_prices.c
    latest = conn.execute(
        select(p.price_date).where(p.source != MEMPOOL_LIVE).order_by(p.price_date.desc()).limit(1)
    ).scalar_one_or_none()
    today = today_utc(now)
    if latest is None:
        return today - timedelta(days=DEFAULT_LOOKBACK_DAYS)
    following: date = latest + timedelta(days=1)
    return min(today, following)


async def update_prices(
    engine: Engine,
    settings: Settings,
    start: date | None = None,
    end: date | None = None,
    *,
    force: bool = False,
    mempool: MempoolPrices | None = None,
    coingecko: CoinGeckoPrices | None = None,
    now: datetime | None = None,
) -> UpdateResult:
    """Fetch and store the GBP and USD prices of every date from ``start`` to ``end``.

    Dates already holding a final price are skipped unless ``force``. Live (provisional) rows of
    closed days are always replaced. Each date is written as soon as it is known; the dates no
    source could price are returned in ``failed`` and kept with their reasons.
    """
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        start = start or default_start(conn, now)
    end = end or today_utc(now)
    check_update_range(start, end, now)
    result = UpdateResult(start, end)
    today = today_utc(now)
    with engine.connect() as conn:
        have = stored_prices(conn, start, end)
    todo: list[date] = []
    day = start
    while day <= end:
        complete = all(
            (day, c) in have and (not have[(day, c)].provisional or day == today)
            for c in CURRENCIES
        )
        if complete and not force and day != today:
            result.skipped += 1
        else:
            todo.append(day)
        day += timedelta(days=1)

    own_mempool = mempool is None
    own_coingecko = coingecko is None
    mp = mempool or MempoolPrices.from_settings(settings)
    cg = coingecko or CoinGeckoPrices.from_settings(settings)
    reasons: dict[date, list[str]] = {}
    try:
        closed = [d for d in todo if d < today]
        if today in todo:
            await _update_live(engine, mp, today, result, reasons)
        fallback = await _update_mempool(engine, mp, closed, result, reasons)
        if fallback:
            await _update_coingecko(engine, cg, fallback, result, reasons)
    finally:
        if own_mempool:
            await mp.aclose()
        if own_coingecko:
            await cg.aclose()
    result.failed = {d: "; ".join(r) for d, r in sorted(reasons.items())}
    _record_failures(engine, result)
    return result


async def _update_live(
    engine: Engine,
    mp: MempoolPrices,
    today: date,
    result: UpdateResult,
    reasons: dict[date, list[str]],
) -> None:
    try:
        when, values = await mp.live()
    except (SourceError, PriceUnavailable) as exc:
        reasons[today] = [f"live price: {exc}"]
        return
    prices = [DailyPrice(today, c, v, MEMPOOL_LIVE) for c, v in values.items()]
    with engine.begin() as conn:
        result.stored[MEMPOOL_LIVE] = result.stored.get(MEMPOOL_LIVE, 0) + store(conn, prices, when)


async def _update_mempool(
    engine: Engine,
    mp: MempoolPrices,
    days: Sequence[date],
    result: UpdateResult,
    reasons: dict[date, list[str]],
) -> list[date]:
    """Closes from mempool.space; returns the days it could not price."""

    async def one(day: date) -> tuple[date, list[DailyPrice] | str]:
        try:
            return day, await mp.close(day)
        except (SourceError, PriceUnavailable) as exc:
            return day, f"mempool.space: {exc}"

    fallback: list[date] = []
    for chunk_start in range(0, len(days), 32):
        answers = await asyncio.gather(*(one(d) for d in days[chunk_start : chunk_start + 32]))
        good: list[DailyPrice] = []
        for day, answer in answers:
            if isinstance(answer, str):
                reasons.setdefault(day, []).append(answer)
                fallback.append(day)
            else:
                good.extend(answer)
        if good:
            with engine.begin() as conn:
                written = store(conn, good, datetime.now(UTC))
            result.stored[good[0].source] = result.stored.get(good[0].source, 0) + written
    return sorted(fallback)


def _runs(days: Sequence[date]) -> list[tuple[date, date]]:
    """Contiguous runs of sorted dates, each at most ``COINGECKO_CHUNK_DAYS`` long."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if (
            runs
            and day == runs[-1][1] + timedelta(days=1)
            and ((day - runs[-1][0]).days < COINGECKO_CHUNK_DAYS)
        ):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


async def _update_coingecko(
    engine: Engine,
    cg: CoinGeckoPrices,
    days: Sequence[date],
    result: UpdateResult,
    reasons: dict[date, list[str]],
) -> None:
    for first, last in _runs(days):
        found: dict[str, dict[date, float]] = {}
        for currency in CURRENCIES:
            try:
                found[currency] = await cg.closes(first, last, currency)
            except (SourceError, PriceUnavailable) as exc:
                found[currency] = {}
                for d in days:
                    if first <= d <= last:
                        reasons.setdefault(d, []).append(f"{COINGECKO} {currency}: {exc}")
        good: list[DailyPrice] = []
        for d in days:
            if not first <= d <= last:
                continue
            values = {c: found[c].get(d) for c in CURRENCIES}
            if all(v is not None for v in values.values()):
                good.extend(DailyPrice(d, c, float(v), COINGECKO) for c, v in values.items() if v)
                reasons.pop(d, None)
            else:
                lacking = [c for c, v in values.items() if v is None]
                reasons.setdefault(d, []).append(
                    f"{COINGECKO}: no {'/'.join(lacking)} close in its answer"
                )
        if good:
            with engine.begin() as conn:
                written = store(conn, good, datetime.now(UTC))
            result.stored[COINGECKO] = result.stored.get(COINGECKO, 0) + written


def _record_failures(engine: Engine, result: UpdateResult) -> None:
    with engine.begin() as conn:
        kept = update_failures(conn)
        for day in _date_iter(result.start, result.end):
            kept.pop(day.isoformat(), None)
        for day, reason in result.failed.items():
            kept[day.isoformat()] = reason[:300]
        newest = dict(sorted(kept.items())[-MAX_KEPT_FAILURES:])
        upsert(
            conn,
            source_refreshes,
            [
                {
                    "source": REFRESH_SOURCE,
                    "refreshed_at": datetime.now(UTC),
                    "detail": json.dumps({"failed": newest}),
                }
            ],
            ["source"],
        )


def _date_iter(start: date, end: date) -> Iterable[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


# --- CSV import ------------------------------------------------------------------------------

_WIDE_COLUMNS = {
    "GBP": ("gbp", "price_gbp", "btc_gbp", "gbp_price"),
    "USD": ("usd", "price_usd", "btc_usd", "usd_price"),
}


@dataclass
class ImportResult:
    path: Path
    rows: int
    dates: int
    first: date | None
    last: date | None


def _parse_price(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise PriceInputError(f"{where}: price {text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise PriceInputError(f"{where}: price {text!r} must be a positive number")
    return value


def _parse_day(text: str, where: str, today: date) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise PriceInputError(f"{where}: date {text!r} is not YYYY-MM-DD") from None
    if day > today:
        raise PriceInputError(f"{where}: date {day} is in the future (allowed up to {today})")
    return day


def read_price_csv(path: Path, now: datetime | None = None) -> list[DailyPrice]:
    """Parse a price CSV; raises ``PriceInputError`` naming the line on the first bad value.

    Accepted layouts (header names are case-insensitive):

    * long: ``date,currency,price[,source]`` with currency GBP or USD;
    * wide: ``date`` plus any of ``gbp|price_gbp|btc_gbp`` and ``usd|price_usd|btc_usd``.

    Every price is 1 BTC in that currency on that date (the date's close). A (date, currency)
    given twice is an error.
    """
    today = today_utc(now)
    default_source = f"csv:{path.name}"[:64]
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise PriceInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        reader = csv.DictReader(handle)
        header = {name.strip().lower(): name for name in (reader.fieldnames or [])}
        if "date" not in header:
            raise PriceInputError(f"{path}: no 'date' column in the header {reader.fieldnames}")
        long_form = "currency" in header and "price" in header
        wide = {
            cur: next((header[n] for n in names if n in header), None)
            for cur, names in _WIDE_COLUMNS.items()
        }
        if not long_form and not any(wide.values()):
            raise PriceInputError(
                f"{path}: expected columns date,currency,price or date plus gbp/usd price columns"
            )
        out: list[DailyPrice] = []
        seen: set[tuple[date, str]] = set()
        for number, row in enumerate(reader, start=2):
            where = f"{path.name} line {number}"
            if not any((v or "").strip() for v in row.values()):
                continue
            day = _parse_day(row[header["date"]] or "", where, today)
            items: list[tuple[str, str, str]] = []
            if long_form:
                currency = (row[header["currency"]] or "").strip().upper()
                if currency not in CURRENCIES:
                    raise PriceInputError(
                        f"{where}: currency {currency!r} not allowed: {', '.join(CURRENCIES)}"
                    )
                source = (row.get(header.get("source", ""), "") or "").strip() or default_source
                items.append((currency, row[header["price"]] or "", source))
            else:
                for currency, column in wide.items():
                    if column is not None and (row[column] or "").strip():
                        items.append((currency, row[column] or "", default_source))
            for currency, text, source in items:
                key = (day, currency)
                if key in seen:
                    raise PriceInputError(f"{where}: {currency} price for {day} given twice")
                seen.add(key)
                out.append(
                    DailyPrice(day, currency, _parse_price(text.strip(), where), source[:64])
                )
    if not out:
        raise PriceInputError(f"{path}: no prices in the file")
    return out


def import_csv(engine: Engine, path: Path, now: datetime | None = None) -> ImportResult:
    """Validate the whole file, then store it in one transaction (replacing those dates)."""
    prices = read_price_csv(path, now)
    with engine.begin() as conn:
        store(conn, prices, datetime.now(UTC))
    days = sorted({p.price_date for p in prices})
    return ImportResult(path, len(prices), len(days), days[0], days[-1])
