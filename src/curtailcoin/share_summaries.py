"""The generation roll-ups of the curtailment share (``db.share_tables``), rebuilt from their
base rows in the writer's transaction.

:func:`rebuild_generation_summaries` is the hook the generation ingestion calls after it stores
(or fails to store) a date's AGWS or B1610 answer: the date's generation row, its farm-day rows,
then its month's farm-month rows. Sums use ``math.fsum`` like every stored figure; a period
counts as generated only when its figure is there (a NULL AGWS figure is no figure, never 0).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from sqlalchemy import Connection, delete, select

from curtailcoin.db.bulk import bulk_insert
from curtailcoin.db.generation_tables import (
    NATIONAL_DATASET,
    UNIT_DATASET,
    farm_generation,
    generation_fetches,
    national_wind_generation,
)
from curtailcoin.db.share_tables import (
    farm_generation_daily_summaries,
    farm_generation_monthly_summaries,
    generation_daily_summaries,
)
from curtailcoin.settlement import month_bounds, year_month
from curtailcoin.summaries import lock_rollups

_FARM_COLUMNS = ("farm_id", "generated_mwh", "period_count", "updated_at")


def _national_row(conn: Connection, day: date) -> dict[str, object]:
    n = national_wind_generation.c
    rows = conn.execute(
        select(n.onshore_wind_mwh, n.offshore_wind_mwh).where(
            n.settlement_date == day,
            n.onshore_wind_mwh.is_not(None),
            n.offshore_wind_mwh.is_not(None),
        )
    ).all()
    return {
        "national_period_count": len(rows),
        "onshore_wind_mwh": math.fsum(r[0] for r in rows),
        "offshore_wind_mwh": math.fsum(r[1] for r in rows),
    }


def _farm_day_rows(conn: Connection, day: date) -> dict[str, tuple[float, int]]:
    g = farm_generation.c
    grouped: dict[str, list[float]] = {}
    for farm, mwh in conn.execute(
        select(g.farm_id, g.metered_generation_mwh).where(g.settlement_date == day)
    ):
        grouped.setdefault(farm, []).append(mwh)
    return {farm: (math.fsum(v), len(v)) for farm, v in sorted(grouped.items())}


def rebuild_farm_generation_monthly(conn: Connection, ym: str, now: datetime) -> int:
    """Replace the month's farm-month generation rows from its farm-day rows."""
    first, following = month_bounds(date(int(ym[:4]), int(ym[5:7]), 1))
    fd = farm_generation_daily_summaries.c
    grouped: dict[str, tuple[list[float], list[int]]] = {}
    for farm, mwh, count in conn.execute(
        select(fd.farm_id, fd.generated_mwh, fd.period_count).where(
            fd.summary_date >= first, fd.summary_date < following
        )
    ):
        sums, counts = grouped.setdefault(farm, ([], []))
        sums.append(mwh)
        counts.append(count)
    table = farm_generation_monthly_summaries
    conn.execute(delete(table).where(table.c.year_month == ym))
    return bulk_insert(
        conn,
        table,
        ("year_month", *_FARM_COLUMNS),
        ((ym, farm, math.fsum(s), sum(c), now) for farm, (s, c) in sorted(grouped.items())),
    )


def has_generation(conn: Connection, day: date) -> bool:
    """Whether the date has anything of generation (a fetch, a row or a roll-up) to rebuild."""
    tables = (generation_fetches, national_wind_generation, farm_generation)
    for table in tables:
        if conn.execute(
            select(table.c.settlement_date).where(table.c.settlement_date == day).limit(1)
        ).first():
            return True
    g = generation_daily_summaries.c
    return conn.execute(select(g.summary_date).where(g.summary_date == day)).first() is not None


def rebuild_generation_summaries(conn: Connection, day: date, now: datetime | None = None) -> None:
    """Rebuild the date's generation roll-ups and its month's, inside the caller's transaction.

    Call after storing (or failing to store) a date's AGWS or B1610 answer: the date's row
    carries each dataset's fetch status and reason from ``generation_fetches`` (no row: the
    dataset was never fetched for the date), so a missing figure keeps its reason.
    """
    lock_rollups(conn, day.year)  # the month's farm-month rows, as the other roll-ups
    now = now or datetime.now(UTC)
    f = generation_fetches.c
    fetches = {
        dataset: (status, error)
        for dataset, status, error in conn.execute(
            select(f.dataset, f.fetch_status, f.error).where(f.settlement_date == day)
        )
    }
    national = fetches.get(NATIONAL_DATASET, (None, None))
    unit = fetches.get(UNIT_DATASET, (None, None))
    table = generation_daily_summaries
    conn.execute(delete(table).where(table.c.summary_date == day))
    conn.execute(
        table.insert().values(
            summary_date=day,
            national_status=national[0],
            national_error=national[1],
            unit_status=unit[0],
            unit_error=unit[1],
            updated_at=now,
            **_national_row(conn, day),
        )
    )
    farm_table = farm_generation_daily_summaries
    conn.execute(delete(farm_table).where(farm_table.c.summary_date == day))
    bulk_insert(
        conn,
        farm_table,
        ("summary_date", *_FARM_COLUMNS),
        ((day, farm, mwh, count, now) for farm, (mwh, count) in _farm_day_rows(conn, day).items()),
    )
    rebuild_farm_generation_monthly(conn, year_month(day), now)
