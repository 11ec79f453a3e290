"""Transaction fees per block: mempool.space parsing, storing, the per-day lookup, CSV import and
``curtailcoin fees update|import`` (both databases, the local mempool test server only)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from curtailcoin.db.reference_tables import block_fees
from curtailcoin.fees import (
    FeeInputError,
    fee_btc_per_block_by_day,
    import_fees_csv,
    last_fee_day,
    period_to_cover,
    recent_reward_stats,
    store_answer,
    update_fees,
)
from curtailcoin.sources.mempool import (
    BlockFees,
    MempoolSchemaError,
    parse_block_fees,
    parse_reward_stats,
)
from curtailcoin.testservers.fees import Chain
from curtailcoin.testservers.mempool import MempoolTestServer
from support.api import make_settings
from support.entrypoint import CURTAILCOIN

NOW = datetime(2025, 1, 20, 6, 0, tzinfo=UTC)
FETCHED = datetime(2025, 1, 20, 7, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[MempoolTestServer]:
    with MempoolTestServer(seed=3, now=NOW) as s:
        yield s


def _update(engine: Engine, server: MempoolTestServer, period: str) -> Any:
    settings = make_settings(
        str(engine.url.render_as_string(hide_password=False)),
        mempool_base_url=server.base_url,
        max_tries=2,
    )
    return asyncio.run(update_fees(engine, settings, period))


def _day_mean_btc(server: MempoolTestServer, day: date) -> float:
    """The exact mean fee per block of the server's blocks on ``day`` (what 3d rows give)."""
    chain = Chain(server.epochs)
    start = int(datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp())
    first, last = chain.height_at(start - 1) + 1, chain.height_at(start + 86_399)
    fees = [server.fee_book.fees_sats(h) for h in range(first, last + 1)]
    return sum(fees) / len(fees) / 1e8


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(block_fees)).scalar_one())


# -- parsing ------------------------------------------------------------------------------------


def test_parse_block_fees_good() -> None:
    rows = parse_block_fees(
        [{"avgHeight": 735644, "timestamp": 1652119111, "avgFees": 24212890}], "3y"
    )
    assert rows == [BlockFees(735644, datetime.fromtimestamp(1652119111, UTC), 24212890, "3y")]
    assert rows[0].resolution_s == 43_200


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"avgHeight": 1}, "expected a JSON list"),
        ([{"avgHeight": 1, "timestamp": 2}], "'avgFees' is missing"),
        (
            [{"avgHeight": 1, "timestamp": 2, "avgFees": "12"}],
            "'avgFees' is '12', expected an integer",
        ),
        ([{"avgHeight": 1, "timestamp": 2, "avgFees": 1.5}], "'avgFees' is 1.5"),
        ([{"avgHeight": 1, "timestamp": 2, "avgFees": True}], "'avgFees' is True"),
        ([{"avgHeight": 1, "timestamp": 2, "avgFees": -1}], "expected 0.."),
        ([{"avgHeight": None, "timestamp": 2, "avgFees": 1}], "'avgHeight' is None"),
        ([[1, 2, 3]], "entry #0: expected an object"),
    ],
)
def test_parse_block_fees_refuses_malformed(payload: Any, message: str) -> None:
    with pytest.raises(MempoolSchemaError, match=message.replace("(", r"\(")) as caught:
        parse_block_fees(payload, "1w")
    assert "blocks/fees/1w" in str(caught.value)
    assert not caught.value.transient


def test_parse_reward_stats() -> None:
    stats = parse_reward_stats(
        {
            "startBlock": 880000,
            "endBlock": "880143",
            "totalReward": "45926339185",
            "totalFee": "926339185",
            "totalTx": "347890",
        },
        144,
    )
    assert stats.blocks == 144 and stats.total_fee_sats == 926339185
    assert stats.fee_btc_per_block == 926339185 / 144 / 1e8
    good = {"startBlock": 1, "endBlock": 2, "totalReward": "3", "totalFee": "1", "totalTx": "4"}
    for key in good:
        with pytest.raises(MempoolSchemaError, match=f"'{key}' is missing"):
            parse_reward_stats({k: v for k, v in good.items() if k != key}, 2)
    with pytest.raises(MempoolSchemaError, match="'totalFee' is '1e3'"):
        parse_reward_stats({**good, "totalFee": "1e3"}, 2)
    with pytest.raises(MempoolSchemaError, match="before startBlock"):
        parse_reward_stats({**good, "startBlock": 5}, 2)


# -- update and lookup --------------------------------------------------------------------------


