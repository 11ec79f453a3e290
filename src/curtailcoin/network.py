"""Network conditions over time: difficulty epochs, halvings, and what was in force in a period.

Difficulty and block subsidy are step functions of time. Difficulty changes at the first block of
each 2,016-block epoch, the subsidy at each halving block; we take both from the packaged tables
(``data/difficulty_epochs.csv``, ``data/halvings.csv``), refreshed from mempool.space.

For a settlement period ``[start, end)`` whose energy is spread evenly, the expected BTC is
``Σ_i w_i · E · k · R_i / D_i`` over the segments ``i`` into which epoch starts and halvings split
the period (``w_i`` the fraction of the period, ``k`` the model's hash factor). We report that as
one effective pair: ``block_subsidy_btc = Σ w_i R_i`` (the time-weighted subsidy) and
``difficulty = R_eff / Σ w_i R_i / D_i``, so the usual formula with those two gives the exact
weighted sum. When nothing changes inside the period they are exactly the epoch's difficulty and
the subsidy in force.

A period is **pending** (no difficulty, no subsidy, never a default) when any instant in it has no
known difficulty (SPEC §5) or no known subsidy:

* An instant ``t`` has a known difficulty when it lies at or after the start of an epoch ``k``
  with a known start time and either (a) epoch ``k+1`` has a known start time ``> t``, or
  (b) the table has no epoch after ``k`` at all and ``t ≤ start_k + 21 days``. If epoch ``k+1``
  exists without a start time, ``t > start_k`` is not known: ``k+1`` may already have begun.
* The subsidy is known from the halving times. A halving with no time yet (the ~2028 one) is taken
  as not yet happened only while the chain provably had not reached its height: in case (a) the
  height at ``t`` is below the start of epoch ``k+1``; in case (b) we allow for one unseen
  retarget (below the start of epoch ``k+2``). Otherwise the period is pending with a reason.

Estimated epoch start times (``estimated_*`` sources) count as known; mempool.space replaces them.
"""

from __future__ import annotations

import bisect
import csv
import io
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from importlib.resources import files

BLOCKS_PER_EPOCH = 2016
MAX_LAST_EPOCH_SPAN = timedelta(days=21)
"""How long after the start of the table's last epoch its difficulty is assumed still in force."""

MAX_TARGET = 0xFFFF * 2**208
MEMPOOL_SOURCE = "mempool.space"
ESTIMATED_SOURCE_PREFIX = "estimated"
UNKNOWN_SOURCE = "unknown_use_live_api"
DIFFICULTY_REL_TOLERANCE = 1e-9


class NetworkDataError(ValueError):
    """Epoch or halving data that is malformed or contradicts known exact values."""


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


@dataclass(frozen=True)
class Halving:
    """A subsidy change at ``height`` (0 is genesis, subsidy 50); ``time_utc`` may be None."""

    height: int
    time_utc: datetime | None
    subsidy_after_btc: float
    status: str


@dataclass(frozen=True)
class Segment:
    """A piece of a period with one difficulty and one subsidy; ``weight`` is its time fraction."""

    start_utc: datetime
    end_utc: datetime
    weight: float
    epoch: int
    difficulty: float
    block_subsidy_btc: float


@dataclass(frozen=True)
class PeriodConditions:
    """Effective difficulty and subsidy for ``[start_utc, end_utc)``, or why they are pending.

    ``needs_refresh`` is true when the period is pending for lack of epoch data, i.e. a refresh
    from mempool.space could make it known.
    """

    start_utc: datetime
    end_utc: datetime
    difficulty: float | None
    block_subsidy_btc: float | None
    segments: tuple[Segment, ...]
    pending_reason: str | None
    needs_refresh: bool = False

    @property
    def is_pending(self) -> bool:
        return self.pending_reason is not None


