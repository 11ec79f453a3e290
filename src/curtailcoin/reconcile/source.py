"""Source drift: every period of a date compared with Elexon's current answer.

One stack request per period (all of them, never a sample). For each period the headline totals
of the fresh answer (records, MWh, £ — SPEC §4) are compared with the stored curtailment records
of that period; a difference beyond ``settings.source_tolerance_mwh``/``_gbp`` (or any difference
in the record count) is *drift*. The fetched results are kept so that a fix reuses them instead
of fetching the date again.

:func:`verify_against_acceptances` is the extra check of ``reconcile critical``: each wind unit's
stack volume per acceptance must equal Elexon's acceptance volume (BOAV) for that period.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, select

from curtailcoin.db.curtailment_tables import curtailment_records, settlement_periods
from curtailcoin.ingest import SUCCESSFUL_STATUSES, is_curtailment, payment_gbp
from curtailcoin.settlement import periods_in_day
from curtailcoin.sources.elexon import AcceptanceVolume, ElexonClient, PeriodResult, StackLine


@dataclass(frozen=True)
class Totals:
    """Headline totals of one period: curtailment records, MWh (positive), £ to the farms."""

    records: int
    mwh: float
    gbp: float

    def to_json(self) -> dict[str, Any]:
        return {"records": self.records, "mwh": self.mwh, "gbp": self.gbp}


def headline_totals(lines: Iterable[StackLine], wind: Mapping[str, str | None]) -> Totals:
    records = [line for line in lines if is_curtailment(line, wind)]
    return Totals(
        records=len(records),
        mwh=-math.fsum(line.volume for line in records) + 0.0,
        gbp=math.fsum(p for line in records if (p := payment_gbp(line)) is not None),
    )


@dataclass(frozen=True)
class PeriodDrift:
    settlement_period: int
    stored: Totals
    source: Totals

    def to_json(self) -> dict[str, Any]:
        return {
            "period": self.settlement_period,
            "stored": self.stored.to_json(),
            "source": self.source.to_json(),
        }


@dataclass
class SourceCheck:
    """The outcome of checking one date against Elexon."""

    settlement_date: date
    periods: list[int]
    results: dict[int, PeriodResult] = field(default_factory=dict)
    drift: list[PeriodDrift] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    requests: int = 0

    @property
    def drift_periods(self) -> list[int]:
        return sorted(d.settlement_period for d in self.drift)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def transient_failure(self) -> bool:
        return any(
            r.error is not None and r.error.transient for r in self.results.values() if not r.ok
        )


def stored_period_totals(conn: Connection, settlement_date: date) -> dict[int, Totals]:
    """The stored records' headline totals per period of one date."""
    r = curtailment_records.c
    rows = conn.execute(
        select(r.settlement_period, r.volume_mwh, r.payment_gbp).where(
            r.settlement_date == settlement_date
        )
    ).all()
    volumes: dict[int, list[float]] = {}
    payments: dict[int, list[float]] = {}
    for period, volume, payment in rows:
        volumes.setdefault(period, []).append(volume)
        if payment is not None:
            payments.setdefault(period, []).append(payment)
    return {
        p: Totals(len(v), -math.fsum(v) + 0.0, math.fsum(payments.get(p, [])))
        for p, v in volumes.items()
    }


def fetched_periods(conn: Connection, settlement_date: date) -> set[int]:
    p = settlement_periods.c
    return {
        row[0]
        for row in conn.execute(
            select(p.settlement_period).where(
                p.settlement_date == settlement_date, p.fetch_status.in_(SUCCESSFUL_STATUSES)
            )
        )
    }


def drifted(stored: Totals, source: Totals, tolerance_mwh: float, tolerance_gbp: float) -> bool:
    return (
        stored.records != source.records
        or abs(stored.mwh - source.mwh) > tolerance_mwh
        or abs(stored.gbp - source.gbp) > tolerance_gbp
    )


