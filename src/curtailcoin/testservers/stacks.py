"""Deterministic, realistic Elexon settlement stacks (ISPSTACK) for any date and period.

:class:`StackGenerator` draws a period's bid/offer stack from ``(seed, date, period, day kind,
revision)`` and serves it as Elexon's records and as acceptance volumes (BOAV). Everything is a
pure function of the seed and the arguments (``random.Random`` seeded with strings, which is
stable across processes and Python versions); results are cached, not stored.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from random import Random
from typing import Any, Literal

from curtailcoin.settlement import period_start_utc, periods_in_day
from curtailcoin.testservers.acceptances import acceptance_items
from curtailcoin.testservers.draws import (
    PeriodContext,
    nonwind_bid,
    null_id_line,
    offer,
    split_lines,
    wind_bid,
)
from curtailcoin.testservers.lines import StackLine, iso_z
from curtailcoin.testservers.revisions import RevisionInputs, revise
from curtailcoin.testservers.units import UnitInfo, build_units, load_bmunits_snapshot, make_unit

DayKind = Literal["calm", "light", "heavy", "empty"]
DAY_KINDS: tuple[str, ...] = ("calm", "light", "heavy", "empty")
Side = Literal["bid", "offer"]
SIDES: tuple[str, ...] = ("bid", "offer")


@dataclass(frozen=True)
class _DayProfile:
    active_wind: tuple[UnitInfo, ...]
    calm_counts: Mapping[int, int]


class StackGenerator:
    """Settlement stacks for any date and period, deterministic in ``seed``.

    Day kinds: ``heavy`` (≈7,000 headline lines a day: 120–170 wind, SO-flagged,
    negative-volume lines per period over 150–200 wind units), ``light`` (a few hundred),
    ``calm`` (0–5 for the whole day), ``empty`` (no line at all, bid or offer).
    """

    CACHE_SIZE = 512

    def __init__(self, seed: int = 1, bm_units: Sequence[Mapping[str, Any]] | None = None) -> None:
        self.seed = seed
        refs = list(bm_units) if bm_units is not None else load_bmunits_snapshot()
        self._lock = threading.RLock()
        units = build_units(refs, seed)
        self._units: dict[str, UnitInfo] = dict(units.by_id)
        self.wind_units: tuple[UnitInfo, ...] = units.wind
        self.nonwind_units: tuple[UnitInfo, ...] = units.nonwind
        self._added_wind: list[tuple[UnitInfo, date | None]] = []
        self._version = 0
        self._cache: OrderedDict[tuple[Any, ...], list[StackLine]] = OrderedDict()
        self._profiles: OrderedDict[tuple[date, str], _DayProfile] = OrderedDict()

    # -- units -----------------------------------------------------------------------------

    def unit(self, uid: str) -> UnitInfo | None:
        with self._lock:
            return self._units.get(uid)

    def add_wind_unit(self, ref: Mapping[str, Any], since: date | None = None) -> UnitInfo:
        """Give a (new) wind unit curtailment lines on light and heavy days from ``since`` on."""
        unit = make_unit({**ref, "fuelType": "WIND"}, self.seed)
        with self._lock:
            self._units[unit.bm_unit] = unit
            self._added_wind.append((unit, since))
            self._version += 1
            self._cache.clear()
        return unit

    # -- days ------------------------------------------------------------------------------

    def natural_day_kind(self, d: date) -> DayKind:
        """The kind a date has unless forced: 25% calm, 40% light, 35% heavy."""
        x = Random(f"{self.seed}|kind|{d.isoformat()}").random()
        if x < 0.25:
            return "calm"
        if x < 0.65:
            return "light"
        return "heavy"

    def _profile(self, d: date, kind: str) -> _DayProfile:
        key = (d, kind)
        with self._lock:
            found = self._profiles.get(key)
            if found is not None:
                return found
        rng = Random(f"{self.seed}|day|{d.isoformat()}|{kind}")
        pool = list(self.wind_units)
        calm: dict[int, int] = {}
        if kind == "heavy":
            k = rng.randint(min(150, len(pool)), min(200, len(pool)))
        elif kind == "light":
            k = rng.randint(min(20, len(pool)), min(60, len(pool)))
        elif kind == "calm":
            k = rng.randint(min(1, len(pool)), min(4, len(pool)))
            for _ in range(rng.randint(0, 5)):
                p = rng.randint(1, periods_in_day(d))
                calm[p] = calm.get(p, 0) + 1
        else:
            k = 0
        profile = _DayProfile(tuple(rng.sample(pool, k)), calm)
        with self._lock:
            self._profiles[key] = profile
            while len(self._profiles) > 4096:
                self._profiles.popitem(last=False)
        return profile

    def created(self, d: date, period: int, revision: int) -> datetime:
        """``createdDateTime``: about 09:15Z the next day; each revision one day (and a few
        minutes) later."""
        jitter = Random(f"{self.seed}|created|{d.isoformat()}|{period}").randint(0, 150)
        base = datetime.combine(d + timedelta(days=1), time(9, 15), tzinfo=UTC)
        return base + timedelta(days=revision, seconds=jitter + 420 * revision)

    # -- stacks ----------------------------------------------------------------------------

    def lines(self, d: date, period: int, side: str, kind: str, revision: int) -> list[StackLine]:
        """The period's stack lines in ``sequenceNumber`` order (shared: do not mutate)."""
        if side not in SIDES:
            raise ValueError(f"side must be bid or offer, not {side!r}")
        if kind not in DAY_KINDS:
            raise ValueError(f"day kind must be one of {', '.join(DAY_KINDS)}, not {kind!r}")
        if not 1 <= period <= periods_in_day(d):
            raise ValueError(f"period {period} does not exist on {d}")
        with self._lock:
            key = (d, period, side, kind, revision, self._version)
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
            if revision <= 0:
                result = self._generate(d, period, side, kind)
            else:
                prev = self.lines(d, period, side, kind, revision - 1)
                result = self._revise(prev, d, period, side, kind, revision)
            self._cache[key] = result
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
            return result

    def records(
        self, d: date, period: int, side: str, kind: str, revision: int
    ) -> list[dict[str, Any]]:
        """The period's stack as Elexon's JSON records (23 fields each)."""
        lines = self.lines(d, period, side, kind, revision)
        ds = d.isoformat()
        start = iso_z(period_start_utc(d, period))
        created = iso_z(self.created(d, period, revision))
        return [ln.record(ds, period, start, created, i) for i, ln in enumerate(lines, 1)]

    def acceptance_volumes(
        self, d: date, period: int, side: str, kind: str, revision: int
    ) -> list[dict[str, Any]]:
        """BOAV items for the period: one per (BM unit, acceptance), summing its stack lines."""
        return acceptance_items(
            self.lines(d, period, side, kind, revision),
            settlement_date=d.isoformat(),
            period=period,
            start=iso_z(period_start_utc(d, period)),
            created=iso_z(self.created(d, period, revision)),
            unit=self.unit,
        )

    # -- generation ------------------------------------------------------------------------

    def _headline_count(self, rng: Random, d: date, period: int, kind: str) -> int:
        if kind == "heavy":
            return rng.randint(120, 170)
        if kind == "light":
            return rng.randint(1, 30) if rng.random() < 0.6 else 0
        if kind == "calm":
            return self._profile(d, kind).calm_counts.get(period, 0)
        return 0

    def _generate(self, d: date, period: int, side: str, kind: str) -> list[StackLine]:
        if kind == "empty":
            return []
        rng = Random(f"{self.seed}|{side}|{d.isoformat()}|{period}|{kind}")
        ctx = PeriodContext(d, period)
        lines = self._bids(rng, ctx, d, period, kind) if side == "bid" else self._offers(rng, ctx)
        lines.sort(key=StackLine.sort_key)
        return lines

    def _bids(
        self, rng: Random, ctx: PeriodContext, d: date, period: int, kind: str
    ) -> list[StackLine]:
        lines = self._wind_bids(rng, ctx, d, period, kind)
        others: list[StackLine] = []
        for _ in range(rng.randint(60, 140)):
            line = nonwind_bid(rng, ctx, rng.choice(self.nonwind_units))
            if line is not None:
                others.append(line)
        split_lines(others, rng, ctx, round(len(others) * 0.03), wind=False)
        lines.extend(others)
        for _ in range(rng.randint(2, 6)):
            lines.append(null_id_line(rng, ctx))
        return lines

    def _offers(self, rng: Random, ctx: PeriodContext) -> list[StackLine]:
        lines: list[StackLine] = []
        for _ in range(rng.randint(30, 90)):
            line = offer(rng, ctx, rng.choice(self.nonwind_units))
            if line is not None:
                lines.append(line)
        if self.wind_units:
            for _ in range(rng.randint(0, 3)):
                line = offer(rng, ctx, rng.choice(self.wind_units))
                if line is not None:
                    lines.append(line)
        return lines

    def _wind_bids(
        self, rng: Random, ctx: PeriodContext, d: date, period: int, kind: str
    ) -> list[StackLine]:
        count = self._headline_count(rng, d, period, kind)
        active = self._profile(d, kind).active_wind
        lines: list[StackLine] = []
        if count and active:
            lines.extend(_headline_bids(rng, ctx, count, active))
            lines.extend(_other_wind_bids(rng, ctx, count, active))
        lines.extend(self._added_wind_bids(ctx, d, period, kind, count))
        return lines

    def _added_wind_bids(
        self, ctx: PeriodContext, d: date, period: int, kind: str, count: int
    ) -> list[StackLine]:
        """Wind units registered later (server.add_bm_unit) get their own, independent lines."""
        lines: list[StackLine] = []
        chance = {"heavy": 0.7, "light": 0.25 if count else 0.0}.get(kind, 0.0)
        for unit, since in self._added_wind:
            if since is not None and d < since:
                continue
            r = Random(f"{self.seed}|added|{unit.bm_unit}|{d.isoformat()}|{period}")
            if r.random() < chance:
                line = wind_bid(r, ctx, unit)
                if line is not None:
                    lines.append(line)
        return lines

    def _revise(
        self, prev: list[StackLine], d: date, period: int, side: str, kind: str, revision: int
    ) -> list[StackLine]:
        active = self._profile(d, kind).active_wind if kind != "empty" else ()
        inputs = RevisionInputs(self.seed, self._units, active, self.nonwind_units)
        return revise(prev, d, period, side, kind, revision, inputs)


