"""Site economics on data the pipeline wrote from the Elexon test server, on both databases:
a fleet larger than every period's energy is the stored energy-limited figure; prices and fees
missing stay missing; ``curtailcoin scenario`` through the installed entry point."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Connection, Engine, func, select

from curtailcoin.config import get_settings
from curtailcoin.db.coordination_tables import date_versions
from curtailcoin.db.curtailment_tables import curtailment_records, historical_bitcoin_calculations
from curtailcoin.db.reference_tables import block_fees
from curtailcoin.db.summary_tables import bitcoin_daily_summaries, bitcoin_farm_daily_summaries
from curtailcoin.economics.fees import FeesUnavailable, PeriodKey
from curtailcoin.economics.inputs import Assumptions
from curtailcoin.economics.scenario import (
    ScenarioRequest,
    SizingRequest,
    run_scenario,
    run_sizing,
)
from curtailcoin.economics.site import site_of
from curtailcoin.mining import btc_for_energy
from curtailcoin.pipeline.inputs import BadInput
from curtailcoin.pipeline.reingest import reingest_date
from curtailcoin.prices import store
from curtailcoin.sources.prices import DailyPrice
from curtailcoin.testservers.elexon import ElexonTestServer
from support.entrypoint import CURTAILCOIN

DAY, AUTUMN = date(2025, 1, 17), date(2025, 10, 26)  # 48 and 50 periods
HUGE = 10_000_000  # 35 GW of S21s: more than any period's energy


def _ingest(engine: Engine, server: ElexonTestServer, *days: date) -> None:
    for day in days:
        server.set_day(day, "light")
        result = asyncio.run(reingest_date(engine, get_settings(), day, skip_verify=True))
        assert result.complete


def _scenario(conn: Connection, site: object, start: date, end: date, **kw: object) -> object:
    request = ScenarioRequest(site, "S21", start, end, **kw)  # type: ignore[arg-type]
    return run_scenario(conn, request)


@pytest.mark.db
@pytest.mark.slow
def test_fleet_larger_than_every_period_is_the_stored_energy_limited_figure(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    _ingest(engine, elexon_server, DAY, AUTUMN)
    with engine.connect() as conn:
        b = bitcoin_farm_daily_summaries.c
        stored_farm = {
            (farm, day): btc
            for farm, day, btc in conn.execute(
                select(b.farm_id, b.summary_date, b.bitcoin_mined_btc).where(b.miner_model == "S21")
            )
        }
        farms = sorted({farm for farm, _ in stored_farm})
        assert len(farms) > 3
        for farm in farms:  # one BM unit: its stored figure, bit for bit, per day
            result = run_scenario(
                conn,
                ScenarioRequest(site_of([farm]), "S21", DAY, AUTUMN, miners=HUGE, level="day"),
            )
            for row in result.rows:
                day = date.fromisoformat(row.key)
                assert row.btc == stored_farm.get((farm, day), 0.0), (farm, day)
                assert row.spilled_mwh == 0.0
        d = bitcoin_daily_summaries.c
        daily = dict(
            conn.execute(
                select(d.summary_date, d.bitcoin_mined_btc).where(d.miner_model == "S21")
            ).all()
        )
        c = historical_bitcoin_calculations.c
        total = conn.execute(
            select(func.sum(c.bitcoin_mined_btc)).where(c.miner_model == "S21")
        ).scalar_one()
        wind = run_scenario(
            conn,
            ScenarioRequest(site_of(all_wind=True), "S21", DAY, AUTUMN, miners=HUGE, level="day"),
        )
        rows = {date.fromisoformat(r.key): r for r in wind.rows}
        for day, btc in daily.items():  # a site of many units: the period's energy at once
            assert rows[day].btc == pytest.approx(btc, rel=1e-13)
        assert wind.total.btc == pytest.approx(total, rel=1e-13)
        assert rows[AUTUMN].capacity_mwh == HUGE * 3500.0 * 0.5 / 1e6 * 50
        r = curtailment_records.c
        curtailed = conn.execute(
            select(func.count(func.distinct(r.settlement_period))).where(r.settlement_date == DAY)
        ).scalar_one()
        assert rows[DAY].hours_run_h == 0.5 * curtailed > 0
        lead = conn.execute(
            select(curtailment_records.c.lead_party_name)
            .where(curtailment_records.c.lead_party_name.is_not(None))
            .limit(1)
        ).scalar_one()
        units = set(
            conn.execute(
                select(curtailment_records.c.farm_id)
                .where(curtailment_records.c.lead_party_name == lead)
                .distinct()
            ).scalars()
        )
        party = run_scenario(
            conn, ScenarioRequest(site_of(lead_party=lead), "S21", DAY, AUTUMN, miners=HUGE)
        )
        assert party.total.btc == pytest.approx(
            math.fsum(v for (f, _), v in stored_farm.items() if f in units), rel=1e-13
        )
        # a small fleet is capped: less BTC, energy spilled, utilisation ≤ 1
        small = run_scenario(
            conn, ScenarioRequest(site_of(all_wind=True), "S21", DAY, AUTUMN, size_mw=5.0)
        )
        assert small.total.btc is not None and wind.total.btc is not None
        assert 0 < small.total.btc < wind.total.btc
        assert small.total.spilled_mwh > 0 and 0 < small.total.utilisation <= 1.0


class FakeFees:
    """Fees for every period but one."""

    def __init__(self, missing: PeriodKey) -> None:
        self.missing = missing

    def __call__(self, conn: Connection, periods: Sequence[PeriodKey]) -> Mapping[PeriodKey, float]:
        return {k: 0.02 for k in periods if k != self.missing}


@pytest.mark.db
def test_prices_and_fees_missing_stay_missing(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    _ingest(engine, elexon_server, DAY)
    with engine.begin() as conn:
        store(conn, [DailyPrice(DAY, "GBP", 80_000.0, "test")], datetime.now(UTC))
    site = site_of(all_wind=True)
    with engine.connect() as conn:
        priced = run_scenario(conn, ScenarioRequest(site, "S21", DAY, DAY, miners=HUGE))
        assert priced.total.btc is not None and priced.total.revenue_gbp is not None
        assert priced.total.revenue_gbp == pytest.approx(priced.total.btc * 80_000.0)
        assert priced.price.latest_price_date == DAY
        later = run_scenario(
            conn, ScenarioRequest(site, "S21", DAY, date(2025, 1, 18), miners=HUGE, level="day")
        )
        assert later.rows[1].revenue_gbp is None or later.rows[1].btc == 0.0
        with pytest.raises(FeesUnavailable, match="fees 'actual' is not available"):
            run_scenario(
                conn,
                ScenarioRequest(
                    site, "S21", DAY, DAY, miners=HUGE, assumptions=Assumptions(fees="actual")
                ),
            )
        plain = run_scenario(
            conn, ScenarioRequest(site, "S21", DAY, DAY, miners=HUGE, level="period")
        ).rows
        first_key, gap_key = plain[0].key, plain[1].key
        gap = (DAY, int(gap_key.split("/")[1]))
        fees = run_scenario(
            conn,
            ScenarioRequest(
                site,
                "S21",
                DAY,
                DAY,
                miners=HUGE,
                level="period",
                assumptions=Assumptions(fees="actual"),
            ),
            fee_source=FakeFees(gap),
        )
        by_key = {r.key: r for r in fees.rows}
        assert by_key[gap_key].btc is None and by_key[gap_key].no_fee_data_mwh > 0
        assert by_key[gap_key].revenue_gbp is None
        first, subsidy_only = by_key[first_key], plain[0]
        assert first.btc is not None and subsidy_only.btc is not None
        assert first.btc == pytest.approx(subsidy_only.btc * (3.125 + 0.02) / 3.125, rel=1e-12)
        assert fees.total.no_fee_data_mwh == by_key[gap_key].used_mwh
        sized = run_sizing(
            conn,
            SizingRequest(
                site, "S21", DAY, DAY, [1.0, 10.0, 100.0], Assumptions(capex_gbp_per_miner=100.0)
            ),
        )
        assert [p.miners for p in sized.sizes] == [285, 2857, 28571]
        assert sized.sizes[0].utilisation >= sized.sizes[2].utilisation
        with pytest.raises(BadInput, match="unknown miner model 'NOPE'"):
            run_scenario(conn, ScenarioRequest(site, "NOPE", DAY, DAY, miners=1))
    per_mwh = btc_for_energy(1.0, 200.0, 3500.0, 110_451_907_374_649.52, 3.125)
    assert per_mwh > 0


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CURTAILCOIN, "scenario", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.db
@pytest.mark.slow
def test_cli_scenario(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    _ingest(engine, elexon_server, DAY)
    span = ("--from", DAY.isoformat(), "--to", DAY.isoformat())
    done = _cli(
        "--all-wind", "--model", "S21", "--miners", str(HUGE), "--json", *span, env=source_env
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    with engine.connect() as conn:
        d = bitcoin_daily_summaries.c
        stored = conn.execute(
            select(d.bitcoin_mined_btc).where(d.miner_model == "S21", d.summary_date == DAY)
        ).scalar_one()
        versions = conn.execute(select(date_versions)).all()
    assert payload["total"]["btc"] == pytest.approx(stored, rel=1e-13)
    assert payload["fleet"]["miners"] == HUGE and payload["level"] == "month"
    table = _cli("--all-wind", "--mw", "20", "--capex-per-miner", "3000", *span, env=source_env)
    assert table.returncode == 0, table.stderr
    assert "Payback" in table.stdout and "Utilisation" in table.stdout
    csv_out = _cli("--all-wind", "--mw", "20", "--by", "day", "--csv", *span, env=source_env)
    lines = csv_out.stdout.splitlines()
    assert lines[0].startswith("key,available_mwh,used_mwh") and lines[-1].startswith("total,")
    sizing = _cli("--all-wind", "--sizing", "--sizes", "1:50:5", "--json", *span, env=source_env)
    assert sizing.returncode == 0, sizing.stderr
    sized = json.loads(sizing.stdout)
    assert len(sized["sizes"]) == 5 and sized["duration_curve"]
    for args, needle in [
        (("--bm-unit", "T_NOPE-1", "--mw", "1"), "unknown BM unit 'T_NOPE-1'"),
        (("--lead-party", "Nobody Ltd", "--mw", "1"), "unknown lead party 'Nobody Ltd'"),
        (("--all-wind", "--model", "XX", "--mw", "1"), "unknown miner model 'XX'"),
        (("--all-wind", "--mw", "-5"), "size -5.0 MW is not allowed"),
        (("--all-wind", "--sizing", "--sizes", "10:1:5"), "sizes 10:1 are not allowed"),
        (("--all-wind", "--mw", "1", "--fees", "actual"), "fees 'actual' is not available"),
        (("--all-wind", "--mw", "1", "--uptime", "150"), "uptime 150.0 is not allowed"),
    ]:
        bad = _cli(*args, *span, env=source_env)
        assert bad.returncode == 2, (args, bad.stderr)
        assert bad.stdout == "" and len(bad.stderr.strip().splitlines()) == 1
        assert needle in bad.stderr, bad.stderr
    reversed_range = _cli(
        "--all-wind", "--mw", "1", "--from", "2025-01-18", "--to", "2025-01-17", env=source_env
    )
    assert reversed_range.returncode == 2 and "is after end" in reversed_range.stderr
    with engine.connect() as conn:
        assert conn.execute(select(date_versions)).all() == versions  # nothing written


@pytest.mark.db
@pytest.mark.slow
def test_stored_fee_history_feeds_fees_actual_by_each_periods_utc_day(
    engine: Engine, source_env: dict[str, str], elexon_server: ElexonTestServer
) -> None:
    """``fees=actual`` reads ``block_fees``: a period takes the fees of the UTC day it starts in.

    2025-10-26 (BST ends) starts at 23:00 UTC on the 25th: with fees stored for the 25th only,
    periods 1 and 2 have fees and every other period's BTC is missing, never filled.
    """
    _ingest(engine, elexon_server, AUTUMN)
    site = site_of(all_wind=True)
    actual = Assumptions(fees="actual")
    with (
        engine.connect() as conn,
        pytest.raises(FeesUnavailable, match="fees 'actual' is not available"),
    ):
        run_scenario(
            conn, ScenarioRequest(site, "S21", AUTUMN, AUTUMN, miners=HUGE, assumptions=actual)
        )
    fetched = datetime(2025, 11, 1, tzinfo=UTC)
    rows = [  # two single blocks on 2025-10-25: 0.02 and 0.04 BTC, mean 0.03 BTC per block
        {
            "resolution_s": 1,
            "avg_height": h,
            "timestamp_utc": t,
            "fee_date": t.date(),
            "avg_fees_sats": sats,
            "period": "3d",
            "fetched_at": fetched,
        }
        for h, t, sats in (
            (920_000, datetime(2025, 10, 25, 22, 0, tzinfo=UTC), 2_000_000),
            (920_001, datetime(2025, 10, 25, 23, 50, tzinfo=UTC), 4_000_000),
        )
    ]
    with engine.begin() as conn:
        conn.execute(block_fees.insert(), rows)
    with engine.connect() as conn:
        plain = run_scenario(
            conn, ScenarioRequest(site, "S21", AUTUMN, AUTUMN, miners=HUGE, level="period")
        ).rows
        fees = run_scenario(
            conn,
            ScenarioRequest(
                site, "S21", AUTUMN, AUTUMN, miners=HUGE, level="period", assumptions=actual
            ),
        ).rows
    assert [r.key for r in fees] == [r.key for r in plain]
    for with_fees, subsidy_only in zip(fees, plain, strict=True):
        period = int(with_fees.key.split("/")[1])
        if period <= 2:
            assert with_fees.btc is not None and subsidy_only.btc is not None
            assert with_fees.btc == pytest.approx(
                subsidy_only.btc * (3.125 + 0.03) / 3.125, rel=1e-12
            )
        elif with_fees.used_mwh > 0:
            assert with_fees.btc is None
            assert with_fees.no_fee_data_mwh == with_fees.used_mwh
