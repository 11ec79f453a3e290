"""The all-bids measure: every wind bid-stack line with volume < 0, whatever its soFlag.

The headline (SPEC §4) counts SO-flagged bids, as the seed system and Octopus's wastedwind do;
REF counts every bid of a wind unit. ``bid_stack_lines`` keeps every wind line, so the second
measure is one sum away: ``all_bids_daily_summaries`` holds it per date, rebuilt with the
date's other summaries (``summaries.rebuild_curtailment_summaries``) in the writer's
transaction. Lines with a NULL soFlag count here (they are bids of wind units) and not in the
headline. Energy is ``−Σ volume`` (MWh, positive), summed with ``math.fsum``.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from sqlalchemy import Connection, delete, select

from curtailcoin.db.curtailment_tables import bid_stack_lines
from curtailcoin.db.share_tables import all_bids_daily_summaries


def rebuild_all_bids_daily(conn: Connection, day: date, now: datetime | None = None) -> None:
    """The date's all-bids row: every stored wind stack line with volume < 0, any soFlag."""
    b = bid_stack_lines.c
    volumes = (
        conn.execute(select(b.volume).where(b.settlement_date == day, b.volume < 0)).scalars().all()
    )
    table = all_bids_daily_summaries
    conn.execute(delete(table).where(table.c.summary_date == day))
    conn.execute(
        table.insert().values(
            summary_date=day,
            curtailed_energy_mwh=-math.fsum(volumes) + 0.0,
            line_count=len(volumes),
            updated_at=now or datetime.now(UTC),
        )
    )
