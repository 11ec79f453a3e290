"""Every API response is read at one snapshot, whatever a writer commits meanwhile.

Deterministic: a hook on the engine commits a write of one date — its records, periods and
calculations doubled (or halved back) and its summaries rebuilt through the real summary
functions, in one transaction, as a reingest replaces a date — right after the k-th read of a
response (the first, second, middle and last but one). The response must be exactly the one
computed just before the write; the next request shows the write.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event, text

from curtailcoin.summaries import rebuild_bitcoin_summaries, rebuild_curtailment_summaries
from curtailcoin.web import create_app
from curtailcoin.web.cache import BatchedRead
from support.api import UNTRACKED_MODEL, Seeded, seed_database
from support.databases import BACKENDS

DAY = date(2025, 1, 18)  # the calm date: a small write

ROUTES: list[tuple[str, dict[str, str]]] = [
    ("/api/summary/monthly/2025-01", {}),
    ("/api/summary/yearly/2025", {}),
    ("/api/summary/daily/2025-01-18", {}),
    ("/api/mining-potential/monthly/2025-01", {}),
    ("/api/mining-potential/monthly/2025-01", {"minerModel": UNTRACKED_MODEL}),
    ("/api/mining-potential/daily/2025-01-18", {}),
    ("/api/curtailment/hourly/2025-01-18", {}),
    ("/api/farm-tables/grouped-data", {"value": "2025-01"}),
    ("/api/mining-potential/top-farms", {"period": "day", "value": "2025-01-18"}),
    ("/api/reconciliation/status", {"from": "2025-01-15", "to": "2025-01-20"}),
    ("/api/curtailment/hourly-comparison/2025-01-18", {}),
    ("/api/curtailment/monthly-comparison/2025-01", {}),
]


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest) -> Seeded:
    fixture = "pg_database" if request.param == "postgresql" else "sqlite_database"
    return seed_database(request.getfixturevalue(fixture))


def scale_day(seeded: Seeded, factor: float) -> None:
    """Rewrite the calm date in one transaction (×2 and ×0.5 are exact in binary floats)."""
    params = {"d": DAY, "f": factor}
    with seeded.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE curtailment_records SET volume = volume * :f, payment = payment * :f "
                "WHERE settlement_date = :d"
            ),
            params,
        )
        conn.execute(
            text(
                "UPDATE settlement_periods SET curtailed_energy_mwh = curtailed_energy_mwh * :f, "
                "payment_gbp = payment_gbp * :f WHERE settlement_date = :d"
            ),
            params,
        )
        conn.execute(
            text(
                "UPDATE historical_bitcoin_calculations SET bitcoin_mined = bitcoin_mined * :f, "
                "curtailed_energy_mwh = curtailed_energy_mwh * :f WHERE settlement_date = :d"
            ),
            params,
        )
        rebuild_curtailment_summaries(conn, DAY)
        rebuild_bitcoin_summaries(conn, DAY, list(seeded.settings.tracked_models))


class Interposer:
    """Counts the reads of requests and commits ``write`` right after the ``at``-th one."""

    def __init__(self, seeded: Seeded, write: Callable[[], object]) -> None:
        self.seeded = seeded
        self.write = write
        self.at: int | None = None
        self.reads = 0
        self.writing = False

    def after_execute(self, _conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if self.writing or statement.strip().upper() == "BEGIN":
            return
        self.reads += 1
        if self.reads == self.at:
            self.writing = True
            try:
                self.write()
            finally:
                self.writing = False

    @contextmanager
    def listening(self) -> Iterator[Interposer]:
        event.listen(self.seeded.engine, "after_cursor_execute", self.after_execute)
        try:
            yield self
        finally:
            event.remove(self.seeded.engine, "after_cursor_execute", self.after_execute)

    def get(self, client: TestClient, path: str, query: dict[str, str], at: int | None) -> Any:
        self.reads, self.at = 0, at
        try:
            response = client.get(path, params=query)
        finally:
            self.at = None
        assert response.status_code == 200, response.text
        check_totals(response.json())
        return response


def check_totals(body: Any) -> None:
    """The month (year) shown equals the sum of the days (months) shown with it, exactly."""
    rows = body.get("days") or body.get("months") if isinstance(body, dict) else None
    if rows is not None:
        for field in ("totalCurtailedEnergy", "totalPayment"):
            assert body[field] == pytest.approx(sum(r[field] for r in rows), rel=1e-12), field
        assert body["recordCount"] == sum(r["recordCount"] for r in rows)


@pytest.fixture
def toggle(seeded: Seeded) -> Iterator[Callable[[], bool]]:
    """A writer that doubles the calm date, then halves it back; the date is left as seeded."""
    state = {"doubled": False}

    def write() -> bool:
        scale_day(seeded, 0.5 if state["doubled"] else 2.0)
        state["doubled"] = not state["doubled"]
        return state["doubled"]

    yield write
    if state["doubled"]:
        write()


@pytest.mark.db
@pytest.mark.parametrize(("path", "query"), ROUTES, ids=[p + str(q) for p, q in ROUTES])
def test_a_write_between_two_reads_of_a_response_is_not_seen(
    seeded: Seeded, toggle: Callable[[], bool], path: str, query: dict[str, str]
) -> None:
    """After the first read every later read would see the write if it were not in the same
    snapshot; the other positions cover a response whose first reads do not depend on it.

    The expected answer is computed just before, in the same state: SQL sums over rows that a
    write moved may round differently, so an earlier state's answer is not bit for bit equal.
    """
    hook = Interposer(seeded, toggle)
    with TestClient(create_app(seeded.settings, cache=False)) as client, hook.listening():
        hook.get(client, path, query, None)  # the app's one-time reads (e.g. the demo flag)
        hook.get(client, path, query, None)
        reads = hook.reads
        assert reads >= 2
        body = None
        for at in sorted({1, 2, reads // 2, reads - 1} - {0, reads}):
            expected = hook.get(client, path, query, None).json()
            body = hook.get(client, path, query, at).json()
            assert hook.reads > at, f"no write after read {at}"
            assert body == expected, f"{path}: a write after read {at} of {reads} leaked in"
            check_totals(body)
        if "reconciliation" not in path:  # the last write shows in the next response
            assert hook.get(client, path, query, None).json() != body


@pytest.mark.db
def test_the_cache_keeps_a_response_under_its_own_snapshot(
    seeded: Seeded, toggle: Callable[[], bool]
) -> None:
    """A write committed between the cache's version check and the route's snapshot: the answer
    (the new figures) is cached under the version its snapshot saw, so the next request is a hit
    with the same new figures, never a stale one."""
    path = "/api/summary/monthly/2025-01"
    hook = Interposer(seeded, toggle)
    with TestClient(create_app(seeded.settings)) as client, hook.listening():
        with TestClient(create_app(seeded.settings, cache=False)) as plain:
            old = plain.get(path).json()
        crossed = hook.get(client, path, {}, 1)  # the write lands after the version check
        assert hook.reads > 1, "no write after the version check"
        assert crossed.headers["x-cache"] == "miss"
        assert crossed.json() != old
        check_totals(crossed.json())
        again = hook.get(client, path, {}, None)
        assert again.headers["x-cache"] == "hit"
        assert again.json() == crossed.json()
        toggle()
        back = hook.get(client, path, {}, None)
        assert back.headers["x-cache"] == "miss"
        assert back.json() == old


def test_a_shared_version_read_never_started_before_the_request() -> None:
    """A request arriving while a version read runs waits for the next one (which may see a
    commit made after the first began); requests arriving together share one read, which reads
    the keys of all of them."""
    release = threading.Event()
    started: list[frozenset[str]] = []

    def read(keys: frozenset[str]) -> dict[str, tuple[Any, ...]]:
        started.append(keys)
        if len(started) == 1:
            release.wait(5)
        return {key: (len(started), key) for key in keys}

    shared: BatchedRead[str, tuple[Any, ...]] = BatchedRead(read)

    async def scenario() -> list[tuple[Any, ...]]:
        first = asyncio.create_task(shared("a"))
        while not started:  # the first read is running
            await asyncio.sleep(0.001)
        later = [asyncio.create_task(shared(key)) for key in ("a", "b", "b")]
        await asyncio.sleep(0.01)
        release.set()
        return [await first, *[await t for t in later]]

    assert asyncio.run(scenario()) == [(1, "a"), (2, "a"), (2, "b"), (2, "b")]
    assert started == [frozenset({"a"}), frozenset({"a", "b"})]
