"""Importing BTC prices from a CSV file (long or wide layout), validated before anything is
written."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine

from curtailcoin.prices import PriceInputError, store, today_utc
from curtailcoin.sources.prices import CURRENCIES, DailyPrice

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


@dataclass(frozen=True)
class _Layout:
    """Where a price CSV keeps its columns: the header's names by lower-case name, and either
    the long form (currency, price) or the wide columns of each currency."""

    header: dict[str, str]
    long_form: bool
    wide: dict[str, str | None]


def _layout(path: Path, fieldnames: Sequence[str] | None) -> _Layout:
    header = {name.strip().lower(): name for name in (fieldnames or [])}
    if "date" not in header:
        raise PriceInputError(f"{path}: no 'date' column in the header {fieldnames}")
    long_form = "currency" in header and "price" in header
    wide = {
        cur: next((header[n] for n in names if n in header), None)
        for cur, names in _WIDE_COLUMNS.items()
    }
    if not long_form and not any(wide.values()):
        raise PriceInputError(
            f"{path}: expected columns date,currency,price or date plus gbp/usd price columns"
        )
    return _Layout(header, long_form, wide)


def _row_items(
    layout: _Layout, row: dict[str, str | None], where: str, default_source: str
) -> list[tuple[str, str, str]]:
    """(currency, price text, source) of each price on one line."""
    header = layout.header
    if not layout.long_form:
        return [
            (currency, row[column] or "", default_source)
            for currency, column in layout.wide.items()
            if column is not None and (row[column] or "").strip()
        ]
    currency = (row[header["currency"]] or "").strip().upper()
    if currency not in CURRENCIES:
        raise PriceInputError(
            f"{where}: currency {currency!r} not allowed: {', '.join(CURRENCIES)}"
        )
    source = (row.get(header.get("source", ""), "") or "").strip() or default_source
    return [(currency, row[header["price"]] or "", source)]


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
        layout = _layout(path, reader.fieldnames)
        out: list[DailyPrice] = []
        seen: set[tuple[date, str]] = set()
        for number, row in enumerate(reader, start=2):
            where = f"{path.name} line {number}"
            if not any((v or "").strip() for v in row.values()):
                continue
            day = _parse_day(row[layout.header["date"]] or "", where, today)
            for currency, text, source in _row_items(layout, row, where, default_source):
                if (day, currency) in seen:
                    raise PriceInputError(f"{where}: {currency} price for {day} given twice")
                seen.add((day, currency))
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
