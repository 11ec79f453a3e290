"""A small writer of the generation tables for tests and benchmarks (the ingestion's stand-in).

Writes a date's ``generation_fetches`` rows and its AGWS / B1610 rows as the ingestion stores
them, then calls the hook the ingestion calls, ``share_summaries.rebuild_generation_summaries``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

from sqlalchemy import Connection, delete

from curtailcoin.db.generation_tables import (
    NATIONAL_DATASET,
    UNIT_DATASET,
    farm_generation,
    generation_fetches,
    national_wind_generation,
)
from curtailcoin.share_summaries import rebuild_generation_summaries

#: (status, error) of a dataset's fetch of a date
Fetch = tuple[str, str | None]


def store_generation(
    conn: Connection,
    day: date,
    *,
    national: Mapping[int, tuple[float | None, float | None]] | None = None,
    national_fetch: Fetch | None = None,
    units: Mapping[tuple[str, int], float] | None = None,
    unit_fetch: Fetch | None = None,
) -> None:
    """Replace the date's rows of each dataset given (``national``: period → (onshore,
    offshore) MWh; ``units``: (BM unit, period) → MWh); a fetch without rows records only its
    status (a failed fetch keeps the rows stored before, as the ingestion does)."""
    now = datetime.now(UTC)
    for dataset, fetch, rows in (
        (NATIONAL_DATASET, national_fetch, national),
        (UNIT_DATASET, unit_fetch, units),
    ):
        if fetch is None and rows is None:
            continue
        status, error = fetch or ("fetched_with_data", None)
        f = generation_fetches.c
        conn.execute(
            delete(generation_fetches).where(f.settlement_date == day, f.dataset == dataset)
        )
        conn.execute(
            generation_fetches.insert().values(
                settlement_date=day,
                dataset=dataset,
                fetch_status=status,
                period_count=len({k if isinstance(k, int) else k[1] for k in rows or {}}),
                row_count=len(rows or {}),
                fetched_at=now,
                error=error,
            )
        )
    if national is not None:
        n = national_wind_generation
        conn.execute(delete(n).where(n.c.settlement_date == day))
        if national:
            conn.execute(
                n.insert(),
                [
                    {
                        "settlement_date": day,
                        "settlement_period": p,
                        "onshore_wind_mwh": on,
                        "offshore_wind_mwh": off,
                        "fetched_at": now,
                    }
                    for p, (on, off) in sorted(national.items())
                ],
            )
    if units is not None:
        u = farm_generation
        conn.execute(delete(u).where(u.c.settlement_date == day))
        if units:
            conn.execute(
                u.insert(),
                [
                    {
                        "settlement_date": day,
                        "settlement_period": p,
                        "farm_id": farm,
                        "metered_generation_mwh": mwh,
                        "fetched_at": now,
                    }
                    for (farm, p), mwh in sorted(units.items())
                ],
            )
    rebuild_generation_summaries(conn, day)
