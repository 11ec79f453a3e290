"""Acceptance volumes (BOAV) derived from a period's generated stack lines.

One item per (BM unit, acceptance), summing the volumes of its lines per bid-offer pair, so the
two endpoints of the Elexon test server always agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from curtailcoin.testservers.lines import StackLine
from curtailcoin.testservers.units import UnitInfo, unit_type_from_id

#: The 12 fields of ``AcceptanceVolumeResponse``.
ACCEPTANCE_FIELDS: tuple[str, ...] = (
    "createdDateTime",
    "settlementDate",
    "settlementPeriod",
    "startTime",
    "bmUnit",
    "bmUnitType",
    "leadPartyName",
    "nationalGridBmUnit",
    "acceptanceId",
    "acceptanceDuration",
    "totalVolumeAccepted",
    "pairVolumes",
)

PAIR_VOLUME_FIELDS: tuple[str, ...] = tuple(
    f"{sign}{n}" for n in range(1, 7) for sign in ("negative", "positive")
)


def _pair_volumes(lines: Iterable[StackLine]) -> dict[str, float | None]:
    pairs: dict[str, float | None] = dict.fromkeys(PAIR_VOLUME_FIELDS)
    for ln in lines:
        if ln.pair is None or ln.pair == 0:
            continue
        name = f"{'negative' if ln.pair < 0 else 'positive'}{abs(ln.pair)}"
        pairs[name] = (pairs[name] or 0.0) + ln.volume
    return pairs


def acceptance_items(
    lines: Iterable[StackLine],
    *,
    settlement_date: str,
    period: int,
    start: str,
    created: str,
    unit: Callable[[str], UnitInfo | None],
) -> list[dict[str, Any]]:
    """BOAV items for one period, sorted by (BM unit, acceptance); lines without either are
    not accepted volumes."""
    groups: dict[tuple[str, int], list[StackLine]] = {}
    for ln in lines:
        if ln.unit is None or ln.acc is None:
            continue
        groups.setdefault((ln.unit, ln.acc), []).append(ln)
    items: list[dict[str, Any]] = []
    for (uid, acc), group in sorted(groups.items()):
        info = unit(uid)
        items.append(
            {
                "createdDateTime": created,
                "settlementDate": settlement_date,
                "settlementPeriod": period,
                "startTime": start,
                "bmUnit": uid,
                "bmUnitType": info.bm_unit_type if info else unit_type_from_id(uid),
                "leadPartyName": info.lead_party_name if info else None,
                "nationalGridBmUnit": info.national_grid_bm_unit if info else None,
                "acceptanceId": acc,
                "acceptanceDuration": "S" if any(ln.cadl for ln in group) else "L",
                "totalVolumeAccepted": sum(ln.volume for ln in group),
                "pairVolumes": _pair_volumes(group),
            }
        )
    return items
