"""Transaction fees for ``fees=actual``: the contract between the scenario and the fee history.

A fee source answers, for settlement periods ``(date, period)``, the average transaction fees
per block (BTC) in force during each: the block reward of the period is then subsidy + fees.
A period it has no data for is left out of the answer, and the scenario shows that period's
BTC as missing (its used energy as ``no_fee_data_mwh``): never filled, never zero.

The stored fee history (mempool.space per-block fees, issue 12 item 3) is another module's;
until it exists :func:`stored_fee_source` refuses, so ``--fees actual`` is a one-line error
instead of invented numbers. Its reader plugs in here, with this signature.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Protocol

import numpy as np
from sqlalchemy import Connection

from curtailcoin.economics.inputs import Floats, SitePeriods
from curtailcoin.pipeline.inputs import BadInput

PeriodKey = tuple[date, int]


class FeeSource(Protocol):
    """``(conn, periods) → {(date, period): average fees per block in BTC}``; missing = absent."""

    def __call__(
        self, conn: Connection, periods: Sequence[PeriodKey]
    ) -> Mapping[PeriodKey, float]: ...


class FeesUnavailable(BadInput):
    """``fees=actual`` asked for while no fee history is stored."""


def stored_fee_source(conn: Connection) -> FeeSource:
    """The reader of the stored fee history; none is stored yet (no fee table)."""
    raise FeesUnavailable(
        "fees 'actual' is not available: no transaction-fee history is stored yet; allowed: none"
    )


def fee_vector(conn: Connection, periods: SitePeriods, source: FeeSource) -> Floats:
    """Fees per block (BTC) of each of the site's periods, NaN where the source has none."""
    keys = [
        (periods.date_of(int(d)), int(p))
        for d, p in zip(periods.day.tolist(), periods.period.tolist(), strict=True)
    ]
    known = source(conn, keys)
    return np.array([known.get(k, np.nan) for k in keys], dtype=np.float64)
