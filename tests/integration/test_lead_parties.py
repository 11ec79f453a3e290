"""Lead parties over time (issue 13 §5): the registry's history from each listing, records
attributed to the lead party in force on their date, and a listing that changes a lead party
re-attributing the stored records and their roll-ups in one transaction, on both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, delete, func, select, update

from curtailcoin.config import get_settings
from curtailcoin.db.coordination_tables import date_versions
from curtailcoin.db.curtailment_tables import curtailment_records
from curtailcoin.db.reference_tables import bm_unit_lead_parties, bm_units
from curtailcoin.db.summary_tables import farm_daily_summaries, farm_monthly_summaries
from curtailcoin.lead_parties import SNAPSHOT_LISTED_ON, attribution, history_of
from curtailcoin.pipeline import prepare_database, reingest_date
from curtailcoin.reconcile.status import check_date_reconciliation_status
from curtailcoin.registry import ensure_snapshot, load_snapshot, store_units, wind_units
from curtailcoin.settlement import FIRST_SETTLEMENT_DATE

LONDON = ZoneInfo("Europe/London")
CROSSDYKES = "Crossdykes WF Limited"
EDF = "EDF Energy Customers Limited"
DAY = date(2025, 1, 17)


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), LONDON).astimezone(UTC)


def _reingest(engine: Engine, day: date) -> None:
    result = asyncio.run(reingest_date(engine, get_settings(), day))
    assert result.written and not result.failed_periods, result


def _farm_parties(engine: Engine, day: date) -> dict[str, set[str | None]]:
    r = curtailment_records.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(r.farm_id, r.lead_party_name).where(r.settlement_date == day).distinct()
        ).all()
    out: dict[str, set[str | None]] = {}
    for farm, lead in rows:
        out.setdefault(farm, set()).add(lead)
    return out


def test_the_seeded_lists_give_crossdykes_then_edf(engine: Engine) -> None:
    prepare_database(engine)
    with engine.connect() as conn:
        assert history_of(conn, "T_CRDEW-1") == [
            (FIRST_SETTLEMENT_DATE, CROSSDYKES),
            (SNAPSHOT_LISTED_ON, EDF),
        ]
        rows = conn.execute(
            select(bm_unit_lead_parties).where(bm_unit_lead_parties.c.bm_unit_id == "T_CRDEW-1")
        ).all()
        assert [row.source for row in rows] == ["list:2025-01-20", "snapshot"]
        # the March 2025 list confirmed Crossdykes: last seen then, not in January
        assert rows[0].last_seen_at.astimezone(LONDON).date() == date(2025, 3, 20)
        wind = wind_units(conn)
        assert wind["T_CRDEW-1"] == EDF  # the registry keeps the latest listing
        assert attribution(conn, DAY, wind)["T_CRDEW-1"] == CROSSDYKES
        assert attribution(conn, date(2025, 10, 30), wind)["T_CRDEW-1"] == CROSSDYKES
        assert attribution(conn, SNAPSHOT_LISTED_ON, wind)["T_CRDEW-1"] == EDF
        # a unit listed alike everywhere has one row; a renamed lead party is a change too
        assert len(history_of(conn, "T_ABRBO-1")) == 1
        assert history_of(conn, "T_CRMLW-1")[1:] == [
            (date(2025, 3, 20), "EDF Energy Customers Limited")
        ]
        assert history_of(conn, "T_CRMLW-1")[0][1] == "EDF Energy Customers Ltd"
    # seeding twice changes nothing
    with engine.begin() as conn:
        before = conn.execute(select(func.count()).select_from(bm_unit_lead_parties)).scalar()
        ensure_snapshot(conn)
        after = conn.execute(select(func.count()).select_from(bm_unit_lead_parties)).scalar()
    assert before == after


def test_records_carry_the_lead_party_of_their_date(source_env: Any, engine: Engine) -> None:
    _reingest(engine, DAY)
    parties = _farm_parties(engine, DAY)
    assert parties, "the heavy day has curtailment"
    with engine.connect() as conn:
        in_force = attribution(conn, DAY, wind_units(conn))
    for farm, leads in parties.items():
        assert leads == {in_force[farm]}, farm
    fd = farm_daily_summaries.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(fd.farm_id, fd.lead_party_name).where(fd.summary_date == DAY)
        ).all()
    assert {farm: lead for farm, lead in rows} == {f: in_force[f] for f in parties}


@pytest.mark.slow
def test_a_listing_that_changes_a_lead_party_reattributes_its_dates(
    source_env: Any, engine: Engine
) -> None:
    before, changed_day = date(2025, 1, 16), DAY
    _reingest(engine, before)
    _reingest(engine, changed_day)
    both = sorted(set(_farm_parties(engine, before)) & set(_farm_parties(engine, changed_day)))
    with engine.connect() as conn:
        farm = next(f for f in both if len(history_of(conn, f)) == 1)
    old = next(iter(_farm_parties(engine, before)[farm]))
    v = date_versions.c
    with engine.connect() as conn:
        versions = dict(conn.execute(select(v.settlement_date, v.version)).all())
    units = load_snapshot()
    unit = next(u for u in units if u["elexonBmUnit"] == farm)
    with engine.begin() as conn:
        store_units(conn, [{**unit, "leadPartyName": "New Lead Party Ltd"}], "api", _noon(DAY))
    assert _farm_parties(engine, changed_day)[farm] == {"New Lead Party Ltd"}
    assert _farm_parties(engine, before)[farm] == {old}
    fd, fm = farm_daily_summaries.c, farm_monthly_summaries.c
    with engine.connect() as conn:
        assert history_of(conn, farm)[-1] == (DAY, "New Lead Party Ltd")
        days = dict(
            conn.execute(
                select(fd.summary_date, fd.lead_party_name).where(fd.farm_id == farm)
            ).all()
        )
        month = conn.execute(
            select(fm.lead_party_name).where(fm.farm_id == farm, fm.year_month == "2025-01")
        ).scalar_one()
        after = dict(conn.execute(select(v.settlement_date, v.version)).all())
        assert bm_units_party(conn, farm) == "New Lead Party Ltd"
    assert days == {before: old, changed_day: "New Lead Party Ltd"}
    assert month == min(old or "", "New Lead Party Ltd")  # the month's smallest name
    assert after[changed_day] > versions[changed_day]  # the API cache sees the change
    assert after[before] == versions[before]
    # the stored summaries still reconcile with their base rows
    with engine.connect() as conn:
        report, mismatches = check_date_reconciliation_status(conn, changed_day, ["S19J_PRO"])
    assert not mismatches and not report.summary_mismatches, mismatches
    # a reingest of the date keeps the new attribution (store time reads the history)
    _reingest(engine, changed_day)
    assert _farm_parties(engine, changed_day)[farm] == {"New Lead Party Ltd"}
    # a listing older than the history's latest row changes nothing
    with engine.begin() as conn:
        store_units(conn, [{**unit, "leadPartyName": "Stale Ltd"}], "api", _noon(before))
        assert history_of(conn, farm)[-1] == (DAY, "New Lead Party Ltd")
    # listing the old party again on a later day opens a third row; earlier dates keep theirs
    with engine.begin() as conn:
        store_units(conn, [{**unit}], "api", _noon(date(2025, 2, 1)))
        assert [p for _, p in history_of(conn, farm)][-2:] == ["New Lead Party Ltd", old]
    assert _farm_parties(engine, changed_day)[farm] == {"New Lead Party Ltd"}


def bm_units_party(conn: Any, farm: str) -> str | None:
    b = bm_units.c
    value: str | None = conn.execute(
        select(b.lead_party_name).where(b.elexon_bm_unit == farm)
    ).scalar_one()
    return value


def test_an_existing_database_is_seeded_and_reattributed(source_env: Any, engine: Engine) -> None:
    """A database from before migration 0011: records carry the latest listing's lead party."""
    _reingest(engine, DAY)
    expected = _farm_parties(engine, DAY)
    with engine.begin() as conn:
        wind = wind_units(conn)
        moved = [f for f in expected if expected[f] != {wind[f]}]
        assert moved, "some farm of the day had another lead party then"
        for farm in expected:
            conn.execute(
                update(curtailment_records)
                .where(curtailment_records.c.farm_id == farm)
                .values(lead_party_name=wind[farm])
            )
            conn.execute(
                update(farm_daily_summaries)
                .where(farm_daily_summaries.c.farm_id == farm)
                .values(lead_party_name=wind[farm])
            )
        conn.execute(delete(bm_unit_lead_parties))
    with engine.begin() as conn:
        ensure_snapshot(conn)
    assert _farm_parties(engine, DAY) == expected
    with engine.connect() as conn:
        report, mismatches = check_date_reconciliation_status(conn, DAY, ["S19J_PRO"])
    assert not mismatches and not report.summary_mismatches, mismatches
