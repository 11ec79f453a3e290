"""The stored wind generation of a date and the generation datasets' state, as the earlier
system's ``/api/wind-generation/*`` routes answered them — with Elexon's figures in MWh and a
missing figure shown as missing with its reason, never a default."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from curtailcoin.coverage import (
    B1610_PUBLICATION_LAG_DAYS,
    FAILED,
    FETCHED_EMPTY,
    b1610_pending,
    expected_period_count,
)
from curtailcoin.db.generation_tables import NATIONAL_DATASET, UNIT_DATASET
from curtailcoin.settlement import period_start_utc, periods_in_day, settlement_today
from curtailcoin.web.legacy_schemas import (
    GenerationDatasetStatus,
    WindGenerationCheck,
    WindGenerationDay,
    WindGenerationStatus,
    WindPeriod,
)
from curtailcoin.web.queries.wind_generation import (
    dataset_dates,
    empty_dates_since,
    fetch_of,
    latest_national_date,
    national_periods,
)

NOT_FETCHED = "not_fetched"


def _total(row: Any) -> float | None:
    if row.onshore_wind_mwh is None or row.offshore_wind_mwh is None:
        return None
    return float(row.onshore_wind_mwh + row.offshore_wind_mwh)


def _reason(day: date, fetch: Any | None, missing: list[int]) -> str | None:
    """Why some of the date's figures are missing (None when none is)."""
    if fetch is None:
        return f"wind generation of {day} not fetched yet: `curtailcoin reingest {day}`"
    if fetch.fetch_status == FAILED:
        return f"the last fetch of {day} failed: {fetch.error}"
    if fetch.fetch_status == FETCHED_EMPTY:
        return f"Elexon published no wind generation for {day}"
    if missing:
        shown = ", ".join(str(p) for p in missing[:12]) + (", …" if len(missing) > 12 else "")
        detail = f" ({fetch.error})" if fetch.error else ""
        return f"no figure for periods {shown}{detail}"
    return str(fetch.error) if fetch.error else None


def wind_generation_day(
    conn: Connection, day: date, now: datetime | None = None
) -> WindGenerationDay:
    rows = national_periods(conn, day)
    fetch = fetch_of(conn, day, NATIONAL_DATASET)
    expected = expected_period_count(day, now)
    complete = {r.settlement_period for r in rows if _total(r) is not None}
    missing = [p for p in range(1, expected + 1) if p not in complete]
    totals = [t for r in rows if (t := _total(r)) is not None]
    return WindGenerationDay(
        date=day,
        periods=periods_in_day(day),
        periods_expected=expected,
        fetch_status=str(fetch.fetch_status) if fetch else NOT_FETCHED,
        fetched_at=fetch.fetched_at if fetch else None,
        source_published_at=fetch.source_published_at if fetch else None,
        missing_reason=_reason(day, fetch, missing),
        periods_with_data=len(complete),
        missing_periods=missing,
        total_wind_mwh=sum(totals) if not missing and expected else None,
        data=[
            WindPeriod(
                settlement_date=day,
                settlement_period=r.settlement_period,
                start_utc=period_start_utc(day, r.settlement_period),
                wind_onshore_mwh=r.onshore_wind_mwh,
                wind_offshore_mwh=r.offshore_wind_mwh,
                total_wind_mwh=_total(r),
                published_at=r.published_at,
                fetched_at=r.fetched_at,
            )
            for r in rows
        ],
    )


def wind_generation_check(
    conn: Connection, day: date, now: datetime | None = None
) -> WindGenerationCheck:
    answer = wind_generation_day(conn, day, now)
    return WindGenerationCheck(
        date=day,
        exists=bool(answer.data),
        fetch_status=answer.fetch_status,
        periods_with_data=answer.periods_with_data,
        periods_expected=answer.periods_expected,
    )


def _pending_dates(conn: Connection, now: datetime | None) -> list[date]:
    """B1610 dates answered empty before Elexon publishes them (``coverage.b1610_pending``)."""
    since = settlement_today(now) - timedelta(days=B1610_PUBLICATION_LAG_DAYS + 1)
    return [
        d
        for d in empty_dates_since(conn, UNIT_DATASET, since)
        if b1610_pending(d, FETCHED_EMPTY, now)
    ]


def wind_generation_status(conn: Connection, now: datetime | None = None) -> WindGenerationStatus:
    datasets = []
    for dataset in (NATIONAL_DATASET, UNIT_DATASET):
        d = dataset_dates(conn, dataset)
        datasets.append(
            GenerationDatasetStatus(
                dataset=dataset,
                dates_fetched=d.dates_fetched,
                first_date=d.first_date,
                latest_date=d.latest_date,
                last_fetched_at=d.last_fetched_at,
                failed_dates=d.failed_dates,
                last_failed_date=d.last_failed_date,
                last_error=d.last_error,
                pending_dates=_pending_dates(conn, now) if dataset == UNIT_DATASET else [],
            )
        )
    return WindGenerationStatus(latest_date=latest_national_date(conn), datasets=datasets)
