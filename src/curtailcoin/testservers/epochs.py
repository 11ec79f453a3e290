"""The difficulty epochs the mempool test server answers: the package's CSV, with plausible start
times for the epochs whose time is unknown (deterministic in the seed)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib.resources import files
from random import Random


@dataclass(frozen=True)
class Epoch:
    """One difficulty epoch: its first block's height and time, and the difficulty."""

    epoch: int
    height: int
    time: int  # unix seconds of the epoch's first block
    difficulty: float
    source: str  # start_time_source from the CSV, or "generated" / "added"


def load_difficulty_epochs(seed: int = 1) -> list[Epoch]:
    """The package's ``difficulty_epochs.csv``, oldest first.

    Epochs whose ``start_time_source`` is ``unknown_use_live_api`` get deterministic start
    times: the previous epoch's time + 14 days ± up to 12 hours.
    """
    text = (files("curtailcoin") / "data" / "difficulty_epochs.csv").read_text(encoding="utf-8")
    epochs: list[Epoch] = []
    for row in csv.DictReader(text.splitlines()):
        n = int(row["epoch"])
        raw_time = (row.get("start_time_unix") or "").strip()
        if raw_time:
            ts = int(raw_time)
            source = row["start_time_source"]
        else:
            if not epochs:
                raise ValueError("the first epoch has no start time")
            jitter = Random(f"{seed}|epoch|{n}").randint(-43_200, 43_200)
            ts = epochs[-1].time + 14 * 86_400 + jitter
            source = "generated"
        # mempool.space answers the exact difficulty (max_target / target), not the CSV's
        # two-decimal rounding.
        difficulty = 0xFFFF * 2**208 / int(row["target_hex"], 16)
        epochs.append(Epoch(n, int(row["start_height"]), ts, difficulty, source))
    return epochs
