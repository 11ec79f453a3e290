"""Lead parties over time: each BM unit's lead party from every registry listing, in force from a
settlement date, and the records' attribution to the lead party of their date.

Elexon's ``/reference/bmunits/all`` lists each unit's lead party *now*, with no effective date.
Each listing — the two shipped lists of 2025 (``data/lead_party_listings.csv``, from the seed
system's registry files of 2025-01-20 and 2025-03-20), the shipped snapshot (2025-10-31) and
every API refresh — is compared with the history: a lead party the unit did not have opens a
row in ``bm_unit_lead_parties`` in force from the listing's settlement date (a unit's first row
from the first settlement date: before its first listing the earliest known lead party is the
best known). The change happened between the previous listing and this one; the dates in
between keep the lead party last seen, because no listing says when it changed.

A record's ``lead_party_name`` is written at store time from the row in force on its settlement
date (:func:`attribution`); a listing that changes a unit's lead party rewrites, in its own
transaction, the records of the dates now attributed differently, their farm-day rows, the
months' farm-month roll-ups, and the dates' version counters (the API cache).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from importlib.resources import files
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, func, select, update

from curtailcoin.db.coordination_tables import date_versions
from curtailcoin.db.curtailment_tables import curtailment_records
from curtailcoin.db.dialect import advisory_xact_lock
from curtailcoin.db.reference_tables import bm_unit_lead_parties, bm_units
from curtailcoin.db.summary_tables import farm_daily_summaries
from curtailcoin.farm_months import rebuild_farm_monthly
from curtailcoin.settlement import FIRST_SETTLEMENT_DATE, year_month
from curtailcoin.summaries import lock_rollups

LONDON = ZoneInfo("Europe/London")

#: the day the shipped snapshot (``data/bmunits_snapshot.json``) was listed: the commit of
#: ``data/raw/bm_units.json`` in mpjuhasz/wind-curtailment (d8ee15d, 2025-10-31)
SNAPSHOT_LISTED_ON = date(2025, 10, 31)

#: first key of the advisory lock between history writers and record writers (PostgreSQL)
_LOCK_NAMESPACE = 0x43434C50

#: (unit id, lead party name, lead party id) as a listing shows it
Listed = tuple[str, str | None, str | None]

h = bm_unit_lead_parties.c


def lock_history(conn: Connection, *, shared: bool) -> None:
    """Order history writes and record writes (PostgreSQL; SQLite serialises writers).

    A store takes the lock shared before reading the history and holds it to its commit; a
    listing takes it exclusively before writing. So a store either commits before a listing
    re-attributes (which then sees its records) or reads the listing's history.
    """
    advisory_xact_lock(conn, _LOCK_NAMESPACE, 0, shared=shared)


def listed_on(instant: datetime) -> date:
    """The settlement date (Europe/London day) of a listing's instant."""
    return instant.astimezone(LONDON).date()


def _listing_instant(day: date) -> datetime:
    return datetime.combine(day, time(12), LONDON).astimezone(UTC)


def snapshot_listed_at() -> datetime:
    """The instant the shipped snapshot's listing is recorded at (noon of its day, London)."""
    return _listing_instant(SNAPSHOT_LISTED_ON)


def shipped_listings() -> list[tuple[date, list[Listed]]]:
    """The dated lists shipped with the package, oldest first."""
    text_ = (files("curtailcoin") / "data" / "lead_party_listings.csv").read_text("utf-8")
    rows = sorted(csv.DictReader(text_.splitlines()), key=lambda r: r["listed_on"])
    return [
        (
            date.fromisoformat(day),
            [(r["elexon_bm_unit"], r["lead_party_name"] or None, None) for r in group],
        )
        for day, group in groupby(rows, key=lambda r: r["listed_on"])
    ]


def _latest_rows(conn: Connection) -> dict[str, Any]:
    """Each unit's latest history row."""
    rows = conn.execute(select(bm_unit_lead_parties).order_by(h.bm_unit_id, h.valid_from))
    return {row.bm_unit_id: row for row in rows}


def record_listing(
    conn: Connection, units: Iterable[Listed], listed_at: datetime, source: str
) -> dict[str, date]:
    """Add one listing to the history; returns each unit whose lead party it changed, with the
    first settlement date of the change (records are not re-attributed here)."""
    day = listed_on(listed_at)
    latest = _latest_rows(conn)
    inserts: list[dict[str, Any]] = []
    confirmed: list[str] = []
    changed: dict[str, date] = {}
    for unit_id, party, party_id in dict((u[0], u) for u in units).values():
        row = latest.get(unit_id)
        if row is not None and row.lead_party_name == party:
            confirmed.append(unit_id)
            continue
        if row is not None and day < row.valid_from:
            continue  # a listing older than what the history holds changes nothing
        valid_from = FIRST_SETTLEMENT_DATE if row is None else day
        if row is not None and row.valid_from == valid_from:
            conn.execute(  # a second change on the row's own day replaces it
                update(bm_unit_lead_parties)
                .where(h.bm_unit_id == unit_id, h.valid_from == valid_from)
                .values(
                    lead_party_name=party,
                    lead_party_id=party_id,
                    first_seen_at=listed_at,
                    last_seen_at=listed_at,
                    source=source,
                )
            )
        else:
            inserts.append(
                {
                    "bm_unit_id": unit_id,
                    "valid_from": valid_from,
                    "lead_party_name": party,
                    "lead_party_id": party_id,
                    "first_seen_at": listed_at,
                    "last_seen_at": listed_at,
                    "source": source,
                }
            )
        if row is not None:
            changed[unit_id] = valid_from
    if inserts:
        conn.execute(bm_unit_lead_parties.insert(), inserts)
    later = bm_unit_lead_parties.alias("later")
    newest = (
        select(func.max(later.c.valid_from))
        .where(later.c.bm_unit_id == h.bm_unit_id)
        .scalar_subquery()
    )
    for start in range(0, len(confirmed), 500):
        conn.execute(
            update(bm_unit_lead_parties)
            .where(
                h.bm_unit_id.in_(confirmed[start : start + 500]),
                h.last_seen_at < listed_at,
                h.valid_from == newest,
            )
            .values(last_seen_at=listed_at)
        )
    return changed


