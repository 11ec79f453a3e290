"""Simulated data: the stored flag of a ``curtailcoin demo`` database and the guard around it.

A demo database holds what the project's own test servers generate. It must never be taken for
real data, and real data must never be mixed into it: the flag is a ``source_refreshes`` row
(``source = 'simulated_data'``, no migration), written before the first simulated date; the
API and the pages label every answer from such a database, and the writers that fetch from
Elexon (``reingest``, ``backfill``, the worker) refuse it unless the Elexon base URL is a local
test server (a loopback host) or ``--force`` is given.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, inspect, select

from curtailcoin.db.dialect import not_created
from curtailcoin.db.reference_tables import source_refreshes
from curtailcoin.db.upsert import upsert
from curtailcoin.sources import httpx

SIMULATED_SOURCE = "simulated_data"
"""The ``source_refreshes`` row whose presence marks a database as simulated."""

HEADER = "X-CurtailCoin-Data"
"""The response header every answer from a simulated database carries (value ``simulated``)."""


def mark_simulated(conn: Connection, detail: str) -> None:
    """Flag the database as holding simulated data (``detail``: what generated it)."""
    upsert(
        conn,
        source_refreshes,
        [{"source": SIMULATED_SOURCE, "refreshed_at": datetime.now(UTC), "detail": detail}],
        ["source"],
    )


def is_simulated(conn: Connection) -> bool:
    """Whether the database carries the flag (a database without the table does not)."""
    if not inspect(conn).has_table(source_refreshes.name):
        return False
    found = conn.execute(
        select(source_refreshes.c.source).where(source_refreshes.c.source == SIMULATED_SOURCE)
    ).first()
    return found is not None


def database_is_simulated(database_url: str) -> bool:
    """:func:`is_simulated` without creating or migrating anything (a missing SQLite file is not
    a database yet, so it is not simulated)."""
    from curtailcoin.db.engine import make_engine, normalise_url

    if not_created(normalise_url(database_url)):
        return False
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return is_simulated(conn)
    finally:
        engine.dispose()


def is_local_url(base_url: str) -> bool:
    """Whether ``base_url`` names a loopback host: where the project's test servers listen."""
    host = httpx.URL(base_url).host
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(database_url: str, elexon_base_url: str) -> str | None:
    """Why a writer fetching from ``elexon_base_url`` must not write into the database (None when
    it may): a simulated database takes data from a local test server only."""
    if is_local_url(elexon_base_url) or not database_is_simulated(database_url):
        return None
    return (
        f"the database holds simulated data (curtailcoin demo): refusing to write data from "
        f"{elexon_base_url} into it; use another CURTAILCOIN_DATABASE_URL, or pass --force to "
        f"mix real data into the demo database"
    )


def holds_data(engine: Engine) -> bool:
    """Whether any settlement period is stored (a database the demo must not take over)."""
    from curtailcoin.db.curtailment_tables import settlement_periods

    with engine.connect() as conn:
        if not inspect(conn).has_table(settlement_periods.name):
            return False
        return (
            conn.execute(select(settlement_periods.c.settlement_date).limit(1)).first() is not None
        )
