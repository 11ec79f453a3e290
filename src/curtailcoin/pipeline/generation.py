"""A date's wind generation: fetch AGWS and B1610 (``sources.generation``), then store them.

Fetched with the date's stack (``reingest_date``) and stored in the same transaction as the
stack write (``write_fetched``), or on its own by reconciliation's fix
(:func:`refresh_generation`). Each dataset's outcome is a ``generation_fetches`` row with the
stack's statuses: ``fetched_with_data`` replaces the date's rows; ``fetched_incomplete``
replaces the periods it answered and keeps the stored rows of the others; ``fetched_empty``
and ``failed`` record their reason and keep every stored row (a failed or empty fetch never
removes good rows). Then ``share_summaries.rebuild_generation_summaries``. A generation
failure never fails the date's stack write: it is shown as missing with its reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select

from curtailcoin.coverage import (
    B1610_PUBLICATION_LAG_DAYS,
    FAILED,
    FETCHED_EMPTY,
    FETCHED_INCOMPLETE,
    FETCHED_WITH_DATA,
    b1610_pending,
    b1610_publication_date,
    expected_periods,
)
from curtailcoin.db.bulk import bulk_insert
from curtailcoin.db.generation_tables import (
    NATIONAL_DATASET,
    UNIT_DATASET,
    farm_generation,
    generation_fetches,
    national_wind_generation,
)
from curtailcoin.share_summaries import rebuild_generation_summaries
from curtailcoin.sources.generation import (
    NationalWind,
    fetch_national_wind,
    fetch_unit_generation,
)
from curtailcoin.sources.http import JsonHttpClient, SourceError

log = logging.getLogger("curtailcoin.pipeline")

#: replaced and kept, by status
_STATUSES_WITH_ROWS = (FETCHED_WITH_DATA, FETCHED_INCOMPLETE)


@dataclass
class DatasetFetch:
    """One dataset's answer for a date: its status, the reason it is not complete, its rows."""

    dataset: str
    status: str
    error: str | None = None
    national: dict[int, tuple[float | None, float | None]] = field(default_factory=dict)
    units: dict[tuple[str, int], float] = field(default_factory=dict)
    published_at: datetime | None = None
    transient: bool = True
    #: answered empty before Elexon publishes it (B1610: ``coverage.b1610_pending``)
    pending: bool = False

    @property
    def row_count(self) -> int:
        return len(self.national) + len(self.units)

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "rows": self.row_count, "error": self.error}


@dataclass
class FetchedGeneration:
    """A date's AGWS and B1610 answers, fetched at ``fetched_at``, with what fetching cost."""

    settlement_date: date
    national: DatasetFetch
    units: DatasetFetch
    fetched_at: datetime
    requests: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(d.status == FETCHED_WITH_DATA for d in (self.national, self.units))

    @property
    def warnings(self) -> list[str]:
        """One line per dataset that is not complete: the share shows it as missing (B1610
        not published yet as pending, with its expected date)."""
        lines = []
        for d in (self.national, self.units):
            if d.status == FETCHED_WITH_DATA:
                continue
            if d.pending:
                published = b1610_publication_date(self.settlement_date).isoformat()
                lines.append(
                    f"generation {d.dataset} not yet published (expected from {published})"
                )
            else:
                lines.append(f"generation {d.dataset} {d.status}: {d.error}")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            NATIONAL_DATASET: self.national.to_json(),
            UNIT_DATASET: self.units.to_json(),
        }


def _missing_text(periods: Iterable[int]) -> str:
    listed = sorted(periods)
    shown = ", ".join(str(p) for p in listed[:8])
    return shown + (f" and {len(listed) - 8} more" if len(listed) > 8 else "")