def history_of(conn: Connection, unit_id: str) -> list[tuple[date, str | None]]:
    """(valid_from, lead party) of one unit, oldest first."""
    rows = conn.execute(
        select(h.valid_from, h.lead_party_name)
        .where(h.bm_unit_id == unit_id)
        .order_by(h.valid_from)
    )
    return [(row.valid_from, row.lead_party_name) for row in rows]


def attribution(
    conn: Connection, settlement_date: date, wind: Mapping[str, str | None]
) -> dict[str, str | None]:
    """Each wind unit's lead party on ``settlement_date``: the history's row in force then, or
    the registry's listing for a unit the history does not hold. Takes the history lock shared
    (the caller's transaction writes the date's records)."""
    lock_history(conn, shared=True)
    rows = conn.execute(
        select(h.bm_unit_id, h.lead_party_name)
        .select_from(bm_unit_lead_parties.join(bm_units, bm_units.c.elexon_bm_unit == h.bm_unit_id))
        .where(bm_units.c.is_wind, h.valid_from <= settlement_date)
        .order_by(h.bm_unit_id, h.valid_from)
    )
    in_force = {row.bm_unit_id: row.lead_party_name for row in rows}
    return {unit: in_force.get(unit, party) for unit, party in wind.items()}


def reattribute(conn: Connection, since: Mapping[str, date]) -> list[date]:
    """Rewrite the attribution of each unit's records from its date on to the history, with the
    farm-day rows, the farm-month roll-ups of the months touched and the dates' version
    counters; returns the dates whose records changed."""
    r, fd = curtailment_records.c, farm_daily_summaries.c
    affected: set[date] = set()
    for unit_id, first in sorted(since.items()):
        rows = history_of(conn, unit_id)
        for index, (valid_from, party) in enumerate(rows):
            start = max(valid_from, first)
            end = rows[index + 1][0] if index + 1 < len(rows) else None
            if end is not None and end <= start:
                continue
            span = and_(r.farm_id == unit_id, r.settlement_date >= start)
            if end is not None:
                span = and_(span, r.settlement_date < end)
            wrong = and_(span, r.lead_party_name.is_distinct_from(party))
            found = conn.execute(select(r.settlement_date).where(wrong).distinct())
            days = [row[0] for row in found]
            if not days:
                continue
            conn.execute(update(curtailment_records).where(wrong).values(lead_party_name=party))
            conn.execute(
                update(farm_daily_summaries)
                .where(fd.farm_id == unit_id, fd.summary_date.in_(days))
                .values(lead_party_name=party)
            )
            affected.update(days)
    if affected:
        now = datetime.now(UTC)
        for year in sorted({day.year for day in affected}):
            lock_rollups(conn, year)
        for ym in sorted({year_month(day) for day in affected}):
            rebuild_farm_monthly(conn, ym, now)
        v = date_versions.c
        conn.execute(
            update(date_versions)
            .where(v.settlement_date.in_(sorted(affected)))
            .values(version=v.version + 1)
        )
    return sorted(affected)


def apply_listing(
    conn: Connection, units: Iterable[Listed], listed_at: datetime, source: str
) -> list[date]:
    """Record a listing and re-attribute what it changed, in the caller's transaction."""
    lock_history(conn, shared=False)
    return reattribute(conn, record_listing(conn, units, listed_at, source))


def history_is_empty(conn: Connection) -> bool:
    return conn.execute(select(h.bm_unit_id).limit(1)).first() is None


def seed_history(conn: Connection) -> list[date]:
    """Fill an empty history: the shipped lists, then the registry's stored rows (the snapshot
    on its listing day, an API listing on the day it was last seen), oldest first; then
    re-attribute the stored records of every unit whose lead party changed."""
    lock_history(conn, shared=False)
    for day, units in shipped_listings():
        record_listing(conn, units, _listing_instant(day), f"list:{day.isoformat()}")
    stored = conn.execute(
        select(
            bm_units.c.elexon_bm_unit,
            bm_units.c.lead_party_name,
            bm_units.c.lead_party_id,
            bm_units.c.source,
            bm_units.c.last_seen_at,
        )
    ).all()

    def listed_at(row: Any) -> datetime:
        if row.source == "snapshot":
            return snapshot_listed_at()
        seen: datetime = row.last_seen_at
        return seen if seen.tzinfo is not None else seen.replace(tzinfo=UTC)

    for (instant, source), group in groupby(
        sorted(stored, key=lambda row: (listed_at(row), row.source)),
        key=lambda row: (listed_at(row), row.source),
    ):
        record_listing(
            conn,
            [(row.elexon_bm_unit, row.lead_party_name, row.lead_party_id) for row in group],
            instant,
            source,
        )
    counts = conn.execute(
        select(h.bm_unit_id).group_by(h.bm_unit_id).having(func.count() > 1)
    ).all()
    return reattribute(conn, {row[0]: FIRST_SETTLEMENT_DATE for row in counts})
