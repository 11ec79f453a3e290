"""Curtailment-share answers: national rows per period, day, month or year, and per BM unit or
lead party, from ``web.queries.share`` and the rules of ``curtailcoin.share``."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import Connection

from curtailcoin.coverage import (
    SUCCESSFUL_STATUSES,
    b1610_pending,
    b1610_publication_date,
    expected_period_count,
)
from curtailcoin.db.generation_tables import NATIONAL_DATASET, UNIT_DATASET
from curtailcoin.settlement import periods_in_day, settlement_today, year_month
from curtailcoin.share import (
    combine,
    date_reason,
    fetch_reason,
    pending_dates_reason,
    share_of,
    unit_fetch_reason,
)
from curtailcoin.web.queries.share import (
    DayInputs,
    FarmInputs,
    farm_inputs,
    national_days,
    national_periods,
)
from curtailcoin.web.share_schemas import (
    CurtailmentShare,
    FarmShareRow,
    FarmShares,
    Grain,
    ShareRow,
)

#: the longest range of a per-period answer (a month's periods)
MAX_PERIOD_DAYS = 31

_KEYS: dict[str, Callable[[date], str]] = {
    "day": date.isoformat,
    "month": year_month,
    "year": lambda d: f"{d.year:04d}",
}


def _dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _expected(days: list[date], now: datetime | None) -> dict[date, int]:
    """Each date's expected periods (today: those started), the clock read once."""
    today = settlement_today(now)
    return {d: periods_in_day(d) if d < today else expected_period_count(d, now) for d in days}


def _day_problems(
    day: date, item: DayInputs, dataset: str, expected: int, now: datetime | None = None
) -> list[tuple[str, str]]:
    """(date, reason) of each input of the date that is not complete."""
    problems: list[tuple[str, str]] = []
    if dataset == NATIONAL_DATASET:
        reason = date_reason(
            dataset, item.national_status, item.national_error, item.national_periods, expected
        )
    else:
        unit = unit_fetch_reason(day, item.unit_status, item.unit_error, now)
        reason = None if unit is None else f"{dataset} {unit}"
    if reason is not None:
        problems.append((day.isoformat(), reason))
    if item.stack_periods_ok < expected:
        problems.append(
            (day.isoformat(), f"stack fetched for {item.stack_periods_ok} of {expected} periods")
        )
    return problems


def _row(
    label: str, days: list[date], inputs: dict[date, DayInputs], expected: dict[date, int]
) -> ShareRow:
    problems: list[tuple[str, str]] = []
    curtailed: list[float] = []
    onshore: list[float] = []
    offshore: list[float] = []
    for day in days:
        item = inputs.get(day, DayInputs())
        problems += _day_problems(day, item, NATIONAL_DATASET, expected[day])
        curtailed.append(item.curtailed_mwh)
        onshore.append(item.onshore_mwh)
        offshore.append(item.offshore_mwh)
    reason = (
        combine("figures", problems, len(days))
        if len(days) > 1
        else (problems[0][1] if problems else None)
    )
    complete = reason is None
    on, off = math.fsum(onshore), math.fsum(offshore)
    energy = math.fsum(curtailed)
    share = share_of(energy, on + off if complete else None, reason)
    single = days[0] if len(days) == 1 else None
    return ShareRow(
        period=label,
        date=single,
        settlement_period=None,
        curtailed_energy_mwh=energy,
        generated_energy_mwh=on + off if complete else None,
        onshore_wind_mwh=on if complete else None,
        offshore_wind_mwh=off if complete else None,
        curtailment_share=share.share,
        missing_reason=share.reason,
    )


def _period_rows(
    conn: Connection, days: list[date], inputs: dict[date, DayInputs], expected: dict[date, int]
) -> list[ShareRow]:
    periods = national_periods(conn, days[0], days[-1])
    rows: list[ShareRow] = []
    for day in days:
        item = inputs.get(day, DayInputs())
        fetch = fetch_reason(item.national_status, item.national_error)
        for p in range(1, expected[day] + 1):
            got = periods.get((day, p))
            reason: str | None = None
            if fetch is not None:
                reason = f"{NATIONAL_DATASET} {fetch}"
            elif got is None or got.onshore_mwh is None or got.offshore_mwh is None:
                reason = f"{NATIONAL_DATASET} has no figure for the period"
            elif got.stack_status not in SUCCESSFUL_STATUSES:
                reason = f"stack {got.stack_status or 'not fetched yet'}"
            energy = got.curtailed_mwh if got is not None else 0.0
            on = got.onshore_mwh if got is not None and reason is None else None
            off = got.offshore_mwh if got is not None and reason is None else None
            generated = on + off if on is not None and off is not None else None
            share = share_of(energy, generated, reason)
            rows.append(
                ShareRow(
                    period=f"{day.isoformat()} P{p:02d}",
                    date=day,
                    settlement_period=p,
                    curtailed_energy_mwh=energy,
                    generated_energy_mwh=generated,
                    onshore_wind_mwh=on,
                    offshore_wind_mwh=off,
                    curtailment_share=share.share,
                    missing_reason=share.reason,
                )
            )
    return rows


