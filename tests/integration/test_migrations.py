"""The migration chain: it builds exactly ``db.schema.metadata``, 0007 cleans what it must, and
0008's triggers count every write of a date."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import date

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, Engine, inspect, text

from curtailcoin.db.engine import (
    HEAD_REVISION,
    alembic_config,
    current_revision,
    make_engine,
    read_snapshot,
    run_migrations,
    upgrade,
)
from curtailcoin.db.schema import metadata
from curtailcoin.db.versions import range_versions, total_version
from support.databases import BACKENDS, PG_ADMIN_URL, _pg_url

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


BlankEngines = Callable[[], Engine]


@pytest.fixture(params=BACKENDS)  # CURTAILCOIN_TEST_DATABASES, as every database test
def blank_engines(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BlankEngines]:
    """Make databases with no schema at all (not the session's migrated one), dropped after."""
    made: list[tuple[Engine, str | None]] = []

    def make() -> Engine:
        if request.param == "sqlite":
            engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('mig') / 'old.db'}")
            made.append((engine, None))
            return engine
        name = f"cc_mig_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        engine = make_engine(_pg_url(name))
        made.append((engine, name))
        return engine

    try:
        yield make
    finally:
        for engine, name in made:
            engine.dispose()
            if name is not None:
                with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def blank_engine(blank_engines: BlankEngines) -> Engine:
    """One database with no schema at all."""
    return blank_engines()


#: What a schema is made of, per catalog query: each row a tuple of text (PostgreSQL).
_PG_CATALOG = {
    "columns": (
        "SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length, "
        "numeric_precision, datetime_precision, is_nullable, column_default, "
        "col_description(quote_ident(table_name)::regclass, ordinal_position) "
        "FROM information_schema.columns WHERE table_schema = current_schema()"
    ),
    "constraints": (
        "SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid) "
        "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
    ),
    "indexes": (
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
    ),
    "relations": (
        "SELECT c.relname, c.relkind, obj_description(c.oid, 'pg_class') FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
    ),
    "triggers": (
        "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND NOT t.tgisinternal"
    ),
    "functions": (
        "SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid) "
        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema()"
    ),
    "types": (
        "SELECT t.typname, t.typtype, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) "
        "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "LEFT JOIN pg_enum e ON e.enumtypid = t.oid WHERE n.nspname = current_schema() "
        "GROUP BY t.typname, t.typtype"
    ),
    "version": "SELECT version_num FROM alembic_version",
}


def _normalised_sql(sql: str | None) -> str | None:
    """sqlite_master's SQL without identifier quotes and with single spaces.

    Alembic's batch steps on SQLite rewrite a table as ``CREATE TABLE "name"``; nothing else
    of a statement may differ.
    """
    return None if sql is None else re.sub(r"\s+", " ", sql.replace('"', "")).strip()


def _catalog(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every object of the database's schema, as sorted rows per kind, and its version row."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master")
            objects = sorted((t, n, tb, _normalised_sql(sql)) for t, n, tb, sql in rows)
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
            return {"objects": objects, "version": [tuple(r) for r in version]}
        return {
            kind: sorted(tuple(str(v) for v in row) for row in conn.exec_driver_sql(query))
            for kind, query in _PG_CATALOG.items()
        }


def test_a_fresh_database_gets_exactly_the_migrated_schema(blank_engines: BlankEngines) -> None:
    """The fast path (``db.fresh_schema``) builds what every migration builds, to the catalog.

    A new migration adding what ``metadata`` does not hold (a trigger, a view, a function, a
    comment, data) fails here until ``db.fresh_schema`` adds it too.
    """
    fresh, migrated = blank_engines(), blank_engines()
    upgrade(fresh)  # no tables: the head schema directly, stamped at head
    with migrated.begin() as conn:
        run_migrations(conn)  # every migration, one after the other
    assert current_revision(fresh) == current_revision(migrated) == HEAD_REVISION
    fresh_catalog, migrated_catalog = _catalog(fresh), _catalog(migrated)
    assert fresh_catalog.keys() == migrated_catalog.keys()
    for kind, rows in migrated_catalog.items():
        assert rows, kind  # each query sees what it describes
        assert fresh_catalog[kind] == rows, kind
    for table in ("miner_models", "difficulty_epochs", "halvings", "bm_units", "btc_prices"):
        with fresh.connect() as a, migrated.connect() as b:  # no migration seeds rows
            query = f"SELECT count(*) FROM {table}"
            assert a.exec_driver_sql(query).scalar() == b.exec_driver_sql(query).scalar() == 0


def test_a_database_with_tables_upgrades_through_the_migrations(blank_engine: Engine) -> None:
    upgrade(blank_engine, "0008")
    assert current_revision(blank_engine) == "0008"
    upgrade(blank_engine)
    assert current_revision(blank_engine) == HEAD_REVISION
    with blank_engine.connect() as conn:
        assert inspect(conn).has_table("block_fees")  # 0009 ran on the existing schema


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


JANUARY, FEBRUARY, MARCH = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)


