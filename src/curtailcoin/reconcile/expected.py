"""The network conditions each period should have been calculated with: what the epoch table
gives now (a stored calculation that differs is stale; none known is pending)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from curtailcoin.network import NetworkTimeline
from curtailcoin.settlement import PERIOD, day_start_utc, periods_in_day

PeriodKey = tuple[date, int]
"""(settlement date, settlement period)."""


@dataclass(frozen=True, slots=True)
class Expected:
    """What the epoch table gives now for a period (``difficulty`` None = pending)."""

    start_utc: datetime
    difficulty: float | None
    block_subsidy_btc: float | None

    @property
    def pending(self) -> bool:
        return self.difficulty is None or self.block_subsidy_btc is None


def expected_conditions(
    timeline: NetworkTimeline, dates: Iterable[date]
) -> dict[PeriodKey, Expected]:
    """Difficulty and subsidy in force for every period of ``dates``.

    A day lying within one epoch and one subsidy era gives the same values for all its periods
    (exactly what :meth:`NetworkTimeline.conditions` returns per period), so one call covers it;
    other days are computed period by period.
    """
    out: dict[PeriodKey, Expected] = {}
    for d in dates:
        start = day_start_utc(d)
        count = periods_in_day(d)
        whole = timeline.conditions(start, start + count * PERIOD)
        if whole.difficulty is not None and len(whole.segments) == 1:
            for p in range(1, count + 1):
                out[(d, p)] = Expected(
                    start + (p - 1) * PERIOD, whole.difficulty, whole.block_subsidy_btc
                )
            continue
        for p in range(1, count + 1):
            a = start + (p - 1) * PERIOD
            cond = timeline.conditions(a, a + PERIOD)
            out[(d, p)] = Expected(a, cond.difficulty, cond.block_subsidy_btc)
    return out
