"""Benchmark of the JSON API and the dashboard on three years of data in PostgreSQL.

Loads about a million curtailment records (2023-01-01 .. 2025-12-31) into a fresh database with
bulk SQL — settlement periods with their real difficulty and subsidy, records spread over the
wind BM units, calculations of the tracked models, summaries and daily prices — then measures:

* each summary and mining-potential endpoint: p50 / p95 / max over many requests on varying
  dates (uvicorn in its own process on localhost, measured by an httpx client), for a tracked
  and an untracked model;
* the dashboard's first render with charts in headless Chromium (a fresh browser context each
  time, so nothing is cached), from navigation to ``body[data-ready="1"]``.

Prints figures only (no assertions). Usage::

    .venv/bin/python bench/bench_api.py [--pg-admin postgresql://postgres@127.0.0.1:5432/postgres]
        [--records 1000000] [--requests 60] [--renders 8] [--reuse] [--keep]

``--with-reingest [--databases sqlite,postgresql] [--clients 50] [--seconds 30] [--think-ms 0]
[--workers 1]`` measures instead the summary and mining endpoints while a reingest writes, on
both databases, and counts internally inconsistent responses (``bench_api_reingest.py``).
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import Engine, text

from curtailcoin.config import Settings
from curtailcoin.db.engine import dispose_all, get_engine
from curtailcoin.mining import HASHES_PER_DIFFICULTY, HASHES_PER_TH, JOULES_PER_MWH
from curtailcoin.network import NetworkTimeline
from curtailcoin.pipeline import prepare_database
from curtailcoin.settlement import period_end_utc, period_start_utc, periods_in_day

# Test and bench support lives in tests/support, outside the package (docs/architecture.md).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.synthetic import fill_farm_daily_summaries

START, END = date(2023, 1, 1), date(2025, 12, 31)
UNTRACKED = "S21_PRO"


def _days() -> list[date]:
    return [START + timedelta(days=i) for i in range((END - START).days + 1)]


def create_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def load(engine: Engine, records: int, models: tuple[str, ...]) -> None:
    prepare_database(engine)  # miner models, epochs, halvings, BM unit snapshot
    timeline = NetworkTimeline.packaged()
    rows = []
    for day in _days():
        for period in range(1, periods_in_day(day) + 1):
            start = period_start_utc(day, period)
            cond = timeline.conditions(start, period_end_utc(day, period))
            rows.append((day, period, start, cond.difficulty, cond.block_subsidy_btc))
    per_period = records / len(rows)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cur,
            cur.copy(
                "COPY settlement_periods (settlement_date, settlement_period, start_time_utc, "
                "difficulty, block_subsidy_btc, fetch_status, fetched_at, stack_line_count, "
                "wind_line_count, record_count, curtailed_energy_mwh, payment_gbp) FROM STDIN"
            ) as copy,
        ):
            for day, period, start, difficulty, subsidy in rows:
                copy.write_row(
                    (
                        day,
                        period,
                        start,
                        difficulty,
                        subsidy,
                        "fetched_with_data",
                        start,
                        0,
                        0,
                        0,
                        0.0,
                        0.0,
                    )
                )
        # Records: a seasonal, random number per period, each on a random wind unit.
        conn.execute(
            text(
                """
                WITH units AS (
                    SELECT array_agg(elexon_bm_unit ORDER BY elexon_bm_unit) AS ids,
                           array_agg(lead_party_name ORDER BY elexon_bm_unit) AS leads,
                           count(*) AS n
                    FROM bm_units WHERE is_wind
                ), slots AS (
                    SELECT p.settlement_date, p.settlement_period,
                           floor(random() * 2 * :per * (1 + 0.6 * cos(
                               2 * pi() * extract(doy FROM p.settlement_date) / 365.0)) / 1.0)::int
                           AS k
                    FROM settlement_periods p
                )
                INSERT INTO curtailment_records (settlement_date, settlement_period, farm_id,
                    lead_party_name, volume, payment, original_price, final_price, so_flag,
                    cadl_flag, sequence_number, acceptance_id, bid_offer_pair_id,
                    created_datetime, fetched_at)
                SELECT s.settlement_date, s.settlement_period, u.ids[x.i], u.leads[x.i],
                       x.v, x.price * x.v, x.price, x.price, true, false, g,
                       (random() * 1e7)::bigint, -1, now(), now()
                FROM slots s
                CROSS JOIN units u
                CROSS JOIN LATERAL generate_series(1, s.k) AS g
                CROSS JOIN LATERAL (
                    SELECT 1 + floor(random() * u.n)::int AS i,
                           -(1 + random() * 60) AS v,
                           -(random() * 120 - 20) AS price
                    WHERE g > 0
                ) x
                """
            ),
            {"per": per_period},
        )
        conn.execute(
            text(
                """
                UPDATE settlement_periods p SET record_count = a.n, curtailed_energy_mwh = a.e,
                    payment_gbp = a.pay
                FROM (SELECT settlement_date, settlement_period, count(*) n, -sum(volume) e,
                             sum(payment) pay
                      FROM curtailment_records GROUP BY settlement_date, settlement_period) a
                WHERE p.settlement_date = a.settlement_date
                  AND p.settlement_period = a.settlement_period
                """
            )
        )
        conn.execute(
            text(
                f"""
                INSERT INTO historical_bitcoin_calculations (settlement_date, settlement_period,
                    farm_id, miner_model, curtailed_energy_mwh, difficulty, block_subsidy_btc,
                    hashrate_th, power_w, bitcoin_mined, calculated_at)
                SELECT e.settlement_date, e.settlement_period, e.farm_id, m.model_key, e.energy,
                       p.difficulty, p.block_subsidy_btc, m.hashrate_th, m.power_w,
                       e.energy * {JOULES_PER_MWH!r} / m.power_w * m.hashrate_th
                         * {HASHES_PER_TH!r} / (p.difficulty * {HASHES_PER_DIFFICULTY!r})
                         * p.block_subsidy_btc,
                       now()
                FROM (SELECT settlement_date, settlement_period, farm_id, -sum(volume) AS energy
                      FROM curtailment_records
                      GROUP BY settlement_date, settlement_period, farm_id) e
                JOIN settlement_periods p ON p.settlement_date = e.settlement_date
                     AND p.settlement_period = e.settlement_period
                JOIN miner_models m ON m.model_key = ANY(:models)
                WHERE p.difficulty IS NOT NULL
                """
            ),
            {"models": list(models)},
        )
        for sql in SUMMARY_SQL:
            conn.execute(text(sql))
        # Prices first: the per-farm-month roll-ups carry the value at each date's price.
        conn.execute(
            text(
                """
                INSERT INTO btc_prices (price_date, currency, price, source, fetched_at)
                SELECT d::date, c.cur, c.base * (1 + 0.4 * sin(extract(epoch FROM d) / 9e6)),
                       'bench', now()
                FROM generate_series(CAST(:s AS date), CAST(:e AS date), interval '1 day') d
                CROSS JOIN (VALUES ('GBP', 40000.0), ('USD', 50000.0)) AS c(cur, base)
                """
            ),
            {"s": START, "e": END},
        )
        fill_farm_daily_summaries(conn, START, END)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM curtailment_records")).scalar_one()
        calcs = conn.execute(text("SELECT count(*) FROM historical_bitcoin_calculations"))
        print(
            f"loaded {count:,} curtailment records, {calcs.scalar_one():,} calculations, "
            f"{len(rows):,} settlement periods in {time.perf_counter() - t0:.1f} s"
        )


SUMMARY_SQL = [
    """INSERT INTO daily_summaries SELECT p.settlement_date, coalesce(-sum(r.volume), 0),
         coalesce(sum(r.payment), 0), count(r.id), count(DISTINCT r.farm_id), now()
       FROM (SELECT DISTINCT settlement_date FROM settlement_periods) p
       LEFT JOIN curtailment_records r ON r.settlement_date = p.settlement_date
       GROUP BY p.settlement_date""",
    """INSERT INTO monthly_summaries
       SELECT d.ym, d.e, d.p, d.n, coalesce(f.farms, 0), now()
       FROM (SELECT to_char(summary_date, 'YYYY-MM') AS ym, sum(total_curtailed_energy) AS e,
                    sum(total_payment) AS p, sum(record_count) AS n
             FROM daily_summaries GROUP BY 1) d
       LEFT JOIN (SELECT to_char(settlement_date, 'YYYY-MM') AS ym,
                         count(DISTINCT farm_id) AS farms
                  FROM curtailment_records GROUP BY 1) f USING (ym)""",
    """INSERT INTO yearly_summaries
       SELECT m.y, m.e, m.p, m.n, coalesce(f.farms, 0), now()
       FROM (SELECT substr(year_month, 1, 4) AS y, sum(total_curtailed_energy) AS e,
                    sum(total_payment) AS p, sum(record_count) AS n
             FROM monthly_summaries GROUP BY 1) m
       LEFT JOIN (SELECT to_char(settlement_date, 'YYYY') AS y,
                         count(DISTINCT farm_id) AS farms
                  FROM curtailment_records GROUP BY 1) f USING (y)""",
    """INSERT INTO bitcoin_daily_summaries SELECT settlement_date, miner_model,
         sum(bitcoin_mined), sum(curtailed_energy_mwh), now()
       FROM historical_bitcoin_calculations GROUP BY settlement_date, miner_model""",
    """INSERT INTO bitcoin_monthly_summaries SELECT to_char(summary_date, 'YYYY-MM'),
         miner_model, sum(bitcoin_mined), sum(curtailed_energy_mwh), now()
       FROM bitcoin_daily_summaries GROUP BY 1, miner_model""",
    """INSERT INTO bitcoin_yearly_summaries SELECT substr(year_month, 1, 4), miner_model,
         sum(bitcoin_mined), sum(curtailed_energy_mwh), now()
       FROM bitcoin_monthly_summaries GROUP BY 1, miner_model""",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SERVER = """