def test_update_3d_stores_whole_days_and_is_idempotent(
    engine: Engine, server: MempoolTestServer
) -> None:
    first = _update(engine, server, "3d")
    assert first.fetched > first.stored > 0
    assert first.recent is not None and first.recent.blocks == 144
    rows = _count(engine)
    again = _update(engine, server, "3d")
    assert again.stored == first.stored and _count(engine) == rows
    with engine.connect() as conn:
        days = fee_btc_per_block_by_day(conn, date(2025, 1, 1), date(2025, 1, 31))
        assert recent_reward_stats(conn) == first.recent
        assert last_fee_day(conn) == date(2025, 1, 20)
    # 01-17 is cut by the window's start (not stored); 01-20 holds the blocks up to 06:00.
    assert sorted(days) == [date(2025, 1, 18), date(2025, 1, 19), date(2025, 1, 20)]
    for day in (date(2025, 1, 18), date(2025, 1, 19)):
        assert days[day] == pytest.approx(_day_mean_btc(server, day), rel=1e-15)


def test_refetching_the_day_in_progress_replaces_it(
    engine: Engine, server: MempoolTestServer
) -> None:
    _update(engine, server, "1w")
    before = _count(engine)
    server.set_now(NOW + timedelta(hours=6))
    _update(engine, server, "1w")
    with engine.connect() as conn:
        rows = conn.execute(
            select(block_fees.c.timestamp_utc).where(block_fees.c.fee_date == date(2025, 1, 20))
        ).all()
    stamps = [r[0] for r in rows]
    assert len(stamps) == len(set(stamps)) and max(stamps) > NOW  # no bucket twice
    assert _count(engine) > before


def test_a_day_without_data_is_absent(engine: Engine, server: MempoolTestServer) -> None:
    gap = date(2025, 1, 16)
    server.fee_book.set_gap(gap)
    _update(engine, server, "1w")
    with engine.connect() as conn:
        days = fee_btc_per_block_by_day(conn, date(2025, 1, 14), date(2025, 1, 18))
    assert gap not in days
    assert sorted(days) == [
        date(2025, 1, 14),
        date(2025, 1, 15),
        date(2025, 1, 17),
        date(2025, 1, 18),
    ]
    assert all(v > 0 for v in days.values())


def test_update_failure_is_a_source_error(engine: Engine, server: MempoolTestServer) -> None:
    from curtailcoin.sources.http import SourceError

    server.faults.add("invalid_json", match="blocks/fees")
    with pytest.raises(SourceError):
        _update(engine, server, "3d")
    assert _count(engine) == 0


def test_the_daily_bucket_wins_then_single_blocks(engine: Engine) -> None:
    day = date(2025, 1, 18)
    at = datetime(2025, 1, 18, 12, tzinfo=UTC)
    blocks = [
        BlockFees(100 + i, at + timedelta(minutes=10 * i), 1_000 * (i + 1), "3d") for i in range(3)
    ]
    buckets = [
        BlockFees(101, at, 9_000, "3y"),
        BlockFees(105, at + timedelta(hours=12) - timedelta(seconds=1), 3_000, "3y"),
    ]
    daily = [BlockFees(101, at, 2_500, "all")]
    older = [BlockFees(1, at - timedelta(days=1), 0, "3y")]  # the cut oldest day of each answer
    with engine.begin() as conn:
        store_answer(conn, "3y", older + buckets, FETCHED)
        assert fee_btc_per_block_by_day(conn, day, day) == {day: (9_000 + 3_000) / 2 / 1e8}
        store_answer(conn, "3d", [BlockFees(1, at - timedelta(days=1), 0, "3d"), *blocks], FETCHED)
        assert fee_btc_per_block_by_day(conn, day, day) == {day: 6_000 / 3 / 1e8}
        store_answer(conn, "all", daily, FETCHED)
        assert fee_btc_per_block_by_day(conn, day, day) == {day: 2_500 / 1e8}
        assert (
            fee_btc_per_block_by_day(conn, day - timedelta(days=1), day - timedelta(days=1)) == {}
        )


def test_period_to_cover() -> None:
    today = date(2025, 1, 20)
    assert period_to_cover(None, today) == "3y"
    assert period_to_cover(today, today) == "3d"
    assert period_to_cover(date(2025, 1, 17), today) == "3d"
    assert period_to_cover(date(2025, 1, 16), today) == "1w"
    assert period_to_cover(date(2015, 1, 16), today) == "all"


# -- CSV import ---------------------------------------------------------------------------------


