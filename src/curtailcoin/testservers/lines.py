"""One generated settlement-stack line and its 23-field ``SettlementStackResponse`` record.

The fields derived from ``volume`` (``dmatAdjustedVolume`` … ``tlmAdjustedCost``) follow a
plausible pattern (de minimis lines below 0.1 MWh have ``dmatAdjustedVolume == 0`` and null
later adjustments, as in the real sample), not Elexon's settlement algorithm.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

#: The 23 fields of ``SettlementStackResponse``, in Elexon's order.
STACK_FIELDS: tuple[str, ...] = (
    "settlementDate",
    "settlementPeriod",
    "startTime",
    "createdDateTime",
    "sequenceNumber",
    "id",
    "acceptanceId",
    "bidOfferPairId",
    "cadlFlag",
    "soFlag",
    "storProviderFlag",
    "repricedIndicator",
    "reserveScarcityPrice",
    "originalPrice",
    "volume",
    "dmatAdjustedVolume",
    "arbitrageAdjustedVolume",
    "nivAdjustedVolume",
    "parAdjustedVolume",
    "finalPrice",
    "transmissionLossMultiplier",
    "tlmAdjustedVolume",
    "tlmAdjustedCost",
)


def iso_z(instant: datetime) -> str:
    """``2025-01-17T09:15:00Z``."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StackLine:
    """One generated stack line (the 23-field dict is built by :meth:`record`).

    ``volume`` is MWh (negative for bids), ``price`` the ``originalPrice`` £/MWh.
    """

    __slots__ = (
        "acc",
        "cadl",
        "final",
        "niv_tagged",
        "order",
        "pair",
        "price",
        "repriced",
        "rsp",
        "so",
        "stor",
        "tlm",
        "unit",
        "volume",
    )

    def __init__(
        self,
        *,
        unit: str | None,
        acc: int | None,
        pair: int | None,
        so: bool,
        cadl: bool | None,
        stor: bool | None,
        repriced: bool,
        rsp: float | None,
        price: float | None,
        final: float | None,
        volume: float,
        tlm: float | None,
        niv_tagged: bool,
        order: int,
    ) -> None:
        self.unit = unit
        self.acc = acc
        self.pair = pair
        self.so = so
        self.cadl = cadl
        self.stor = stor
        self.repriced = repriced
        self.rsp = rsp
        self.price = price
        self.final = final
        self.volume = volume
        self.tlm = tlm
        self.niv_tagged = niv_tagged
        self.order = order

    def copy(self) -> StackLine:
        new = StackLine.__new__(StackLine)
        for name in StackLine.__slots__:
            setattr(new, name, getattr(self, name))
        return new

    def sort_key(self) -> tuple[float, int]:
        # The bid stack is ranked from the highest price down; null prices last.
        return (-self.price if self.price is not None else math.inf, self.order)

    def record(
        self, settlement_date: str, period: int, start: str, created: str, sequence: int
    ) -> dict[str, Any]:
        v = self.volume
        dmat = 0.0 if abs(v) < 0.1 else v
        arb = None if dmat == 0.0 else dmat
        niv = None if arb is None else (0.0 if self.niv_tagged else arb)
        par = None if niv is None or niv == 0.0 else niv
        tlm_vol = None if par is None or self.tlm is None else par * self.tlm
        tlm_cost = None if tlm_vol is None or self.final is None else tlm_vol * self.final
        return {
            "settlementDate": settlement_date,
            "settlementPeriod": period,
            "startTime": start,
            "createdDateTime": created,
            "sequenceNumber": sequence,
            "id": self.unit,
            "acceptanceId": self.acc,
            "bidOfferPairId": self.pair,
            "cadlFlag": self.cadl,
            "soFlag": self.so,
            "storProviderFlag": self.stor,
            "repricedIndicator": self.repriced,
            "reserveScarcityPrice": self.rsp,
            "originalPrice": self.price,
            "volume": v,
            "dmatAdjustedVolume": dmat,
            "arbitrageAdjustedVolume": arb,
            "nivAdjustedVolume": niv,
            "parAdjustedVolume": par,
            "finalPrice": self.final,
            "transmissionLossMultiplier": self.tlm,
            "tlmAdjustedVolume": tlm_vol,
            "tlmAdjustedCost": tlm_cost,
        }
