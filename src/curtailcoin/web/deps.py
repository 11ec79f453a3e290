"""The routes' dependencies: the app context (settings, engine), the request's one snapshot
connection, and the bearer token of the protected routes."""

from __future__ import annotations

import asyncio
import hmac
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

import anyio
from fastapi import Depends, Header, Request
from sqlalchemy import Connection, Engine

from curtailcoin.config import Settings
from curtailcoin.db.engine import read_snapshot
from curtailcoin.web.cache import note_snapshot_version
from curtailcoin.web.errors import ApiError


@dataclass
class AppContext:
    settings: Settings
    started_at: datetime
    _engine: Engine | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _slots: tuple[asyncio.AbstractEventLoop, anyio.CapacityLimiter] | None = None
    _simulated: bool | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from curtailcoin.db.engine import get_engine

            with self._lock:
                if self._engine is None:
                    self._engine = get_engine(self.settings.database_url)
        return self._engine

    @property
    def simulated(self) -> bool:
        """Whether the database is a demo's (``curtailcoin.simulated``), read once per process:
        a database with real data never becomes one (the demo refuses it)."""
        if self._simulated is None:
            from curtailcoin.simulated import is_simulated

            with self.engine.connect() as conn:
                self._simulated = is_simulated(conn)
        return self._simulated

    def snapshot_slots(self) -> anyio.CapacityLimiter:
        """The limit of :data:`MAX_SNAPSHOTS`, one per event loop (a test client has its own)."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, anyio.CapacityLimiter(MAX_SNAPSHOTS))
        return self._slots[1]

    @property
    def default_model(self) -> str:
        return self.settings.tracked_models[0] if self.settings.tracked_models else "S19J_PRO"


def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


# Requests reading the database at once, per process: fewer than the smallest connection pool
# (15 on SQLite, 20 on PostgreSQL), so a request never holds a worker thread while it waits for
# a connection (with every thread waiting, no connection could be given back), and a handful of
# threads share the interpreter better than forty. The others wait in the event loop.
MAX_SNAPSHOTS = 8


async def snapshot(
    request: Request, ctx: Annotated[AppContext, Depends(context)]
) -> AsyncIterator[Connection]:
    """The request's one read transaction: every figure of a response (totals and their rows,
    prices, completeness, input checks) comes from one snapshot, whatever writers commit
    meanwhile. The response cache learns that snapshot's data version from here."""
    async with ctx.snapshot_slots():
        opened = read_snapshot(ctx.engine)

        def enter() -> Connection:
            conn = opened.__enter__()
            try:
                note_snapshot_version(request.scope, conn)  # the snapshot's first read
            except BaseException as exc:
                opened.__exit__(type(exc), exc, exc.__traceback__)
                raise
            return conn

        conn = await anyio.to_thread.run_sync(enter)
        try:
            yield conn
        finally:
            await anyio.to_thread.run_sync(opened.__exit__, None, None, None)


Ctx = Annotated[AppContext, Depends(context)]
Conn = Annotated[Connection, Depends(snapshot)]


def require_token(
    ctx: Ctx,
    authorization: Annotated[
        str | None, Header(description="Bearer <CURTAILCOIN_API_TOKEN>")
    ] = None,
) -> None:
    """Bearer token check in constant time; 403 when no token is configured."""
    token = ctx.settings.api_token
    if not token:
        raise ApiError(
            403, "ingestion over the API is disabled: set CURTAILCOIN_API_TOKEN to enable it"
        )
    challenge = {"WWW-Authenticate": "Bearer"}
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise ApiError(401, "missing bearer token in the Authorization header", challenge)
    given = credentials.strip().encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(given, token.encode("utf-8", "surrogateescape")):
        raise ApiError(401, "invalid bearer token", challenge)
