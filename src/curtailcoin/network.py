"""Network conditions over time: what difficulty and subsidy were in force in a period.

Difficulty and block subsidy are step functions of time. Difficulty changes at the first block of
each 2,016-block epoch (``curtailcoin.epochs``), the subsidy at each halving block
(``curtailcoin.halvings``); both come from the packaged tables, refreshed from mempool.space.

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
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from curtailcoin.epochs import (
    BLOCKS_PER_EPOCH,
    MAX_LAST_EPOCH_SPAN,
    Epoch,
    load_packaged_epochs,
    merge_mempool_epochs,
    validate_epochs,
)
from curtailcoin.halvings import Halving, load_packaged_halvings, validate_halvings
from curtailcoin.network_data import as_utc, fmt_utc


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
        validate_epochs(self._epochs)
        validate_halvings(self._halvings)

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
            f"(height {latest.start_height}) at {fmt_utc(self._start(latest))}"
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
        end = as_utc(end_utc, "end_utc")
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
            where = f" (the first epoch starts at {fmt_utc(first)})" if first else ""
            return (
                [],
                f"no known difficulty at {fmt_utc(start)}: before the first epoch{where}",
                False,
            )
        epoch = self._known[i]
        t = start
        while True:
            e_start = self._start(epoch)
            nxt = self._by_number.get(epoch.epoch + 1)
            if nxt is None:
                limit = e_start + MAX_LAST_EPOCH_SPAN
                if epoch.epoch != self._max_epoch:
                    reason = (
                        f"no known difficulty at {fmt_utc(max(t, e_start))}: "
                        f"epoch {epoch.epoch + 1} is missing from the table; {self._latest_note()}"
                    )
                    return [], reason, True
                if end > limit:
                    reason = (
                        f"no known difficulty after {fmt_utc(limit)}: more than 21 days after the "
                        f"start of the last epoch in the table; {self._latest_note()}"
                    )
                    return [], reason, True
                pieces.append(_Piece(t, end, epoch, next_known=False))
                return pieces, None, False
            if nxt.start_time_utc is None:
                reason = (
                    f"no known difficulty at {fmt_utc(max(t, e_start))}: epoch {nxt.epoch} "
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
                    f"block subsidy unknown at {fmt_utc(piece.start)}: the halving at height "
                    f"{h.height} ({h.status}) has no known time and may fall within epoch "
                    f"{piece.epoch.epoch}" + ("" if piece.next_known else " or the next one")
                )
                return None, reason, not piece.next_known
        j = bisect.bisect_right(self._halving_times, piece.start) - 1
        if j < 0:
            return None, f"block subsidy unknown at {fmt_utc(piece.start)}: before genesis", False
        return self._timed_halvings[j].subsidy_after_btc, None, False

    def conditions(self, start_utc: datetime, end_utc: datetime) -> PeriodConditions:
        """Effective difficulty and time-weighted subsidy for ``[start_utc, end_utc)``.

        ``R_eff / D_eff = Σ_i w_i · R_i / D_i`` over the segments; exact epoch values when the
        period has one segment. Pending (both None, with a reason) if any instant is unknown.
        """
        start = as_utc(start_utc, "start_utc")
        end = as_utc(end_utc, "end_utc")
        if end <= start:
            raise ValueError(f"period end {fmt_utc(end)} is not after its start {fmt_utc(start)}")

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
