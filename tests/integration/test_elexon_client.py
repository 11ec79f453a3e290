"""The Elexon client against the local server: every fault recovers, errors stay errors."""

from __future__ import annotations

import asyncio
import time
from datetime import date

import httpx
import pytest

from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.sources.http import (
    NotFoundError,
    PermanentSourceError,
    RetriesExhaustedError,
    RetryPolicy,
    UnreachableSourceError,
)
from curtailcoin.testservers.elexon import ElexonTestServer

DAY = date(2025, 1, 17)
FAST = RetryPolicy(max_tries=5, max_time_s=20, backoff_base_s=0.01, backoff_max_s=0.05)


def client_for(server: ElexonTestServer, **options: object) -> ElexonClient:
    defaults: dict[str, object] = {
        "concurrency": 8,
        "requests_per_second": 1000,
        "timeout_s": 1.0,
        "policy": FAST,
    }
    defaults.update(options)
    return ElexonClient(server.base_url, **defaults)  # type: ignore[arg-type]


async def _period(server: ElexonTestServer, period: int = 5) -> tuple[int, dict[str, int]]:
    async with client_for(server) as client:
        lines = await client.fetch_stack_period(DAY, period)
        return len(lines), client.stats.by_kind


@pytest.mark.parametrize("kind", ["429", "5xx", "timeout", "reset", "truncated", "invalid_json"])
@pytest.mark.slow
def test_each_fault_kind_recovers(elexon_server: ElexonTestServer, kind: str) -> None:
    expected = len(elexon_server.stack_lines(DAY, 5))
    elexon_server.faults.add(kind, times=2, retry_after_s=0, delay_s=2.0)
    count, by_kind = asyncio.run(_period(elexon_server))
    assert count == expected
    client_kind = {"429": "429", "5xx": "5xx", "timeout": "timeout"}.get(kind)
    if client_kind is not None:
        assert by_kind == {client_kind: 2}
    else:  # resets, truncated and invalid bodies
        assert sum(by_kind.values()) == 2 and set(by_kind) <= {"connection", "invalid_json"}


def test_retry_after_is_honoured(elexon_server: ElexonTestServer) -> None:
    elexon_server.faults.add("429", times=1, retry_after_s=0.6)
    asyncio.run(_period(elexon_server))
    first, retry = sorted(elexon_server.requests, key=lambda r: r.start)
    assert first.status == 429 and retry.status == 200
    assert retry.start >= first.end + 0.6  # the server's log: the retry waited Retry-After


def test_persistent_failure_gives_up_loudly(elexon_server: ElexonTestServer) -> None:
    elexon_server.fail_period(DAY, 7)

    async def run() -> None:
        async with client_for(elexon_server) as client:
            await client.fetch_stack_period(DAY, 7)

    with pytest.raises(RetriesExhaustedError, match=r"gave up .* after 5 tries") as info:
        asyncio.run(run())
    assert info.value.tries == 5
    assert len(elexon_server.requests_matching("/7$")) == 5


def test_retry_budget_in_time_is_bounded(elexon_server: ElexonTestServer) -> None:
    elexon_server.faults.add("429", retry_after_s=5)

    async def run() -> None:
        policy = RetryPolicy(max_tries=10, max_time_s=2.0, backoff_base_s=0.01)
        async with client_for(elexon_server, policy=policy) as client:
            await client.fetch_stack_period(DAY, 1)

    with pytest.raises(RetriesExhaustedError) as info:
        asyncio.run(run())
    # a 5 s Retry-After does not fit the 2 s budget: given up at once, never slept on
    assert info.value.tries == 1
    assert len(elexon_server.requests) == 1


def test_period_beyond_the_day_is_never_requested(elexon_server: ElexonTestServer) -> None:
    async def run() -> None:
        async with client_for(elexon_server) as client:
            await client.fetch_stack_period(date(2025, 3, 30), 47)

    with pytest.raises(ValueError, match=r"allowed 1\.\.46"):
        asyncio.run(run())
    assert elexon_server.requests == []


def test_a_404_is_an_error_not_empty_data(elexon_server: ElexonTestServer) -> None:
    async def run() -> None:
        async with client_for(elexon_server) as client:
            await client.get_json("/balancing/settlement/stack/all/bid/2025-03-30/47")

    with pytest.raises(NotFoundError):
        asyncio.run(run())


def test_bad_request_is_permanent_and_not_retried(elexon_server: ElexonTestServer) -> None:
    async def run() -> None:
        async with client_for(elexon_server) as client:
            await client.get_json("/balancing/settlement/stack/all/bid/2025-1-1/3")

    with pytest.raises(PermanentSourceError, match="HTTP 400"):
        asyncio.run(run())
    assert len(elexon_server.requests) == 1


@pytest.mark.slow
def test_concurrency_cap_holds(elexon_server: ElexonTestServer) -> None:
    elexon_server.latency_s = 0.05

    async def run() -> dict[int, object]:
        async with client_for(elexon_server, concurrency=3) as client:
            return dict(await client.fetch_stack_periods(DAY, range(1, 49)))

    results = asyncio.run(run())
    assert len(results) == 48
    assert 1 <= elexon_server.max_in_flight <= 3  # never above the cap (reaching it is timing)


def test_rate_limit_holds(elexon_server: ElexonTestServer) -> None:
    async def run() -> None:
        async with client_for(elexon_server, requests_per_second=10) as client:
            await client.fetch_stack_periods(DAY, range(1, 21))

    started = time.monotonic()
    asyncio.run(run())
    # 20 requests at 10/s: the first 10 in the first second, the rest after. A lower bound on
    # the time waited (a loaded machine only adds to it), not a measure of speed.
    assert time.monotonic() - started >= 0.9
    assert len(elexon_server.requests) == 20


def test_fetch_day_keeps_errors_per_period(elexon_server: ElexonTestServer) -> None:
    elexon_server.fail_period(DAY, 3, kind="reset")

    async def run() -> dict[int, object]:
        async with client_for(elexon_server) as client:
            return dict(await client.fetch_stack_periods(DAY, range(1, 49)))

    results = asyncio.run(run())
    failed = [p for p, r in results.items() if not r.ok]  # type: ignore[attr-defined]
    assert failed == [3]


def test_acceptance_volumes_and_bm_units(elexon_server: ElexonTestServer) -> None:
    async def run() -> tuple[int, int]:
        async with client_for(elexon_server) as client:
            volumes = await client.fetch_acceptance_volumes(DAY)
            units = await client.fetch_bm_units()
            return len(volumes), len(units)

    volumes, units = asyncio.run(run())
    assert volumes > 0
    assert units == len([u for u in elexon_server.bm_units if u.get("elexonBmUnit")])


def test_connection_refused_before_any_answer_is_not_retried() -> None:
    """A host that never answered is unreachable: one permanent error, no retry budget spent
    (test_politeness.py has the refusal after a first answer, which is retried)."""

    async def run() -> int:
        policy = RetryPolicy(max_tries=2, backoff_base_s=0.01)
        async with ElexonClient("http://127.0.0.1:9/bmrs/api/v1", policy=policy) as client:
            try:
                await client.fetch_stack_period(DAY, 1)
            finally:
                retries = client.stats.retries
        return retries

    with pytest.raises(UnreachableSourceError) as info:
        asyncio.run(run())
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert "127.0.0.1" in str(info.value) and "refused" in str(info.value)
