"""The stack's per-date roll-up: the all-bids measure and the successful periods.

The headline (SPEC §4) counts SO-flagged bids, as the seed system and Octopus's wastedwind do;
REF counts every bid of a wind unit. ``bid_stack_lines`` keeps every wind line, so the second
measure is one sum away; ``stack_daily_summaries`` holds it per date, with the count of the
date's periods fetched successfully (what the curtailment share checks a date's curtailment
by, without reading every period). Rebuilt with the date's other summaries
(``summaries.rebuild_curtailment_summaries``) in the writer's transaction: every writer of a
date's periods derives the date. Lines with a NULL soFlag count here (they are bids of wind
units) and not in the headline. Energy is ``−Σ volume`` (MWh, positive), ``math.fsum``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import NamedTuple

from sqlalchemy import Connection, delete, func, select

from curtailcoin.coverage import SUCCESSFUL_STATUSES
from curtailcoin.db.curtailment_tables import bid_stack_lines, settlement_periods
from curtailcoin.db.share_tables import stack_daily_summaries


class StackDay(NamedTuple):
    """A ``stack_daily_summaries`` row's figures."""

    all_bids_curtailed_energy_mwh: float
    all_bids_line_count: int
    successful_period_count: int


def stack_day(bid_volumes: Iterable[float], successful_periods: int) -> StackDay:
    """The figures of a date's wind lines with volume < 0 (their volumes) and its periods
    fetched successfully."""
    volumes = list(bid_volumes)
    return StackDay(-math.fsum(volumes) + 0.0, len(volumes), successful_periods)


def stored_stack_day(conn: Connection, day: date) -> StackDay:
    """:class:`StackDay` of the date's stored lines and statuses."""
    b, p = bid_stack_lines.c, settlement_periods.c
    volumes = (
        conn.execute(select(b.volume_mwh).where(b.settlement_date == day, b.volume_mwh < 0))
        .scalars()
        .all()
    )
    successful = conn.execute(
        select(func.count()).where(
            p.settlement_date == day, p.fetch_status.in_(SUCCESSFUL_STATUSES)
        )
    ).scalar_one()
    return stack_day(volumes, int(successful))


def rebuild_stack_daily(
    conn: Connection, day: date, now: datetime | None = None, held: StackDay | None = None
) -> None:
    """The date's stack row: every stored wind line with volume < 0 (any soFlag), and the
    periods fetched successfully (``held``: those figures of the lines and statuses the caller
    has just stored, instead of reading them back)."""
    figures = held if held is not None else stored_stack_day(conn, day)
    table = stack_daily_summaries
    conn.execute(delete(table).where(table.c.summary_date == day))
    conn.execute(
        table.insert().values(
            summary_date=day, **figures._asdict(), updated_at=now or datetime.now(UTC)
        )
    )
