"""A seed column with a unit key (``db.fields``): written by the key, read by key or SQL name,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine, select

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