import sys, uvicorn
from curtailcoin.config import Settings
from curtailcoin.web import create_app
url, port, cache = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
app = create_app(Settings(database_url=url), cache=cache)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""


def serve(url: str, cache: bool) -> tuple[str, subprocess.Popen[bytes]]:
    """The application in its own process (as deployed), so the measuring client does not
    share its interpreter."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, url, str(port), "1" if cache else "0"]
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return base, process
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    process.kill()
    raise SystemExit("the server did not start")


def endpoints(rng: random.Random, lead_parties: list[str]) -> dict[str, object]:
    days = _days()

    def day() -> str:
        return rng.choice(days).isoformat()

    def month() -> str:
        return day()[:7]

    def year() -> str:
        return str(rng.choice([2023, 2024, 2025]))

    def lead() -> str:
        return rng.choice(lead_parties)

    return {
        "summary/daily": lambda: (f"/api/summary/daily/{day()}", {}),
        "summary/monthly": lambda: (f"/api/summary/monthly/{month()}", {}),
        "summary/yearly": lambda: (f"/api/summary/yearly/{year()}", {}),
        "summary/yearly?leadParty": lambda: (
            f"/api/summary/yearly/{year()}",
            {"leadParty": lead()},
        ),
        "curtailment/hourly": lambda: (f"/api/curtailment/hourly/{day()}", {}),
        "mining/daily (tracked)": lambda: (f"/api/mining-potential/daily/{day()}", {}),
        "mining/monthly (tracked)": lambda: (f"/api/mining-potential/monthly/{month()}", {}),
        "mining/yearly (tracked)": lambda: (f"/api/mining-potential/yearly/{year()}", {}),
        "mining/yearly?leadParty (tracked)": lambda: (
            f"/api/mining-potential/yearly/{year()}",
            {"leadParty": lead()},
        ),
        "mining/daily (computed)": lambda: (
            f"/api/mining-potential/daily/{day()}",
            {"minerModel": UNTRACKED},
        ),
        "mining/monthly (computed)": lambda: (
            f"/api/mining-potential/monthly/{month()}",
            {"minerModel": UNTRACKED},
        ),
        "mining/yearly (computed)": lambda: (
            f"/api/mining-potential/yearly/{year()}",
            {"minerModel": UNTRACKED},
        ),
        "mining-potential/farms (month)": lambda: (
            "/api/mining-potential/farms",
            {"date": month()},
        ),
        "mining-potential/farms (year)": lambda: ("/api/mining-potential/farms", {"date": year()}),
        "top-farms (month)": lambda: (
            "/api/mining-potential/top-farms",
            {"period": "month", "value": month()},
        ),
        "top-farms (year)": lambda: (
            "/api/mining-potential/top-farms",
            {"period": "year", "value": year()},
        ),
        "grouped-data (day)": lambda: ("/api/farm-tables/grouped-data", {"value": day()}),
        "grouped-data (month)": lambda: ("/api/farm-tables/grouped-data", {"value": month()}),
        "grouped-data (year)": lambda: ("/api/farm-tables/grouped-data", {"value": year()}),
        "grouped-data (year, computed)": lambda: (
            "/api/farm-tables/grouped-data",
            {"value": year(), "minerModel": UNTRACKED},
        ),
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _timed(client: httpx.Client, name: str, path: str, params: object) -> float:
    t = time.perf_counter()
    response = client.get(path, params=params)  # type: ignore[arg-type]
    elapsed = (time.perf_counter() - t) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{name}: {response.status_code} {response.text[:200]}")
    return elapsed


def bench_api(cold: str, cached: str, requests: int, lead_parties: list[str]) -> None:
    """Cold: the cache disabled, every request computed from the database. Cached: the same
    requests again on a server whose cache saw them once (data unchanged)."""
    rng = random.Random(42)
    print(f"\nAPI latency, {requests} requests per endpoint on varying dates (ms, HTTP, localhost)")
    print(f"{'':40s} {'cold (computed)':>26s}   {'cached':>18s}")
    print(f"{'endpoint':40s} {'p50':>8s} {'p95':>8s} {'max':>8s}   {'p50':>8s} {'p95':>8s}")
    with (
        httpx.Client(base_url=cold, timeout=60) as c1,
        httpx.Client(base_url=cached, timeout=60) as c2,
    ):
        for name, make in endpoints(rng, lead_parties).items():
            calls = [make() for _ in range(requests)]  # type: ignore[operator]
            for path, params in calls[:3]:  # warm the connection pools
                _timed(c1, name, path, params)
            cold_ms = [_timed(c1, name, path, params) for path, params in calls]
            for path, params in calls:
                _timed(c2, name, path, params)
            warm_ms = [_timed(c2, name, path, params) for path, params in calls]
            print(
                f"{name:40s} {statistics.median(cold_ms):8.1f} {pct(cold_ms, 0.95):8.1f} "
                f"{max(cold_ms):8.1f}   {statistics.median(warm_ms):8.1f} {pct(warm_ms, 0.95):8.1f}"
            )


def bench_dashboard(base: str, renders: int) -> None:
    from playwright.sync_api import sync_playwright

    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
    ]
    print(
        f"\nDashboard first render with charts (fresh browser context each time, nothing "
        f"cached; API cache off; {renders} runs, s)"
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        for view, query in (
            ("day", "?timeframe=day&date=2025-01-17"),
            ("month", "?timeframe=month&date=2025-01"),
            ("year", "?timeframe=year&date=2025"),
        ):
            times: list[float] = []
            inner: list[float] = []
            for _ in range(renders):
                context = browser.new_context(viewport={"width": 1440, "height": 1000})
                page = context.new_page()
                t = time.perf_counter()
                page.goto(base + "/" + query)
                page.wait_for_selector("body[data-ready='1']", state="attached", timeout=60_000)
                times.append(time.perf_counter() - t)
                inner.append(float(page.get_attribute("body", "data-ready-at") or "nan") / 1000)
                context.close()
            print(
                f"{view:6s} median {statistics.median(times):.2f}  p95 {pct(times, 0.95):.2f}  "
                f"max {max(times):.2f}  (browser clock, navigation→ready: median "
                f"{statistics.median(inner):.2f})"
            )
        plotly: list[float] = []
        for _ in range(renders):
            context = browser.new_context()
            page = context.new_page()
            page.goto(base + "/api/prices")  # any same-origin page without the dashboard's CSP
            t = time.perf_counter()
            page.evaluate(
                """() => new Promise((resolve, reject) => {
                    const s = document.createElement("script");
                    s.src = "/vendor/plotly.min.js"; s.onload = resolve; s.onerror = reject;
                    document.head.appendChild(s);
                })"""
            )
            plotly.append(time.perf_counter() - t)
            context.close()
        print(
            f"(for reference: loading and evaluating plotly.min.js alone: median "
            f"{statistics.median(plotly):.2f} s)"
        )
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="cc_bench_api")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--renders", type=int, default=8)
    parser.add_argument("--reuse", action="store_true", help="Reuse a loaded database.")
    parser.add_argument("--keep", action="store_true", help="Keep the database for --reuse.")
    parser.add_argument(
        "--with-reingest",
        action="store_true",
        help="Instead: latency and consistency of the summary and mining endpoints while a "
        "reingest of a heavy day runs back to back (bench_api_reingest.py).",
    )
    parser.add_argument("--databases", default="sqlite,postgresql", help="--with-reingest")
    parser.add_argument("--clients", type=int, default=50, help="--with-reingest")
    parser.add_argument("--seconds", type=float, default=30.0, help="--with-reingest")
    parser.add_argument(
        "--think-ms", type=float, default=0.0, help="--with-reingest: mean pause per client"
    )
    parser.add_argument("--workers", type=int, default=1, help="--with-reingest: server workers")
    options = parser.parse_args()
    if options.with_reingest:
        import bench_api_reingest  # beside this file

        bench_api_reingest.run(options)
        return
    settings = Settings(database_url="sqlite://")  # for the tracked models
    if options.reuse:
        base, _, _ = options.pg_admin.rpartition("/")
        url = f"{base}/{options.database}"
        engine = get_engine(url)
    else:
        url = create_database(options.pg_admin, options.database)
        engine = get_engine(url)
        load(engine, options.records, settings.tracked_models)
    with engine.connect() as conn:
        leads = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT lead_party_name FROM curtailment_records "
                    "WHERE settlement_date = '2025-01-17' GROUP BY 1 ORDER BY count(*) DESC "
                    "LIMIT 10"
                )
            )
        ]
    cold, cold_server = serve(url, cache=False)
    cached, cached_server = serve(url, cache=True)
    try:
        bench_api(cold, cached, options.requests, leads)
        bench_dashboard(cold, options.renders)
    finally:
        for process in (cold_server, cached_server):
            process.terminate()
            process.wait(10)
        if not options.keep:
            dispose_all()
            with psycopg.connect(options.pg_admin, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{options.database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
