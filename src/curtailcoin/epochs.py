"""Difficulty epochs: the packaged table, its checks, and mempool.space's adjustments merged in.

Difficulty changes at the first block of each 2,016-block epoch; the packaged table
(``data/difficulty_epochs.csv``) holds each epoch's exact difficulty (from its target) and
start time, refreshed from mempool.space. Estimated start times (``estimated_*`` sources)
count as known; mempool.space replaces them, never an exact one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from curtailcoin.network_data import (
    NetworkDataError,
    as_utc,
    fmt_utc,
    parse_time,
    read_packaged_csv,
)

BLOCKS_PER_EPOCH = 2016
MAX_LAST_EPOCH_SPAN = timedelta(days=21)
"""How long after the start of the table's last epoch its difficulty is assumed still in force."""

MAX_TARGET = 0xFFFF * 2**208
MEMPOOL_SOURCE = "mempool.space"
ESTIMATED_SOURCE_PREFIX = "estimated"
UNKNOWN_SOURCE = "unknown_use_live_api"
DIFFICULTY_REL_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Epoch:
    """A 2,016-block difficulty epoch. ``start_time_utc`` is the first block's header time."""

    epoch: int
    start_height: int
    start_time_utc: datetime | None
    start_time_source: str
    difficulty: float

    @property
    def start_time_is_estimated(self) -> bool:
        return self.start_time_source.startswith(ESTIMATED_SOURCE_PREFIX)


def load_packaged_epochs() -> list[Epoch]:
    """Every epoch in the packaged ``difficulty_epochs.csv``, by epoch number.

    The difficulty is ``max_target / target`` from the exact ``target_hex`` (the file's
    ``difficulty`` column is that value rounded to 2 decimals; it is cross-checked).
    """
    epochs: list[Epoch] = []
    for row in read_packaged_csv("difficulty_epochs.csv"):
        where = f"difficulty_epochs.csv epoch {row['epoch']}"
        difficulty = MAX_TARGET / int(row["target_hex"], 16)
        # The file rounds to 2 decimals, then float parsing adds up to an ulp or two.
        if abs(float(row["difficulty"]) - difficulty) > 0.005 + 4 * math.ulp(difficulty):
            raise NetworkDataError(
                f"{where}: difficulty {row['difficulty']} != max_target/target {difficulty}"
            )
        epochs.append(
            Epoch(
                epoch=int(row["epoch"]),
                start_height=int(row["start_height"]),
                start_time_utc=parse_time(row["start_time_utc"], row["start_time_unix"], where),
                start_time_source=row["start_time_source"].strip(),
                difficulty=difficulty,
            )
        )
    return epochs


def validate_epochs(epochs: Sequence[Epoch]) -> None:
    """Epochs sorted by number: each once, at its height, with a finite positive difficulty
    and (when known) an aware start time after the previous known one."""
    previous: Epoch | None = None
    seen: set[int] = set()
    for e in epochs:
        if e.epoch in seen:
            raise NetworkDataError(f"epoch {e.epoch} appears twice")
        seen.add(e.epoch)
        _check_epoch(e)
        if e.start_time_utc is None:
            continue
        before = None if previous is None else previous.start_time_utc
        if previous is not None and before is not None and before >= e.start_time_utc:
            raise NetworkDataError(
                f"epoch {e.epoch} starts at {fmt_utc(e.start_time_utc)}, not after epoch "
                f"{previous.epoch} at {fmt_utc(before)}"
            )
        previous = e


def _check_epoch(e: Epoch) -> None:
    if e.start_height != e.epoch * BLOCKS_PER_EPOCH:
        raise NetworkDataError(
            f"epoch {e.epoch} starts at height {e.start_height}, "
            f"expected {e.epoch * BLOCKS_PER_EPOCH}"
        )
    if not (math.isfinite(e.difficulty) and e.difficulty > 0):
        raise NetworkDataError(f"epoch {e.epoch} has difficulty {e.difficulty!r}")
    if e.start_time_utc is not None and e.start_time_utc.utcoffset() is None:
        raise NetworkDataError(f"epoch {e.epoch} start time is not timezone-aware")


# -- mempool.space ---------------------------------------------------------------------------


