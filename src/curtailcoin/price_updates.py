"""Updating the stored BTC prices from the live sources (mempool.space, then CoinGecko).

Each date's price is its UTC close; today's row holds the live price until the day closes.
A date neither source could price stays absent, with its reason kept in ``source_refreshes``
(``prices.update_failures``). Storage and the conventions are in ``curtailcoin.prices``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, Engine, select

from curtailcoin.config import Settings
from curtailcoin.db.reference_tables import btc_prices, source_refreshes
from curtailcoin.db.upsert import upsert
from curtailcoin.prices import (
    REFRESH_SOURCE,
    PriceInputError,
    store,
    stored_prices,
    today_utc,
    update_failures,
)
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

MAX_KEPT_FAILURES = 400
COINGECKO_CHUNK_DAYS = 360
DEFAULT_LOOKBACK_DAYS = 30


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
    offline = [c.client.unreachable for c in (mp, cg) if c.client.stats.requests]
    first = offline[0] if offline and all(offline) else None
    if first is not None and not result.stored:
        # No source could be reached at all (offline): the one line of an unreachable host
        raise first
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


async def price_written_dates(
    engine: Engine, settings: Settings, start: date, end: date, *, now: datetime | None = None
) -> UpdateResult:
    """The prices of the dates a reingest, backfill or worker wrote: never raises for a source.

    Dates already priced are skipped (no request); the current UTC day gets the live price and a
    settlement date ahead of UTC (just after midnight in summer) none yet. A source that fails
    or cannot be reached leaves the dates unpriced with the reason kept, as an update does, so
    the API shows them as missing with why; the data written stays written.
    """
    now = now or datetime.now(UTC)
    last = min(end, today_utc(now))
    result = UpdateResult(start, end)
    if start > last:
        return result
    try:
        return await update_prices(engine, settings, start, last, now=now)
    except (SourceError, PriceInputError, OSError) as exc:
        result.end = last
        result.failed = {d: f"price update failed: {exc}" for d in _date_iter(start, last)}
        _record_failures(engine, result)
        return result
