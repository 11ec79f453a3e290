"""The per-test reset of a database (``support.databases.clean``): every table empty, ids restarted.

It touches only the tables that hold rows (TRUNCATE for the big ones on PostgreSQL, DELETE for
the rest), so this checks that the end state is the same as emptying every table.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine, func, insert, select

from curtailcoin.db.coordination_tables import date_versions
from curtailcoin.db.curtailment_tables import curtailment_records
from curtailcoin.db.schema import metadata
from support.databases import clean
from support.synthetic import generate

DAY = date(2024, 3, 30)


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
        }


def _record(period: int) -> dict[str, object]:
    return {
        "settlement_date": DAY,
        "settlement_period": period,
        "farm_id": "T_TEST-1",
        "volume_mwh": -1.0,
        "so_flag": True,
        "sequence_number": 1,
        "fetched_at": datetime(2024, 3, 31, tzinfo=UTC),
    }


def test_clean_empties_every_table_and_restarts_the_ids(engine: Engine) -> None:
    generate(engine, DAY, date(2024, 4, 1), ["S19J_PRO", "S9"])
    with engine.begin() as conn:
        conn.execute(insert(curtailment_records).values(_record(1)))
    before = _counts(engine)
    assert before["curtailment_records"] > 500  # emptied by TRUNCATE on PostgreSQL
    assert 0 < before["daily_summaries"] < 500  # by DELETE
    assert before[date_versions.name] > 0
    assert any(n == 0 for n in before.values())  # and a table left alone

    clean(engine)

    assert _counts(engine) == {t.name: 0 for t in metadata.sorted_tables}
    with engine.begin() as conn:
        new_id = conn.execute(insert(curtailment_records).values(_record(2))).inserted_primary_key
    assert new_id is not None and new_id[0] == 1
