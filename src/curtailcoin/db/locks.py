"""Per-date locks: two reconciliations never process the same date at the same time.

* **PostgreSQL**: session advisory locks ``pg_try_advisory_lock(namespace, date ordinal)`` held
  on one dedicated connection per :class:`DateLocks`. A killed process's connection closes and
  the server releases its locks at once; nothing ever terminates another session.
* **SQLite**: a row in ``date_locks`` (holder = host:pid:token, expiry). A row whose holder
  process is dead (same host) or whose lease expired is taken over, so a ``kill -9`` never
  leaves a date locked.

Within one process the same date is also guarded in memory (an advisory lock is re-entrant for
its session, so two tasks of one run must not both "get" it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, select, text, update
from sqlalchemy.exc import IntegrityError

from curtailcoin.db.coordination_tables import date_locks
from curtailcoin.db.dialect import is_postgresql

log = logging.getLogger("curtailcoin.reconcile")

#: first key of the per-date advisory locks ("CCDL")
DATE_LOCK_NAMESPACE = 0x4343444C


class LockBusyError(RuntimeError):
    """The date is being processed by another run (transient: wait and try again)."""


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DateLocks:
    """The per-date locks of one run (use one instance per process or run)."""

    def __init__(self, engine: Engine, *, lease_s: float = 3600.0) -> None:
        self.engine = engine
        self.lease_s = lease_s
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._mutex = threading.Lock()
        self._held: set[date] = set()
        self._conn: Connection | None = None
        self._postgres = is_postgresql(engine)

    # -- PostgreSQL ----------------------------------------------------------------------------

    def _session(self) -> Connection:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if self._held:
                # The old session is gone and so are its locks: say so loudly.
                log.error(
                    "lock session lost; its date locks were released by the server",
                    extra={"dates": sorted(d.isoformat() for d in self._held)},
                )
                self._held.clear()
        return self._conn

    def _pg_try(self, day: date) -> bool:
        row = self._session().execute(
            text("SELECT pg_try_advisory_lock(:ns, :key)"),
            {"ns": DATE_LOCK_NAMESPACE, "key": day.toordinal()},
        )
        return bool(row.scalar())

    def _pg_release(self, day: date) -> None:
        if self._conn is None or self._conn.closed:
            return
        self._conn.execute(
            text("SELECT pg_advisory_unlock(:ns, :key)"),
            {"ns": DATE_LOCK_NAMESPACE, "key": day.toordinal()},
        )

    # -- SQLite (the date_locks table) ---------------------------------------------------------

    def _stale(self, holder: str, expires_at: datetime | None, now: datetime) -> bool:
        if expires_at is not None:
            if expires_at.tzinfo is None:
                expires_at = expires_at.replace(tzinfo=UTC)
            if expires_at < now:
                return True
        host, _, rest = holder.partition(":")
        pid_text = rest.partition(":")[0]
        return host == socket.gethostname() and pid_text.isdigit() and not _pid_alive(int(pid_text))

    def _table_try(self, day: date) -> bool:
        try:
            return self._table_try_once(day)
        except IntegrityError:  # another process inserted the row first
            return False

    def _table_try_once(self, day: date) -> bool:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            row = conn.execute(
                select(date_locks.c.holder, date_locks.c.expires_at).where(
                    date_locks.c.settlement_date == day
                )
            ).first()
            if row is not None:
                if row.holder == self.holder:
                    return True
                if not self._stale(row.holder, row.expires_at, now):
                    return False
                log.warning(
                    "taking over a stale date lock",
                    extra={"date": day.isoformat(), "previous_holder": row.holder},
                )
                # Only the stale holder's row: a competitor that took it over first keeps it.
                conn.execute(
                    delete(date_locks).where(
                        date_locks.c.settlement_date == day, date_locks.c.holder == row.holder
                    )
                )
            conn.execute(
                date_locks.insert().values(
                    settlement_date=day,
                    holder=self.holder,
                    acquired_at=now,
                    expires_at=now + timedelta(seconds=self.lease_s),
                )
            )
        return True

    def _table_release(self, day: date) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(date_locks).where(
                    date_locks.c.settlement_date == day, date_locks.c.holder == self.holder
                )
            )

    def renew(self, day: date) -> None:
        """Extend the lease of a held date (SQLite; advisory locks need no lease)."""
        if self._postgres:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(date_locks)
                .where(date_locks.c.settlement_date == day, date_locks.c.holder == self.holder)
                .values(expires_at=datetime.now(UTC) + timedelta(seconds=self.lease_s))
            )

    # -- public API ----------------------------------------------------------------------------

    def try_acquire(self, day: date) -> bool:
        """Take the date's lock if nobody holds it; never waits."""
        with self._mutex:
            if day in self._held:
                return False
            try:
                got = self._pg_try(day) if self._postgres else self._table_try(day)
            except Exception:
                if self._postgres and self._conn is not None:
                    with contextlib.suppress(Exception):
                        self._conn.invalidate()
                raise
            if got:
                self._held.add(day)
            return got

    def release(self, day: date) -> None:
        with self._mutex:
            if day not in self._held:
                return
            self._held.discard(day)
            try:
                if self._postgres:
                    self._pg_release(day)
                else:
                    self._table_release(day)
            except Exception as exc:  # the lock dies with the session or its lease anyway
                log.warning(
                    "could not release a date lock",
                    extra={"date": day.isoformat(), "error": str(exc)},
                )

    async def acquire(self, day: date, *, timeout_s: float, poll_s: float = 0.25) -> None:
        """Wait up to ``timeout_s`` for the date's lock; ``LockBusyError`` after that."""
        deadline = time.monotonic() + timeout_s
        waited = False
        while True:
            if await asyncio.to_thread(self.try_acquire, day):
                if waited:
                    log.info("date lock acquired after waiting", extra={"date": day.isoformat()})
                return
            if not waited:
                log.info("date is locked by another run; waiting", extra={"date": day.isoformat()})
                waited = True
            if time.monotonic() >= deadline:
                raise LockBusyError(
                    f"date {day.isoformat()} is being processed by another run "
                    f"(waited {timeout_s:.0f} s)"
                )
            await asyncio.sleep(poll_s)

    @contextlib.asynccontextmanager
    async def hold(self, day: date, *, timeout_s: float = 600.0) -> AsyncIterator[None]:
        """``async with locks.hold(day):`` — the date is ours inside the block."""
        await self.acquire(day, timeout_s=timeout_s)
        # Logged after taking and before giving back: the logged spans never overlap.
        log.debug("date lock acquired", extra={"date": day.isoformat(), "holder": self.holder})
        try:
            yield
        finally:
            log.debug("date lock releasing", extra={"date": day.isoformat(), "holder": self.holder})
            await asyncio.to_thread(self.release, day)

    def close(self) -> None:
        with self._mutex:
            held = list(self._held)
        for day in held:
            self.release(day)
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
