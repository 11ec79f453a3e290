"""The migration chain: it builds exactly ``db.schema.metadata``, and 0007 cleans what it must."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, Engine, inspect, text

from conftest import PG_ADMIN_URL, _pg_url
from curtailcoin.db.engine import HEAD_REVISION, alembic_config, make_engine, upgrade
from curtailcoin.db.schema import metadata

pytestmark = pytest.mark.db


def test_the_chain_runs_in_order() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    chain = [rev.revision for rev in script.walk_revisions()][::-1]
    assert chain[0] == "0001" and chain[-1] == script.get_current_head()
    assert len(chain) == len(set(chain))  # one line, no branches
    assert script.get_current_head() == HEAD_REVISION  # the constant get_engine compares with


def test_migrated_schema_equals_metadata(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    # procrastinate's own tables (migration 0004, PostgreSQL) are not ours to describe
    ours = [d for d in diff if "procrastinate" not in str(d)]
    assert ours == []
    inspector = inspect(engine)
    for table in metadata.sorted_tables:
        expected = {
            str(c.name)  # already named by the schema's naming convention
            for c in table.constraints
            if isinstance(c, CheckConstraint)
        }
        found = {c["name"] for c in inspector.get_check_constraints(table.name)}
        assert found == expected, table.name


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A database with no schema at all (not the session's migrated one)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('mig') / 'old.db'}")
        yield engine
        engine.dispose()
        return
    name = f"cc_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(_pg_url(name))
    try:
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_0007_removes_non_finite_rows_and_marks_their_periods_failed(blank_engine: Engine) -> None:
    upgrade(blank_engine, "0006")
    with blank_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO settlement_periods (settlement_date, settlement_period, "
                "start_time_utc, fetch_status, stack_line_count, wind_line_count, record_count, "
                "curtailed_energy_mwh, payment_gbp) VALUES "
                "('2025-01-17', 3, '2025-01-17 01:00:00', 'fetched_with_data', 2, 2, 2, 5, 0), "
                "('2025-01-17', 4, '2025-01-17 01:30:00', 'fetched_with_data', 1, 1, 1, 2, 0)"
            )
        )
        for period, volume in ((3, float("-inf")), (3, -5.0), (4, -2.0)):
            conn.execute(
                text(
                    "INSERT INTO curtailment_records (settlement_date, settlement_period, farm_id, "
                    "volume, so_flag, sequence_number, fetched_at) VALUES "
                    "('2025-01-17', :p, 'T_A', :v, true, :s, '2025-01-18 00:00:00')"
                ),
                {"p": period, "v": volume, "s": int(-volume) if volume > -10 else 1},
            )
    upgrade(blank_engine)
    with blank_engine.connect() as conn:
        statuses = conn.execute(
            text("SELECT settlement_period, fetch_status, error FROM settlement_periods ORDER BY 1")
        ).all()
        records = conn.execute(
            text("SELECT settlement_period, volume FROM curtailment_records ORDER BY 1")
        ).all()
    assert statuses[0][:2] == (3, "failed") and "migration 0007" in statuses[0][2]
    assert statuses[1] == (4, "fetched_with_data", None)
    assert [tuple(r) for r in records] == [(4, -2.0)]  # period 3 went whole, period 4 stayed


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_the_database_refuses_a_non_finite_figure(engine: Engine, value: float) -> None:
    with pytest.raises(Exception, match=r"(?i)constraint|check"), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO btc_prices (price_date, currency, price, source, fetched_at) "
                "VALUES ('2025-01-17', 'GBP', :p, 'test', '2025-01-18 00:00:00')"
            ),
            {"p": value},
        )
