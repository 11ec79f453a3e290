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
from datetime import UTC, date, datetime

from sqlalchemy import Connection, delete, func, select

from curtailcoin.coverage import SUCCESSFUL_STATUSES
from curtailcoin.db.curtailment_tables import bid_stack_lines, settlement_periods
from curtailcoin.db.share_tables import stack_daily_summaries


def rebuild_stack_daily(conn: Connection, day: date, now: datetime | None = None) -> None:
    """The date's stack row: every stored wind line with volume < 0 (any soFlag), and the
    periods fetched successfully."""
    b, p = bid_stack_lines.c, settlement_periods.c
    volumes = (
        conn.execute(select(b.volume).where(b.settlement_date == day, b.volume < 0)).scalars().all()
    )
    successful = conn.execute(
        select(func.count()).where(
            p.settlement_date == day, p.fetch_status.in_(SUCCESSFUL_STATUSES)
        )
    ).scalar_one()
    table = stack_daily_summaries
    conn.execute(delete(table).where(table.c.summary_date == day))
    conn.execute(
        table.insert().values(
            summary_date=day,
            all_bids_curtailed_energy_mwh=-math.fsum(volumes) + 0.0,
            all_bids_line_count=len(volumes),
            successful_period_count=int(successful),
            updated_at=now or datetime.now(UTC),
        )
    )
