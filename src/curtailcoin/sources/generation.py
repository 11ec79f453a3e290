"""Elexon's wind generation: national AGWS per period and each BM unit's metered B1610.

Two stream-style reads per date, never one per period: the national series is one request
``/generation/actual/per-type/wind-and-solar`` for the date's periods (AGWS/B1630: MW averaged
over the half hour, so ``MWh = MW × 0.5``), the metered generation one request
``/datasets/B1610/stream`` per batch of BM units (MWh already). Parsing is strict like the
stack's (:mod:`.elexon_schema`): a row of another date, an unknown ``psrType``, a duplicate, a
BM unit that was not asked for or a non-finite quantity is an ``ElexonSchemaError`` naming the
value, never a row stored as zero.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from curtailcoin.settlement import periods_in_day
from curtailcoin.sources.elexon_schema import (
    INT32,
    ElexonSchemaError,
    data_array,
    opt_datetime,
    req_date,
    req_float,
    req_int,
)
from curtailcoin.sources.http import JsonHttpClient

__all__ = [
    "NATIONAL_PATH",
    "OFFSHORE",
    "ONSHORE",
    "UNIT_BATCH_SIZE",
    "UNIT_PATH",
    "NationalWind",
    "fetch_national_wind",
    "fetch_unit_generation",
    "parse_unit_generation",
    "parse_wind_and_solar",
]

NATIONAL_PATH = "/generation/actual/per-type/wind-and-solar"
UNIT_PATH = "/datasets/B1610/stream"
ONSHORE = "Wind Onshore"
OFFSHORE = "Wind Offshore"
SOLAR = "Solar"
PSR_TYPES = (ONSHORE, OFFSHORE, SOLAR)
#: BM units per B1610 request: ~60 ids keep the query string near 1 kB (a day of a batch is
#: ~3,000 rows); the ~250 wind units are 5 requests a day.
UNIT_BATCH_SIZE = 60
#: MWh per MW over one settlement period (every period is 30 minutes)
PERIOD_HOURS = 0.5


@dataclass
class NationalWind:
    """A date's AGWS wind figures: period → (onshore MWh, offshore MWh), a side ``None`` when
    the answer had no row for it; the latest ``publishTime`` among the rows."""

    settlement_date: date
    periods: dict[int, tuple[float | None, float | None]] = field(default_factory=dict)
    published_at: datetime | None = None


def _period(raw: dict[str, Any], day: date, context: str) -> int:
    got = req_date(raw, "settlementDate", context)
    if got != day:
        raise ElexonSchemaError(
            context,
            f"field 'settlementDate' is {got.isoformat()!r}, expected {day.isoformat()!r}",
            cause="a row of another settlement date",
        )
    count = periods_in_day(day)
    period = req_int(raw, "settlementPeriod", context, INT32)
    if not 1 <= period <= count:
        raise ElexonSchemaError(
            context,
            f"field 'settlementPeriod' is {period}, expected 1..{count}",
            cause="a settlement period outside the day",
        )
    return period


def parse_wind_and_solar(payload: Any, day: date) -> NationalWind:
    """The date's onshore and offshore wind (MWh) from a wind-and-solar answer (solar dropped)."""
    hint = f"wind-and-solar {day.isoformat()}"
    out = NationalWind(day)
    seen: set[tuple[int, str]] = set()
    for index, raw in enumerate(data_array(payload, hint)):
        context = f"{hint} item {index}"
        if not isinstance(raw, dict):
            raise ElexonSchemaError(context, "item is not an object")
        period = _period(raw, day, context)
        psr = raw.get("psrType")
        if psr not in PSR_TYPES:
            raise ElexonSchemaError(
                context,
                f"field 'psrType' is {psr!r}, expected one of {', '.join(PSR_TYPES)}",
                cause=f"an unknown psrType {psr!r}",
            )
        if (period, psr) in seen:
            raise ElexonSchemaError(
                context, f"a second {psr} row for period {period}", cause="a duplicate row"
            )
        seen.add((period, psr))
        quantity = req_float(raw, "quantity", context)
        if quantity < 0:
            raise ElexonSchemaError(
                context, f"field 'quantity' is {quantity!r}, expected a number ≥ 0 (MW)"
            )
        published = opt_datetime(raw, "publishTime", context)
        if psr == SOLAR:
            continue
        if published is not None and (out.published_at is None or published > out.published_at):
            out.published_at = published
        onshore, offshore = out.periods.get(period, (None, None))
        mwh = quantity * PERIOD_HOURS
        out.periods[period] = (mwh, offshore) if psr == ONSHORE else (onshore, mwh)
    return out


