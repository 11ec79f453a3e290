"""Halvings: the packaged table of block subsidy changes and its checks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from curtailcoin.network_data import NetworkDataError, parse_time, read_packaged_csv


@dataclass(frozen=True)
class Halving:
    """A subsidy change at ``height`` (0 is genesis, subsidy 50); ``time_utc`` may be None."""

    height: int
    time_utc: datetime | None
    subsidy_after_btc: float
    status: str


def load_packaged_halvings() -> list[Halving]:
    """The packaged ``halvings.csv``: genesis, the four past halvings, and the ~2028 estimate.

    The estimate's time is not a timestamp (``~2028-04 (estimate)``), so its ``time_utc`` is None.
    """
    halvings: list[Halving] = []
    for row in read_packaged_csv("halvings.csv"):
        where = f"halvings.csv height {row['height']}"
        status = row["status"].strip()
        if status == "future_estimate":
            time_utc = None
        else:
            time_utc = parse_time(row["time_utc"], row["time_unix"], where)
        halvings.append(
            Halving(
                height=int(row["height"]),
                time_utc=time_utc,
                subsidy_after_btc=float(row["subsidy_after_btc"]),
                status=status,
            )
        )
    return halvings


def validate_halvings(halvings: Sequence[Halving]) -> None:
    """Halvings sorted by height: finite non-negative subsidies, aware increasing times, every
    timed one before the untimed (future) ones, and a timed genesis first."""
    last_time: datetime | None = None
    untimed_seen = False
    for h in halvings:
        if not (math.isfinite(h.subsidy_after_btc) and h.subsidy_after_btc >= 0):
            raise NetworkDataError(f"halving {h.height} has subsidy {h.subsidy_after_btc!r}")
        if h.time_utc is None:
            untimed_seen = True
            continue
        if h.time_utc.utcoffset() is None:
            raise NetworkDataError(f"halving {h.height} time is not timezone-aware")
        if untimed_seen:
            raise NetworkDataError(f"halving {h.height} has a time but an earlier one has none")
        if last_time is not None and h.time_utc <= last_time:
            raise NetworkDataError(f"halving {h.height} is not after the previous halving")
        last_time = h.time_utc
    if not halvings or halvings[0].time_utc is None:
        raise NetworkDataError("the halving table must start with a timed genesis entry")
