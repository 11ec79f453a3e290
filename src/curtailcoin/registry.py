"""The BM unit registry: which units are wind, and their lead parties.

Wind is the union of every unit ever seen with ``fuelType == "WIND"``, so retired units stay
mapped. A snapshot ships with the package; the API list refreshes it when older than a day.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

from sqlalchemy import Connection, Engine, select

from curtailcoin.db.reference_tables import bm_units
from curtailcoin.db.upsert import upsert
from curtailcoin.errors import SourceError, UnreachableSourceError
from curtailcoin.lead_parties import (
    apply_listing,
    history_is_empty,
    seed_history,
    snapshot_listed_at,
)
from curtailcoin.reference import last_refreshed, mark_refreshed
from curtailcoin.sources.elexon import ElexonClient, parse_bm_units

log = logging.getLogger("curtailcoin.registry")


def load_snapshot() -> list[dict[str, Any]]:
    text = (files("curtailcoin") / "data" / "bmunits_snapshot.json").read_text(encoding="utf-8")
    return parse_bm_units(json.loads(text))


def _capacity_mw(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def store_units(
    conn: Connection,
    units: Iterable[dict[str, Any]],
    source: str,
    listed_at: datetime | None = None,
) -> int:
    """Upsert units (``is_wind`` only ever turns on) and add the listing to the lead-party
    history (``lead_parties``: a changed lead party re-attributes the records of the dates it
    now covers, in this transaction). Returns how many units were written."""
    now = datetime.now(UTC)
    units = list(units)
    existing_wind = {
        row.elexon_bm_unit
        for row in conn.execute(select(bm_units.c.elexon_bm_unit).where(bm_units.c.is_wind))
    }
    first_seen = {
        row.elexon_bm_unit: row.first_seen_at
        for row in conn.execute(select(bm_units.c.elexon_bm_unit, bm_units.c.first_seen_at))
    }
    rows = []
    for unit in units:
        unit_id = unit["elexonBmUnit"]
        rows.append(
            {
                "elexon_bm_unit": unit_id,
                "national_grid_bm_unit": unit.get("nationalGridBmUnit"),
                "bm_unit_name": unit.get("bmUnitName"),
                "fuel_type": unit.get("fuelType"),
                "lead_party_name": unit.get("leadPartyName"),
                "lead_party_id": unit.get("leadPartyId"),
                "bm_unit_type": unit.get("bmUnitType"),
                "generation_capacity_mw": _capacity_mw(unit.get("generationCapacity")),
                "is_wind": unit.get("fuelType") == "WIND" or unit_id in existing_wind,
                "first_seen_at": first_seen.get(unit_id, now),
                "last_seen_at": now,
                "source": source,
            }
        )
    upsert(conn, bm_units, rows, ["elexon_bm_unit"])
    if not history_is_empty(conn):
        listed = [(r["elexon_bm_unit"], r["lead_party_name"], r["lead_party_id"]) for r in rows]
        apply_listing(conn, listed, listed_at or now, source)
    return len(rows)


def ensure_snapshot(conn: Connection) -> None:
    """Load the shipped snapshot when the registry has never been filled, and the lead-party
    history when it is empty (the shipped lists, then the registry's rows)."""
    if conn.execute(select(bm_units.c.elexon_bm_unit).limit(1)).first() is None:
        store_units(conn, load_snapshot(), "snapshot", snapshot_listed_at())
    if history_is_empty(conn):
        seed_history(conn)


async def refresh_registry(
    engine: Engine, client: ElexonClient, *, max_age: timedelta | None = None
) -> int | None:
    """Refresh from ``/reference/bmunits/all`` if older than ``max_age`` (always if None).

    Returns the number of units written, or None when the registry was fresh enough.
    """
    with engine.connect() as conn:
        refreshed = last_refreshed(conn, "bmunits")
    if max_age is not None and refreshed is not None and datetime.now(UTC) - refreshed < max_age:
        return None
    units = await client.fetch_bm_units()
    with engine.begin() as conn:
        count = store_units(conn, units, "api")
        mark_refreshed(conn, "bmunits", f"{count} units")
    log.info("bm unit registry refreshed", extra={"units": count})
    return count


async def refresh_or_keep(
    engine: Engine, client: ElexonClient, max_age_s: float
) -> SourceError | None:
    """A writer's registry refresh when older than ``max_age_s``: an unreachable host raises
    (it ends the run with one line, not a failure per period or date); any other failure is
    logged and returned, and the stored list stays in use."""
    try:
        await refresh_registry(engine, client, max_age=timedelta(seconds=max_age_s))
    except UnreachableSourceError:
        raise
    except SourceError as exc:
        log.warning("bm unit refresh failed; using the stored list", extra={"error": str(exc)})
        return exc
    return None


def wind_units(conn: Connection) -> dict[str, str | None]:
    """Wind BM unit id → its latest listed lead party (a record's lead party is the one in force
    on its date: ``lead_parties.attribution``)."""
    rows = conn.execute(
        select(bm_units.c.elexon_bm_unit, bm_units.c.lead_party_name).where(bm_units.c.is_wind)
    )
    return {row.elexon_bm_unit: row.lead_party_name for row in rows}