_DOUBLE_MAX = 10**308  # an integer beyond: the strict path decides


def _plain_unit_row(
    raw: Any, wanted: set[str], day_text: str, count: int
) -> tuple[str, int] | None:
    """(unit, period) of a B1610 row that passes every check of the strict reading below (a
    unit asked for, the date, a period of the day, a finite quantity); None: read it strictly
    (which names what is wrong)."""
    if type(raw) is not dict:
        return None
    unit, when = raw.get("bmUnit"), raw.get("settlementDate")
    period, quantity = raw.get("settlementPeriod"), raw.get("quantity")
    if not (isinstance(unit, str) and isinstance(period, int)):
        return None
    plain = (
        type(unit) is str
        and unit in wanted
        and type(when) is str
        and when[:10] == day_text
        and type(period) is int
        and 1 <= period <= count
        and (
            (type(quantity) is float and quantity - quantity == 0.0)
            or (type(quantity) is int and -_DOUBLE_MAX <= quantity <= _DOUBLE_MAX)
        )
    )
    return (unit, period) if plain else None


def parse_unit_generation(
    payload: Any, day: date, units: Sequence[str]
) -> dict[tuple[str, int], float]:
    """(BM unit, period) → metered MWh from a B1610 stream answer (a bare array)."""
    hint = f"B1610 {day.isoformat()}"
    if not isinstance(payload, list):
        raise ElexonSchemaError(hint, f"expected an array, got {type(payload).__name__}")
    wanted = set(units)
    out: dict[tuple[str, int], float] = {}
    day_text, count = day.isoformat(), periods_in_day(day)
    for index, raw in enumerate(payload):
        key = _plain_unit_row(raw, wanted, day_text, count)
        if key is not None and key not in out:  # the common row, checked in one expression
            out[key] = float(raw["quantity"])
            continue
        context = f"{hint} item {index}"
        if not isinstance(raw, dict):
            raise ElexonSchemaError(context, "item is not an object")
        unit = raw.get("bmUnit")
        if not isinstance(unit, str) or unit not in wanted:
            raise ElexonSchemaError(
                context,
                f"field 'bmUnit' is {unit!r}, expected one of the {len(wanted)} units asked for",
                cause="a BM unit that was not asked for",
            )
        period = _period(raw, day, context)
        if (unit, period) in out:
            raise ElexonSchemaError(
                context, f"a second row for {unit} period {period}", cause="a duplicate row"
            )
        out[(unit, period)] = req_float(raw, "quantity", context)
    return out


async def fetch_national_wind(client: JsonHttpClient, day: date) -> NationalWind:
    """One request: the date's periods of the wind-and-solar series."""
    payload = await client.get_json(
        NATIONAL_PATH,
        {
            "from": day.isoformat(),
            "to": day.isoformat(),
            "settlementPeriodFrom": 1,
            "settlementPeriodTo": periods_in_day(day),
        },
    )
    return parse_wind_and_solar(payload, day)


async def fetch_unit_generation(
    client: JsonHttpClient,
    day: date,
    units: Sequence[str],
    batch_size: int = UNIT_BATCH_SIZE,
) -> dict[tuple[str, int], float]:
    """One request per batch of ``units``: their metered generation over the date."""
    if batch_size < 1:
        raise ValueError(f"batch size must be ≥ 1, not {batch_size}")
    ordered = sorted(set(units))
    day_text = day.isoformat()

    async def one(batch: list[str]) -> dict[tuple[str, int], float]:
        payload = await client.get_json(
            UNIT_PATH,
            {
                "from": day_text,
                "to": day_text,
                "settlementPeriodFrom": 1,
                "settlementPeriodTo": periods_in_day(day),
                "bmUnit": batch,
            },
        )
        return parse_unit_generation(payload, day, batch)

    batches = [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]
    out: dict[tuple[str, int], float] = {}
    for part in await asyncio.gather(*(one(b) for b in batches)):
        out.update(part)
    return out
