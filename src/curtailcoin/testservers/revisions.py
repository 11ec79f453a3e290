"""Later settlement runs of a period: some volumes and prices change, a few lines go, a few come.

A revision is drawn from the previous run's lines with its own seeded ``Random``; the headline
always changes (when the period has a headline line), so a test can see that a re-fetch matters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from random import Random

from curtailcoin.testservers.draws import (
    MAX_SLOT,
    PeriodContext,
    nonwind_bid,
    offer,
    wind_bid,
)
from curtailcoin.testservers.lines import StackLine
from curtailcoin.testservers.units import UnitInfo

REVISION_FIRST_SLOT = 8  # new acceptances of a revision start at this slot


@dataclass(frozen=True)
class RevisionInputs:
    """What a revision draws from besides the previous run: the world's seed and units."""

    seed: int
    units: Mapping[str, UnitInfo]
    active_wind: Sequence[UnitInfo]  # the day's curtailed wind units
    nonwind_units: Sequence[UnitInfo]


def is_headline(line: StackLine, units: Mapping[str, UnitInfo]) -> bool:
    """A wind unit's SO-flagged bid with a negative volume: a curtailment record."""
    if line.unit is None or not line.so or line.volume >= 0:
        return False
    unit = units.get(line.unit)
    return unit is not None and unit.is_wind


def revise(
    prev: list[StackLine],
    d: date,
    period: int,
    side: str,
    kind: str,
    revision: int,
    inputs: RevisionInputs,
) -> list[StackLine]:
    """Revision ``revision`` of the period's lines, from revision ``revision - 1`` (``prev``)."""
    rng = Random(f"{inputs.seed}|rev|{side}|{d.isoformat()}|{period}|{kind}|{revision}")
    if kind == "empty":
        return []
    ctx = PeriodContext(d, period)
    ctx.order = max((ln.order for ln in prev), default=0)
    out, headline_changed = _rerun(prev, rng, inputs.units)
    if not headline_changed:
        _bump_headline(out, inputs.units)
    _reserve_slots(out, ctx, inputs.units)
    out.extend(_new_lines(len(prev), rng, ctx, side, kind, inputs))
    out.sort(key=StackLine.sort_key)
    return out


def _rerun(
    prev: list[StackLine], rng: Random, units: Mapping[str, UnitInfo]
) -> tuple[list[StackLine], bool]:
    """The previous lines, each dropped, changed or kept; and whether a headline line changed."""
    out: list[StackLine] = []
    headline_changed = False
    for ln in prev:
        x = rng.random()
        if x < 0.03 and len(prev) > 1:
            headline_changed = headline_changed or is_headline(ln, units)
            continue
        new, changed = _edited(ln, x, rng)
        headline_changed = headline_changed or (changed and is_headline(ln, units))
        out.append(new)
    return out, headline_changed


def _edited(ln: StackLine, x: float, rng: Random) -> tuple[StackLine, bool]:
    """A copy of the line with its volume (x < 0.18) or price (x < 0.23) changed, if it has one."""
    new = ln.copy()
    if x < 0.18 and new.volume != 0.0:
        new.volume = ln.volume * rng.uniform(0.7, 1.3)
        return new, True
    if x < 0.23 and new.price is not None:
        new.price = round(new.price + rng.uniform(-3.0, 3.0), 2)
        if not new.repriced:
            new.final = new.price
        return new, True
    return new, False


def _bump_headline(lines: list[StackLine], units: Mapping[str, UnitInfo]) -> None:
    for line in lines:
        if is_headline(line, units):
            line.volume *= 1.1
            return


def _reserve_slots(
    lines: list[StackLine], ctx: PeriodContext, units: Mapping[str, UnitInfo]
) -> None:
    """Slots above those of the first run, so new acceptances never collide with old ones."""
    for ln in lines:
        unit = units.get(ln.unit) if ln.unit is not None else None
        if unit is None or ln.acc is None:
            continue
        slot = ln.acc - ctx.acceptance_origin(unit)
        floor = slot + 1 if 0 <= slot <= MAX_SLOT else REVISION_FIRST_SLOT
        ctx.next_slot[unit.bm_unit] = max(
            ctx.next_slot.get(unit.bm_unit, REVISION_FIRST_SLOT), floor
        )


def _new_lines(
    n_prev: int, rng: Random, ctx: PeriodContext, side: str, kind: str, inputs: RevisionInputs
) -> list[StackLine]:
    """The lines a revision adds: wind bids on light and heavy days, else non-wind bids/offers."""
    active = inputs.active_wind
    busy = kind in ("heavy", "light")
    n_add = 1 + n_prev // 50 if busy else rng.randint(0, 1)
    added: list[StackLine] = []
    for _ in range(n_add):
        first = REVISION_FIRST_SLOT
        if side == "bid" and active and busy:
            line = wind_bid(rng, ctx, rng.choice(active), first_slot=first)
        elif side == "bid":
            line = nonwind_bid(rng, ctx, rng.choice(inputs.nonwind_units), first_slot=first)
        else:
            line = offer(rng, ctx, rng.choice(inputs.nonwind_units), first_slot=first)
        if line is not None:
            added.append(line)
    return added
