"""A response cache for the read-only API, keyed by the data's version.

The analytics only change when a date is (re)ingested, recalculated or priced, and each of those
rewrites a summary row (``updated_at``) or a price row (``fetched_at``). Every ``GET /api/...`` asks
the database for a cheap *version* — the latest ``updated_at`` and row counts of the daily
summaries, the latest price fetch, the miner catalogue size, the last source refresh — and
answers from memory when a response for the same URL was computed at that version less than
``ttl_s`` seconds ago (the TTL bounds what depends on the clock, such as today's expected periods).
Any change to the data changes the version, so a stale figure is never served. Concurrent
requests share one version query (:class:`SharedRead`), and a response is stored under the
version of the snapshot it was computed from (:func:`note_snapshot_version`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import anyio
from sqlalchemy import Connection, Engine, func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from curtailcoin.db.schema import (
    bitcoin_daily_summaries,
    btc_prices,
    daily_summaries,
    miner_models,
    source_refreshes,
)

UNCACHED = ("/api/ingest/", "/api/data-range")
SNAPSHOT_VERSION = "curtailcoin.snapshot_version"  # ASGI scope key: the route's snapshot version


def data_version(conn: Connection) -> tuple[Any, ...]:
    """The data's version as ``conn`` sees it (one statement, so one snapshot)."""
    d, b, p = daily_summaries.c, bitcoin_daily_summaries.c, btc_prices.c
    query = select(
        select(func.max(d.updated_at)).scalar_subquery(),
        select(func.count()).select_from(daily_summaries).scalar_subquery(),
        select(func.max(b.updated_at)).scalar_subquery(),
        select(func.count()).select_from(bitcoin_daily_summaries).scalar_subquery(),
        select(func.max(p.fetched_at)).scalar_subquery(),
        select(func.count()).select_from(btc_prices).scalar_subquery(),
        select(func.count()).select_from(miner_models).scalar_subquery(),
        select(func.max(source_refreshes.c.refreshed_at)).scalar_subquery(),
    )
    return tuple(conn.execute(query).one())


def note_snapshot_version(scope: Scope, conn: Connection) -> None:
    """Record the version of the snapshot a response is computed from, when the cache asks.

    A writer may commit between the middleware's version check and the route's snapshot, so a
    response is stored under the version its own snapshot saw, never the one checked before.
    """
    wanted: list[tuple[Any, ...]] | None = scope.get(SNAPSHOT_VERSION)
    if wanted is not None and not wanted:
        wanted.append(data_version(conn))


class SharedRead:
    """Concurrent requests share one version query instead of one query (and one connection and
    one worker thread) each.

    A request never takes the answer of a query that was already running when it arrived (it
    may have started before a commit the request must see): it waits for the next query, which
    starts when the running one ends and serves every request that arrived in between.
    """

    def __init__(self, read: Callable[[], tuple[Any, ...]]) -> None:
        self._read = read
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next: asyncio.Future[tuple[Any, ...]] | None = None
        self._running = False
        self._task: asyncio.Task[None] | None = None

    async def __call__(self) -> tuple[Any, ...]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (e.g. a new test client): start afresh
            self._loop, self._next, self._running = loop, None, False
        if self._next is None:
            self._next = loop.create_future()
            self._next.add_done_callback(_retrieve)
        wanted = self._next
        if not self._running:
            self._running = True
            self._task = loop.create_task(self._drain())  # referenced: not collected mid-run
        return await asyncio.shield(wanted)

    async def _drain(self) -> None:
        try:
            while self._next is not None:
                future, self._next = self._next, None
                try:
                    future.set_result(await anyio.to_thread.run_sync(self._read))
                except Exception as exc:
                    future.set_exception(exc)
        finally:
            self._running = False


def _retrieve(future: asyncio.Future[Any]) -> None:
    """A failed read whose requests have all gone away is not reported as never retrieved."""
    if not future.cancelled():
        future.exception()


@dataclass
class Entry:
    version: tuple[Any, ...]
    stored_at: float
    headers: list[tuple[bytes, bytes]]
    body: bytes


class ResponseCache:
    def __init__(
        self,
        engine: Callable[[], Engine],
        *,
        max_entries: int = 256,
        ttl_s: float = 60.0,
        max_body: int = 4_000_000,
    ) -> None:
        self._engine = engine
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self.max_body = max_body
        self.hits = 0
        self.misses = 0
        self.shared_version = SharedRead(self.version)

    def version(self) -> tuple[Any, ...]:
        with self._engine().connect() as conn:
            return data_version(conn)

    def get(self, key: str, version: tuple[Any, ...]) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.version != version:
                return None
            if time.monotonic() - entry.stored_at > self.ttl_s:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: Entry) -> None:
        if len(entry.body) > self.max_body:
            return
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


class CacheMiddleware:
    """Serves repeated ``GET /api/...`` requests from :class:`ResponseCache`."""

    def __init__(self, app: ASGIApp, cache: ResponseCache) -> None:
        self.app = app
        self.cache = cache
        # URLs being computed: a request for one waits for it and takes its answer when that
        # was computed at the version the request saw (after a write, 50 clients asking for
        # the same month compute it once, not 50 times).
        self._computing: dict[str, asyncio.Event] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope.get("method") != "GET"
            or not path.startswith("/api/")
            or path.startswith(UNCACHED)
        ):
            await self.app(scope, receive, send)
            return
        query = urlencode(sorted(parse_qsl(scope.get("query_string", b"").decode("latin-1"))))
        key = f"{path}?{query}"
        try:
            version = await self.cache.shared_version()
        except Exception:  # the route itself will report the database problem
            await self.app(scope, receive, send)
            return
        entry = self.cache.get(key, version)
        running = self._computing.get(key) if entry is None else None
        if running is not None:  # the same URL is being computed: its answer may be this one's
            await running.wait()
            entry = self.cache.get(key, version)
        if entry is not None:
            self.cache.hits += 1
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [*entry.headers, (b"x-cache", b"hit")],
                }
            )
            await send({"type": "http.response.body", "body": entry.body})
            return
        self.cache.misses += 1
        started: dict[str, Any] = {}
        chunks: list[bytes] = []
        computed_at: list[tuple[Any, ...]] = []
        scope[SNAPSHOT_VERSION] = computed_at

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-cache", b"miss")],
                }
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if (
                    not message.get("more_body", False)
                    and started.get("status") == 200
                    and computed_at  # a route that read no snapshot is not cached
                ):
                    headers = [
                        (k, v)
                        for k, v in started.get("headers", [])
                        if k.lower() not in (b"date", b"server")
                    ]
                    entry = Entry(computed_at[0], time.monotonic(), headers, b"".join(chunks))
                    self.cache.put(key, entry)
            await send(message)

        done = asyncio.Event()
        leads = key not in self._computing
        if leads:
            self._computing[key] = done
        try:
            await self.app(scope, receive, capture)
        finally:
            if leads:
                del self._computing[key]
                done.set()
