"""Derive a date: its Bitcoin calculations, then every summary, from what the caller holds.

The one write sequence records → calculations → summaries of every writer (reingest,
reconciliation's recalculation and refetch, spot-fix). It runs inside the caller's transaction
and reads back nothing it is handed: after a whole-date store the records and the periods'
conditions come from ``StoredDate.base`` and the calculations just computed feed the Bitcoin
summaries directly. The figures are those of ``calculations.calculate`` and
``summaries.rebuild_*`` bit for bit (the same functions, the same ``math.fsum`` sums).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, and_, not_, select

from curtailcoin.calculations import (
    calculation_rows,
    energies_of,
    model_specs,
    replace_calculations,
)
from curtailcoin.db.curtailment_tables import historical_bitcoin_calculations
from curtailcoin.pipeline.store import BaseRow
from curtailcoin.stack_daily import StackDay
from curtailcoin.summaries import (
    farm_day_base,
    rebuild_bitcoin_summaries,
    rebuild_curtailment_summaries,
)


@dataclass
class DerivedDate:
    """What ``derive_date`` computed: the calculation rows now stored (``CALCULATION_COLUMNS``
    order; those equal to a stored row were kept, not rewritten), and the energies and
    conditions they came from (for verification)."""

    settlement_date: date
    models: list[str]
    periods: list[int] | None = None
    farm: str | None = None
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    energies: dict[tuple[int, str], float] = field(default_factory=dict)
    conditions: dict[int, tuple[float | None, float | None]] = field(default_factory=dict)

    @property
    def whole_date(self) -> bool:
        return self.periods is None and self.farm is None


def derive_date(
    conn: Connection,
    settlement_date: date,
    models: Sequence[str],
    periods: Sequence[int] | None = None,
    farm: str | None = None,
    *,
    base: Sequence[BaseRow] | None = None,
    stack: StackDay | None = None,
    also_summarise: Sequence[str] = (),
) -> DerivedDate:
    """Replace the calculations of ``models`` (for the date, some ``periods``, or one ``farm``
    of them), then rebuild the date's summaries, its month's and its year's.

    ``base`` is the date's records with their periods' conditions when the caller holds them
    (read once otherwise), ``stack`` the figures of its stack roll-up (``StoredDate.stack``).
    The Bitcoin summaries cover ``models`` and ``also_summarise`` (models whose stored
    calculations are kept as they are); no model, no Bitcoin summary.
    """
    if base is None:
        base = farm_day_base(conn, settlement_date)
    derived = DerivedDate(
        settlement_date, list(models), None if periods is None else list(periods), farm
    )
    if derived.models:
        wanted = None if periods is None else set(periods)
        chosen = [
            row
            for row in base
            if (wanted is None or row[2] in wanted) and (farm is None or row[0] == farm)
        ]
        derived.energies = energies_of((row[2], row[0], row[3]) for row in chosen)
        derived.conditions = {row[2]: (row[5], row[6]) for row in chosen}
        derived.rows = calculation_rows(
            settlement_date,
            derived.energies,
            derived.conditions,
            model_specs(conn, derived.models),
            datetime.now(UTC),
        )
        replace_calculations(conn, settlement_date, derived.models, derived.rows, periods, farm)
    rebuild_curtailment_summaries(conn, settlement_date, base=base, stack=stack)
    summarised = list(dict.fromkeys([*derived.models, *also_summarise]))
    if summarised:
        rebuild_bitcoin_summaries(
            conn, settlement_date, summarised, base=_calculation_base(conn, derived, summarised)
        )
    return derived


def _calculation_base(
    conn: Connection, derived: DerivedDate, models: list[str]
) -> list[tuple[Any, ...]]:
    """(farm, model, BTC, MWh) of the date's calculations of ``models``: those just computed
    from memory, the others read."""
    held = derived.models
    out: list[tuple[Any, ...]] = [(r[2], r[3], r[9], r[4]) for r in derived.rows]
    c = historical_bitcoin_calculations.c
    query = select(c.farm_id, c.miner_model, c.bitcoin_mined_btc, c.curtailed_energy_mwh).where(
        c.settlement_date == derived.settlement_date, c.miner_model.in_(models)
    )
    if derived.periods is None and derived.farm is None:
        others = [m for m in models if m not in held]
        if not others:
            return out
        query = query.where(c.miner_model.in_(others))
    elif held:
        # the rows just written are held; only the rest of the date is read
        query = query.where(not_(and_(c.miner_model.in_(held), *_cleared(derived))))
    return out + [tuple(row) for row in conn.execute(query)]


def _cleared(derived: DerivedDate) -> list[Any]:
    """The conditions of the part of the date ``derive_date`` cleared and rewrote."""
    c = historical_bitcoin_calculations.c
    where: list[Any] = []
    if derived.periods is not None:
        where.append(c.settlement_period.in_(derived.periods))
    if derived.farm is not None:
        where.append(c.farm_id == derived.farm)
    return where