async def check_source(
    engine: Engine,
    client: ElexonClient,
    settlement_date: date,
    periods: Sequence[int],
    wind: Mapping[str, str | None],
    *,
    tolerance_mwh: float,
    tolerance_gbp: float,
) -> SourceCheck:
    """Fetch every given period (concurrently, under the client's cap and rate) and compare.

    Only periods stored as fetched are compared (an unfetched period is *incomplete*, reported
    as such). A period whose fetch failed after retries is listed in ``failed``.
    """
    check = SourceCheck(settlement_date, list(periods))
    before = client.stats.requests
    results = await client.fetch_stack_periods(settlement_date, periods, keep=wind.__contains__)
    check.requests = client.stats.requests - before
    check.results = results
    check.failed = {p: str(r.error) for p, r in results.items() if r.error is not None}
    with engine.connect() as conn:
        stored = stored_period_totals(conn, settlement_date)
        fetched = fetched_periods(conn, settlement_date)
    empty = Totals(0, 0.0, 0.0)
    for period in sorted(results):
        result = results[period]
        if not result.ok or period not in fetched:
            continue
        source = headline_totals(result.lines, wind)
        mine = stored.get(period, empty)
        if drifted(mine, source, tolerance_mwh, tolerance_gbp):
            check.drift.append(PeriodDrift(period, mine, source))
    return check


def verify_against_acceptances(
    settlement_date: date,
    period: int,
    lines: Sequence[StackLine],
    volumes: Sequence[AcceptanceVolume],
    wind: Mapping[str, str | None],
    tolerance_mwh: float,
) -> list[str]:
    """Problems found comparing a period's wind stack lines with the acceptance volumes.

    Per (wind unit, acceptance): Σ stack volumes (all flags) = ``totalVolumeAccepted``. Returns
    one message per disagreement (empty = verified).
    """
    if not 1 <= period <= periods_in_day(settlement_date):
        return [f"period {period} does not exist on {settlement_date.isoformat()}"]
    stack: dict[tuple[str, int], list[float]] = {}
    for line in lines:
        if (
            line.bm_unit_id is not None
            and line.bm_unit_id in wind
            and line.acceptance_id is not None
        ):
            stack.setdefault((line.bm_unit_id, line.acceptance_id), []).append(line.volume)
    accepted: dict[tuple[str, int], float] = {}
    for item in volumes:
        if (
            item.settlement_period == period
            and item.bm_unit_id in wind
            and item.acceptance_id is not None
            and item.bm_unit_id is not None
        ):
            key = (item.bm_unit_id, item.acceptance_id)
            accepted[key] = accepted.get(key, 0.0) + (item.total_volume_accepted or 0.0)
    problems = []
    for key in sorted(set(stack) | set(accepted)):
        unit, acceptance = key
        if key not in accepted:
            problems.append(f"{unit} acceptance {acceptance}: in the stack, not in BOAV")
            continue
        if key not in stack:
            problems.append(f"{unit} acceptance {acceptance}: in BOAV, not in the stack")
            continue
        total = math.fsum(stack[key])
        if abs(total - accepted[key]) > tolerance_mwh:
            problems.append(
                f"{unit} acceptance {acceptance}: stack {total:.6f} MWh, BOAV "
                f"{accepted[key]:.6f} MWh"
            )
    return problems


def first_error(failed: Mapping[int, str]) -> str:
    period = min(failed)
    return f"period {period}: {failed[period]}"


def compact_periods(periods: Iterable[int]) -> str:
    """``[1, 2, 3, 7]`` → ``"1-3, 7"``."""
    items = sorted(set(periods))
    parts: list[str] = []
    start = prev = None
    for p in items:
        if start is None:
            start = prev = p
        elif prev is not None and p == prev + 1:
            prev = p
        else:
            parts.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = p
    if start is not None:
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ", ".join(parts)
