"""A response cache for the read-only API, keyed by the version of the data each answer read.

The analytics only change when a date is (re)ingested, recalculated or priced. Every write of a
date's daily summaries, periods or held answer adds 1 to the date's counter in
``date_versions`` (triggers of migrations 0008 and 0012, in the writer's transaction; see
:mod:`curtailcoin.db.versions`). An answer whose URL names its dates — a day, a month, a year
or a ``from``..``to`` range without a lead-party or BM-unit filter — is keyed by the sum of its
dates' counters and by the few tables every such answer reads (prices, their last update's
failures, the miner catalogue); any other answer by the version of the whole database
(:data:`ALL`). So a write of 2025-01-17
recomputes that day, January 2025 and 2025, and every other cached answer stays: it is exactly
the answer its dates still have. An entry is also dropped after ``ttl_s`` seconds (what depends
on the clock, such as today's expected periods).

Concurrent requests share one version read per round (:class:`BatchedRead`: the versions of
every scope asked for meanwhile, in one snapshot), which first asks whether anything was
committed since the last round (:class:`VersionReader`), and a response is stored under the
version read inside its own snapshot (:func:`note_snapshot_version`).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlencode

import anyio
from sqlalchemy import Connection, Engine, func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from curtailcoin.db.dialect import is_in_memory, is_postgresql
from curtailcoin.db.engine import read_snapshot
from curtailcoin.db.reference_tables import btc_prices, miner_models, source_refreshes
from curtailcoin.db.summary_tables import bitcoin_daily_summaries, daily_summaries
from curtailcoin.db.versions import DateRange, range_versions, total_version
from curtailcoin.prices import REFRESH_SOURCE
from curtailcoin.web.params import TIMEFRAME_ALIASES

UNCACHED = ("/api/ingest/", "/api/data-range")
SNAPSHOT_VERSION = "curtailcoin.snapshot_version"  # ASGI scope key: the route's snapshot version

#: what an answer's version covers: its dates, or ``ALL`` (None) for the whole database
VersionKey = DateRange | None
ALL: VersionKey = None

# Routes whose answer reads only the dates of the scope its URL names (and the prices and the
# miner catalogue): scope in the path …
_PATH_SCOPES = {
    "/api/summary/daily/": "day",
    "/api/mining-potential/daily/": "day",
    "/api/curtailment/hourly/": "day",
    "/api/lead-parties/": "day",
    "/api/summary/monthly/": "month",
    "/api/mining-potential/monthly/": "month",
    "/api/summary/yearly/": "year",
    "/api/mining-potential/yearly/": "year",
}
# … or in the query: (value parameter, timeframe parameter)
_QUERY_SCOPES: dict[str, tuple[str, str | None]] = {
    "/api/mining-potential/daily": ("date", None),
    "/api/mining-potential/farms": ("date", "timeframe"),
    "/api/mining-potential/top-farms": ("value", "period"),
    "/api/farm-tables/grouped-data": ("value", "timeframe"),
}
# … or as a range of dates: (first parameter, last parameter), both inclusive
_RANGE_SCOPES: dict[str, tuple[str, str]] = {
    "/api/curtailment-share": ("from", "to"),
    "/api/curtailment-share/farms": ("from", "to"),
}
# A lead party or BM unit is checked against every date (a write elsewhere may add or remove it)
_WHOLE_DATABASE_PARAMETERS = ("leadParty", "farmId")
_FORMS = {
    "day": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "month": re.compile(r"\d{4}-\d{2}"),
    "year": re.compile(r"\d{4}"),
}


def _span(timeframe: str, text: str) -> DateRange | None:
    """The dates of a day, month or year written as the API's routes read it (None if not)."""
    if not _FORMS[timeframe].fullmatch(text):
        return None
    try:
        if timeframe == "day":
            day = date.fromisoformat(text)
            return day, day + timedelta(days=1)
        year = int(text[:4])
        if timeframe == "month":
            month = int(text[5:7])
            return date(year, month, 1), date(year + (month == 12), month % 12 + 1, 1)
        return date(year, 1, 1), date(year + 1, 1, 1)
    except ValueError:
        return None


