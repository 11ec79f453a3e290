"""The network conditions stored on each settlement period (effective difficulty, subsidy)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, func, select

from curtailcoin.db.curtailment_tables import settlement_periods
from curtailcoin.web.queries.scope import Scope

sp = settlement_periods.c


def period_conditions(conn: Connection, day: date) -> dict[int, tuple[float | None, float | None]]:
    """(difficulty, block subsidy BTC) of each of the day's stored periods."""
    rows = conn.execute(
        select(sp.settlement_period, sp.difficulty, sp.block_subsidy_btc).where(
            sp.settlement_date == day
        )
    ).all()
    return {int(row[0]): (row[1], row[2]) for row in rows}


def difficulty_range(conn: Connection, scope: Scope) -> tuple[float | None, float | None]:
    """Min and max effective difficulty over the scope's periods with curtailment."""
    row = conn.execute(
        select(func.min(sp.difficulty), func.max(sp.difficulty)).where(
            sp.settlement_date >= scope.start,
            sp.settlement_date < scope.end,
            sp.record_count > 0,
            sp.difficulty.is_not(None),
        )
    ).one()
    return (row[0], row[1])