def judge_national(answer: NationalWind, expected: list[int]) -> DatasetFetch:
    """AGWS's status: every expected period with both onshore and offshore, or why not."""
    periods = {p: v for p, v in answer.periods.items() if p in set(expected)}
    out = DatasetFetch(NATIONAL_DATASET, FETCHED_WITH_DATA, national=periods)
    out.published_at = answer.published_at
    if not periods:
        out.status = FETCHED_EMPTY
        out.error = f"AGWS answered no wind rows for {answer.settlement_date.isoformat()}"
        return out
    lacking = [p for p in expected if None in periods.get(p, (None, None))]
    if lacking:
        out.status = FETCHED_INCOMPLETE
        out.error = f"AGWS has no onshore and offshore figure for periods {_missing_text(lacking)}"
    return out


def judge_units(
    rows: dict[tuple[str, int], float],
    day: date,
    expected: list[int],
    unit_count: int,
    now: datetime | None = None,
) -> DatasetFetch:
    """B1610's status: rows for every expected period (some unit's), or why not. An empty
    answer before Elexon publishes the date is ``fetched_empty`` and *pending*
    (``coverage.b1610_pending``: readers say "not yet published"), after it a missing dataset."""
    wanted = set(expected)
    kept = {k: v for k, v in rows.items() if k[1] in wanted}
    out = DatasetFetch(UNIT_DATASET, FETCHED_WITH_DATA, units=kept)
    if not kept:
        out.status = FETCHED_EMPTY
        published = b1610_publication_date(day).isoformat()
        out.pending = b1610_pending(day, FETCHED_EMPTY, now)
        when = "before" if out.pending else "after"
        out.error = (
            f"B1610 answered no rows for the {unit_count} wind BM units on {day.isoformat()}, "
            f"{when} its expected publication from {published} (Elexon publishes metered "
            f"volumes {B1610_PUBLICATION_LAG_DAYS} days after the settlement day)"
        )
        return out
    lacking = wanted - {p for _, p in kept}
    if lacking:
        out.status = FETCHED_INCOMPLETE
        out.error = f"B1610 has no row for periods {_missing_text(lacking)}"
    return out


def _failed(dataset: str, exc: SourceError) -> DatasetFetch:
    return DatasetFetch(dataset, FAILED, error=str(exc), transient=exc.transient)


async def fetch_generation(
    client: JsonHttpClient,
    day: date,
    wind_units: Iterable[str] | Awaitable[Iterable[str]],
    *,
    now: datetime | None = None,
) -> FetchedGeneration:
    """The date's AGWS (one request) and B1610 (one per batch of ``wind_units``); a failure is
    kept as the dataset's status, never raised. ``wind_units`` may still be on its way (a
    registry refresh): AGWS is asked at once, B1610 when the units are known."""
    started = time.perf_counter()
    before = client.stats.requests
    expected = expected_periods(day, now)

    async def national_part() -> DatasetFetch:
        try:
            return judge_national(await fetch_national_wind(client, day), expected)
        except SourceError as exc:
            return _failed(NATIONAL_DATASET, exc)

    async def units_part() -> DatasetFetch:
        known = await wind_units if isinstance(wind_units, Awaitable) else wind_units
        units = sorted(set(known))
        if not units:
            return DatasetFetch(UNIT_DATASET, FAILED, error="no wind BM unit is known")
        try:
            rows = await fetch_unit_generation(client, day, units)
        except SourceError as exc:
            return _failed(UNIT_DATASET, exc)
        return judge_units(rows, day, expected, len(units), now)

    # the two datasets at once (under the client's concurrency cap)
    national, metered = await asyncio.gather(national_part(), units_part())
    for answer in (national, metered):
        if answer.status != FETCHED_WITH_DATA:
            log.warning(
                "generation not complete",
                extra={"date": day.isoformat(), "dataset": answer.dataset, "error": answer.error},
            )
    return FetchedGeneration(
        day,
        national,
        metered,
        fetched_at=datetime.now(UTC),
        requests=client.stats.requests - before,
        seconds=time.perf_counter() - started,
    )


