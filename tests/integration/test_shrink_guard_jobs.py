"""The drift guard in the worker's job and in a period-subset refetch (in-process)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, update

from curtailcoin.config import get_settings
from curtailcoin.db.coordination_tables import suspect_dates
from curtailcoin.db.curtailment_tables import curtailment_records
from curtailcoin.jobs.work import JobFailed, ingest_date_job
from curtailcoin.pipeline import reingest_date
from curtailcoin.reconcile.commands import reconcile_all
from curtailcoin.settlement import parse_date
from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.testservers.elexon import ElexonTestServer

DAY = parse_date("2025-01-17")


async def _heavy(engine: Engine, server: ElexonTestServer) -> int:
    server.set_day(DAY, "heavy")
    result = await reingest_date(engine, get_settings(), DAY, skip_verify=True)
    assert result.complete
    return result.records


def _suspects(engine: Engine) -> list[tuple[str | None, str]]:
    s = suspect_dates.c
    with engine.connect() as conn:
        return [(r.periods, r.detected_by) for r in conn.execute(select(s.periods, s.detected_by))]


@pytest.mark.db
@pytest.mark.slow
async def test_a_worker_job_ends_suspect_and_is_not_retried(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    records = await _heavy(engine, elexon_server)
    elexon_server.faults.add("set_field", field="originalPrice", value="0", match=r"/stack/")
    settings = get_settings()
    client = ElexonClient.from_settings(settings)
    try:
        with pytest.raises(JobFailed) as failed:
            await ingest_date_job(settings, DAY, client=client)
    finally:
        await client.aclose()
    assert failed.value.transient is False
    assert "suspect: " in str(failed.value) and "every payment zero" in str(failed.value)
    assert _suspects(engine) == [(None, "worker")]
    with engine.connect() as conn:
        kept = conn.execute(select(curtailment_records.c.payment_gbp)).scalars().all()
    assert len(kept) == records and all(p != 0 for p in kept)


@pytest.mark.db
@pytest.mark.slow
async def test_a_period_subset_refetch_is_guarded(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    await _heavy(engine, elexon_server)
    r = curtailment_records.c
    with engine.begin() as conn:  # records edited by hand: only a refetch of 1-3 can mend them
        conn.execute(
            update(curtailment_records)
            .where(r.settlement_date == DAY, r.settlement_period.in_([1, 2, 3]))
            .values(volume_mwh=r.volume_mwh * 2)
        )
    elexon_server.faults.add("empty_data", match=rf"/stack/all/bid/{DAY}/(1|2|3)$")
    with engine.connect() as conn:
        edited = sorted(
            conn.execute(select(r.volume_mwh).where(r.settlement_date == DAY)).scalars()
        )
    summary = await reconcile_all(engine, get_settings())
    reason = summary.suspect[DAY.isoformat()]
    assert "with 0 records in periods 1-3: every period empty" in reason
    assert _suspects(engine) == [("1,2,3", "reconcile")]
    with engine.connect() as conn:  # nothing of the date changed, not even a recalculation
        kept = sorted(conn.execute(select(r.volume_mwh).where(r.settlement_date == DAY)).scalars())
    assert kept == edited
