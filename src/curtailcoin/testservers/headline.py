"""The oracle of the Elexon test server: headline curtailment (SPEC section 4) computed straight
from the served lines, to compare with what CurtailCoin stored."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from curtailcoin.testservers.lines import StackLine


@dataclass(frozen=True)
class PeriodHeadline:
    """Headline curtailment of one period (section 4 of the spec)."""

    period: int
    records: int
    farms: int  # distinct BM units
    curtailed_mwh: float  # −Σ volume, positive
    payment_gbp: float  # Σ originalPrice × volume, £ to the farms
    farm_ids: frozenset[str] = field(repr=False)


@dataclass(frozen=True)
class DayHeadline:
    """Headline curtailment of a settlement day, with every period (zero ones included)."""

    settlement_date: date
    periods: dict[int, PeriodHeadline]
    records: int
    farms: int
    lead_parties: int
    curtailed_mwh: float
    payment_gbp: float
    farm_ids: frozenset[str] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "settlementDate": self.settlement_date.isoformat(),
            "records": self.records,
            "farms": self.farms,
            "leadParties": self.lead_parties,
            "curtailedMwh": self.curtailed_mwh,
            "paymentGbp": self.payment_gbp,
            "periods": [
                {
                    "settlementPeriod": p.period,
                    "records": p.records,
                    "farms": p.farms,
                    "curtailedMwh": p.curtailed_mwh,
                    "paymentGbp": p.payment_gbp,
                }
                for p in self.periods.values()
            ],
        }


def period_headline(
    period: int, bid_lines: Iterable[StackLine], wind: set[str], *, so_only: bool = True
) -> PeriodHeadline:
    """A record is a bid line of a wind unit with ``soFlag`` true (unless ``so_only=False``) and
    ``volume < 0``."""
    picked = [
        ln for ln in bid_lines if ln.unit in wind and ln.volume < 0 and (ln.so or not so_only)
    ]
    farms = frozenset(str(ln.unit) for ln in picked)
    return PeriodHeadline(
        period=period,
        records=len(picked),
        farms=len(farms),
        curtailed_mwh=-math.fsum(ln.volume for ln in picked),
        payment_gbp=math.fsum((ln.price or 0.0) * ln.volume for ln in picked),
        farm_ids=farms,
    )


def day_headline(
    d: date, periods: dict[int, PeriodHeadline], lead: Mapping[str, str]
) -> DayHeadline:
    """The day's totals over its periods; ``lead`` maps a unit to its lead party."""
    all_farms = frozenset().union(*(p.farm_ids for p in periods.values()))
    return DayHeadline(
        settlement_date=d,
        periods=periods,
        records=sum(p.records for p in periods.values()),
        farms=len(all_farms),
        lead_parties=len({lead.get(f, f) for f in all_farms}),
        curtailed_mwh=math.fsum(p.curtailed_mwh for p in periods.values()),
        payment_gbp=math.fsum(p.payment_gbp for p in periods.values()),
        farm_ids=all_farms,
    )
