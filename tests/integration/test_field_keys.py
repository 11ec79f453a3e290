"""A seed column with a unit key (``db.fields``): written by the key, read by key or SQL name,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine, select

from curtailcoin.db.bulk import bulk_insert, column_named
from curtailcoin.db.curtailment_tables import curtailment_records
from curtailcoin.db.summary_tables import daily_summaries


def test_a_summary_row_is_written_by_keys_and_read_by_key_or_name(engine: Engine) -> None:
    """Python writes the unit keys; the SQL and a ``select(table)`` row keep the seed's names."""
    d = daily_summaries.c
    with engine.begin() as conn:
        conn.execute(
            daily_summaries.insert().values(
                summary_date=date(2025, 1, 17),
                curtailed_energy_mwh=12.5,
                payment_gbp=-3.25,
                record_count=2,
                farm_count=1,
                updated_at=datetime(2025, 1, 18, tzinfo=UTC),
            )
        )
        row = conn.execute(select(daily_summaries)).one()
        raw = conn.exec_driver_sql(
            "SELECT total_curtailed_energy, total_payment FROM daily_summaries"
        ).one()
    assert list(row._mapping)[:3] == ["summary_date", "total_curtailed_energy", "total_payment"]
    assert (row.total_curtailed_energy, row.total_payment) == (12.5, -3.25)
    assert (row._mapping[d.curtailed_energy_mwh], row._mapping[d.payment_gbp]) == (12.5, -3.25)
    assert tuple(raw) == (12.5, -3.25)


def test_a_record_is_written_by_keys_or_bulk_by_sql_names(engine: Engine) -> None:
    """``curtailment_records``' ``volume``/``payment`` answer to ``volume_mwh``/``payment_gbp`` in
    Python; the bulk writer names SQL columns (``db.bulk.column_named``); both land alike."""
    r = curtailment_records.c
    common = {
        "settlement_date": date(2025, 1, 17),
        "farm_id": "T_KEYS-1",
        "so_flag": True,
        "sequence_number": 1,
        "fetched_at": datetime(2025, 1, 18, tzinfo=UTC),
    }
    with engine.begin() as conn:
        conn.execute(
            curtailment_records.insert().values(
                settlement_period=1, volume_mwh=-1.5, payment_gbp=45.0, **common
            )
        )
        names = (*common, "settlement_period", "volume", "payment")
        bulk_insert(conn, curtailment_records, names, [(*common.values(), 2, -2.5, 75.0)])
        rows = conn.execute(
            select(r.settlement_period, r.volume_mwh, r.payment_gbp).order_by(r.settlement_period)
        ).all()
        raw = conn.exec_driver_sql(
            "SELECT volume, payment FROM curtailment_records ORDER BY settlement_period"
        ).all()
    assert [tuple(x) for x in rows] == [(1, -1.5, 45.0), (2, -2.5, 75.0)]
    assert list(rows[0]._mapping) == ["settlement_period", "volume", "payment"]
    assert [tuple(x) for x in raw] == [(-1.5, 45.0), (-2.5, 75.0)]
    assert column_named(curtailment_records, "volume") is r.volume_mwh
