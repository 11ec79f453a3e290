"""The share tests' database (no tests here): ``support.api``'s days through the real
pipeline, and generation rows as the ingestion stores them (``support.generation``).

* 2025-01-17 (heavy): AGWS for every period; B1610 for every curtailed BM unit and period but
  one (the first unit has no figure for period 48);
* 2025-01-18 (calm): the AGWS fetch failed, B1610 fetched_empty;
* 2025-01-19 (stack: periods 1-10 only): AGWS for every period;
* 2025-03-30 (46 periods): AGWS without an onshore figure for period 10;
* 2025-10-26: no generation fetched.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text

from support.api import Seeded, seed_database
from support.generation import store_generation

HEAVY, CALM, PARTIAL = date(2025, 1, 17), date(2025, 1, 18), date(2025, 1, 19)
SPRING, AUTUMN = date(2025, 3, 30), date(2025, 10, 26)
SHORT_UNIT_PERIOD = 48
FAILED = ("failed", "HTTP 503 after 5 attempts")


def rows(seeded: Seeded, sql: str, **params: Any) -> list[Any]:
    with seeded.engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def national(day: date, periods: int, *, hole: int | None = None) -> dict[int, tuple[Any, Any]]:
    return {
        p: (None if p == hole else 900.0 + 7.5 * p, 1500.0 + 11.25 * (p % 13))
        for p in range(1, periods + 1)
    }


def curtailed_units(seeded: Seeded, day: date) -> list[str]:
    return [
        r[0]
        for r in rows(
            seeded,
            "SELECT DISTINCT farm_id FROM curtailment_records WHERE settlement_date = :d "
            "ORDER BY farm_id",
            d=day,
        )
    ]


def seed_share(url: str) -> Seeded:
    data = seed_database(url)
    units = curtailed_units(data, HEAVY)
    heavy_units = {
        (farm, p): 40.0 + (i % 7) * 3.5 + p * 0.25
        for i, farm in enumerate(units)
        for p in range(1, 49)
        if not (farm == units[0] and p == SHORT_UNIT_PERIOD)
    }
    with data.engine.begin() as conn:
        store_generation(conn, HEAVY, national=national(HEAVY, 48), units=heavy_units)
        store_generation(conn, CALM, national_fetch=FAILED, unit_fetch=("fetched_empty", None))
        store_generation(conn, PARTIAL, national=national(PARTIAL, 48))
        store_generation(conn, SPRING, national=national(SPRING, 46, hole=10))
    return data
