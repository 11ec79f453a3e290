"""The stored wind generation (``db.generation_tables``) as the API reads it: a date's national
periods, a date's fetch of a dataset, and each dataset's fetched dates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from curtailcoin.coverage import FAILED, FETCHED_EMPTY, SUCCESSFUL_STATUSES
from curtailcoin.db.generation_tables import generation_fetches, national_wind_generation

n, g = national_wind_generation.c, generation_fetches.c


def national_periods(conn: Connection, day: date) -> Sequence[Any]:
    """The date's national wind rows, by period."""
    return conn.execute(
        select(
            n.settlement_period,
            n.onshore_wind_mwh,
            n.offshore_wind_mwh,
            n.published_at,
            n.fetched_at,
        )
        .where(n.settlement_date == day)
        .order_by(n.settlement_period)
    ).all()


def fetch_of(conn: Connection, day: date, dataset: str) -> Any | None:
    """The date's last fetch of ``dataset`` (None when never fetched)."""
    return conn.execute(
        select(g.fetch_status, g.fetched_at, g.source_published_at, g.error).where(
            g.settlement_date == day, g.dataset == dataset
        )
    ).first()


@dataclass(frozen=True)
class DatasetDates:
    """A dataset's fetched dates: successful ones (count, first, latest, last fetch) and
    failed ones (count, the latest with its error)."""

    dates_fetched: int
    first_date: date | None
    latest_date: date | None
    last_fetched_at: datetime | None
    failed_dates: int
    last_failed_date: date | None
    last_error: str | None


def dataset_dates(conn: Connection, dataset: str) -> DatasetDates:
    ok = (g.dataset == dataset) & g.fetch_status.in_([str(s) for s in SUCCESSFUL_STATUSES])
    fetched = conn.execute(
        select(func.count(), func.min(g.settlement_date), func.max(g.settlement_date)).where(ok)
    ).one()
    last_at = conn.execute(select(func.max(g.fetched_at)).where(g.dataset == dataset)).scalar()
    failed = (g.dataset == dataset) & (g.fetch_status == str(FAILED))
    failed_count = conn.execute(select(func.count()).where(failed)).scalar_one()
    last_failed = conn.execute(
        select(g.settlement_date, g.error).where(failed).order_by(g.settlement_date.desc()).limit(1)
    ).first()
    return DatasetDates(
        dates_fetched=int(fetched[0]),
        first_date=fetched[1],
        latest_date=fetched[2],
        last_fetched_at=last_at,
        failed_dates=int(failed_count),
        last_failed_date=last_failed[0] if last_failed else None,
        last_error=last_failed[1] if last_failed else None,
    )


def empty_dates_since(conn: Connection, dataset: str, since: date) -> list[date]:
    """The dates from ``since`` on whose last fetch of ``dataset`` answered empty."""
    return [
        d
        for (d,) in conn.execute(
            select(g.settlement_date)
            .where(
                g.dataset == dataset,
                g.fetch_status == str(FETCHED_EMPTY),
                g.settlement_date >= since,
            )
            .order_by(g.settlement_date)
        )
    ]


def latest_national_date(conn: Connection) -> date | None:
    value: date | None = conn.execute(select(func.max(n.settlement_date))).scalar()
    return value