def _fmt(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(t: datetime, name: str) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {t.isoformat()}")
    return t.astimezone(UTC)


def _parse_time(text: str, unix_text: str, where: str) -> datetime | None:
    text = text.strip()
    unix_text = unix_text.strip()
    if not text and not unix_text:
        return None
    try:
        from_unix = datetime.fromtimestamp(int(unix_text), tz=UTC) if unix_text else None
        from_text = datetime.fromisoformat(text).astimezone(UTC) if text else None
    except ValueError as exc:
        raise NetworkDataError(f"{where}: bad time {text!r}/{unix_text!r}: {exc}") from None
    if from_unix and from_text and from_unix != from_text:
        raise NetworkDataError(f"{where}: time {text} disagrees with unix time {unix_text}")
    result = from_unix or from_text
    assert result is not None
    return result


def _read_csv(name: str) -> list[dict[str, str]]:
    text = (files("curtailcoin") / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def load_packaged_epochs() -> list[Epoch]:
    """Every epoch in the packaged ``difficulty_epochs.csv``, by epoch number.

    The difficulty is ``max_target / target`` from the exact ``target_hex`` (the file's
    ``difficulty`` column is that value rounded to 2 decimals; it is cross-checked).
    """
    epochs: list[Epoch] = []
    for row in _read_csv("difficulty_epochs.csv"):
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
                start_time_utc=_parse_time(row["start_time_utc"], row["start_time_unix"], where),
                start_time_source=row["start_time_source"].strip(),
                difficulty=difficulty,
            )
        )
    return epochs


def load_packaged_halvings() -> list[Halving]:
    """The packaged ``halvings.csv``: genesis, the four past halvings, and the ~2028 estimate.

    The estimate's time is not a timestamp (``~2028-04 (estimate)``), so its ``time_utc`` is None.
    """
    halvings: list[Halving] = []
    for row in _read_csv("halvings.csv"):
        where = f"halvings.csv height {row['height']}"
        status = row["status"].strip()
        if status == "future_estimate":
            time_utc = None
        else:
            time_utc = _parse_time(row["time_utc"], row["time_unix"], where)
        halvings.append(
            Halving(
                height=int(row["height"]),
                time_utc=time_utc,
                subsidy_after_btc=float(row["subsidy_after_btc"]),
                status=status,
            )
        )
    return halvings


@dataclass(frozen=True)
class _Piece:
    start: datetime
    end: datetime
    epoch: Epoch
    next_known: bool  # case (a); False means case (b), the table's last epoch