def _counters(engine: Engine) -> dict[date, int]:
    with read_snapshot(engine) as conn:
        rows = conn.execute(text("SELECT settlement_date, version FROM date_versions")).all()
    return {date.fromisoformat(str(d)[:10]): int(v) for d, v in rows}


@pytest.mark.db
def test_every_write_of_a_tracked_table_bumps_its_dates_and_nothing_else(engine: Engine) -> None:
    d1, d2, d3 = date(2025, 1, 17), date(2025, 1, 18), date(2025, 2, 1)
    before = _counters(engine)
    inserted = {
        "daily_summaries": (
            "INSERT INTO daily_summaries (summary_date, total_curtailed_energy, total_payment, "
            "record_count, farm_count, updated_at) VALUES (:d, 1, 1, 1, 1, '2025-01-18 00:00:00')"
        ),
        "bitcoin_daily_summaries": (
            "INSERT INTO bitcoin_daily_summaries (summary_date, miner_model, bitcoin_mined, "
            "curtailed_energy_mwh, updated_at) VALUES (:d, 'S19J_PRO', 1, 1, "
            "'2025-01-18 00:00:00')"
        ),
        "settlement_periods": (
            "INSERT INTO settlement_periods (settlement_date, settlement_period, start_time_utc, "
            "fetch_status, stack_line_count, wind_line_count, record_count, "
            "curtailed_energy_mwh, payment_gbp) VALUES (:d, 1, '2025-01-17 00:00:00', "
            "'fetched_empty', 0, 0, 0, 0, 0)"
        ),
        "suspect_dates": (
            "INSERT INTO suspect_dates (settlement_date, detected_at, reason, stored_records, "
            "stored_curtailed_energy_mwh, stored_payment_gbp, fetched_records, "
            "fetched_curtailed_energy_mwh, fetched_payment_gbp, detected_by) VALUES "
            "(:d, '2025-01-18 00:00:00', 'test', 1, 1, 1, 1, 1, 1, 'test')"
        ),
    }
    column = {"daily_summaries": "summary_date", "bitcoin_daily_summaries": "summary_date"}
    for table, insert in inserted.items():
        key = column.get(table, "settlement_date")
        with engine.begin() as conn:
            conn.execute(text(insert), {"d": d1})
        after_insert = _counters(engine)
        assert after_insert.get(d1, 0) == before.get(d1, 0) + 1, table
        with engine.begin() as conn:  # an update moving the row to another date bumps both
            conn.execute(
                text(f"UPDATE {table} SET {key} = :n WHERE {key} = :d"), {"d": d1, "n": d2}
            )
        moved = _counters(engine)
        assert moved.get(d1, 0) == after_insert.get(d1, 0) + 1, table
        assert moved.get(d2, 0) == after_insert.get(d2, 0) + 1, table
        with engine.begin() as conn:
            conn.execute(text(f"DELETE FROM {table} WHERE {key} = :d"), {"d": d2})
        deleted = _counters(engine)
        assert deleted.get(d2, 0) == moved.get(d2, 0) + 1, table
        assert deleted.get(d3, 0) == before.get(d3, 0), table
        before = deleted
    with engine.begin() as conn:  # a base row alone is not a date's answer (summaries are)
        conn.execute(
            text(
                "INSERT INTO btc_prices (price_date, currency, price, source, fetched_at) "
                "VALUES (:d, 'GBP', 1, 'test', '2025-01-18 00:00:00')"
            ),
            {"d": d1},
        )
    assert _counters(engine) == before
    ranges = [(JANUARY, FEBRUARY), (FEBRUARY, MARCH), (d1, d2), (d1, d3)]
    with read_snapshot(engine) as conn:
        versions = range_versions(conn, ranges)
        total = total_version(conn)
    for start, end in ranges:
        inside = [n for d, n in before.items() if start <= d < end]
        assert versions[(start, end)] == (sum(inside), len(inside))
    assert versions[(FEBRUARY, MARCH)][0] == before.get(d3, 0)
    assert total == (sum(before.values()), len(before))