def national_share(
    conn: Connection, first: date, last: date, grain: Grain, now: datetime | None = None
) -> CurtailmentShare:
    """The national share of ``first..last`` (inclusive, checked by the caller) by ``grain``."""
    days = _dates(first, last)
    expected = _expected(days, now)
    inputs = national_days(conn, first, last)
    if grain == "period":
        rows = _period_rows(conn, days, inputs, expected)
    else:
        groups: dict[str, list[date]] = {}
        for day in days:
            groups.setdefault(_KEYS[grain](day), []).append(day)
        rows = [_row(label, members, inputs, expected) for label, members in groups.items()]
    total = _row(f"{first.isoformat()}..{last.isoformat()}", days, inputs, expected)
    return CurtailmentShare.model_validate(
        {"from": first, "to": last, "grain": grain, "rows": rows, "total": total}
    )


def _unit_row(farm: str, item: FarmInputs, expected: int, date_problem: str | None) -> FarmShareRow:
    energy = math.fsum(item.curtailed)
    reason = date_problem
    if reason is None and not item.generated:
        reason = f"{UNIT_DATASET}: no figure for this BM unit"
    elif reason is None and item.generation_periods < expected:
        reason = f"{UNIT_DATASET} figures for {item.generation_periods} of {expected} periods"
    generated = math.fsum(item.generated) if reason is None else None
    share = share_of(energy, generated, reason)
    return FarmShareRow(
        lead_party_name=item.lead_party,
        farm_id=farm,
        unit_count=1,
        curtailed_energy_mwh=energy,
        generated_energy_mwh=generated,
        generation_periods=item.generation_periods,
        expected_periods=expected,
        curtailment_share=share.share,
        missing_reason=share.reason,
    )


def _lead_party_rows(units: list[FarmShareRow], date_problem: str | None) -> list[FarmShareRow]:
    """The units grouped by lead party; a range's date-level problem (every unit lacks those
    dates) is the group's reason as it stands, not a count of units."""
    groups: dict[str | None, list[FarmShareRow]] = {}
    for unit in units:
        groups.setdefault(unit.lead_party_name, []).append(unit)
    rows: list[FarmShareRow] = []
    for lead, members in groups.items():
        problems = [
            (m.farm_id or "", m.missing_reason) for m in members if m.missing_reason is not None
        ]
        reason = date_problem or combine("BM units", problems, len(members))
        energy = math.fsum(m.curtailed_energy_mwh for m in members)
        generated = (
            math.fsum(m.generated_energy_mwh or 0.0 for m in members) if reason is None else None
        )
        share = share_of(energy, generated, reason)
        rows.append(
            FarmShareRow(
                lead_party_name=lead,
                farm_id=None,
                unit_count=len(members),
                curtailed_energy_mwh=energy,
                generated_energy_mwh=generated,
                generation_periods=sum(m.generation_periods for m in members),
                expected_periods=sum(m.expected_periods for m in members),
                curtailment_share=share.share,
                missing_reason=share.reason,
            )
        )
    return rows


def farm_share(
    conn: Connection,
    first: date,
    last: date,
    by: str,
    lead_party: str | None = None,
    now: datetime | None = None,
) -> FarmShares:
    """Per BM unit (or lead party) share of ``first..last``: metered generation (B1610)."""
    days = _dates(first, last)
    counts = _expected(days, now)
    inputs = national_days(conn, first, last, curtailment=False)
    expected = 0
    problems: list[tuple[str, str]] = []
    pending: dict[date, list[tuple[str, str]]] = {}  # dates whose only gap is unpublished B1610
    unpublished: list[date] = []
    for day in days:
        expected += counts[day]
        item = inputs.get(day, DayInputs())
        found = _day_problems(day, item, UNIT_DATASET, counts[day], now)
        if b1610_pending(day, item.unit_status, now):
            unpublished.append(day)
            if len(found) == 1:  # B1610 not published yet is its only gap: pending
                pending[day] = found
                continue
        problems += found
    if pending and not problems:
        date_problem: str | None = pending_dates_reason(sorted(pending), len(days))
    else:
        every = sorted([*problems, *(p for found in pending.values() for p in found)])
        date_problem = combine("figures", every, len(days))
    units = [
        _unit_row(farm, item, expected, date_problem)
        for farm, item in farm_inputs(conn, first, last, lead_party).items()
    ]
    rows = _lead_party_rows(units, date_problem) if by == "leadParty" else units
    rows.sort(key=lambda r: (-r.curtailed_energy_mwh, r.lead_party_name or "", r.farm_id or ""))
    return FarmShares.model_validate(
        {
            "from": first,
            "to": last,
            "by": by,
            "leadParty": lead_party,
            "rows": rows,
            "pending": [
                {"date": d, "expectedFrom": b1610_publication_date(d)} for d in unpublished
            ],
        }
    )
