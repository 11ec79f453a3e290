"""The politeness rules against the test server's log (a virtual clock: test_politeness_rules)."""

from __future__ import annotations

import asyncio
import socket
from datetime import date

import pytest

from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.sources.http import RetryPolicy, UnreachableSourceError
from curtailcoin.testservers.elexon import ElexonTestServer
from support.clock import max_in_window

DAY = date(2025, 1, 17)


def _client(server: ElexonTestServer, **options: object) -> ElexonClient:
    policy = RetryPolicy(max_tries=6, max_time_s=30, backoff_base_s=0.01, backoff_max_s=0.05)
    return ElexonClient(server.base_url, policy=policy, **options)  # type: ignore[arg-type]


@pytest.mark.slow
def test_cap_holds_in_the_servers_log_retries_included() -> None:
    """10/s with 429s and 5xx on the way: no second of the server's log holds more than 10."""
    with ElexonTestServer(seed=1) as server:
        server.faults.add("429", times=3, retry_after_s=0)
        server.faults.add("5xx", times=3)

        async def run() -> None:
            async with _client(server, requests_per_second=10, concurrency=16) as client:
                results = await client.fetch_stack_periods(DAY, range(1, 25))
                assert all(r.ok for r in results.values())

        asyncio.run(run())
        starts = [r.start for r in server.requests]
    assert len(starts) == 24 + 6
    assert max_in_window(starts) <= 10


def test_429_cuts_concurrency() -> None:
    with ElexonTestServer(seed=1) as server:
        server.faults.add("429", times=1, retry_after_s=0)

        async def run() -> tuple[int, int]:
            async with _client(server, concurrency=16) as client:
                await client.fetch_stack_periods(DAY, range(1, 17))
                return client.concurrency.limit, client.stats.retries

        limit, retries = asyncio.run(run())
    assert retries == 1 and limit < 16  # halved to 8, then regrown by the successes


def test_retry_after_holds_every_new_start() -> None:
    """One request at a time, so the server's log orders the client's starts exactly."""
    with ElexonTestServer(seed=1) as server:
        server.faults.add("429", match=r"/2025-01-17/2$", times=1, retry_after_s=0.3)

        async def run() -> None:
            async with _client(server, concurrency=1) as client:
                await client.fetch_stack_periods(DAY, range(1, 6))

        asyncio.run(run())
        log = sorted(server.requests, key=lambda r: r.start)
    faulted = next(r for r in log if r.fault == "429")
    after = [r for r in log if r.start > faulted.start]
    assert len(after) == 4 and min(r.start for r in after) >= faulted.end + 0.3


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("base_url", "reason"),
    [
        ("http://curtailcoin-offline.invalid/bmrs/api/v1", "does not resolve"),
        (f"http://127.0.0.1:{_closed_port()}/bmrs/api/v1", "refused"),
    ],
    ids=["unresolvable", "refused"],  # the port differs per process: ids that do not (xdist)
)
def test_an_unreachable_host_fails_at_once_with_one_message(base_url: str, reason: str) -> None:
    """Not 48 failed periods: one error for the run, before any retry."""
    stats = {}

    async def run() -> None:
        policy = RetryPolicy(max_tries=6, max_time_s=60, backoff_base_s=1, backoff_max_s=5)
        client = ElexonClient(base_url, policy=policy, setting="CURTAILCOIN_ELEXON_BASE_URL")
        try:
            await client.fetch_stack_periods(DAY, range(1, 49))
        finally:
            stats["retries"], stats["requests"] = client.stats.retries, client.stats.requests
            await client.aclose()

    with pytest.raises(UnreachableSourceError) as info:
        asyncio.run(run())
    assert stats["retries"] == 0 and stats["requests"] <= 16
    message = str(info.value)
    assert reason in message and "CURTAILCOIN_ELEXON_BASE_URL" in message and "\n" not in message


def test_a_host_that_has_answered_keeps_its_retries() -> None:
    """Refused after a first answer (a restart): transient, retried, not 'unreachable'."""
    with ElexonTestServer(seed=1) as server:

        async def run() -> bool:
            async with _client(server) as client:
                await client.fetch_stack_period(DAY, 1)
                server.stop()
                restart = asyncio.get_running_loop().call_later(0.05, server.start)
                try:
                    await client.fetch_stack_period(DAY, 2)
                finally:
                    restart.cancel()
                return client.stats.retries > 0

        assert asyncio.run(run())
