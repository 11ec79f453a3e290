"""The response cache keys an answer by the dates it reads (``date_versions``, migration 0008).

A write of a date D invalidates exactly the cached answers whose scope contains D (its day, its
month, its year, the farm tables of those) and the answers keyed by the whole database (a
filter, a default date, reference lists); every other answer stays cached and is byte for byte
the answer a cache-less application gives after the write. The counters are bumped by triggers
in the writer's transaction, whoever writes (``test_migrations``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from curtailcoin.summaries import rebuild_bitcoin_summaries, rebuild_curtailment_summaries
from curtailcoin.web import create_app
from curtailcoin.web.cache import ALL, VersionReader, url_scope
from support.api import UNTRACKED_MODEL, Seeded, seed_database
from support.databases import BACKENDS

JAN, FEB, MAR = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)
APR, OCT, NOV = date(2025, 4, 1), date(2025, 10, 1), date(2025, 11, 1)
Y2024, Y2025, Y2026 = date(2024, 1, 1), date(2025, 1, 1), date(2026, 1, 1)


def day(d: str) -> tuple[date, date]:
    first = date.fromisoformat(d)
    return first, date.fromordinal(first.toordinal() + 1)


# (path, query, the dates its answer reads: a half-open range, or None for the whole database)
URLS: list[tuple[str, dict[str, str], tuple[date, date] | None]] = [
    ("/api/summary/daily/2025-01-18", {}, day("2025-01-18")),
    ("/api/summary/daily/2025-01-17", {}, day("2025-01-17")),
    ("/api/summary/daily/2025-03-30", {}, day("2025-03-30")),
    ("/api/mining-potential/daily/2025-01-18", {}, day("2025-01-18")),
    ("/api/mining-potential/daily/2025-01-17", {"minerModel": UNTRACKED_MODEL}, day("2025-01-17")),
    ("/api/mining-potential/daily", {"date": "2025-01-18"}, day("2025-01-18")),
    ("/api/curtailment/hourly/2025-01-18", {}, day("2025-01-18")),
    ("/api/curtailment/hourly/2025-03-30", {}, day("2025-03-30")),
    ("/api/lead-parties/2025-01-17", {}, day("2025-01-17")),
    ("/api/summary/monthly/2025-01", {}, (JAN, FEB)),
    ("/api/summary/monthly/2025-03", {"format": "csv"}, (MAR, APR)),
    ("/api/mining-potential/monthly/2025-01", {}, (JAN, FEB)),
    ("/api/mining-potential/monthly/2025-10", {}, (OCT, NOV)),
    ("/api/summary/yearly/2025", {}, (Y2025, Y2026)),
    ("/api/summary/yearly/2024", {}, (Y2024, Y2025)),
    ("/api/mining-potential/yearly/2025", {"minerModel": UNTRACKED_MODEL}, (Y2025, Y2026)),
    ("/api/farm-tables/grouped-data", {"value": "2025-01"}, (JAN, FEB)),
    ("/api/farm-tables/grouped-data", {"timeframe": "month", "value": "2025-03"}, (MAR, APR)),
    (
        "/api/mining-potential/top-farms",
        {"period": "day", "value": "2025-01-18"},
        day("2025-01-18"),
    ),
    ("/api/mining-potential/top-farms", {"value": "2025-01-17"}, day("2025-01-17")),
    ("/api/mining-potential/farms", {"date": "2025"}, (Y2025, Y2026)),
    ("/api/mining-potential/farms", {"date": "2025-10"}, (OCT, NOV)),
    # keyed by the whole database
    ("/api/farm-tables/grouped-data", {}, None),  # the latest date
    ("/api/mining-potential/farms", {"timeframe": "month"}, None),
    ("/api/lead-parties", {}, None),
    ("/api/miner-models", {}, None),
    ("/api/reconciliation/status", {"from": "2025-03-01", "to": "2025-03-31"}, None),
    ("/api/prices", {"from": "2025-01-01", "to": "2025-01-31"}, None),
]


def test_url_scope_reads_the_dates_named_in_the_url() -> None:
    for path, query, dates in URLS:
        assert url_scope(path, list(query.items())) == dates, (path, query)
    for path, pairs in [
        ("/api/summary/monthly/2025-01", [("leadParty", "X")]),  # checked against every date
        ("/api/summary/daily/2025-01-18", [("farmId", "T_X")]),
        ("/api/summary/daily/2025-02-30", []),  # not a date: answered 422, never cached
        ("/api/summary/daily/20250118", []),
        ("/api/summary/monthly/2025-13", []),
        ("/api/summary/daily/2025-01-18/extra", []),
        ("/api/farm-tables/grouped-data", [("timeframe", "year"), ("value", "2025-01")]),
        ("/api/farm-tables/grouped-data", [("value", "2025-01"), ("value", "2025-02")]),
        ("/api/mining-potential/daily", [("date", "2025-01")]),
        ("/api/data-range", []),
    ]:
        assert url_scope(path, pairs) is ALL, (path, pairs)
    assert url_scope(
        "/api/farm-tables/grouped-data", [("timeframe", "Monthly"), ("value", "2025-01")]
    ) == (JAN, FEB)


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest) -> Seeded:
    fixture = "pg_database" if request.param == "postgresql" else "sqlite_database"
    return seed_database(request.getfixturevalue(fixture))


def scale(seeded: Seeded, day_: date, factor: float) -> None:
    """Rewrite a date in one transaction as a reingest does: base rows, then its summaries
    through the real summary functions (×2 and ×0.5 are exact in binary floats)."""
    params = {"d": day_, "f": factor}
    with seeded.engine.begin() as conn:
        for table, columns in (
            ("curtailment_records", ("volume", "payment")),
            ("settlement_periods", ("curtailed_energy_mwh", "payment_gbp")),
            ("historical_bitcoin_calculations", ("bitcoin_mined", "curtailed_energy_mwh")),
        ):
            sets = ", ".join(f"{c} = {c} * :f" for c in columns)
            conn.execute(text(f"UPDATE {table} SET {sets} WHERE settlement_date = :d"), params)
        rebuild_curtailment_summaries(conn, day_)
        rebuild_bitcoin_summaries(conn, day_, list(seeded.settings.tracked_models))


@pytest.fixture
def lead_party(seeded: Seeded) -> str:
    with TestClient(create_app(seeded.settings, cache=False)) as client:
        parties: list[str] = client.get("/api/lead-parties").json()
    return parties[0]


def _urls(lead: str) -> list[tuple[str, dict[str, str], tuple[date, date] | None]]:
    return [
        *URLS,
        ("/api/summary/monthly/2025-03", {"leadParty": lead}, None),
        ("/api/mining-potential/daily/2025-01-17", {"leadParty": lead}, None),
    ]


def _get(client: TestClient, path: str, query: dict[str, str]) -> Any:
    response = client.get(path, params=query)
    assert response.status_code == 200, (path, query, response.text)
    return response


@pytest.mark.db
@pytest.mark.parametrize("written", [date(2025, 1, 18), date(2025, 3, 30)])
@pytest.mark.slow
def test_a_write_of_a_date_invalidates_exactly_the_answers_whose_scope_contains_it(
    seeded: Seeded, lead_party: str, written: date
) -> None:
    urls = _urls(lead_party)
    app = create_app(seeded.settings)
    with TestClient(app) as client, TestClient(create_app(seeded.settings, cache=False)) as plain:
        for path, query, _ in urls:
            assert _get(client, path, query).headers["x-cache"] == "miss"
            assert _get(client, path, query).headers["x-cache"] == "hit", (path, query)
        for factor in (2.0, 0.5):  # the date doubled, then back as seeded
            scale(seeded, written, factor)
            for path, query, dates in urls:
                answer = _get(client, path, query)
                contains = dates is None or dates[0] <= written < dates[1]
                expected = "miss" if contains else "hit"
                assert answer.headers["x-cache"] == expected, (written, path, query)
                assert answer.content == _get(plain, path, query).content, (path, query)
                assert _get(client, path, query).headers["x-cache"] == "hit"


@pytest.mark.db
def test_a_period_status_or_a_price_written_alone_invalidates_what_reads_it(
    seeded: Seeded,
) -> None:
    """No summary rewritten: a period marked failed (by hand) changes its date's answers; a price
    changes every dated answer (the latest price is in every value)."""
    day_url: tuple[str, dict[str, str]] = ("/api/summary/daily/2025-01-18", {})
    other_url: tuple[str, dict[str, str]] = ("/api/summary/daily/2025-01-17", {})
    month_url: tuple[str, dict[str, str]] = ("/api/mining-potential/monthly/2025-03", {})
    where = "settlement_date = '2025-01-18' AND settlement_period = 5"
    with seeded.engine.connect() as conn:
        status, error = conn.execute(
            text(f"SELECT fetch_status, error FROM settlement_periods WHERE {where}")
        ).one()
    with TestClient(create_app(seeded.settings)) as client:
        for path, query in (day_url, other_url, month_url):
            _get(client, path, query)
        try:
            with seeded.engine.begin() as conn:
                conn.execute(
                    text(f"UPDATE settlement_periods SET fetch_status = 'failed' WHERE {where}")
                )
            failed = _get(client, *day_url)
            assert failed.headers["x-cache"] == "miss"
            assert failed.json()["dataStatus"]["periodsFailed"] == 1
            assert _get(client, *other_url).headers["x-cache"] == "hit"
            assert _get(client, *month_url).headers["x-cache"] == "hit"
        finally:
            with seeded.engine.begin() as conn:
                conn.execute(
                    text(
                        f"UPDATE settlement_periods SET fetch_status = :s, error = :e WHERE {where}"
                    ),
                    {"s": status, "e": error},
                )
        assert _get(client, *day_url).headers["x-cache"] == "miss"
        for path, query in (day_url, other_url, month_url):
            assert _get(client, path, query).headers["x-cache"] == "hit"
        try:
            with seeded.engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO btc_prices (price_date, currency, price, source, fetched_at) "
                        "VALUES ('2025-06-01', 'GBP', 50000, 'test', '2025-06-02 00:00:00')"
                    )
                )
            for path, query in (day_url, other_url, month_url):
                assert _get(client, path, query).headers["x-cache"] == "miss"
        finally:
            with seeded.engine.begin() as conn:
                conn.execute(text("DELETE FROM btc_prices WHERE price_date = '2025-06-01'"))


@pytest.mark.db
def test_the_version_reader_reads_the_counters_again_only_after_a_commit(
    seeded: Seeded,
) -> None:
    """Nothing committed since its last round: the versions come back without reading the
    counters; any commit by another connection (here a period's status) makes the next round
    read them, and only the changed dates' versions change. A dropped connection is replaced."""
    engine = seeded.engine
    reader = VersionReader(lambda: engine)
    day_, other = day("2025-01-18"), day("2025-01-17")
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    where = "settlement_date = '2025-01-18' AND settlement_period = 7"
    event.listen(engine, "before_cursor_execute", count)
    try:
        first = reader([day_, other, ALL])
        statements.clear()
        assert reader([day_, other, ALL]) == first
        assert len(statements) == 1  # the question only
        with engine.begin() as conn:
            conn.execute(text(f"UPDATE settlement_periods SET error = 'x' WHERE {where}"))
        statements.clear()
        second = reader([day_, other, ALL])
        assert len(statements) > 1
        assert second[other] == first[other]
        assert second[day_] != first[day_] and second[ALL] != first[ALL]
        if engine.dialect.name == "postgresql":  # the server drops the reader's connection
            assert reader.connection is not None
            pid = reader.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            with pytest.raises(DBAPIError):
                reader([day_])
            assert reader.connection is None
            assert reader([day_])[day_] == second[day_]  # through a new connection
    finally:
        event.remove(engine, "before_cursor_execute", count)
        with engine.begin() as conn:
            conn.execute(text(f"UPDATE settlement_periods SET error = NULL WHERE {where}"))
        reader.close()
