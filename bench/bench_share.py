"""Benchmark of the curtailment-share endpoints on three years of data in PostgreSQL.

Seeds like ``bench_api.py`` (about a million curtailment records 2023-01-01 .. 2025-12-31 in
bulk SQL, the summaries, the farm-day summaries), then the generation side: AGWS for every
settlement period and both datasets' fetch rows of every date; the roll-ups the endpoints read
(national per date, per BM unit and date, per BM unit and month, the stack per date) in bulk SQL
from those rows, as the rebuilds would give them; the farm-month curtailment roll-ups through
``farm_months.rebuild_months``. Also times the ingestion's hook, ``rebuild_generation_summaries``,
on a day of B1610 rows for every wind unit (48 periods each).

Measures each share endpoint (uvicorn in its own process, the response cache off, so every
request is computed): p50 / p95 / max over many requests on varying ranges. The target is
issue 13's < 50 ms p95. Prints figures only. Usage::

    .venv/bin/python bench/bench_share.py [--pg-admin postgresql://postgres@127.0.0.1:5432/postgres]
        [--records 1000000] [--requests 60] [--reuse] [--keep]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import Engine, text

from curtailcoin.config import Settings
from curtailcoin.db.engine import dispose_all, get_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from bench_api import END, START, create_database, load, pct, serve

from support.generation import store_generation

Call = tuple[str, dict[str, str]]

GENERATION_SQL = [
    """INSERT INTO national_wind_generation (settlement_date, settlement_period,
        onshore_wind_mwh, offshore_wind_mwh, published_at, fetched_at)
       SELECT settlement_date, settlement_period,
              1200 + (settlement_period * 37 + extract(doy FROM settlement_date)::int * 11) % 900,
              2600 + (settlement_period * 53 + extract(doy FROM settlement_date)::int * 7) % 1700,
              now(), now()
       FROM settlement_periods""",
    """INSERT INTO generation_fetches (settlement_date, dataset, fetch_status, period_count,
        row_count, fetched_at)
       SELECT d, ds, 'fetched_with_data', n, n, now() FROM (
         SELECT settlement_date AS d, count(*) AS n FROM settlement_periods GROUP BY 1) p
       CROSS JOIN (VALUES ('AGWS'), ('B1610')) AS v(ds)""",
    """INSERT INTO generation_daily_summaries (summary_date, national_status, national_error,
        national_period_count, onshore_wind_mwh, offshore_wind_mwh, unit_status, unit_error,
        updated_at)
       SELECT settlement_date, 'fetched_with_data', NULL, count(*), sum(onshore_wind_mwh),
              sum(offshore_wind_mwh), 'fetched_with_data', NULL, now()
       FROM national_wind_generation GROUP BY settlement_date""",
    # every BM unit curtailed on a date was metered in each of its periods
    """INSERT INTO farm_generation_daily_summaries (summary_date, farm_id, generated_mwh,
        period_count, updated_at)
       SELECT f.summary_date, f.farm_id, 3 * f.curtailed_energy_mwh + 150, p.n, now()
       FROM farm_daily_summaries f JOIN (
         SELECT settlement_date, count(*) AS n FROM settlement_periods GROUP BY 1) p
       ON p.settlement_date = f.summary_date""",
    """INSERT INTO farm_generation_monthly_summaries (year_month, farm_id, generated_mwh,
        period_count, updated_at)
       SELECT to_char(summary_date, 'YYYY-MM'), farm_id, sum(generated_mwh), sum(period_count),
              now()
       FROM farm_generation_daily_summaries GROUP BY 1, 2""",
    """INSERT INTO stack_daily_summaries (summary_date, all_bids_curtailed_energy_mwh,
        all_bids_line_count, successful_period_count, updated_at)
       SELECT d.summary_date, d.total_curtailed_energy * 1.03, d.record_count, p.n, now()
       FROM daily_summaries d JOIN (
         SELECT settlement_date, count(*) AS n FROM settlement_periods
         WHERE fetch_status IN ('fetched_with_data', 'fetched_empty') GROUP BY 1) p
       ON p.settlement_date = d.summary_date""",
]


def load_generation(engine: Engine) -> None:
    from curtailcoin.farm_months import rebuild_months

    t0 = time.perf_counter()
    with engine.begin() as conn:
        for statement in GENERATION_SQL:
            conn.execute(text(statement))
        months = [r[0] for r in conn.execute(text("SELECT year_month FROM monthly_summaries"))]
        rebuild_months(conn, months)
        conn.execute(text("ANALYZE"))
    print(f"generation and roll-ups loaded in {time.perf_counter() - t0:.1f} s")


def time_hook(engine: Engine, day: date) -> None:
    """The ingestion's hook on a full B1610 day of every wind unit; rolled back."""
    with engine.connect() as conn:
        units = [
            r[0] for r in conn.execute(text("SELECT elexon_bm_unit FROM bm_units WHERE is_wind"))
        ]
    rows = {(u, p): 20.0 + p for u in units for p in range(1, 49)}
    timings = []
    for _ in range(5):
        with engine.connect() as conn, conn.begin() as tx:
            t0 = time.perf_counter()
            store_generation(conn, day, units=rows)
            timings.append((time.perf_counter() - t0) * 1000)
            tx.rollback()
    print(
        f"store {len(rows):,} B1610 rows + rebuild_generation_summaries ({len(units)} units): "
        f"median {statistics.median(timings):.0f} ms over {len(timings)}"
    )