def url_scope(path: str, query: list[tuple[str, str]]) -> VersionKey:
    """The dates an answer to ``path?query`` reads, or :data:`ALL`.

    Anything else than a day, a month or a year named in the URL — a filter, a default (the
    latest date), a repeated parameter, another route — is keyed by the whole database.
    """
    names = [name for name, _ in query]
    if len(set(names)) != len(names) or any(n in names for n in _WHOLE_DATABASE_PARAMETERS):
        return ALL
    for prefix, timeframe in _PATH_SCOPES.items():
        if path.startswith(prefix):
            rest = path[len(prefix) :]
            return ALL if "/" in rest else _span(timeframe, rest)
    params = dict(query)
    bounds = _RANGE_SCOPES.get(path)
    if bounds is not None:
        first = _span("day", params.get(bounds[0], ""))
        last = _span("day", params.get(bounds[1], ""))
        return ALL if first is None or last is None or last < first else (first[0], last[1])
    spec = _QUERY_SCOPES.get(path)
    if spec is None:
        return ALL
    value = params.get(spec[0])
    if value is None:
        return ALL
    inferred = {10: "day", 7: "month", 4: "year"}.get(len(value))
    given = params.get(spec[1]) if spec[1] is not None else None
    if inferred is None or (
        given is not None and TIMEFRAME_ALIASES.get(given.strip().lower()) != inferred
    ):
        return ALL
    if spec[1] is None and inferred != "day":
        return ALL
    return _span(inferred, value)


_d, _b, _p, _s = daily_summaries.c, bitcoin_daily_summaries.c, btc_prices.c, source_refreshes.c
_WHOLE = select(
    select(func.max(_d.updated_at)).scalar_subquery(),
    select(func.count()).select_from(daily_summaries).scalar_subquery(),
    select(func.max(_b.updated_at)).scalar_subquery(),
    select(func.count()).select_from(bitcoin_daily_summaries).scalar_subquery(),
    select(func.max(_p.fetched_at)).scalar_subquery(),
    select(func.count()).select_from(btc_prices).scalar_subquery(),
    select(func.count()).select_from(miner_models).scalar_subquery(),
    select(func.max(_s.refreshed_at)).scalar_subquery(),
)
# What every dated answer may read besides its dates: the prices (the latest is in every value),
# the last price update (its failures name missing prices), the miner catalogue.
_SHARED = select(
    select(func.max(_p.fetched_at)).scalar_subquery(),
    select(func.count()).select_from(btc_prices).scalar_subquery(),
    select(_s.refreshed_at).where(_s.source == REFRESH_SOURCE).scalar_subquery(),
    select(func.count()).select_from(miner_models).scalar_subquery(),
)


def data_version(conn: Connection) -> tuple[Any, ...]:
    """The version of the whole database as ``conn`` sees it."""
    return (*conn.execute(_WHOLE).one(), *total_version(conn))


def read_versions(
    conn: Connection, keys: Collection[VersionKey]
) -> dict[VersionKey, tuple[Any, ...]]:
    """The version of each key as ``conn`` sees it (call inside one snapshot)."""
    out: dict[VersionKey, tuple[Any, ...]] = {}
    ranges = [key for key in keys if key is not None]
    if ranges:
        shared = tuple(conn.execute(_SHARED).one())
        for key, counters in range_versions(conn, ranges).items():
            out[key] = ("dates", *counters, *shared)
    if ALL in keys:
        out[ALL] = ("all", *data_version(conn))
    return out


def note_snapshot_version(scope: Scope, conn: Connection) -> None:
    """Record the version of the snapshot a response is computed from, when the cache asks.

    A writer may commit between the middleware's version check and the route's snapshot, so a
    response is stored under the version its own snapshot saw, never the one checked before.
    """
    wanted: tuple[VersionKey, list[tuple[Any, ...]]] | None = scope.get(SNAPSHOT_VERSION)
    if wanted is not None and not wanted[1]:
        key, found = wanted
        found.append(read_versions(conn, [key])[key])


K = TypeVar("K")
V = TypeVar("V")


