"""db.dialect, the one home of what differs between SQLite and PostgreSQL, on both databases."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import URL, Connection, Date, Dialect, Engine, literal, select, text

from curtailcoin.db import dialect
from curtailcoin.db.engine import make_engine


def test_every_kind_of_bind_names_its_database(engine: Engine) -> None:
    name = engine.dialect.name
    with engine.connect() as conn:
        binds: list[Engine | Connection | Dialect | URL | str] = [
            engine,
            conn,
            engine.dialect,
            engine.url,
            engine.url.render_as_string(False),
        ]
        assert {dialect.backend(b) for b in binds} == {name}
    assert dialect.is_postgresql("postgresql://u@h/db") and dialect.is_postgresql(
        "postgresql+psycopg://u@h/db"
    )
    assert dialect.is_sqlite("sqlite:///x.db") and not dialect.is_sqlite("postgresql://u@h/db")


def test_in_memory_and_not_created(tmp_path: Path) -> None:
    for url in ("sqlite://", "sqlite:///:memory:"):
        assert dialect.is_in_memory(url) and dialect.not_created(url)
    file_url = f"sqlite:///{tmp_path / 'later.db'}"
    assert not dialect.is_in_memory(file_url) and dialect.not_created(file_url)
    (tmp_path / "later.db").touch()
    assert not dialect.not_created(file_url)
    pg = "postgresql://postgres@127.0.0.1:5432/none"
    assert not dialect.is_in_memory(pg) and not dialect.not_created(pg)
    memory = make_engine("sqlite://")
    try:
        assert dialect.is_in_memory(memory)
    finally:
        memory.dispose()


def _advisory_locks(conn: Connection) -> list[tuple[int, int, str]]:
    rows = conn.execute(
        text(
            "SELECT classid::bigint, objid::bigint, mode FROM pg_locks "
            "WHERE locktype = 'advisory' AND pid = pg_backend_pid() ORDER BY objid"
        )
    )
    return [(int(r[0]), int(r[1]), str(r[2])) for r in rows]


def test_advisory_xact_lock_until_commit_on_postgresql_nothing_on_sqlite(engine: Engine) -> None:
    with engine.begin() as conn:
        dialect.advisory_xact_lock(conn, 0x43435355, 2024)
        dialect.advisory_xact_lock(conn, 0x43434C50, 0, shared=True)
        dialect.advisory_xact_lock(conn, 1129530701)
        if not dialect.is_postgresql(conn):
            return
        # two int keys: classid, objid; one bigint key: its high and low halves
        assert _advisory_locks(conn) == [
            (0x43434C50, 0, "ShareLock"),
            (0x43435355, 2024, "ExclusiveLock"),
            (0, 1129530701, "ExclusiveLock"),
        ]
    with engine.connect() as conn:
        assert _advisory_locks(conn) == []


def test_date_functions_agree(engine: Engine) -> None:
    start = date(2024, 2, 27)
    with engine.connect() as conn:
        values = select(literal(date(2024, 3, 2), Date).label("d")).subquery()
        month, days = conn.execute(
            select(dialect.month_key(conn, values.c.d), dialect.day_number(conn, values.c.d, start))
        ).one()
    assert (month, int(days)) == ("2024-03", 4)


@pytest.mark.parametrize("when", [True, False])
def test_hash_joins_only_inside_the_block_on_postgresql(engine: Engine, when: bool) -> None:
    with engine.begin() as conn:
        if not dialect.is_postgresql(conn):
            with dialect.hash_joins(conn, when=when):
                pass  # nothing to steer on SQLite, and nothing sent
            return
        with dialect.hash_joins(conn, when=when):
            inside = conn.exec_driver_sql("SHOW enable_nestloop").scalar()
        after = conn.exec_driver_sql("SHOW enable_nestloop").scalar()
    assert (inside, after) == ("off" if when else "on", "on")


def test_session_tuning_is_restored_on_sqlite(engine: Engine) -> None:
    with engine.begin() as conn:
        if dialect.is_postgresql(conn):
            dialect.tune_session(conn)
            assert conn.exec_driver_sql("SHOW work_mem").scalar() == "128MB"
            return
        before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        previous = dialect.tune_session(conn)
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -262144
        dialect.restore_session(conn, previous)
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == before
