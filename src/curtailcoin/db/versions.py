"""Per-date change counters (``date_versions``, migration 0008): what a cache keys answers by.

Triggers add 1 to a date's counter in the same transaction as every INSERT, UPDATE or DELETE of
its daily summaries, its periods or its held drift-guard answer, whoever writes (the writers
call nothing). A scope's version is the sum and the number of the counters of its dates: a
counter only grows, so the sum changes with every commit that touches a date of the scope and
with no other; a write of 2025-01-17 changes the version of that day, January 2025 and 2025,
not the version of 2025-01-18 or of February.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection
from datetime import date

from sqlalchemy import Connection, bindparam, func, select

from curtailcoin.db.coordination_tables import date_versions

#: a half-open range of settlement dates, ``start`` inclusive, ``end`` exclusive
DateRange = tuple[date, date]

v = date_versions.c

_RANGE = (
    select(v.settlement_date, v.version)
    .where(v.settlement_date >= bindparam("low"), v.settlement_date < bindparam("high"))
    .order_by(v.settlement_date)
)
_TOTAL = select(func.coalesce(func.sum(v.version), 0), func.count()).select_from(date_versions)


def range_versions(
    conn: Connection, ranges: Collection[DateRange]
) -> dict[DateRange, tuple[int, int]]:
    """(Σ counters, dates counted) of each range, from one read of the rows they span."""
    if not ranges:
        return {}
    low = min(start for start, _ in ranges)
    high = max(end for _, end in ranges)
    rows = conn.execute(_RANGE, {"low": low, "high": high}).all()
    days = [row[0] for row in rows]
    running = [0]  # running[i] = Σ of the first i counters
    for row in rows:
        running.append(running[-1] + int(row[1]))
    out: dict[DateRange, tuple[int, int]] = {}
    for start, end in ranges:
        first, last = bisect_left(days, start), bisect_left(days, end)
        out[(start, end)] = (running[last] - running[first], last - first)
    return out


def total_version(conn: Connection) -> tuple[int, int]:
    """(Σ counters, dates counted) over every date."""
    total, count = conn.execute(_TOTAL).one()
    return int(total), int(count)