class BatchedRead(Generic[K, V]):
    """Concurrent requests share one read per round instead of one query (and one connection
    and one worker thread) each: the round reads every key asked for while it was waited for.

    A request never takes the answer of a read that was already running when it arrived (it
    may have started before a commit the request must see): it waits for the next round, which
    starts when the running one ends and serves every request that arrived in between.
    """

    def __init__(self, read: Callable[[frozenset[K]], Mapping[K, V]]) -> None:
        self._read = read
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next: asyncio.Future[Mapping[K, V]] | None = None
        self._keys: set[K] = set()
        self._running = False
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (e.g. a new test client): start afresh
            self._loop, self._next, self._running = loop, None, False
        if self._next is None:
            self._next = loop.create_future()
            self._next.add_done_callback(_retrieve)
            self._keys = set()
        self._keys.add(key)
        wanted = self._next
        if not self._running:
            self._running = True
            self._task = loop.create_task(self._drain())  # referenced: not collected mid-run
        return (await asyncio.shield(wanted))[key]

    async def _drain(self) -> None:
        try:
            while self._next is not None:
                future, keys = self._next, frozenset(self._keys)
                self._next, self._keys = None, set()
                try:
                    future.set_result(await anyio.to_thread.run_sync(self._read, keys))
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


class VersionReader:
    """Reads versions for the cache through one connection of its own, and first asks the
    database whether anything was committed since its last read: if not, the versions it read
    then are still the versions now (one cheap statement instead of the counters' queries).

    The question is ``PRAGMA data_version`` on SQLite (it changes when another connection
    commits; hence one connection kept for it) and ``pg_current_snapshot()`` on PostgreSQL
    (equal snapshots see exactly the same committed transactions). The answer is read before
    the versions, so a commit landing in between makes the next round read them again.
    An in-memory SQLite database (one connection per thread) is read afresh every round.
    """

    def __init__(self, engine: Callable[[], Engine]) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._token: Any = None
        self._known: dict[VersionKey, tuple[Any, ...]] = {}

    def __call__(self, keys: Collection[VersionKey]) -> dict[VersionKey, tuple[Any, ...]]:
        engine = self._engine()
        if is_in_memory(engine):
            with read_snapshot(engine) as conn:
                return read_versions(conn, keys)
        with self._lock:
            try:
                return self._read(engine, keys)
            except Exception:
                self.close(invalidate=True)  # dropped, or left mid-transaction: a new one next
                raise

    def _read(
        self, engine: Engine, keys: Collection[VersionKey]
    ) -> dict[VersionKey, tuple[Any, ...]]:
        postgresql = is_postgresql(engine)
        if self._conn is None:
            conn = engine.connect()
            self._conn = (
                conn.execution_options(isolation_level="AUTOCOMMIT") if postgresql else conn
            )
        conn = self._conn
        token = conn.exec_driver_sql(
            "SELECT pg_current_snapshot()::text" if postgresql else "PRAGMA data_version"
        ).scalar()
        if token != self._token:
            self._known, self._token = {}, token
        missing = [key for key in keys if key not in self._known]
        if missing:
            conn.exec_driver_sql("BEGIN ISOLATION LEVEL REPEATABLE READ" if postgresql else "BEGIN")
            try:
                self._known.update(read_versions(conn, missing))
            finally:
                if postgresql:
                    conn.exec_driver_sql("ROLLBACK")
                else:
                    conn.rollback()
        return {key: self._known[key] for key in keys}

    @property
    def connection(self) -> Connection | None:
        """The connection kept for the rounds (None before the first or after an error)."""
        return self._conn

    def close(self, *, invalidate: bool = False) -> None:
        conn, self._conn, self._token, self._known = self._conn, None, None, {}
        if conn is None:
            return
        try:
            if invalidate:
                conn.invalidate()
        finally:
            conn.close()


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
        self.versions = VersionReader(engine)
        self.shared_version = BatchedRead(self.versions)

    def close(self) -> None:
        """Give the version reader's connection back (the application is shutting down)."""
        self.versions.close()

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
        pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
        key = f"{path}?{urlencode(sorted(pairs))}"
        dates = url_scope(path, pairs)
        try:
            version = await self.cache.shared_version(dates)
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
        scope[SNAPSHOT_VERSION] = (dates, computed_at)

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
