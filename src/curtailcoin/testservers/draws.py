"""Random draws of single stack lines: a wind bid, a non-wind bid, an offer, a null-id line, and
the split of a line in two.

Each draw consumes its ``Random`` in a fixed order; the generated data is only reproducible as long
as that order stays exactly as it is.
"""

from __future__ import annotations

import math
from datetime import date
from random import Random

from curtailcoin.testservers.lines import StackLine
from curtailcoin.testservers.units import UnitInfo

DAY0 = date(2015, 1, 1)  # origin of the acceptance-number day index
MAX_SLOT = 15  # acceptance slots per unit and period: 0..15


class PeriodContext:
    """Per-period bookkeeping: acceptance slots per unit, line order counter."""

    def __init__(self, d: date, period: int) -> None:
        self.day_index = (d - DAY0).days
        self.period = period
        self.next_slot: dict[str, int] = {}
        self.order = 0

    def next_order(self) -> int:
        self.order += 1
        return self.order

    def acceptance_origin(self, unit: UnitInfo) -> int:
        """The acceptance number of the unit's slot 0 in this period."""
        return unit.acceptance_base + self.day_index * 1000 + self.period * 16

    def acceptance(self, unit: UnitInfo, rng: Random, *, first_slot: int = 0) -> int | None:
        slot = max(self.next_slot.get(unit.bm_unit, 0), first_slot)
        if slot > MAX_SLOT:
            return None
        self.next_slot[unit.bm_unit] = slot + 1
        period = self.period
        if slot == 0 and period > 1 and rng.random() < 0.2:
            period -= 1  # an acceptance that started in the previous period
        return unit.acceptance_base + self.day_index * 1000 + period * 16 + slot


def loguniform(rng: Random, lo: float, hi: float) -> float:
    if hi <= lo:
        return lo
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def volume_mwh(rng: Random, unit: UnitInfo, lo: float, hi_cap: float) -> float:
    """A positive MWh value shaped like Elexon's: MW level × minutes / 60."""
    hi = max(lo, min(hi_cap, unit.capacity_mw * 0.5))
    target = loguniform(rng, lo, hi)
    minutes = 30 if rng.random() < 0.55 else rng.randint(2, 29)
    mw = min(round(target * 60.0 / minutes, 3), unit.capacity_mw)
    return min(max(mw * minutes / 60.0, lo), hi_cap)


def wind_bid(
    rng: Random,
    ctx: PeriodContext,
    unit: UnitInfo,
    *,
    so: bool = True,
    sign: int = -1,
    first_slot: int = 0,
) -> StackLine | None:
    """A wind unit's bid: a curtailment (``sign`` −1), a positive (+1) or a zero-volume line."""
    acc = ctx.acceptance(unit, rng, first_slot=first_slot)
    if acc is None:
        return None
    if sign < 0:
        volume = -volume_mwh(rng, unit, 0.1, 150.0)
    elif sign > 0:
        volume = volume_mwh(rng, unit, 0.1, 10.0)
    else:
        volume = 0.0
    price = round(unit.bid_price + rng.gauss(0.0, 1.0), 2)
    price = min(price, -1.0) if unit.bid_price < 0 else max(price, 0.5)
    repriced = rng.random() < 0.03
    return StackLine(
        unit=unit.bm_unit,
        acc=acc,
        pair=-1 if rng.random() < 0.9 else -2,
        so=so,
        cadl=rng.random() < 0.04,
        stor=False,
        repriced=repriced,
        rsp=0.0,
        price=price,
        final=round(rng.uniform(30.0, 110.0), 2) if repriced else price,
        volume=volume,
        tlm=unit.tlm,
        niv_tagged=rng.random() < 0.6,
        order=ctx.next_order(),
    )


def nonwind_bid(
    rng: Random, ctx: PeriodContext, unit: UnitInfo, *, first_slot: int = 0
) -> StackLine | None:
    acc = ctx.acceptance(unit, rng, first_slot=first_slot)
    if acc is None:
        return None
    if rng.random() < 0.04:  # de minimis lines like -0.004166… MWh
        volume = -(rng.choice((0.25, 0.5, 1.0, 2.0)) * rng.randint(1, 5) / 60.0)
    else:
        volume = -volume_mwh(rng, unit, 0.5, 300.0)
    x = rng.random()
    pair = -1 if x < 0.7 else -2 if x < 0.88 else 1 if x < 0.96 else 2
    price = round(unit.bid_price + rng.gauss(0.0, 3.0), 2)
    repriced = rng.random() < 0.02
    return StackLine(
        unit=unit.bm_unit,
        acc=acc,
        pair=pair,
        so=rng.random() < 0.45,
        cadl=rng.random() < 0.12,
        stor=rng.random() < 0.02,
        repriced=repriced,
        rsp=0.0,
        price=price,
        final=round(rng.uniform(20.0, 120.0), 2) if repriced else price,
        volume=volume,
        tlm=unit.tlm,
        niv_tagged=rng.random() < 0.6,
        order=ctx.next_order(),
    )


def offer(
    rng: Random, ctx: PeriodContext, unit: UnitInfo, *, first_slot: int = 0
) -> StackLine | None:
    acc = ctx.acceptance(unit, rng, first_slot=first_slot)
    if acc is None:
        return None
    price = round(unit.offer_price + rng.gauss(0.0, 4.0), 2)
    return StackLine(
        unit=unit.bm_unit,
        acc=acc,
        pair=1 if rng.random() < 0.75 else 2,
        so=rng.random() < 0.5,
        cadl=rng.random() < 0.1,
        stor=rng.random() < 0.03,
        repriced=False,
        rsp=0.0,
        price=price,
        final=price,
        volume=volume_mwh(rng, unit, 0.5, 300.0),
        tlm=unit.tlm,
        niv_tagged=rng.random() < 0.5,
        order=ctx.next_order(),
    )


def null_id_line(rng: Random, ctx: PeriodContext) -> StackLine:
    """A balancing-services adjustment line: no BM unit, no acceptance."""
    price = round(rng.uniform(20.0, 120.0), 2)
    return StackLine(
        unit=None,
        acc=None,
        pair=None,
        so=rng.random() < 0.5,
        cadl=None,
        stor=None,
        repriced=False,
        rsp=None,
        price=price,
        final=price,
        volume=-loguniform(rng, 1.0, 200.0),
        tlm=None,
        niv_tagged=rng.random() < 0.5,
        order=ctx.next_order(),
    )


def split_lines(
    lines: list[StackLine], rng: Random, ctx: PeriodContext, count: int, *, wind: bool
) -> None:
    """Split ``count`` lines in two: same acceptance and pair, different sequenceNumber."""
    candidates = [ln for ln in lines if ln.unit is not None and abs(ln.volume) >= 0.5]
    for _ in range(count):
        if not candidates:
            return
        original = rng.choice(candidates)
        part = original.copy()
        fraction = rng.uniform(0.2, 0.8)
        part.volume = original.volume * (1.0 - fraction)
        original.volume = original.volume * fraction
        part.order = ctx.next_order()
        if not wind and rng.random() < 0.3:
            part.so = not original.so
        lines.append(part)
        if abs(original.volume) < 0.5:
            candidates.remove(original)