def test_csv_import_good_and_bad(engine: Engine, tmp_path: Path) -> None:
    good = tmp_path / "fees.csv"
    good.write_text(
        "avg_height,timestamp,avg_fees_sats,period\n"
        "879000,1737072000,20000000,3d\n"
        "879001,2025-01-17T00:10:00Z,30000000,3d\n"
    )
    result = import_fees_csv(engine, good)
    assert result.rows == 2 and result.first_day == result.last_day == date(2025, 1, 17)
    import_fees_csv(engine, good)  # again: the same rows
    with engine.connect() as conn:
        assert fee_btc_per_block_by_day(conn, date(2025, 1, 17), date(2025, 1, 17)) == {
            date(2025, 1, 17): 0.25
        }
    assert _count(engine) == 2
    head = "avg_height,timestamp,avg_fees_sats,period\n"
    cases = {
        "avg_height,timestamp,avg_fees_sats\n1,2,3\n": "no 'period' column",
        head + "1,2,3,5y\n": "line 2: period '5y' not allowed",
        head + "1,2,3,3d\n1,2,-3,3d\n": "line 3: avg_fees_sats '-3'",
        head + "1,2025-01-17,3,3d\n": "timestamp '2025-01-17'",
        head + "1,2,3,3d\n1,2,4,3d\n": "line 3: height 1",
        head: "no fee rows",
    }
    for text, message in cases.items():
        bad = tmp_path / "bad.csv"
        bad.write_text(text)
        with pytest.raises(FeeInputError, match=message):
            import_fees_csv(engine, bad)
    assert _count(engine) == 2  # nothing written by a bad file


@pytest.mark.slow
def test_cli_update_and_import(
    env: dict[str, str], server: MempoolTestServer, engine: Engine, tmp_path: Path
) -> None:
    run_env = {**os.environ, **env, "CURTAILCOIN_MEMPOOL_BASE_URL": server.base_url}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CURTAILCOIN, "fees", *args], env=run_env, capture_output=True, text=True, timeout=120
        )

    done = cli("update", "--period", "3d")
    assert done.returncode == 0, done.stderr
    assert "fees 3d:" in done.stdout and "BTC fees per block (exact)" in done.stdout
    refused = cli("update", "--period", "5y")
    assert refused.returncode == 2
    assert refused.stderr.strip().startswith("error: --period '5y' not allowed: one of 24h, 3d")
    rows = _count(engine)
    bad = tmp_path / "bad.csv"
    bad.write_text("avg_height,timestamp,avg_fees_sats,period\n1,2,x,3d\n")
    refused = cli("import", str(bad))
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "bad.csv line 2: avg_fees_sats 'x'" in refused.stderr
    assert _count(engine) == rows
    good = tmp_path / "good.csv"
    good.write_text("avgHeight,timestamp,avgFees,period\n700000,1631318400,12345678,all\n")
    done = cli("import", str(good))
    assert done.returncode == 0 and "imported 1 fee rows (2021-09-11 .. 2021-09-11)" in done.stdout


@pytest.mark.slow
def test_the_reference_refresh_refreshes_fees_and_survives_their_failure(
    source_env: dict[str, str], mempool_server: MempoolTestServer, engine: Engine
) -> None:
    from curtailcoin.config import get_settings
    from curtailcoin.jobs import work
    from curtailcoin.sources.elexon import ElexonClient

    settings = get_settings()

    async def run() -> dict[str, Any]:
        async with ElexonClient.from_settings(settings) as client:
            return await work.refresh_reference_job(settings, client=client)

    mempool_server.set_now(NOW)
    mempool_server.faults.add("5xx", match="blocks/fees")
    failed = asyncio.run(run())  # the job itself succeeds
    assert failed["fees_error"].startswith("fee refresh failed:") and "fee_rows" not in failed
    assert "epochs_changed" in failed and _count(engine) == 0
    mempool_server.faults.clear()
    done = asyncio.run(run())
    assert done["fee_period"] == "3y" and done["fee_rows"] == _count(engine) > 0


def test_the_test_server_groups_blocks_as_mempool_does(server: MempoolTestServer) -> None:
    import httpx

    month = httpx.get(f"{server.base_url}/v1/mining/blocks/fees/1m").json()
    buckets = [row["timestamp"] // 1_800 for row in month]
    assert buckets == sorted(set(buckets)) and len(month) > 1_000
    assert set(month[0]) == {"avgHeight", "timestamp", "avgFees"}
    assert httpx.get(f"{server.base_url}/v1/mining/blocks/fees/5y").status_code == 400
    stats = httpx.get(f"{server.base_url}/v1/mining/reward-stats/10").json()
    assert stats["endBlock"] - stats["startBlock"] == 9 and isinstance(stats["totalFee"], str)
