"""Reingesting a date end to end, through the real client and the local servers, on both DBs."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from curtailcoin.config import get_settings
from curtailcoin.db.curtailment_tables import (
    bid_stack_lines,
    curtailment_records,
    historical_bitcoin_calculations,
    settlement_periods,
)
from curtailcoin.db.schema import metadata
from curtailcoin.db.summary_tables import (
    bitcoin_daily_summaries,
    bitcoin_farm_daily_summaries,
    bitcoin_monthly_summaries,
    bitcoin_yearly_summaries,
    daily_summaries,
    farm_daily_summaries,
    monthly_summaries,
    yearly_summaries,
)
from curtailcoin.miners import load_catalogue
from curtailcoin.mining import btc_for_energy
from curtailcoin.pipeline import BadInput, ReingestResult, reingest_date
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.mempool import MempoolTestServer

HEAVY = date(2025, 1, 17)


def run(engine: Engine, day: date, **options: Any) -> ReingestResult:
    return asyncio.run(reingest_date(engine, get_settings(), day, **options))


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every data table's rows, without ids and timestamps, sorted (``date_versions`` counts
    writes by design, so it is no data)."""
    skip = {
        "id",
        "fetched_at",
        "calculated_at",
        "updated_at",
        "first_seen_at",
        "last_seen_at",
        "refreshed_at",
    }
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name == "date_versions":
                continue
            columns = [c for c in table.columns if c.name not in skip]
            rows = conn.execute(select(*columns)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


@pytest.mark.db
def test_heavy_day_matches_the_source(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    elexon_server.set_day(HEAVY, "heavy")
    result = run(engine, HEAVY)
    expected = elexon_server.expected_headline(HEAVY)
    assert result.complete and result.written
    assert (result.periods, result.periods_fetched) == (48, 48)
    assert result.records == expected.records > 5000
    assert result.farms == expected.farms
    assert result.curtailed_mwh == pytest.approx(expected.curtailed_mwh, rel=1e-12)
    assert result.payment_gbp == pytest.approx(expected.payment_gbp, rel=1e-12)
    assert set(result.bitcoin) == {"S19J_PRO", "S9", "M20S", "S21"}
    with engine.connect() as conn:
        per_period = dict(
            conn.execute(
                select(
                    settlement_periods.c.settlement_period, settlement_periods.c.record_count
                ).where(settlement_periods.c.settlement_date == HEAVY)
            ).all()
        )
        wind_lines = conn.execute(select(func.count()).select_from(bid_stack_lines)).scalar_one()
    assert per_period == {p: h.records for p, h in expected.periods.items()}
    # Raw lines keep every wind line (all flags and signs), more than the headline.
    assert wind_lines > result.records


@pytest.mark.db
def test_bitcoin_equals_the_formula_at_the_epoch_difficulty(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    elexon_server.set_day(HEAVY, "light")
    result = run(engine, HEAVY)
    catalogue = load_catalogue()
    difficulty = 110_451_907_374_649.52  # epoch 436, in force on 2025-01-17
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                curtailment_records.c.settlement_period,
                curtailment_records.c.farm_id,
                func.sum(curtailment_records.c.volume_mwh),
            ).group_by(curtailment_records.c.settlement_period, curtailment_records.c.farm_id)
        ).all()
        stored_difficulties = set(
            conn.execute(select(historical_bitcoin_calculations.c.difficulty).distinct()).scalars()
        )
    assert len(stored_difficulties) == 1
    assert stored_difficulties.pop() == pytest.approx(difficulty, rel=1e-12)
    for key in ("S19J_PRO", "S9", "M20S", "S21"):
        model = catalogue[key]
        expected = sum(
            btc_for_energy(-v, model.hashrate_th, model.power_w, difficulty, 3.125)
            for _, _, v in rows
        )
        assert result.bitcoin[key] == pytest.approx(expected, rel=1e-9)
    assert result.verified and result.verification_ok


@pytest.mark.db
def test_reingesting_twice_equals_once(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    elexon_server.set_day(HEAVY, "light")
    run(engine, HEAVY)
    once = snapshot(engine)
    run(engine, HEAVY)
    assert snapshot(engine) == once


@pytest.mark.db
def test_persistent_failure_leaves_previous_data_untouched(
    engine: Engine,
    source_env: dict[str, str],
    elexon_server: ElexonTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    elexon_server.set_day(HEAVY, "light")
    run(engine, HEAVY)
    before = snapshot(engine)
    elexon_server.revise(HEAVY)
    elexon_server.fail_period(HEAVY, 12)
    elexon_server.fail_period(HEAVY, 30, kind="truncated")
    monkeypatch.setenv("CURTAILCOIN_MAX_TRIES", "3")
    get_settings.cache_clear()
    result = run(engine, HEAVY)
    assert not result.complete and not result.written
    assert sorted(result.failed_periods) == [12, 30]
    assert snapshot(engine) == before


@pytest.mark.db
def test_transient_faults_are_absorbed(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    elexon_server.set_day(HEAVY, "light")
    for kind in ("429", "5xx", "reset", "truncated", "invalid_json"):
        elexon_server.faults.add(kind, times=2, retry_after_s=0, match="/stack/")
    result = run(engine, HEAVY)
    assert result.complete
    assert result.retries == 10
    assert result.records == elexon_server.expected_headline(HEAVY).records


@pytest.mark.db
def test_upstream_revision_replaces_the_date(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    elexon_server.set_day(HEAVY, "light")
    first = run(engine, HEAVY)
    elexon_server.revise(HEAVY)
    second = run(engine, HEAVY)
    expected = elexon_server.expected_headline(HEAVY)
    assert second.curtailed_mwh == pytest.approx(expected.curtailed_mwh, rel=1e-12)
    assert second.curtailed_mwh != pytest.approx(first.curtailed_mwh, rel=1e-9)
    with engine.connect() as conn:
        daily = conn.execute(select(daily_summaries.c.curtailed_energy_mwh)).scalar_one()
    assert daily == pytest.approx(expected.curtailed_mwh, rel=1e-12)


@pytest.mark.db
@pytest.mark.parametrize(("day", "periods"), [(date(2025, 3, 30), 46), (date(2025, 10, 26), 50)])
def test_clock_change_days(
    engine: Engine,
    source_env: dict[str, str],
    elexon_server: ElexonTestServer,
    day: date,
    periods: int,
) -> None:
    elexon_server.set_day(day, "light")
    result = run(engine, day)
    assert result.complete
    assert result.periods == result.periods_fetched == periods
    assert len(elexon_server.requests_matching("/stack/")) == periods
    assert result.records == elexon_server.expected_headline(day).records


def assert_farm_days_equal_their_rows(engine: Engine) -> None:
    """Each farm-day row is the sum of its records / calculations; a model's BTC is
    H/P × btc_per_th_per_w (1e-9 relative); pending energy is energy without conditions."""
    r, c, p = curtailment_records.c, historical_bitcoin_calculations.c, settlement_periods.c
    catalogue = load_catalogue()
    with engine.connect() as conn:
        records = {
            (row[0], row[1]): row[2:]
            for row in conn.execute(
                select(
                    r.settlement_date,
                    r.farm_id,
                    func.min(r.lead_party_name),
                    -func.sum(r.volume_mwh),
                    func.sum(r.payment_gbp),
                    func.count(),
                ).group_by(r.settlement_date, r.farm_id)
            )
        }
        pending = {
            (row[0], row[1]): float(row[2])
            for row in conn.execute(
                select(r.settlement_date, r.farm_id, -func.sum(r.volume_mwh))
                .select_from(
                    curtailment_records.join(
                        settlement_periods,
                        (p.settlement_date == r.settlement_date)
                        & (p.settlement_period == r.settlement_period),
                    )
                )
                .where(p.difficulty.is_(None))
                .group_by(r.settlement_date, r.farm_id)
            )
        }
        calcs = {
            (row[0], row[1], row[2]): (float(row[3]), float(row[4]))
            for row in conn.execute(
                select(
                    c.settlement_date,
                    c.farm_id,
                    c.miner_model,
                    func.sum(c.bitcoin_mined_btc),
                    func.sum(c.curtailed_energy_mwh),
                ).group_by(c.settlement_date, c.farm_id, c.miner_model)
            )
        }
        farm_days = {
            (row.summary_date, row.farm_id): row
            for row in conn.execute(select(farm_daily_summaries))
        }
        bitcoin_days = {
            (row.summary_date, row.farm_id, row.miner_model): (
                row.bitcoin_mined,
                row.curtailed_energy_mwh,
            )
            for row in conn.execute(select(bitcoin_farm_daily_summaries))
        }
    assert records and calcs
    assert set(farm_days) == set(records)
    for key, (lead, energy, payment, count) in records.items():
        row = farm_days[key]
        assert row.lead_party_name == lead
        assert row.curtailed_energy_mwh == pytest.approx(energy, rel=1e-12)
        assert row.curtailed_energy_mwh > 0
        assert row.payment_gbp == pytest.approx(payment, rel=1e-12, abs=1e-9)
        assert row.record_count == count
        assert row.pending_energy_mwh == pytest.approx(pending.get(key, 0.0), rel=1e-12)
    assert set(bitcoin_days) == set(calcs)
    for (day, farm, model), (btc, covered) in calcs.items():
        assert bitcoin_days[(day, farm, model)] == pytest.approx((btc, covered), rel=1e-12)
        spec = catalogue[model]
        computed = spec.hashrate_th / spec.power_w * farm_days[(day, farm)].btc_per_th_per_w
        assert computed == pytest.approx(btc, rel=1e-9)


@pytest.mark.db
def test_farm_day_summaries_after_reingest_and_revision(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    elexon_server.set_day(HEAVY, "light")
    run(engine, HEAVY)
    assert_farm_days_equal_their_rows(engine)
    before = snapshot(engine)["farm_daily_summaries"]
    elexon_server.revise(HEAVY)
    run(engine, HEAVY)
    assert_farm_days_equal_their_rows(engine)
    assert snapshot(engine)["farm_daily_summaries"] != before


@pytest.mark.db
@pytest.mark.slow
def test_summaries_equal_sums_of_rows(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    days = [date(2025, 1, 16), HEAVY, date(2025, 2, 3)]
    for day in days:
        elexon_server.set_day(day, "light")
        run(engine, day)
    with engine.connect() as conn:
        records = conn.execute(
            select(
                func.sum(curtailment_records.c.volume_mwh),
                func.sum(curtailment_records.c.payment_gbp),
            )
        ).one()
        daily = conn.execute(
            select(
                func.sum(daily_summaries.c.curtailed_energy_mwh),
                func.sum(daily_summaries.c.payment_gbp),
            )
        ).one()
        monthly = conn.execute(select(func.sum(monthly_summaries.c.curtailed_energy_mwh))).one()
        yearly = conn.execute(select(yearly_summaries.c.curtailed_energy_mwh)).scalar_one()
        assert daily[0] == pytest.approx(-records[0], rel=1e-12)
        assert daily[1] == pytest.approx(records[1], rel=1e-12)
        assert monthly[0] == pytest.approx(-records[0], rel=1e-12)
        assert yearly == pytest.approx(-records[0], rel=1e-12)
        assert conn.execute(select(func.count()).select_from(monthly_summaries)).scalar_one() == 2
        calc_total = conn.execute(
            select(func.sum(historical_bitcoin_calculations.c.bitcoin_mined_btc)).where(
                historical_bitcoin_calculations.c.miner_model == "S9"
            )
        ).scalar_one()
        for table in (bitcoin_daily_summaries, bitcoin_monthly_summaries, bitcoin_yearly_summaries):
            total = conn.execute(
                select(func.sum(table.c.bitcoin_mined_btc)).where(table.c.miner_model == "S9")
            ).scalar_one()
            assert total == pytest.approx(calc_total, rel=1e-12)


@pytest.mark.db
def test_pending_until_mempool_supplies_the_epoch(
    engine: Engine,
    source_env: dict[str, str],
    elexon_server: ElexonTestServer,
    mempool_server: MempoolTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """2026-05 lies beyond the shipped epochs with known start times."""
    day = date(2026, 5, 4)
    elexon_server.set_day(day, "light")
    mempool_server.faults.add("5xx")  # mempool.space down: the periods stay pending
    monkeypatch.setenv("CURTAILCOIN_MAX_TRIES", "2")
    get_settings.cache_clear()
    result = run(engine, day)
    assert result.written and not result.complete
    assert result.pending_periods and any("mempool" in w for w in result.warnings)
    assert all(v == 0.0 for v in result.bitcoin.values())
    with engine.connect() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(historical_bitcoin_calculations)
            ).scalar_one()
            == 0
        )
    mempool_server.faults.clear()
    result = run(engine, day)
    assert result.complete and not result.pending_periods
    assert all(v > 0 for v in result.bitcoin.values())


@pytest.mark.db
@pytest.mark.slow
def test_time_weighting_at_the_halving(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    """2024-04-20 00:09:27Z falls in period 3 (BST: period 1 starts 23:00Z the day before)."""
    day = date(2024, 4, 20)
    elexon_server.set_day(day, "heavy")
    run(engine, day)
    with engine.connect() as conn:
        subsidy = dict(
            conn.execute(
                select(
                    settlement_periods.c.settlement_period, settlement_periods.c.block_subsidy_btc
                ).where(settlement_periods.c.settlement_date == day)
            ).all()
        )
    assert subsidy[1] == subsidy[2] == 6.25
    assert subsidy[4] == 3.125
    assert subsidy[3] == pytest.approx((567 * 6.25 + (1800 - 567) * 3.125) / 1800, rel=1e-12)


@pytest.mark.db
def test_models_option_and_skip_bitcoin(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    elexon_server.set_day(HEAVY, "light")
    catalogue = load_catalogue()
    result = run(engine, HEAVY, models=[catalogue["S21_XP"]])
    assert set(result.bitcoin) == {"S21_XP"} and result.bitcoin["S21_XP"] > 0
    with engine.connect() as conn:
        models = set(
            conn.execute(select(historical_bitcoin_calculations.c.miner_model).distinct()).scalars()
        )
    assert models == {"S21_XP"}
    elexon_server.revise(HEAVY)
    skipped = run(engine, HEAVY, models=[catalogue["S21_XP"]], skip_bitcoin=True)
    assert skipped.bitcoin["S21_XP"] == result.bitcoin["S21_XP"]  # kept, not recomputed


@pytest.mark.db
def test_future_date_is_bad_input_and_writes_nothing(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    with pytest.raises(BadInput, match="in the future"):
        run(engine, date(2099, 1, 1))
    assert elexon_server.requests == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(settlement_periods)).scalar_one() == 0


@pytest.mark.db
def test_today_fetches_only_finished_periods(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    now = datetime(2025, 6, 2, 10, 40, tzinfo=UTC)  # 11:40 BST: 23 periods have ended
    elexon_server.set_now(now)
    result = run(engine, date(2025, 6, 2), now=now)
    assert result.periods_requested == 23
    assert not result.complete
    with engine.connect() as conn:
        statuses = conn.execute(
            select(settlement_periods.c.fetch_status, func.count()).group_by(
                settlement_periods.c.fetch_status
            )
        ).all()
    counts: dict[str, int] = {status: n for status, n in statuses}
    assert counts["missing"] == 25


@pytest.mark.db
def test_new_wind_unit_from_the_registry_is_counted(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    elexon_server.set_day(HEAVY, "light")
    elexon_server.add_bm_unit(
        {
            "elexonBmUnit": "T_NEWWW-1",
            "nationalGridBmUnit": "NEWWW-1",
            "fuelType": "WIND",
            "leadPartyName": "New Wind Ltd",
            "generationCapacity": "300",
        }
    )
    result = run(engine, HEAVY)
    assert result.records == elexon_server.expected_headline(HEAVY).records
    with engine.connect() as conn:
        parties = set(
            conn.execute(
                select(curtailment_records.c.lead_party_name).where(
                    curtailment_records.c.farm_id == "T_NEWWW-1"
                )
            ).scalars()
        )
    assert parties == {"New Wind Ltd"}


@pytest.mark.slow  # three reingests of a day: 3-4 s here
@pytest.mark.db
def test_registry_refreshes_at_most_daily_and_survives_a_failure(
    engine: Engine,
    source_env: dict[str, str],
    elexon_server: ElexonTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    elexon_server.set_day(HEAVY, "calm")
    run(engine, HEAVY)
    run(engine, HEAVY)
    assert len(elexon_server.requests_matching("/reference/bmunits/all")) == 1
    # Older than a day: refreshed again; a failing refresh keeps the stored registry.
    monkeypatch.setenv("CURTAILCOIN_BMUNIT_REFRESH_MAX_AGE_S", "0")
    monkeypatch.setenv("CURTAILCOIN_MAX_TRIES", "1")
    get_settings.cache_clear()
    elexon_server.faults.add("5xx", match="/reference/bmunits")
    result = run(engine, HEAVY)
    assert result.complete
    assert any("registry refresh failed" in w for w in result.warnings)


@pytest.mark.db
def test_seed_named_helpers_check_and_clear(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    """checkCurtailmentData, clearCurtailmentRecords, clearBitcoinCalculations."""
    from curtailcoin.calculations import clear_bitcoin_calculations
    from curtailcoin.ingest import check_curtailment_data, clear_curtailment_records

    elexon_server.set_day(HEAVY, "light")
    result = run(engine, HEAVY)
    with engine.begin() as conn:
        check = check_curtailment_data(conn, HEAVY)
        assert (check.records, check.farms) == (result.records, result.farms)
        assert check.periods_fetched == check.periods_expected == 48 and check.summary_present
        assert clear_bitcoin_calculations(conn, HEAVY, ["S9"]) > 0
        assert clear_curtailment_records(conn, HEAVY) == result.records
        assert check_curtailment_data(conn, HEAVY).records == 0
