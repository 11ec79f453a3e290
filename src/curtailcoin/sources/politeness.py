"""How hard a client presses a source: adaptive concurrency, a pause, and an optional hard cap.

Elexon publishes no rate limit, so the default is many requests in flight and no cap; the source
says when that is too much (429, 503, ``Retry-After``) and the client listens:

* :class:`AdaptiveConcurrency` — additive increase, multiplicative decrease (as TCP): a 429 or
  503 halves the requests allowed in flight (once per round: answers to requests started before
  the cut do not cut again), and every ``limit`` successes in a row add one back, up to the
  configured maximum. Each change is logged once. A request asked ``ahead`` (one that others
  wait for, or that is the longest to answer) takes the next free slot before those queued.
* :class:`Pause` — a ``Retry-After`` holds every new request start of the client until it ends.
* :class:`StartCap` — at most ``n`` request starts in any one-second window (retries included),
  exactly: a sliding window of the last ``n`` start times, not a token bucket (whose burst lets
  up to 2n through in one second). A start is the moment the request's headers go out (the
  connection's ``trace`` event, :meth:`StartCap.tracer`), not the moment it was admitted: a
  request admitted and then held up (a new connection, a busy event loop) would otherwise reach
  the source within a second of ``n`` later ones.

Time comes from ``clock``/``sleep`` so the rules can be tested with a virtual clock.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("curtailcoin.http")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class AdaptiveConcurrency:
    """A semaphore whose size follows the source's answers (AIMD between 1 and ``maximum``)."""

    def __init__(self, maximum: int, *, host: str = "", minimum: int = 1) -> None:
        if maximum < 1:
            raise ValueError(f"concurrency must be at least 1, not {maximum}")
        self.maximum = maximum
        self.minimum = max(1, min(minimum, maximum))
        self.limit = maximum
        self.host = host
        self.in_flight = 0
        self.peak = 0
        self._round = 0  # bumped at each cut; a request remembers the round it started in
        self._successes = 0
        self._ahead_waiting = 0  # requests asked ahead that wait for a slot
        self._changed = asyncio.Condition()

    async def acquire(self, *, ahead: bool = False) -> int:
        """Wait for a free slot (``ahead``: before every request queued without it); returns
        the round the request starts in."""
        async with self._changed:
            if ahead:
                self._ahead_waiting += 1
            try:
                await self._changed.wait_for(
                    lambda: self.in_flight < self.limit and (ahead or not self._ahead_waiting)
                )
            finally:
                if ahead:
                    self._ahead_waiting -= 1
                    if not self._ahead_waiting:  # those queued behind look again (also when
                        self._changed.notify_all()  # this one was cancelled while waiting)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            return self._round

    async def release(self, started_round: int, *, overloaded: bool) -> None:
        """Free the slot; ``overloaded`` (429/503) cuts the limit, success may grow it."""
        async with self._changed:
            self.in_flight -= 1
            if overloaded:
                self._successes = 0
                if started_round == self._round and self.limit > self.minimum:
                    old = self.limit
                    self.limit = max(self.minimum, self.limit // 2)
                    self._round += 1
                    log.warning(
                        "source overloaded: concurrency cut",
                        extra={"host": self.host, "from": old, "to": self.limit},
                    )
            else:
                self._successes += 1
                if self.limit < self.maximum and self._successes >= self.limit:
                    self._successes = 0
                    self.limit += 1
                    log.info("concurrency grown", extra={"host": self.host, "to": self.limit})
            self._changed.notify_all()


class Pause:
    """Holds new request starts until a ``Retry-After`` has passed."""

    def __init__(self, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self._until = 0.0
        self._clock = clock
        self._sleep = sleep

    def extend(self, seconds: float) -> None:
        self._until = max(self._until, self._clock() + seconds)

    async def wait(self) -> None:
        while (left := self._until - self._clock()) > 0:
            await self._sleep(left)


@dataclass
class Start:
    """One request's start: admitted at ``at``, moved to the moment it is sent."""

    at: float


#: the ``trace`` events of httpcore that come just before a request's bytes go out
SEND_EVENTS = frozenset(
    {"http11.send_request_headers.started", "http2.send_request_headers.started"}
)


class StartCap:
    """At most ``n`` request starts in any one-second window; ``None`` = no cap.

    A rate below 1/s becomes one start per ``1/rate`` seconds. ``margin_s`` (0.1 s) widens the
    window, so that a receiver timing the arrivals (Elexon, or the test server's log) does not see
    ``n + 1`` in one second when an earlier request reached it later than a following one: on a
    loaded 2-core machine the test server's handler threads were seen to start up to 50 ms after
    the client sent. The cost is at most a tenth of the capped rate.
    """

    def __init__(
        self,
        requests_per_second: float | None,
        *,
        margin_s: float = 0.1,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if requests_per_second is not None and not requests_per_second > 0:
            raise ValueError(f"requests per second must be > 0, not {requests_per_second}")
        self.rate = requests_per_second
        if requests_per_second is None:
            self.n, self.window_s = 0, 0.0
        elif requests_per_second >= 1:
            self.n, self.window_s = math.floor(requests_per_second), 1.0 + margin_s
        else:
            self.n, self.window_s = 1, 1.0 / requests_per_second + margin_s
        self._starts: list[Start] = []  # the starts still inside a window
        self._lock = asyncio.Lock()
        self._clock = clock
        self._sleep = sleep

    async def wait(self) -> Start | None:
        """Return when one more start keeps every window within ``n``; record the start.

        Admissions queue on a lock (first come, first served); :meth:`sent` does not take it,
        so a request already admitted never waits behind one still waiting its turn."""
        if self.rate is None:
            return None
        async with self._lock:
            while (left := self._left_s(None)) > 0:
                await self._sleep(left)
            start = Start(self._clock())
            self._starts.append(start)
            return start

    async def sent(self, start: Start) -> None:
        """The request of ``start`` is being sent now: hold it while that would put ``n + 1``
        starts in a window, then move its start to the moment it goes."""
        while (left := self._left_s(start)) > 0:
            await self._sleep(left)  # its admission keeps its place meanwhile
        start.at = self._clock()
        if not any(s is start for s in self._starts):
            self._starts.append(start)

    def tracer(self, start: Start | None) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
        """An httpcore ``trace`` callback that calls :meth:`sent` as the request goes out."""

        async def trace(event: str, _info: dict[str, Any]) -> None:
            if start is not None and event in SEND_EVENTS:
                await self.sent(start)

        return trace

    def _left_s(self, moving: Start | None) -> float:
        """Seconds until one more start fits (0: now), counting the recorded starts but
        ``moving`` (the one being sent); starts that left the window are dropped."""
        now = self._clock()
        self._starts = [s for s in self._starts if s.at + self.window_s > now]
        others = [s.at for s in self._starts if s is not moving]
        if len(others) < self.n:
            return 0.0
        others.sort()
        # the start whose leaving makes room: the n-th most recent
        return others[len(others) - self.n] + self.window_s - now