def _headline_bids(
    rng: Random, ctx: PeriodContext, count: int, active: Sequence[UnitInfo]
) -> list[StackLine]:
    """``count`` curtailment lines (SO-flagged negative wind bids), a few of them split."""
    n_split = round(count * rng.uniform(0.02, 0.08)) if count >= 10 else 0
    n_acc = count - n_split
    m = min(len(active), max(1, round(n_acc / rng.uniform(1.1, 1.4))))
    chosen = rng.sample(active, m)
    headline: list[StackLine] = []
    for i in range(n_acc):
        unit = chosen[i] if i < m else rng.choice(chosen)
        line = wind_bid(rng, ctx, unit)
        if line is not None:
            headline.append(line)
    split_lines(headline, rng, ctx, n_split, wind=True)
    return headline


def _other_wind_bids(
    rng: Random, ctx: PeriodContext, count: int, active: Sequence[UnitInfo]
) -> list[StackLine]:
    """Wind bids that are not curtailment records: not SO-flagged, zero or positive volume."""
    n_extra = round(count * rng.uniform(0.04, 0.12))
    if n_extra == 0 and rng.random() < 0.5:
        n_extra = 1
    lines: list[StackLine] = []
    for _ in range(n_extra):
        x = rng.random()
        unit = rng.choice(active)
        if x < 0.6:
            line = wind_bid(rng, ctx, unit, so=False)
        elif x < 0.85:
            line = wind_bid(rng, ctx, unit, sign=0)
        else:
            line = wind_bid(rng, ctx, unit, sign=1)
        if line is not None:
            lines.append(line)
    return lines
