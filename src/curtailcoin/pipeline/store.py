"""Store fetched periods: the headline rule, and period / farm-period replacement.

A date (or some periods, or one farm's lines of a period) is replaced inside the caller's
transaction: the old rows go and the new rows arrive in the same commit, so readers never see a
half-replaced date, and a failed fetch (which never reaches this module) leaves the previous data
untouched. What was stored is handed on (``StoredDate.base``) so that deriving the date's
calculations and summaries reads none of it back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, delete

from curtailcoin.coverage import (
    FAILED,
    FETCHED_EMPTY,
    FETCHED_INCOMPLETE,
    FETCHED_WITH_DATA,
    MISSING,
    SUCCESSFUL_STATUSES,
    pending_period,
)
from curtailcoin.db.bulk import bulk_insert
from curtailcoin.db.curtailment_tables import (
    bid_stack_lines,
    curtailment_records,
    settlement_periods,
)
from curtailcoin.lead_parties import attribution
from curtailcoin.network import NetworkTimeline
from curtailcoin.settlement import period_end_utc, period_start_utc, periods_in_day
from curtailcoin.sources.elexon import PeriodResult, StackLine
from curtailcoin.stack_daily import StackDay, stack_day


def is_curtailment(line: StackLine, wind: Mapping[str, str | None]) -> bool:
    """The headline rule (SPEC §4): an SO-flagged bid (volume < 0) of a wind BM unit."""
    return line.bm_unit_id in wind and line.so_flag is True and line.volume < 0


def payment_gbp(line: StackLine) -> float | None:
    """£ paid to the farm: ``originalPrice × volume`` (positive for the usual negative bid)."""
    if line.original_price is None:
        return None
    return line.original_price * line.volume


def _units(lines: list[StackLine], limit: int = 3) -> str:
    units = list(dict.fromkeys(line.bm_unit_id or "?" for line in lines))
    return ", ".join(units[:limit]) + (", …" if len(units) > limit else "")


def incomplete_reason(lines: Iterable[StackLine], wind: Mapping[str, str | None]) -> str | None:
    """Why a fetched period lacks a figure the headline needs, or None when it lacks none.

    A wind bid with a null ``soFlag`` cannot be classified (it is stored, not counted), and a
    curtailment line with a null ``originalPrice`` has no payment (stored as NULL, never £0).
    """
    bids = [line for line in lines if line.bm_unit_id in wind and line.volume < 0]
    unflagged = [line for line in bids if line.so_flag is None]
    unpriced = [line for line in bids if line.so_flag is True and line.original_price is None]
    reasons = []
    if unflagged:
        reasons.append(f"soFlag null on {len(unflagged)} wind bid lines ({_units(unflagged)})")
    if unpriced:
        reasons.append(
            f"originalPrice null on {len(unpriced)} curtailment lines ({_units(unpriced)})"
        )
    return "; ".join(reasons) or None


LINE_COLUMNS = (
    "settlement_date",
    "settlement_period",
    "bm_unit_id",
    "sequence_number",
    "acceptance_id",
    "bid_offer_pair_id",
    "start_time_utc",
    "created_datetime",
    "cadl_flag",
    "so_flag",
    "stor_provider_flag",
    "repriced_indicator",
    "reserve_scarcity_price",
    "original_price",
    "volume",
    "dmat_adjusted_volume",
    "arbitrage_adjusted_volume",
    "niv_adjusted_volume",
    "par_adjusted_volume",
    "final_price",
    "transmission_loss_multiplier",
    "tlm_adjusted_volume",
    "tlm_adjusted_cost",
    "fetched_at",
)

RECORD_COLUMNS = (
    "settlement_date",
    "settlement_period",
    "farm_id",
    "lead_party_name",
    "volume",
    "payment",
    "original_price",
    "final_price",
    "so_flag",
    "cadl_flag",
    "sequence_number",
    "acceptance_id",
    "bid_offer_pair_id",
    "created_datetime",
    "fetched_at",
)


_LINE_VOLUME = LINE_COLUMNS.index("volume")


def _line_row(line: StackLine, fetched_at: datetime) -> tuple[Any, ...]:
    """A ``bid_stack_lines`` row in ``LINE_COLUMNS`` order."""
    return (
        line.settlement_date,
        line.settlement_period,
        line.bm_unit_id,
        line.sequence_number,
        line.acceptance_id,
        line.bid_offer_pair_id,
        line.start_time,
        line.created_datetime,
        line.cadl_flag,
        line.so_flag,
        line.stor_provider_flag,
        line.repriced_indicator,
        line.reserve_scarcity_price,
        line.original_price,
        line.volume,
        line.dmat_adjusted_volume,
        line.arbitrage_adjusted_volume,
        line.niv_adjusted_volume,
        line.par_adjusted_volume,
        line.final_price,
        line.transmission_loss_multiplier,
        line.tlm_adjusted_volume,
        line.tlm_adjusted_cost,
        fetched_at,
    )


def _record_row(
    line: StackLine, parties: Mapping[str, str | None], fetched_at: datetime
) -> tuple[Any, ...]:
    """A ``curtailment_records`` row in ``RECORD_COLUMNS`` order (``parties``: each wind unit's
    lead party on the line's date, ``lead_parties.attribution``)."""
    assert line.bm_unit_id is not None
    return (
        line.settlement_date,
        line.settlement_period,
        line.bm_unit_id,
        parties[line.bm_unit_id],
        line.volume,
        payment_gbp(line),
        line.original_price,
        line.final_price,
        True,
        line.cadl_flag,
        line.sequence_number,
        line.acceptance_id,
        line.bid_offer_pair_id,
        line.created_datetime,
        fetched_at,
    )


def _period_row(
    settlement_date: date,
    period: int,
    result: PeriodResult | None,
    wind: Mapping[str, str | None],
    timeline: NetworkTimeline,
) -> dict[str, Any]:
    start = period_start_utc(settlement_date, period)
    conditions = timeline.conditions(start, period_end_utc(settlement_date, period))
    row: dict[str, Any] = {
        "settlement_date": settlement_date,
        "settlement_period": period,
        "start_time_utc": start,
        "difficulty": conditions.difficulty,
        "block_subsidy_btc": conditions.block_subsidy_btc,
        "fetch_status": MISSING,
        "fetched_at": None,
        "source_created_at": None,
        "stack_line_count": 0,
        "wind_line_count": 0,
        "record_count": 0,
        "curtailed_energy_mwh": 0.0,
        "payment_gbp": 0.0,
        "error": None,
    }
    if result is None:
        return row
    if result.error is not None:
        row.update(fetch_status=FAILED, error=str(result.error)[:500])
        return row
    lines = result.lines
    records = [line for line in lines if is_curtailment(line, wind)]
    created = [line.created_datetime for line in lines if line.created_datetime is not None]
    reason = incomplete_reason(lines, wind)
    if reason is not None:
        status = FETCHED_INCOMPLETE
    else:
        status = FETCHED_WITH_DATA if result.stack_line_count else FETCHED_EMPTY
    row.update(
        fetch_status=status,
        error=reason,
        fetched_at=result.fetched_at,
        source_created_at=max(created) if created else None,
        stack_line_count=result.stack_line_count,
        wind_line_count=sum(1 for line in lines if line.bm_unit_id in wind),
        record_count=len(records),
        curtailed_energy_mwh=-sum(line.volume for line in records),
        payment_gbp=sum(p for line in records if (p := payment_gbp(line)) is not None),
    )
    return row


#: a stored record as deriving needs it: (farm, lead party, period, volume, payment,
#: the period's difficulty, its block subsidy) — the shape of ``summaries.farm_day_base``
BaseRow = tuple[str, str | None, int, float, float | None, float | None, float | None]


@dataclass(frozen=True)
class StoredDate:
    """What ``replace_periods`` stored; ``pending_periods`` have curtailment but no difficulty;
    ``incomplete_periods`` (period → reason) were stored with a needed figure missing; ``base``
    holds the date's records and ``stack`` its stack roll-up's figures when the whole date was
    written (None otherwise)."""

    lines: int
    records: int
    periods_fetched: int
    pending_periods: tuple[int, ...]
    incomplete_periods: dict[int, str]
    base: list[BaseRow] | None = None
    stack: StackDay | None = None


def replace_periods(
    conn: Connection,
    settlement_date: date,
    results: Mapping[int, PeriodResult],
    wind: Mapping[str, str | None],
    timeline: NetworkTimeline,
    *,
    whole_date: bool = True,
) -> StoredDate:
    """Replace the stored lines, records and statuses of the fetched periods.

    With ``whole_date`` every period of the date is rewritten (periods absent from ``results``
    become *missing*); otherwise only the periods in ``results`` change. Every result must be
    successful: callers never store a failed fetch over good data.
    """
    failed = [p for p, r in results.items() if not r.ok]
    if failed:
        raise ValueError(f"refusing to store failed periods {failed} of {settlement_date}")
    periods = list(range(1, periods_in_day(settlement_date) + 1)) if whole_date else sorted(results)
    now = datetime.now(UTC)
    for table in (bid_stack_lines, curtailment_records):
        stmt = delete(table).where(table.c.settlement_date == settlement_date)
        if not whole_date:
            stmt = stmt.where(table.c.settlement_period.in_(periods))
        conn.execute(stmt)
    status_delete = delete(settlement_periods).where(
        settlement_periods.c.settlement_date == settlement_date
    )
    if not whole_date:
        status_delete = status_delete.where(settlement_periods.c.settlement_period.in_(periods))
    conn.execute(status_delete)
    parties = attribution(conn, settlement_date, wind)

    line_rows: list[tuple[Any, ...]] = []
    record_rows: list[tuple[Any, ...]] = []
    status_rows: list[dict[str, Any]] = []
    for period in periods:
        result = results.get(period)
        status_rows.append(_period_row(settlement_date, period, result, wind, timeline))
        if result is None:
            continue
        fetched_at = result.fetched_at or now
        for line in result.lines:
            if line.bm_unit_id in wind:
                line_rows.append(_line_row(line, fetched_at))
                if is_curtailment(line, wind):
                    record_rows.append(_record_row(line, parties, fetched_at))
    bulk_insert(conn, bid_stack_lines, LINE_COLUMNS, line_rows)
    bulk_insert(conn, curtailment_records, RECORD_COLUMNS, record_rows)
    conn.execute(settlement_periods.insert(), status_rows)
    fetched = sum(1 for r in status_rows if r["fetch_status"] in SUCCESSFUL_STATUSES)
    base = stack = None
    if whole_date:
        conditions = {
            r["settlement_period"]: (r["difficulty"], r["block_subsidy_btc"]) for r in status_rows
        }
        base = [(r[2], r[3], r[1], r[4], r[5], *conditions[r[1]]) for r in record_rows]
        stack = stack_day((v for r in line_rows if (v := r[_LINE_VOLUME]) < 0), fetched)
    return StoredDate(
        lines=len(line_rows),
        records=len(record_rows),
        periods_fetched=fetched,
        pending_periods=tuple(
            r["settlement_period"]
            for r in status_rows
            if pending_period(r["record_count"], r["difficulty"], r["block_subsidy_btc"])
        ),
        incomplete_periods={
            r["settlement_period"]: r["error"]
            for r in status_rows
            if r["fetch_status"] == FETCHED_INCOMPLETE
        },
        base=base,
        stack=stack,
    )


def replace_farm_period(
    conn: Connection,
    settlement_date: date,
    period: int,
    farm: str,
    result: PeriodResult,
    wind: Mapping[str, str | None],
    timeline: NetworkTimeline,
) -> None:
    """Replace one farm's lines and records of one period (``spot-fix``), and the period's status.

    The status and headline totals become the fresh answer for the whole period, so other farms
    that differ from it show up as a period totals mismatch in reconciliation.
    """
    if not result.ok:
        raise ValueError(f"refusing to store failed period {period} of {settlement_date}")
    conn.execute(
        delete(bid_stack_lines).where(
            bid_stack_lines.c.settlement_date == settlement_date,
            bid_stack_lines.c.settlement_period == period,
            bid_stack_lines.c.bm_unit_id == farm,
        )
    )
    conn.execute(
        delete(curtailment_records).where(
            curtailment_records.c.settlement_date == settlement_date,
            curtailment_records.c.settlement_period == period,
            curtailment_records.c.farm_id == farm,
        )
    )
    fetched_at = result.fetched_at or datetime.now(UTC)
    mine = [line for line in result.lines if line.bm_unit_id == farm]
    if farm in wind:
        parties = attribution(conn, settlement_date, wind)
        bulk_insert(conn, bid_stack_lines, LINE_COLUMNS, [_line_row(x, fetched_at) for x in mine])
        bulk_insert(
            conn,
            curtailment_records,
            RECORD_COLUMNS,
            [_record_row(x, parties, fetched_at) for x in mine if is_curtailment(x, wind)],
        )
    conn.execute(
        delete(settlement_periods).where(
            settlement_periods.c.settlement_date == settlement_date,
            settlement_periods.c.settlement_period == period,
        )
    )
    conn.execute(
        settlement_periods.insert(), [_period_row(settlement_date, period, result, wind, timeline)]
    )