def _number(value: object, what: str, index: int) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NetworkDataError(f"mempool adjustment #{index}: {what} is not a number: {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise NetworkDataError(f"mempool adjustment #{index}: {what} is not finite: {value!r}")
    return result


def _integer(value: object, what: str, index: int) -> int:
    number = _number(value, what, index)
    if number != int(number) or number < 0:
        raise NetworkDataError(
            f"mempool adjustment #{index}: {what} is not a non-negative integer: {value!r}"
        )
    return int(number)


def parse_mempool_adjustments(payload: object) -> list[tuple[datetime, int, float]]:
    """Validate a ``GET /api/v1/mining/difficulty-adjustments/all`` body.

    The body is ``[[timestamp_s, height, difficulty, ratio], ...]`` (newest first). Returns
    ``(start_time_utc, height, difficulty)`` sorted by height. Anything malformed raises
    ``NetworkDataError`` with a one-line message: not a list, an entry that is not a 4-item list,
    non-numeric or non-finite values, a height that is not a multiple of 2016, a non-positive
    difficulty, or the same height twice.
    """
    if not isinstance(payload, list):
        raise NetworkDataError(
            f"mempool difficulty adjustments: expected a JSON list, got {type(payload).__name__}"
        )
    result: list[tuple[datetime, int, float]] = []
    heights: set[int] = set()
    for index, item in enumerate(payload):
        if not isinstance(item, list | tuple) or len(item) != 4:
            raise NetworkDataError(
                f"mempool adjustment #{index}: expected [timestamp, height, difficulty, ratio], "
                f"got {item!r}"[:200]
            )
        timestamp = _integer(item[0], "timestamp", index)
        height = _integer(item[1], "height", index)
        difficulty = _number(item[2], "difficulty", index)
        ratio = _number(item[3], "ratio", index)
        if height % BLOCKS_PER_EPOCH:
            raise NetworkDataError(
                f"mempool adjustment #{index}: height {height} is not a multiple of 2016"
            )
        if difficulty <= 0 or ratio < 0:
            raise NetworkDataError(
                f"mempool adjustment #{index}: difficulty {difficulty!r} / ratio {ratio!r} "
                "out of range"
            )
        if height in heights:
            raise NetworkDataError(f"mempool adjustment #{index}: height {height} appears twice")
        heights.add(height)
        try:
            when = datetime.fromtimestamp(timestamp, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise NetworkDataError(
                f"mempool adjustment #{index}: timestamp {timestamp} out of range"
            ) from None
        result.append((when, height, difficulty))
    result.sort(key=lambda r: r[1])
    return result


def merge_mempool_epochs(
    epochs: Iterable[Epoch], adjustments: Iterable[tuple[datetime, int, float]]
) -> list[Epoch]:
    """Merge parsed mempool.space adjustments into an epoch list (returned sorted by epoch).

    * unknown start times are filled and epochs not in the list are added (source
      ``"mempool.space"``);
    * ``estimated_*`` start times are replaced by mempool's;
    * a known exact time (bitcoinj checkpoint, BTC-RPC data, genesis, an earlier mempool merge) is
      never replaced;
    * a difficulty that differs from the table's exact one by more than 1e-9 relative raises
      ``NetworkDataError`` (bad data or the wrong chain).
    """
    by_number = {e.epoch: e for e in epochs}
    for when, height, difficulty in adjustments:
        when = as_utc(when, f"mempool adjustment at height {height} time")
        if height % BLOCKS_PER_EPOCH:
            raise NetworkDataError(f"mempool adjustment height {height} is not a multiple of 2016")
        number = height // BLOCKS_PER_EPOCH
        existing = by_number.get(number)
        if existing is None:
            by_number[number] = Epoch(number, height, when, MEMPOOL_SOURCE, difficulty)
            continue
        if abs(difficulty - existing.difficulty) > DIFFICULTY_REL_TOLERANCE * existing.difficulty:
            raise NetworkDataError(
                f"mempool difficulty {difficulty!r} for epoch {number} (height {height}) "
                f"disagrees with the known {existing.difficulty!r}"
            )
        if existing.start_time_utc is None or existing.start_time_is_estimated:
            by_number[number] = replace(
                existing, start_time_utc=when, start_time_source=MEMPOOL_SOURCE
            )
    return [by_number[n] for n in sorted(by_number)]