def _day(rng: random.Random) -> date:
    return START + timedelta(days=rng.randrange((END - START).days + 1))


def endpoints(rng: random.Random, leads: list[str]) -> dict[str, Callable[[], Call]]:
    def month() -> tuple[str, str]:
        d = _day(rng).replace(day=1)
        following = (d + timedelta(days=32)).replace(day=1)
        return d.isoformat(), (following - timedelta(days=1)).isoformat()

    def year() -> tuple[str, str]:
        y = rng.choice((2023, 2024, 2025))
        return f"{y}-01-01", f"{y}-12-31"

    def national(span: Callable[[], tuple[str, str]], grain: str) -> Callable[[], Call]:
        def make() -> Call:
            a, b = span()
            return "/api/curtailment-share", {"from": a, "to": b, "grain": grain}

        return make

    def farms(span: Callable[[], tuple[str, str]], **extra: str) -> Callable[[], Call]:
        def make() -> Call:
            a, b = span()
            params = {"from": a, "to": b, **extra}
            if extra.get("leadParty") == "?":
                params["leadParty"] = rng.choice(leads)
            return "/api/curtailment-share/farms", params

        return make

    def one_day() -> tuple[str, str]:
        d = _day(rng).isoformat()
        return d, d

    def odd_range() -> tuple[str, str]:  # partial months at both ends
        a = _day(rng)
        b = min(END, a + timedelta(days=rng.randrange(40, 400)))
        return a.isoformat(), b.isoformat()

    def three_years() -> tuple[str, str]:
        return START.isoformat(), END.isoformat()

    return {
        "national · a day by period": national(one_day, "period"),
        "national · a month by day": national(month, "day"),
        "national · a year by month": national(year, "month"),
        "national · 3 years by year": national(three_years, "year"),
        "national · 3 years by day": national(three_years, "day"),
        "farms · a day by BM unit": farms(one_day, by="bmUnit"),
        "farms · a month by lead party": farms(month),
        "farms · a year by lead party": farms(year),
        "farms · 40-400 days by BM unit": farms(odd_range, by="bmUnit"),
        "farms · 3 years by lead party": farms(three_years),
        "farms · a year, one lead party": farms(year, leadParty="?"),
    }


def _timed(client: httpx.Client, name: str, call: Call) -> float:
    t = time.perf_counter()
    response = client.get(call[0], params=call[1])
    elapsed = (time.perf_counter() - t) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{name}: {response.status_code} {response.text[:200]}")
    return elapsed


def bench(base: str, requests: int, leads: list[str]) -> None:
    rng = random.Random(13)
    print(f"\nshare endpoints, {requests} requests each, cache off (ms, HTTP, localhost)")
    print(f"{'endpoint':34s} {'p50':>8s} {'p95':>8s} {'max':>8s}  target p95 < 50")
    with httpx.Client(base_url=base, timeout=60) as client:
        for name, make in endpoints(rng, leads).items():
            calls = [make() for _ in range(requests)]
            for call in calls[:3]:
                _timed(client, name, call)
            ms = [_timed(client, name, call) for call in calls]
            p95 = pct(ms, 0.95)
            print(
                f"{name:34s} {statistics.median(ms):8.1f} {p95:8.1f} {max(ms):8.1f}  "
                f"{'ok' if p95 < 50 else 'OVER'}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="cc_bench_share")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--reuse", action="store_true", help="Reuse a loaded database.")
    parser.add_argument("--keep", action="store_true", help="Keep the database for --reuse.")
    options = parser.parse_args()
    settings = Settings(database_url="sqlite://")
    base_url, _, _ = options.pg_admin.rpartition("/")
    if options.reuse:
        url = f"{base_url}/{options.database}"
        engine = get_engine(url)
    else:
        url = create_database(options.pg_admin, options.database)
        engine = get_engine(url)
        load(engine, options.records, settings.tracked_models)
        load_generation(engine)
    time_hook(engine, date(2025, 1, 17))
    with engine.connect() as conn:
        leads = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT lead_party_name FROM farm_monthly_summaries "
                    "WHERE lead_party_name IS NOT NULL GROUP BY 1 "
                    "ORDER BY sum(curtailed_energy_mwh) DESC LIMIT 10"
                )
            )
        ]
    print(f"now: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    server, process = serve(url, cache=False)
    try:
        bench(server, options.requests, leads)
    finally:
        process.terminate()
        process.wait(10)
        if not options.keep:
            dispose_all()
            with psycopg.connect(options.pg_admin, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{options.database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
