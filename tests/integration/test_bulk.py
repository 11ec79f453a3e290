"""``db.bulk``: rows written by COPY / raw ``executemany`` read back exactly as written."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy import Engine, select

from curtailcoin.db.bulk import bulk_insert, column_named, fetch_plain
from curtailcoin.db.curtailment_tables import historical_bitcoin_calculations as calculations

COLUMNS = (
    "settlement_date",
    "settlement_period",
    "farm_id",
    "miner_model",
    "curtailed_energy_mwh",
    "difficulty",
    "block_subsidy_btc",
    "hashrate_th",
    "power_w",
    "bitcoin_mined",
    "calculated_at",
)


def test_rows_read_back_bit_for_bit(engine: Engine) -> None:
    day = date(2025, 1, 17)
    # an instant with microseconds, one on the second, one given in another zone
    instants = [
        datetime(2025, 1, 17, 10, 0, 0, 123456, tzinfo=UTC),
        datetime(2025, 1, 17, 11, 0, 0, tzinfo=UTC),
        datetime(2025, 1, 17, 13, 30, tzinfo=timezone(timedelta(hours=2))),
    ]
    rows = [
        (day, period, f"T_F{period}-1", "S19", 0.1 * period, 1.1e14, 3.125, 95.0, 3250.0,
         (0.1 * period) * 1.234567890123e-5, instants[period % 3])
        for period in range(1, 7)
    ]  # fmt: skip
    with engine.begin() as conn:
        assert bulk_insert(conn, calculations, COLUMNS, rows) == len(rows)
        assert bulk_insert(conn, calculations, COLUMNS, []) == 0
    c = calculations.c
    with engine.connect() as conn:
        stored = conn.execute(
            select(*(column_named(calculations, name) for name in COLUMNS)).order_by(
                c.settlement_period
            )
        ).all()
    assert [tuple(row) for row in stored] == rows  # aware instants compare as instants
    assert all(row.calculated_at.tzinfo is not None for row in stored)
    assert [row.bitcoin_mined.hex() for row in stored] == [row[9].hex() for row in rows]


def test_fetch_plain_reads_the_rows_of_a_query_with_quoted_literals(engine: Engine) -> None:
    day = date(2025, 1, 17)
    at = datetime(2025, 1, 18, tzinfo=UTC)
    farms = ["T_A%B-1", "T_O'K-1", "T_PLAIN-1"]
    rows = [(day, 1, farm, "S19", 1.5, 1.1e14, 3.125, 95.0, 3250.0, 2.5e-5, at) for farm in farms]
    with engine.begin() as conn:
        bulk_insert(conn, calculations, COLUMNS, rows)
    c = calculations.c
    query = select(c.farm_id, c.bitcoin_mined_btc).where(
        c.settlement_date == day, c.farm_id.in_(farms[:2])
    )
    with engine.connect() as conn:
        assert sorted(fetch_plain(conn, query)) == [("T_A%B-1", 2.5e-5), ("T_O'K-1", 2.5e-5)]
