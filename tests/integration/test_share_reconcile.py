"""Reconciliation of the curtailment share's roll-ups, on SQLite and PostgreSQL.

The seeded database (``test_share_support``) holds stack data from the local Elexon server and
generation as the ingestion stores it. Each roll-up table is tampered with in turn: the change is
counted as exactly the summary mismatches it causes, on the date whose rebuild fixes it, and
resummarising that date (what reconciliation does) makes the database whole again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import Connection, text

from curtailcoin.reconcile.recalculate import recalculate
from curtailcoin.reconcile.report import ReconciliationStatus
from curtailcoin.reconcile.status import get_reconciliation_status
from curtailcoin.reference import load_timeline
from support.api import Seeded
from support.databases import BACKENDS
from support.share import CALM, HEAVY, SPRING, curtailed_units, seed_share

START, END = date(2025, 1, 15), date(2025, 3, 31)
pytestmark = pytest.mark.slow  # a seeded database per backend, a status per tampering

SHARE_TABLES = {
    "stack_daily_summaries",
    "generation_daily_summaries",
    "farm_generation_daily_summaries",
    "farm_generation_monthly_summaries",
}


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest) -> Seeded:
    fixture = "pg_database" if request.param == "postgresql" else "sqlite_database"
    return seed_share(request.getfixturevalue(fixture))


def status(seeded: Seeded, *, exact: bool) -> ReconciliationStatus:
    with seeded.engine.connect() as conn:
        return get_reconciliation_status(
            conn, list(seeded.settings.tracked_models), start=START, end=END, exact=exact
        )


def share_mismatches(found: ReconciliationStatus) -> list[tuple[str, str, date | None]]:
    return sorted(
        (m.table, m.key, m.settlement_date)
        for m in found.summary_details
        if m.table in SHARE_TABLES
    )


def _sql(sql: str, **params: object) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        assert conn.execute(text(sql), params).rowcount == 1

    return run


def test_the_seeded_roll_ups_are_whole(seeded: Seeded) -> None:
    for exact in (False, True):
        assert share_mismatches(status(seeded, exact=exact)) == []


def test_each_tampered_roll_up_is_counted_and_fixed(seeded: Seeded) -> None:
    farm = sorted(curtailed_units(seeded, HEAVY))[0]
    cases: list[tuple[Callable[[Connection], None], list[tuple[str, str, date | None]]]] = [
        (
            _sql(
                "UPDATE stack_daily_summaries SET all_bids_curtailed_energy_mwh = "
                "all_bids_curtailed_energy_mwh + 1 WHERE summary_date = :d",
                d=HEAVY,
            ),
            [("stack_daily_summaries", "2025-01-17", HEAVY)],
        ),
        (
            _sql(
                "UPDATE stack_daily_summaries SET successful_period_count = 47 "
                "WHERE summary_date = :d",
                d=CALM,
            ),
            [("stack_daily_summaries", "2025-01-18", CALM)],
        ),
        (
            # a failure shown as fetched: the share would give no reason for the missing figure
            _sql(
                "UPDATE generation_daily_summaries SET national_status = 'fetched_with_data', "
                "national_error = NULL WHERE summary_date = :d",
                d=CALM,
            ),
            [("generation_daily_summaries", "2025-01-18", CALM)],
        ),
        (
            _sql("DELETE FROM generation_daily_summaries WHERE summary_date = :d", d=SPRING),
            [("generation_daily_summaries", "2025-03-30", SPRING)],
        ),
        (
            _sql(
                "UPDATE farm_generation_monthly_summaries SET period_count = period_count + 1 "
                "WHERE year_month = '2025-01' AND farm_id = :f",
                f=farm,
            ),
            [("farm_generation_monthly_summaries", "2025-01", HEAVY)],
        ),
        (
            # the farm-day row, and the month's row that no longer adds up to the farm-days
            _sql(
                "UPDATE farm_generation_daily_summaries SET generated_mwh = generated_mwh * 2 "
                "WHERE summary_date = :d AND farm_id = :f",
                d=HEAVY,
                f=farm,
            ),
            [
                ("farm_generation_daily_summaries", "2025-01-17", HEAVY),
                ("farm_generation_monthly_summaries", "2025-01", HEAVY),
            ],
        ),
    ]
    models = list(seeded.settings.tracked_models)
    with seeded.engine.connect() as conn:
        timeline = load_timeline(conn)
    for tamper, expected in cases:
        with seeded.engine.begin() as conn:
            tamper(conn)
        for exact in (False, True):
            found = status(seeded, exact=exact)
            assert share_mismatches(found) == expected, (exact, expected)
            day = expected[0][2]
            assert day is not None
            report = next(r for r in found.per_date if r.settlement_date == day)
            assert report.summary_mismatches == len(expected)
        assert day is not None
        recalculate(seeded.engine, day, models, timeline, calculations=False)
        assert share_mismatches(status(seeded, exact=True)) == [], expected
