"""Fault injection of the local test servers: what a fault is, and the queue requests take it from.

Faults are queued on ``server.faults`` (a :class:`FaultRegistry`) and consumed in order by the
requests whose path matches::

    server.faults.add("429", match=r"/stack/all/bid/2025-01-17/", times=2, retry_after_s=1)
    server.faults.add("5xx", status=502)               # every request, forever
    server.faults.add("timeout", times=1, delay_s=2.0)  # hold one request for 2 s
    server.faults.clear()

Kinds (what each does is in :mod:`curtailcoin.testservers.fault_effects`):

``"429"``
    status 429 with a ``Retry-After: <seconds>`` header (the server's error body).
``"5xx"``
    status ``status`` (500..599, default 503) with the server's error body.
``"timeout"``
    the request is held for ``delay_s`` (default ``server.timeout_s``, 5 s) before it is answered
    normally, so a client whose read timeout is shorter sees a timeout. The wait ends at once
    when the server stops (the connection is then closed without an answer).
``"reset"``
    the connection is closed with ``SO_LINGER`` 0 before any byte of the answer: the client
    sees a TCP reset (``httpx.ReadError`` / ``httpx.RemoteProtocolError``).
``"truncated"``
    the real answer's headers with its full ``Content-Length``, then only the first half of the
    body, then the connection is closed (``httpx.RemoteProtocolError``).
``"invalid_json"``
    status 200, ``Content-Type: application/json``, a body that is not JSON
    (:data:`INVALID_JSON_BODY`).
``"missing_field"``, ``"renamed_field"``, ``"null_field"``, ``"set_field"``, ``"empty_data"``,
``"duplicate_line"``
    schema drift: the real 200 answer with its lines rewritten (``field``, ``to``, ``value``,
    ``unit``, ``line``; see :mod:`curtailcoin.testservers.drift`), e.g.
    ``faults.add("set_field", field="volume", value="-Infinity", line=0)``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Literal, get_args

from curtailcoin.testservers.drift import DRIFT_KINDS, DriftKind, DriftSpec

FaultKind = Literal["429", "5xx", "timeout", "reset", "truncated", "invalid_json", DriftKind]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)  # nested Literals flatten

#: The body sent by the ``invalid_json`` fault (with status 200 and ``application/json``).
INVALID_JSON_BODY = b"<html><body><h1>Service temporarily unavailable</h1></body></html>\n"


@dataclass
class Fault:
    """One queued fault. ``times`` counts down; ``None`` means forever."""

    kind: str
    match: str | None = None
    times: int | None = None
    retry_after_s: float = 1.0
    status: int = 503
    delay_s: float | None = None
    drift: DriftSpec | None = None
    hits: int = 0
    _regex: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}: allowed {', '.join(FAULT_KINDS)}")
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be a positive integer or None, not {self.times!r}")
        if self.kind == "5xx" and not 500 <= self.status <= 599:
            raise ValueError(f"a 5xx fault needs a status in 500..599, not {self.status}")
        if self.kind == "429":
            self.status = 429
        if self.retry_after_s < 0:
            raise ValueError("retry_after_s must be >= 0")
        if self.kind in DRIFT_KINDS:
            self.drift = self.drift or DriftSpec(self.kind)
            self.drift.check()
        self._regex = re.compile(self.match) if self.match is not None else None

    def matches(self, path: str, target: str) -> bool:
        """True when the regex finds a match in the path (or in ``path?query``)."""
        if self._regex is None:
            return True
        return bool(self._regex.search(path) or self._regex.search(target))

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.times <= 0


class FaultRegistry:
    """Thread-safe ordered list of faults; the first matching, non-exhausted fault wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        kind: FaultKind | str,
        *,
        match: str | None = None,
        times: int | None = None,
        retry_after_s: float = 1,
        status: int = 503,
        delay_s: float | None = None,
        field: str | None = None,
        to: str | None = None,
        value: str | None = None,
        unit: str | None = None,
        line: int | None = None,
    ) -> Fault:
        """Queue a fault for requests whose path matches ``match`` (``re.search``; None = all).

        ``times``: how many requests it applies to (None = forever). ``retry_after_s``: the
        ``Retry-After`` value of a 429. ``status``: the status of a ``5xx``. ``delay_s``: how long a
        ``timeout`` holds the request (default: the server's ``timeout_s``). ``field``, ``to``,
        ``value``, ``unit``, ``line``: what a drift fault changes (:class:`DriftSpec`).
        """
        drift = (
            DriftSpec(str(kind), field=field, to=to, value=value, unit=unit, line=line)
            if str(kind) in DRIFT_KINDS
            else None
        )
        fault = Fault(
            kind=str(kind),
            match=match,
            times=times,
            retry_after_s=float(retry_after_s),
            status=status,
            delay_s=delay_s,
            drift=drift,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            self._faults = [f for f in self._faults if f is not fault]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, path: str, target: str | None = None) -> Fault | None:
        """Consume one use of the first fault matching this request, if any."""
        target = path if target is None else target
        with self._lock:
            for fault in self._faults:
                if fault.exhausted or not fault.matches(path, target):
                    continue
                fault.hits += 1
                if fault.times is not None:
                    fault.times -= 1
                if fault.exhausted:
                    self._faults = [f for f in self._faults if f is not fault]
                return fault
        return None

    @property
    def active(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if not f.exhausted]

    def __len__(self) -> int:
        return len(self.active)