class NetworkTimeline:
    """Difficulty and subsidy as step functions of time, with the known-difficulty rule."""

    def __init__(self, epochs: Iterable[Epoch], halvings: Iterable[Halving]) -> None:
        self._epochs = sorted(epochs, key=lambda e: e.epoch)
        self._halvings = sorted(halvings, key=lambda h: h.height)
        self._validate()
        self._by_number = {e.epoch: e for e in self._epochs}
        self._known = [e for e in self._epochs if e.start_time_utc is not None]
        self._known_starts = [self._start(e) for e in self._known]
        self._max_epoch = self._epochs[-1].epoch if self._epochs else -1
        self._timed_halvings = [h for h in self._halvings if h.time_utc is not None]
        self._halving_times = [self._htime(h) for h in self._timed_halvings]
        self._untimed_halvings = [h for h in self._halvings if h.time_utc is None]

    @classmethod
    def packaged(cls) -> NetworkTimeline:
        """The timeline from the packaged tables (no refresh)."""
        return cls(load_packaged_epochs(), load_packaged_halvings())

    def with_mempool_adjustments(
        self, adjustments: Sequence[tuple[datetime, int, float]]
    ) -> NetworkTimeline:
        """A new timeline with ``merge_mempool_epochs`` applied."""
        return NetworkTimeline(merge_mempool_epochs(self._epochs, adjustments), self._halvings)

    @property
    def epochs(self) -> tuple[Epoch, ...]:
        return tuple(self._epochs)

    @property
    def halvings(self) -> tuple[Halving, ...]:
        return tuple(self._halvings)

    # -- validation -------------------------------------------------------------------------

    @staticmethod
    def _start(e: Epoch) -> datetime:
        assert e.start_time_utc is not None
        return e.start_time_utc

    @staticmethod
    def _htime(h: Halving) -> datetime:
        assert h.time_utc is not None
        return h.time_utc

    def _validate(self) -> None:
        previous: Epoch | None = None
        seen: set[int] = set()
        for e in self._epochs:
            if e.epoch in seen:
                raise NetworkDataError(f"epoch {e.epoch} appears twice")
            seen.add(e.epoch)
            if e.start_height != e.epoch * BLOCKS_PER_EPOCH:
                raise NetworkDataError(
                    f"epoch {e.epoch} starts at height {e.start_height}, "
                    f"expected {e.epoch * BLOCKS_PER_EPOCH}"
                )
            if not (math.isfinite(e.difficulty) and e.difficulty > 0):
                raise NetworkDataError(f"epoch {e.epoch} has difficulty {e.difficulty!r}")
            if e.start_time_utc is not None:
                if e.start_time_utc.utcoffset() is None:
                    raise NetworkDataError(f"epoch {e.epoch} start time is not timezone-aware")
                if previous is not None and self._start(previous) >= e.start_time_utc:
                    raise NetworkDataError(
                        f"epoch {e.epoch} starts at {_fmt(e.start_time_utc)}, not after epoch "
                        f"{previous.epoch} at {_fmt(self._start(previous))}"
                    )
                previous = e
        last_time: datetime | None = None
        untimed_seen = False
        for h in self._halvings:
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
        if not self._halvings or self._halvings[0].time_utc is None:
            raise NetworkDataError("the halving table must start with a timed genesis entry")

    # -- queries ----------------------------------------------------------------------------

    def latest_known_epoch(self) -> Epoch | None:
        """The epoch with the latest known start time."""
        return self._known[-1] if self._known else None

    def latest_known_start(self) -> datetime | None:
        """The latest known epoch start time (UTC)."""
        latest = self.latest_known_epoch()
        return None if latest is None else latest.start_time_utc

    def _latest_note(self) -> str:
        latest = self.latest_known_epoch()
        if latest is None:
            return "no epoch has a known start time"
        return (
            f"latest known epoch start is epoch {latest.epoch} "
            f"(height {latest.start_height}) at {_fmt(self._start(latest))}"
        )

    def _known_intervals(self) -> list[tuple[datetime, datetime]]:
        """Maximal intervals ``[a, b]`` of instants with a known difficulty."""
        intervals: list[tuple[datetime, datetime]] = []
        for e in self._known:
            start = self._start(e)
            nxt = self._by_number.get(e.epoch + 1)
            if nxt is None:
                if e.epoch == self._max_epoch:
                    end = start + MAX_LAST_EPOCH_SPAN
                else:
                    continue
            elif nxt.start_time_utc is None:
                continue
            else:
                end = nxt.start_time_utc
            if intervals and intervals[-1][1] >= start:
                intervals[-1] = (intervals[-1][0], max(intervals[-1][1], end))
            else:
                intervals.append((start, end))
        return intervals

    def needs_refresh(self, end_utc: datetime) -> bool:
        """True when some instant before ``end_utc`` (from genesis on) has no known difficulty
        for lack of epoch data, so a mempool.space refresh could help."""
        end = _utc(end_utc, "end_utc")
        if not self._known or end <= self._known_starts[0]:
            return False
        cursor = self._known_starts[0]
        for a, b in self._known_intervals():
            if a > cursor:
                return True  # a hole between known intervals
            if b >= end:
                return False
            cursor = b
        return True

    def _pieces(self, start: datetime, end: datetime) -> tuple[list[_Piece], str | None, bool]:
        """Split ``[start, end)`` at epoch starts; on an unknown instant return the reason."""
        pieces: list[_Piece] = []
        i = bisect.bisect_right(self._known_starts, start) - 1
        if i < 0:
            first = self._known_starts[0] if self._known_starts else None
            where = f" (the first epoch starts at {_fmt(first)})" if first else ""
            return [], f"no known difficulty at {_fmt(start)}: before the first epoch{where}", False
        epoch = self._known[i]
        t = start
        while True:
            e_start = self._start(epoch)
            nxt = self._by_number.get(epoch.epoch + 1)
            if nxt is None:
                limit = e_start + MAX_LAST_EPOCH_SPAN
                if epoch.epoch != self._max_epoch:
                    reason = (
                        f"no known difficulty at {_fmt(max(t, e_start))}: epoch {epoch.epoch + 1} "
                        f"is missing from the table; {self._latest_note()}"
                    )
                    return [], reason, True
                if end > limit:
                    reason = (
                        f"no known difficulty after {_fmt(limit)}: more than 21 days after the "
                        f"start of the last epoch in the table; {self._latest_note()}"
                    )
                    return [], reason, True
                pieces.append(_Piece(t, end, epoch, next_known=False))
                return pieces, None, False
            if nxt.start_time_utc is None:
                reason = (
                    f"no known difficulty at {_fmt(max(t, e_start))}: epoch {nxt.epoch} "
                    f"(height {nxt.start_height}) has no known start time; {self._latest_note()}"
                )
                return [], reason, True
            if nxt.start_time_utc >= end:
                pieces.append(_Piece(t, end, epoch, next_known=True))
                return pieces, None, False
            pieces.append(_Piece(t, nxt.start_time_utc, epoch, next_known=True))
            t = nxt.start_time_utc
            epoch = nxt

    def _subsidy(self, piece: _Piece) -> tuple[float | None, str | None, bool]:
        """The subsidy in force from ``piece.start`` (pieces are split at halving times)."""
        height_bound = piece.epoch.start_height + BLOCKS_PER_EPOCH * (1 if piece.next_known else 2)
        for h in self._untimed_halvings:
            if h.height < height_bound:
                reason = (
                    f"block subsidy unknown at {_fmt(piece.start)}: the halving at height "
                    f"{h.height} ({h.status}) has no known time and may fall within epoch "
                    f"{piece.epoch.epoch}" + ("" if piece.next_known else " or the next one")
                )
                return None, reason, not piece.next_known
        j = bisect.bisect_right(self._halving_times, piece.start) - 1
        if j < 0:
            return None, f"block subsidy unknown at {_fmt(piece.start)}: before genesis", False
        return self._timed_halvings[j].subsidy_after_btc, None, False

    def conditions(self, start_utc: datetime, end_utc: datetime) -> PeriodConditions:
        """Effective difficulty and time-weighted subsidy for ``[start_utc, end_utc)``.

        ``R_eff / D_eff = Σ_i w_i · R_i / D_i`` over the segments; exact epoch values when the
        period has one segment. Pending (both None, with a reason) if any instant is unknown.
        """
        start = _utc(start_utc, "start_utc")
        end = _utc(end_utc, "end_utc")
        if end <= start:
            raise ValueError(f"period end {_fmt(end)} is not after its start {_fmt(start)}")

        def pending(reason: str, refresh: bool) -> PeriodConditions:
            return PeriodConditions(start, end, None, None, (), reason, refresh)

        pieces, reason, refresh = self._pieces(start, end)
        if reason is not None:
            return pending(reason, refresh)

        total = end - start
        segments: list[Segment] = []
        for piece in pieces:
            cuts = [t for t in self._halving_times if piece.start < t < piece.end]
            for a, b in itertools.pairwise([piece.start, *cuts, piece.end]):
                sub = _Piece(a, b, piece.epoch, piece.next_known)
                subsidy, reason, refresh = self._subsidy(sub)
                if subsidy is None:
                    assert reason is not None
                    return pending(reason, refresh)
                weight = (b - a) / total
                segments.append(
                    Segment(a, b, weight, piece.epoch.epoch, piece.epoch.difficulty, subsidy)
                )

        difficulties = {s.difficulty for s in segments}
        subsidies = {s.block_subsidy_btc for s in segments}
        if len(subsidies) == 1:
            subsidy_eff = segments[0].block_subsidy_btc
        else:
            subsidy_eff = math.fsum(s.weight * s.block_subsidy_btc for s in segments)
        if len(difficulties) == 1:
            difficulty_eff = segments[0].difficulty
        elif len(subsidies) == 1:
            difficulty_eff = 1.0 / math.fsum(s.weight / s.difficulty for s in segments)
        else:
            ratio = math.fsum(s.weight * s.block_subsidy_btc / s.difficulty for s in segments)
            difficulty_eff = subsidy_eff / ratio
        return PeriodConditions(
            start, end, difficulty_eff, subsidy_eff, tuple(segments), None, False
        )


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
        when = _utc(when, f"mempool adjustment at height {height} time")
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
