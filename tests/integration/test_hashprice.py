"""Hashprice: the pure formula (a hand-computed figure, Coin Metrics' realised hash value) and the
per-day figures from the stored difficulty, subsidy, fees and prices (both databases)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from curtailcoin.db.reference_tables import btc_prices
from curtailcoin.db.upsert import upsert
from curtailcoin.fees import store_answer
from curtailcoin.hashprice import hashprice_by_day
from curtailcoin.mining import hashprice_btc_per_th_day
from curtailcoin.pipeline import prepare_database
from curtailcoin.reference import load_timeline
from curtailcoin.sources.mempool import BlockFees
from support.entrypoint import CURTAILCOIN

COIN_METRICS = Path("/work/shared/reference/bitcoin/btc_daily_mining_economics.csv")
FETCHED = datetime(2025, 2, 1, tzinfo=UTC)


def test_hashprice_formula_against_a_hand_computed_figure() -> None:
    # 86400 s × 1e12 H/TH = 8.64e16 hashes per TH/s per day;
    # D × 2^32 = 110,451,907,374,649.52 × 4,294,967,296 = 4.7438732995494090786e23 per block;
    # 8.64e16 / 4.7438732995494090786e23 = 1.8212965343784919e-7 blocks per TH/s per day;
    # × (3.125 subsidy + 0.25 fees) = 6.1468758035274101e-7 BTC per TH/s per day.
    value = hashprice_btc_per_th_day(110_451_907_374_649.52, 3.125, 0.25)
    assert value == pytest.approx(6.1468758035274101e-7, rel=1e-14)
    assert hashprice_btc_per_th_day(110_451_907_374_649.52, 3.125, 0.0) == pytest.approx(
        5.6915516699327871e-7, rel=1e-14
    )
    for bad in ((0.0, 3.125, 0.0), (1e14, -1.0, 0.0), (1e14, 3.125, float("nan"))):
        with pytest.raises(ValueError):
            hashprice_btc_per_th_day(*bad)


@pytest.mark.skipif(not COIN_METRICS.exists(), reason="the shared Coin Metrics reference file")
def test_hashprice_formula_reproduces_coin_metrics_realised_hash_value() -> None:
    """``btc_per_th_day`` = (subsidy + fees) / hashrate: the formula at the day's mean difficulty
    and per-block subsidy and fees (CC BY-NC data, used here to check, never shipped)."""
    checked = 0
    with COIN_METRICS.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["date"] < "2016-01-01" or not row["btc_per_th_day"] or int(row["blocks"]) == 0:
                continue
            blocks = int(row["blocks"])
            value = hashprice_btc_per_th_day(
                float(row["difficulty_mean"]),
                float(row["subsidy_btc"]) / blocks,
                float(row["fees_btc"]) / blocks,
            )
            assert value == pytest.approx(float(row["btc_per_th_day"]), rel=2e-6), row["date"]
            if row["price_gbp"] and row["hashprice_gbp_th_day"]:
                assert value * float(row["price_gbp"]) == pytest.approx(
                    float(row["hashprice_gbp_th_day"]), abs=1e-6
                ), row["date"]
            checked += 1
    assert checked > 3_500


def _daily_fees(engine: Engine, fees_sats: dict[date, int]) -> None:
    rows = [
        BlockFees(0, datetime.combine(d, datetime.min.time(), tzinfo=UTC), v, "all")
        for d, v in fees_sats.items()
    ]
    with engine.begin() as conn:
        store_answer(conn, "all", rows, FETCHED)


def _gbp(engine: Engine, day: date, price: float) -> None:
    with engine.begin() as conn:
        upsert(
            conn,
            btc_prices,
            [
                {
                    "price_date": day,
                    "currency": "GBP",
                    "price": price,
                    "source": "test",
                    "fetched_at": FETCHED,
                }
            ],
            ["price_date", "currency"],
        )


def test_hashprice_per_day_with_missing_fees_price_and_difficulty(engine: Engine) -> None:
    prepare_database(engine)
    _daily_fees(engine, {date(2025, 1, 18): 4_719_998, date(2025, 1, 19): 4_254_536})
    _gbp(engine, date(2025, 1, 18), 85_616.0176)
    with engine.connect() as conn:
        epoch = load_timeline(conn).conditions(
            datetime(2025, 1, 18, tzinfo=UTC), datetime(2025, 1, 19, tzinfo=UTC)
        )
        days = hashprice_by_day(conn, date(2025, 1, 18), date(2025, 1, 20))
        future = hashprice_by_day(conn, date(2031, 1, 1), date(2031, 1, 1))[0]
    assert epoch.difficulty is not None and len(epoch.segments) == 1
    full, unpriced, no_fees = days
    expected = hashprice_btc_per_th_day(epoch.difficulty, 3.125, 0.04719998)
    assert full.hashprice_btc_per_th_day == expected
    assert full.hashprice_btc_per_th_day == pytest.approx(5.777e-7, rel=1e-3)  # Coin Metrics'
    assert full.hashprice_gbp_per_th_day == expected * 85_616.0176
    assert full.missing == ()
    assert unpriced.hashprice_btc_per_th_day is not None
    assert unpriced.hashprice_gbp_per_th_day is None and unpriced.price_gbp is None
    assert unpriced.missing == (
        "no BTC/GBP price stored for 2025-01-19: run `curtailcoin prices update`",
    )
    assert no_fees.fees_btc_per_block is None and no_fees.hashprice_btc_per_th_day is None
    assert no_fees.subsidy_hashprice_btc_per_th_day == hashprice_btc_per_th_day(
        epoch.difficulty, 3.125, 0.0
    )
    assert "no fee data stored for 2025-01-20" in no_fees.missing[0]
    assert future.difficulty is None and future.hashprice_btc_per_th_day is None
    assert future.subsidy_hashprice_btc_per_th_day is None
    assert future.missing[0].startswith("difficulty pending")


def test_the_halving_day_is_time_weighted(engine: Engine) -> None:
    prepare_database(engine)
    day = date(2024, 4, 20)
    _daily_fees(engine, {day: 928_051_219})
    with engine.connect() as conn:
        (hp,) = hashprice_by_day(conn, day, day)
        difficulty = (
            load_timeline(conn)
            .conditions(datetime(2024, 4, 20, tzinfo=UTC), datetime(2024, 4, 20, 0, 5, tzinfo=UTC))
            .difficulty
        )
    assert difficulty is not None
    before = (9 * 60 + 27) / 86_400  # the halving block at 00:09:27Z
    expected = before * hashprice_btc_per_th_day(difficulty, 6.25, 9.28051219) + (
        1 - before
    ) * hashprice_btc_per_th_day(difficulty, 3.125, 9.28051219)
    assert hp.hashprice_btc_per_th_day == pytest.approx(expected, rel=1e-15)
    assert hp.block_subsidy_btc == pytest.approx(3.125 + before * 3.125, rel=1e-15)


@pytest.mark.slow
def test_cli_hashprice(env: dict[str, str], engine: Engine) -> None:
    prepare_database(engine)
    _daily_fees(engine, {date(2025, 1, 18): 4_719_998})
    _gbp(engine, date(2025, 1, 18), 85_616.0176)
    run_env = {**os.environ, **env}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CURTAILCOIN, "fees", "hashprice", *args],
            env=run_env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = cli("--from", "2025-01-18", "--to", "2025-01-19", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    first, second = answer["days"]
    assert first["day"] == "2025-01-18" and first["fees_btc_per_block"] == 0.04719998
    assert first["hashprice_gbp_per_th_day"] == pytest.approx(0.0494646, rel=1e-4)
    assert second["hashprice_btc_per_th_day"] is None and second["missing"]
    table = cli("--from", "2025-01-18", "--to", "2025-01-19")
    assert table.returncode == 0 and "missing" in table.stdout
    assert "2025-01-19: no fee data stored" in table.stdout
    refused = cli("--from", "2025-01-19", "--to", "2025-01-18")
    assert refused.returncode == 2
    assert refused.stderr.strip() == "error: --to 2025-01-18 is before --from 2025-01-19"
    assert (date(2025, 1, 19) - timedelta(days=1)).isoformat() in done.stdout
