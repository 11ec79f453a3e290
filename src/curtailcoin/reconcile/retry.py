"""Error categories (SPEC §7) and the seed's ``withRetry`` / ``isTimeoutError``.

*Transient* errors — timeouts, 429, 5xx, connection resets, database deadlocks, serialization
failures, dropped connections, a busy SQLite file, a date locked by another run — are retried
with exponential backoff and jitter. Anything else is *permanent*: the unit of work fails at once
with its message. Errors are never turned into "no data".
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from curtailcoin.backoff import delay_s
from curtailcoin.db.locks import LockBusyError
from curtailcoin.errors import SourceError

log = logging.getLogger("curtailcoin.reconcile")

T = TypeVar("T")

#: PostgreSQL SQLSTATE codes worth a retry: serialization failure, deadlock, lock not available,
#: query cancelled (statement timeout), admin/crash shutdown, cannot connect now.
TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03"}
_TRANSIENT_WORDS = (
    "timeout",
    "timed out",
    "deadlock",
    "terminating connection",
    "connection reset",
    "connection refused",
    "server closed the connection",
    "database is locked",
    "database table is locked",
    "could not serialize",
)


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", exc)
    for attr in ("sqlstate", "pgcode"):
        value = getattr(orig, attr, None)
        if isinstance(value, str):
            return value
    return None


def is_timeout_error(exc: BaseException) -> bool:
    """The seed's ``isTimeoutError``: True for transient errors worth a retry."""
    if isinstance(exc, SourceError):
        return exc.transient
    if isinstance(exc, LockBusyError | TimeoutError | ConnectionError | PoolTimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        state = _sqlstate(exc)
        if state is not None and (state in TRANSIENT_SQLSTATES or state.startswith("08")):
            return True
    if isinstance(exc, OperationalError | sqlite3.OperationalError):
        text = str(exc).lower()
        return any(word in text for word in _TRANSIENT_WORDS)
    return False


def error_category(exc: BaseException) -> str:
    """``"transient"`` or ``"permanent"``."""
    return "transient" if is_timeout_error(exc) else "permanent"


def describe_error(exc: BaseException) -> str:
    """One line: the error's type and message (SQL statements and parameters dropped)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text = f"{type(exc.orig).__name__}: {exc.orig}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:500]


@dataclass
class RetryCounters:
    """What retries happened (reported in the checkpoint's stats)."""

    retries: int = 0
    timeouts: int = 0

    def note(self, exc: BaseException) -> None:
        self.retries += 1
        if (
            "timeout" in str(exc).lower()
            or "timed out" in str(exc).lower()
            or (isinstance(exc, SourceError) and getattr(exc, "kind", "") == "timeout")
        ):
            self.timeouts += 1


async def with_retry(
    operation: Callable[[], Awaitable[T]],
    description: str,
    *,
    max_attempts: int = 3,
    base_delay_s: float = 1.0,
    max_delay_s: float = 60.0,
    counters: RetryCounters | None = None,
    context: dict[str, object] | None = None,
) -> T:
    """The seed's ``withRetry``: run ``operation``, retrying transient errors with backoff.

    A permanent error, or a transient one on the last attempt, is raised unchanged.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return await operation()
        except Exception as exc:
            if not is_timeout_error(exc) or attempt >= max_attempts:
                raise
            if counters is not None:
                counters.note(exc)
            wait = delay_s(attempt, base_delay_s, max_delay_s)
            log.warning(
                "retrying after a transient error",
                extra={
                    **(context or {}),
                    "operation": description,
                    "attempt": attempt,
                    "wait_s": round(wait, 3),
                    "error": describe_error(exc),
                },
            )
            await asyncio.sleep(wait)
