"""Transaction fees for ``fees=actual``: the contract between the scenario and the fee history.

A fee source answers, for settlement periods ``(date, period)``, the average transaction fees
per block (BTC) in force during each: the block reward of the period is then subsidy + fees.
A period it has no data for is left out of the answer, and the scenario shows that period's
BTC as missing (its used energy as ``no_fee_data_mwh``): never filled, never zero.

The stored fee history is :mod:`curtailcoin.fees` (mempool.space per-block fees in
``block_fees``): a period takes the figure of the UTC day it starts in
(:func:`curtailcoin.fees.fee_btc_per_block_by_day`). While no fee history is stored at all,
:func:`stored_fee_source` refuses, so ``--fees actual`` is a one-line error instead of invented
numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Protocol

import numpy as np
from sqlalchemy import Connection, select

from curtailcoin.db.reference_tables import block_fees
from curtailcoin.economics.inputs import Floats, SitePeriods
from curtailcoin.fees import fee_btc_per_block_by_day
from curtailcoin.pipeline.inputs import BadInput
from curtailcoin.settlement import period_start_utc

PeriodKey = tuple[date, int]


class FeeSource(Protocol):
    """``(conn, periods) → {(date, period): average fees per block in BTC}``; missing = absent."""

    def __call__(
        self, conn: Connection, periods: Sequence[PeriodKey]
    ) -> Mapping[PeriodKey, float]: ...


class FeesUnavailable(BadInput):
    """``fees=actual`` asked for while no fee history is stored."""


def stored_fee_source(conn: Connection) -> FeeSource:
    """The reader of the stored fee history (refuses while ``block_fees`` is empty)."""
    if conn.execute(select(block_fees.c.fee_date).limit(1)).first() is None:
        raise FeesUnavailable(
            "fees 'actual' is not available: no transaction-fee history is stored "
            "(run `curtailcoin fees update` or `fees import`); allowed: none"
        )
    return _stored_fees


def _stored_fees(conn: Connection, periods: Sequence[PeriodKey]) -> Mapping[PeriodKey, float]:
    """Each period's fees per block: the figure of the UTC day its first instant falls in."""
    if not periods:
        return {}
    utc_day = {key: period_start_utc(*key).date() for key in periods}
    by_day = fee_btc_per_block_by_day(conn, min(utc_day.values()), max(utc_day.values()))
    return {key: by_day[day] for key, day in utc_day.items() if day in by_day}


def fee_vector(conn: Connection, periods: SitePeriods, source: FeeSource) -> Floats:
    """Fees per block (BTC) of each of the site's periods, NaN where the source has none."""
    keys = [
        (periods.date_of(int(d)), int(p))
        for d, p in zip(periods.day.tolist(), periods.period.tolist(), strict=True)
    ]
    known = source(conn, keys)
    return np.array([known.get(k, np.nan) for k in keys], dtype=np.float64)
