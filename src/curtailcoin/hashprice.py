"""Hashprice per UTC day from the stored data: BTC and £ per TH/s per day, subsidy + fees.

For a day the difficulty and subsidy are time-weighted exactly as :mod:`curtailcoin.network`
weights them over a settlement period: ``Σ_i w_i × hashprice(D_i, R_i, F)`` over the pieces
``i`` into which epoch starts and halvings split the day (``w_i`` the fraction of the day), with
``F`` the day's fees per block from :func:`curtailcoin.fees.fee_btc_per_block_by_day`. The £
figure uses the day's stored BTC/GBP price (its UTC close). Whatever is missing — the day's
difficulty (pending), its fees, its price — leaves that figure missing, with the reason; it is
never filled in. The subsidy-only figure is given beside it for comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection

from curtailcoin.fees import fee_btc_per_block_by_day
from curtailcoin.mining import hashprice_btc_per_th_day
from curtailcoin.prices import stored_prices
from curtailcoin.reference import load_timeline

MAX_DAYS = 3_660
"""The longest range one call computes (ten years)."""


@dataclass(frozen=True)
class DayHashprice:
    """One UTC day; every ``None`` figure is missing, and ``missing`` says why."""

    day: date
    difficulty: float | None
    block_subsidy_btc: float | None
    fees_btc_per_block: float | None
    subsidy_hashprice_btc_per_th_day: float | None
    hashprice_btc_per_th_day: float | None
    price_gbp: float | None
    hashprice_gbp_per_th_day: float | None
    missing: tuple[str, ...]


def check_range(start: date, end: date) -> None:
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    if (end - start).days + 1 > MAX_DAYS:
        raise ValueError(f"range {start} .. {end} is longer than {MAX_DAYS} days")


def hashprice_by_day(conn: Connection, start: date, end: date) -> list[DayHashprice]:
    """Hashprice of each UTC day from ``start`` to ``end`` inclusive (see the module docstring).

    The database must hold the reference data (``pipeline.prepare_database``).
    """
    check_range(start, end)
    timeline = load_timeline(conn)
    fees = fee_btc_per_block_by_day(conn, start, end)
    prices = stored_prices(conn, start, end, ["GBP"])
    out: list[DayHashprice] = []
    day = start
    while day <= end:
        begin = datetime.combine(day, time(0), tzinfo=UTC)
        conditions = timeline.conditions(begin, begin + timedelta(days=1))
        fee = fees.get(day)
        price = prices.get((day, "GBP"))
        missing: list[str] = []
        subsidy_only = with_fees = None
        if conditions.is_pending:
            missing.append(f"difficulty pending: {conditions.pending_reason}")
        else:
            subsidy_only = math.fsum(
                s.weight * hashprice_btc_per_th_day(s.difficulty, s.block_subsidy_btc, 0.0)
                for s in conditions.segments
            )
        if fee is None:
            missing.append(f"no fee data stored for {day}: run `curtailcoin fees update`")
        elif not conditions.is_pending:
            with_fees = math.fsum(
                s.weight * hashprice_btc_per_th_day(s.difficulty, s.block_subsidy_btc, fee)
                for s in conditions.segments
            )
        if price is None:
            missing.append(f"no BTC/GBP price stored for {day}: run `curtailcoin prices update`")
        out.append(
            DayHashprice(
                day=day,
                difficulty=conditions.difficulty,
                block_subsidy_btc=conditions.block_subsidy_btc,
                fees_btc_per_block=fee,
                subsidy_hashprice_btc_per_th_day=subsidy_only,
                hashprice_btc_per_th_day=with_fees,
                price_gbp=None if price is None else price.price,
                hashprice_gbp_per_th_day=(
                    None if with_fees is None or price is None else with_fees * price.price
                ),
                missing=tuple(missing),
            )
        )
        day += timedelta(days=1)
    return out
