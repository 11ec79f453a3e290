"""Suspect dates: the answers the drift guard held back, and the totals it compares.

A reingest that meets an implausible answer (:mod:`curtailcoin.shrink_guard`) keeps the stored
data and records the date in ``suspect_dates`` with what the answer would have changed. The row
goes when the date is next written — an answer that is not suspect, or one applied on request
(``--accept-shrink``) — or when a later answer agrees with what is stored. Status commands,
``reconcile analyze`` and ``jobs status`` read the rows from here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from curtailcoin.config import Settings
from curtailcoin.db.coordination_tables import suspect_dates
from curtailcoin.db.curtailment_tables import curtailment_records
from curtailcoin.db.upsert import upsert
from curtailcoin.ingest import is_curtailment, payment_gbp
from curtailcoin.shrink_guard import HeadlineTotals, ShrinkLimits, ShrinkVerdict, describe_periods
from curtailcoin.sources.elexon import PeriodResult


def shrink_limits(settings: Settings) -> ShrinkLimits:
    return ShrinkLimits(max_drop=settings.shrink_max_drop, min_records=settings.shrink_min_records)


def fetched_totals(
    results: Mapping[int, PeriodResult], wind: Mapping[str, str | None]
) -> HeadlineTotals:
    """The headline totals of successful answers, as ``replace_periods`` would store them."""
    volumes: list[float] = []
    payments: list[float] = []
    for result in results.values():
        for line in result.lines:
            if is_curtailment(line, wind):
                volumes.append(line.volume)
                if (paid := payment_gbp(line)) is not None:
                    payments.append(paid)
    return HeadlineTotals(
        records=len(volumes),
        curtailed_energy_mwh=-math.fsum(volumes) + 0.0,
        payment_gbp=math.fsum(payments),
        stack_lines=sum(r.stack_line_count for r in results.values()),
    )


def stored_totals(
    conn: Connection, settlement_date: date, periods: Sequence[int] | None = None
) -> HeadlineTotals:
    """The stored records' headline totals of the date (or of some of its periods)."""
    r = curtailment_records.c
    query = select(r.volume_mwh, r.payment_gbp).where(r.settlement_date == settlement_date)
    if periods is not None:
        query = query.where(r.settlement_period.in_(list(periods)))
    rows = conn.execute(query).all()
    return HeadlineTotals(
        records=len(rows),
        curtailed_energy_mwh=-math.fsum(v for v, _ in rows) + 0.0,
        payment_gbp=math.fsum(p for _, p in rows if p is not None),
    )


def record_suspect(
    conn: Connection, settlement_date: date, verdict: ShrinkVerdict, detected_by: str
) -> None:
    """Insert or refresh the date's row (the latest held-back answer wins)."""
    row: dict[str, Any] = {
        "settlement_date": settlement_date,
        "detected_at": datetime.now(UTC),
        "reason": verdict.reason or "suspect",
        "periods": None if verdict.periods is None else ",".join(str(p) for p in verdict.periods),
        "stored_records": verdict.stored.records,
        "stored_curtailed_energy_mwh": verdict.stored.curtailed_energy_mwh,
        "stored_payment_gbp": verdict.stored.payment_gbp,
        "fetched_records": verdict.fetched.records,
        "fetched_curtailed_energy_mwh": verdict.fetched.curtailed_energy_mwh,
        "fetched_payment_gbp": verdict.fetched.payment_gbp,
        "detected_by": detected_by[:32],
    }
    upsert(conn, suspect_dates, [row], ["settlement_date"])


def clear_suspect(conn: Connection, settlement_date: date) -> bool:
    """Remove the date's row; True if there was one."""
    stmt = delete(suspect_dates).where(suspect_dates.c.settlement_date == settlement_date)
    return bool(conn.execute(stmt).rowcount)


@dataclass(frozen=True)
class SuspectDate:
    """One row of ``suspect_dates``, as the status commands report it."""

    settlement_date: date
    detected_at: datetime
    reason: str
    periods: str | None
    stored: HeadlineTotals
    fetched: HeadlineTotals
    detected_by: str

    @property
    def accept_command(self) -> str:
        return f"curtailcoin reingest {self.settlement_date.isoformat()} --accept-shrink"

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.settlement_date.isoformat(),
            "detected_at": self.detected_at.isoformat(),
            "detected_by": self.detected_by,
            "reason": self.reason,
            "periods": self.periods,
            "stored": _totals_json(self.stored),
            "fetched": _totals_json(self.fetched),
            "apply_with": self.accept_command,
        }


def _totals_json(totals: HeadlineTotals) -> dict[str, Any]:
    return {
        "records": totals.records,
        "curtailed_energy_mwh": totals.curtailed_energy_mwh,
        "payment_gbp": totals.payment_gbp,
    }


def load_suspects(
    conn: Connection, start: date | None = None, end: date | None = None
) -> list[SuspectDate]:
    """The suspect dates (of ``start..end``), oldest first."""
    s = suspect_dates.c
    query = select(suspect_dates).order_by(s.settlement_date)
    if start is not None:
        query = query.where(s.settlement_date >= start)
    if end is not None:
        query = query.where(s.settlement_date <= end)
    out = []
    for row in conn.execute(query).mappings():
        out.append(
            SuspectDate(
                settlement_date=row["settlement_date"],
                detected_at=row["detected_at"],
                reason=row["reason"],
                periods=row["periods"],
                stored=HeadlineTotals(
                    row["stored_records"],
                    row["stored_curtailed_energy_mwh"],
                    row["stored_payment_gbp"],
                ),
                fetched=HeadlineTotals(
                    row["fetched_records"],
                    row["fetched_curtailed_energy_mwh"],
                    row["fetched_payment_gbp"],
                ),
                detected_by=row["detected_by"],
            )
        )
    return out


__all__ = [
    "SuspectDate",
    "clear_suspect",
    "describe_periods",
    "fetched_totals",
    "load_suspects",
    "record_suspect",
    "shrink_limits",
    "stored_totals",
]
