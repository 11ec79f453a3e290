"""B1610's publication lag (both databases): a recent date's metered generation is *pending*
("not yet published", with the date it is expected from) — never a failure nor a default share
— and is fetched once Elexon should have published it; an old date answered empty is still a
missing dataset. The clock is the test server's (``now=``) and the same instant is handed to
the product, so every state is reached deterministically."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from curtailcoin.config import Settings
from curtailcoin.coverage import (
    B1610_PUBLICATION_LAG_DAYS,
    FETCHED_EMPTY,
    FETCHED_WITH_DATA,
    b1610_pending,
    b1610_published_from,
)
from curtailcoin.db.engine import read_snapshot
from curtailcoin.db.generation_tables import farm_generation, generation_fetches
from curtailcoin.jobs.work import LOOKBACK_DAYS
from curtailcoin.pipeline import ReingestResult, reingest_date
from curtailcoin.reconcile.context import ReconcileContext
from curtailcoin.reconcile.daily import daily_dates
from curtailcoin.reconcile.fix_date import process_date
from curtailcoin.reconcile.outcome import DateOutcome
from curtailcoin.reconcile.report import DateReport
from curtailcoin.reconcile.status import get_reconciliation_status
from curtailcoin.settlement import settlement_today
from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.mempool import MempoolTestServer
from curtailcoin.web import create_app
from curtailcoin.web.service.share import farm_share, national_share
from curtailcoin.web.share_schemas import FarmShares
from support.api import make_settings
from support.entrypoint import run_cli

pytestmark = pytest.mark.db

D = date(2025, 1, 17)
EXPECTED_FROM = "2025-01-23"  # five days after the day ends (local midnight, GMT here)
T0 = datetime(2025, 1, 19, 12, tzinfo=UTC)  # two days after D
PENDING = (
    "2025-01-17: B1610 not yet published (Elexon publishes B1610 5 days after the settlement "
    f"day: expected from {EXPECTED_FROM})"
)


@pytest.fixture
def elexon() -> Iterator[ElexonTestServer]:
    with ElexonTestServer(seed=1, now=T0, timeout_s=3.0) as server:
        server.set_day(D, "light")
        yield server


def settings_for(url: str, elexon: ElexonTestServer, mempool: MempoolTestServer) -> Settings:
    return make_settings(
        url,
        elexon_base_url=elexon.base_url,
        mempool_base_url=mempool.base_url,
        fetch_generation=True,
        request_timeout_s=30.0,
    )


def reingest(engine: Engine, settings: Settings, now: datetime) -> ReingestResult:
    return asyncio.run(reingest_date(engine, settings, D, now=now))


def report_at(engine: Engine, now: datetime) -> DateReport:
    with read_snapshot(engine) as conn:
        status = get_reconciliation_status(
            conn, ["S19J_PRO"], start=D, end=D, now=now, generation=True
        )
    (report,) = status.per_date
    return report


def farms_at(engine: Engine, now: datetime) -> FarmShares:
    with read_snapshot(engine) as conn:
        return farm_share(conn, D, D, "bmUnit", now=now)


def b1610_status(engine: Engine) -> str:
    f = generation_fetches.c
    with engine.connect() as conn:
        found = conn.execute(
            select(f.fetch_status).where(f.settlement_date == D, f.dataset == "B1610")
        ).scalar_one()
    return str(found)


def reconcile(engine: Engine, settings: Settings, now: datetime) -> DateOutcome:
    async def run() -> DateOutcome:
        async with ElexonClient.from_settings(settings) as client:
            ctx = ReconcileContext.create(engine, settings, client=client, now=now)
            try:
                return await process_date(ctx, D, source=True)
            finally:
                await ctx.aclose()

    return asyncio.run(run())


@pytest.mark.slow  # a reingest and two source checks of a date
def test_a_recent_date_is_pending_then_fetched_once_published(
    database_url: str, engine: Engine, elexon: ElexonTestServer, mempool_server: MempoolTestServer
) -> None:
    settings = settings_for(database_url, elexon, mempool_server)
    result = reingest(engine, settings, T0)
    assert result.complete  # the stack is whole: a pending B1610 is no failure of the date
    assert result.generation is not None
    assert result.generation.national.status == FETCHED_WITH_DATA
    assert (result.generation.units.status, result.generation.units.pending) == (
        FETCHED_EMPTY,
        True,
    )
    assert f"generation B1610 not yet published (expected from {EXPECTED_FROM})" in (
        result.warnings
    )
    answered = elexon.requests_matching("B1610")
    assert answered and all(r.status == 200 for r in answered)  # answered, and empty

    # the share: no figure and no default, pending with its expected date; national is whole
    farms = farms_at(engine, T0)
    assert farms.rows and all(r.curtailment_share is None for r in farms.rows)
    assert {r.missing_reason for r in farms.rows} == {PENDING}
    assert [(p.date, p.expected_from.isoformat()) for p in farms.pending] == [(D, EXPECTED_FROM)]
    with read_snapshot(engine) as conn:
        national = national_share(conn, D, D, "day", now=T0)
    assert national.rows[0].curtailment_share is not None
    # reconciliation: pending apart, not incomplete, nothing to fix
    report = report_at(engine, T0)
    assert report.generation_pending == {"B1610": PENDING.split(": B1610 ", 1)[1]}
    assert report.generation_reasons == {} and not report.incomplete
    assert "generation_incomplete" not in report.problems
    before = len(elexon.requests_matching("B1610"))
    outcome = reconcile(engine, settings, T0)
    assert outcome.ok, outcome.to_json()
    assert not any("generation" in a for a in outcome.actions)  # nothing stored: still empty
    assert len(elexon.requests_matching("B1610")) > before  # asked (the source check)
    assert b1610_status(engine) == FETCHED_EMPTY

    # a second before publication nothing changes; the worker's daily look-back reaches D
    # on the day Elexon publishes it
    published = b1610_published_from(D)
    assert published == datetime(2025, 1, 23, tzinfo=UTC)
    assert b1610_pending(D, FETCHED_EMPTY, published - timedelta(seconds=1))
    elexon.set_now(published - timedelta(seconds=1))
    assert elexon.generation.b1610(D, 1, 48, None) == []
    run_at = published + timedelta(hours=2)  # the daily reconciliation at 02:00
    assert D in daily_dates(2, LOOKBACK_DAYS, run_at)
    elexon.set_now(run_at)
    # the stored empty answer is now overdue: incomplete, with its stored reason
    report = report_at(engine, run_at)
    assert report.generation_pending == {}
    assert report.generation_reasons["B1610"].startswith("fetched_empty: B1610 answered no rows")
    assert report.incomplete and "generation_incomplete" in report.problems
    assert {r.missing_reason for r in farms_at(engine, run_at).rows} == {
        "2025-01-17: B1610 fetched_empty"
    }
    outcome = reconcile(engine, settings, run_at)
    assert outcome.ok, outcome.to_json()
    assert any("B1610 fetched_with_data" in a for a in outcome.actions), outcome.actions
    assert b1610_status(engine) == FETCHED_WITH_DATA
    g = farm_generation.c
    with engine.connect() as conn:
        stored = {
            (farm, p): mwh
            for farm, p, mwh in conn.execute(
                select(g.farm_id, g.settlement_period, g.metered_generation_mwh)
            )
        }
    assert stored == elexon.generation.day(D)["metered"]
    after = farms_at(engine, run_at)
    assert after.pending == []
    assert all(r.missing_reason is None and r.curtailment_share is not None for r in after.rows)
    assert report_at(engine, run_at).complete


@pytest.mark.slow  # a reingest
def test_an_old_date_answered_empty_is_still_missing(
    database_url: str, engine: Engine, elexon: ElexonTestServer, mempool_server: MempoolTestServer
) -> None:
    later = D + timedelta(days=40)
    now = datetime(later.year, later.month, later.day, 12, tzinfo=UTC)
    elexon.set_now(now)
    elexon.faults.add("empty_data", match="B1610")  # published long ago, yet answered empty
    settings = settings_for(database_url, elexon, mempool_server)
    result = reingest(engine, settings, now)
    assert result.generation is not None and not result.generation.units.pending
    (warning,) = [w for w in result.warnings if "B1610" in w]
    assert warning.startswith("generation B1610 fetched_empty: B1610 answered no rows")
    assert f"after its expected publication from {EXPECTED_FROM}" in warning
    report = report_at(engine, now)
    assert report.generation_pending == {}
    assert report.generation_reasons["B1610"].startswith("fetched_empty: ")
    assert report.incomplete and "generation_incomplete" in report.problems
    farms = farms_at(engine, now)
    assert farms.pending == []
    assert {r.missing_reason for r in farms.rows} == {"2025-01-17: B1610 fetched_empty"}
    assert all(r.curtailment_share is None for r in farms.rows)


@pytest.mark.slow  # the installed CLI twice
def test_the_api_and_the_cli_say_pending(
    database_url: str,
    engine: Engine,
    source_env: dict[str, str],
    elexon_server: ElexonTestServer,
) -> None:
    """The routes and commands read the real clock: a date two days ago is pending now."""
    day = settlement_today() - timedelta(days=2)
    expected = (day + timedelta(days=6)).isoformat()
    elexon_server.set_day(day, "light")
    settings = Settings(fetch_generation=True)
    asyncio.run(reingest_date(engine, settings, day))
    iso = day.isoformat()
    with TestClient(create_app(settings, cache=False)) as client:
        farms = client.get(
            "/api/curtailment-share/farms", params={"from": iso, "to": iso, "by": "bmUnit"}
        ).json()
        status = client.get("/api/reconciliation/status", params={"from": iso, "to": iso}).json()
        datasets = client.get("/api/wind-generation/status").json()["datasets"]
    assert farms["pending"] == [{"date": iso, "expectedFrom": expected}]
    assert farms["rows"] and all(r["curtailmentShare"] is None for r in farms["rows"])
    assert all("B1610 not yet published" in r["missingReason"] for r in farms["rows"])
    assert status["generationPendingDates"] == [iso]
    assert status["generationIncompleteDates"] == []
    (per_date,) = status["perDate"]
    assert f"expected from {expected}" in per_date["generationPending"]["B1610"]
    assert [d["pendingDates"] for d in datasets] == [[], [iso]]

    env = {**source_env, "CURTAILCOIN_FETCH_GENERATION": "true", "COLUMNS": "250"}
    share = run_cli("share", "--from", iso, "--to", iso, "--farms", "--json", env=env, timeout=300)
    assert share.returncode == 0, share.stderr
    assert json.loads(share.stdout)["pending"] == [{"date": iso, "expectedFrom": expected}]
    table = run_cli("share", "--from", iso, "--to", iso, "--farms", env=env, timeout=300)
    assert table.returncode == 0, table.stderr
    assert f"pending: B1610 of {iso} not yet published" in table.stdout
    assert f"expected from {expected}" in table.stdout
    assert f"publishes it {B1610_PUBLICATION_LAG_DAYS} days after" in table.stdout
    shown = run_cli("reconcile", "status", "--start", iso, "--end", iso, env=env, timeout=300)
    assert shown.returncode == 0, shown.stderr
    assert f"{iso} generation B1610 pending: not yet published" in shown.stdout
    assert "Generation pending (B1610 not yet published)" in shown.stdout
