"""Instants are timezone-aware UTC on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import StatementError

from curtailcoin.db.reference_tables import source_refreshes


@pytest.mark.db
def test_instants_round_trip_as_aware_utc(engine: Engine) -> None:
    bst = timezone(timedelta(hours=1))
    written = datetime(2025, 7, 4, 10, 30, 15, 123456, tzinfo=bst)
    with engine.begin() as conn:
        conn.execute(source_refreshes.insert().values(source="t", refreshed_at=written))
        read = conn.execute(select(source_refreshes.c.refreshed_at)).scalar_one()
    assert read.tzinfo is not None and read.utcoffset() == timedelta(0)
    assert read == written
    assert read.hour == 9


@pytest.mark.db
def test_naive_instants_are_refused(engine: Engine) -> None:
    with pytest.raises(StatementError, match="naive datetime"), engine.begin() as conn:
        conn.execute(
            source_refreshes.insert().values(source="t", refreshed_at=datetime(2025, 1, 1))
        )
    assert date(2025, 1, 1) < datetime.now(UTC).date()