def _replace_national(conn: Connection, day: date, answer: DatasetFetch, now: datetime) -> None:
    n = national_wind_generation
    where = [n.c.settlement_date == day]
    if answer.status == FETCHED_INCOMPLETE:
        where.append(n.c.settlement_period.in_(sorted(answer.national)))
    conn.execute(delete(n).where(*where))
    bulk_insert(
        conn,
        n,
        (
            "settlement_date",
            "settlement_period",
            "onshore_wind_mwh",
            "offshore_wind_mwh",
            "published_at",
            "fetched_at",
        ),
        (
            (day, p, on, off, answer.published_at, now)
            for p, (on, off) in sorted(answer.national.items())
        ),
    )


def _replace_units(conn: Connection, day: date, answer: DatasetFetch, now: datetime) -> None:
    u = farm_generation
    where = [u.c.settlement_date == day]
    if answer.status == FETCHED_INCOMPLETE:
        where.append(u.c.settlement_period.in_(sorted({p for _, p in answer.units})))
    conn.execute(delete(u).where(*where))
    bulk_insert(
        conn,
        u,
        ("settlement_date", "settlement_period", "farm_id", "metered_generation_mwh", "fetched_at"),
        ((day, p, farm, mwh, now) for (farm, p), mwh in sorted(answer.units.items())),
    )


def _stored_counts(conn: Connection, day: date, dataset: str) -> tuple[int, int]:
    """(periods, rows) the date holds of a dataset."""
    if dataset == NATIONAL_DATASET:
        n = national_wind_generation.c
        rows = conn.execute(select(func.count()).where(n.settlement_date == day)).scalar_one()
        return int(rows), int(rows)
    u = farm_generation.c
    periods, rows = conn.execute(
        select(func.count(func.distinct(u.settlement_period)), func.count()).where(
            u.settlement_date == day
        )
    ).one()
    return int(periods), int(rows)


def store_generation(conn: Connection, fetched: FetchedGeneration) -> None:
    """Record each dataset's status and replace its rows as its status allows, then rebuild
    the date's generation roll-ups, all in the caller's transaction."""
    day = fetched.settlement_date
    now = fetched.fetched_at
    for answer, replace in (
        (fetched.national, _replace_national),
        (fetched.units, _replace_units),
    ):
        if answer.status in _STATUSES_WITH_ROWS:
            replace(conn, day, answer, now)
        periods, rows = _stored_counts(conn, day, answer.dataset)
        error = answer.error
        if answer.status not in _STATUSES_WITH_ROWS and rows:
            error = f"{error}; the {rows} rows stored before are kept"
        f = generation_fetches.c
        conn.execute(
            delete(generation_fetches).where(f.settlement_date == day, f.dataset == answer.dataset)
        )
        conn.execute(
            generation_fetches.insert().values(
                settlement_date=day,
                dataset=answer.dataset,
                fetch_status=answer.status,
                period_count=periods,
                row_count=rows,
                fetched_at=now,
                source_published_at=answer.published_at,
                error=error,
            )
        )
    rebuild_generation_summaries(conn, day, now)


async def refresh_generation(
    engine: Engine,
    client: JsonHttpClient,
    day: date,
    wind_units: Iterable[str],
    *,
    now: datetime | None = None,
) -> FetchedGeneration:
    """Fetch and store the date's generation on its own (reconciliation's fix): the stack data
    are not touched."""
    fetched = await fetch_generation(client, day, wind_units, now=now)
    with engine.begin() as conn:
        store_generation(conn, fetched)
    return fetched


def stored_generation_totals(conn: Connection, day: date) -> dict[str, float]:
    """The date's stored national wind and metered MWh (reconciliation's drift check)."""
    n = national_wind_generation.c
    u = farm_generation.c
    national = conn.execute(
        select(func.coalesce(func.sum(n.onshore_wind_mwh + n.offshore_wind_mwh), 0.0)).where(
            n.settlement_date == day
        )
    ).scalar_one()
    metered = conn.execute(
        select(func.coalesce(func.sum(u.metered_generation_mwh), 0.0)).where(
            u.settlement_date == day
        )
    ).scalar_one()
    return {NATIONAL_DATASET: float(national), UNIT_DATASET: float(metered)}
