"""The dashboard's "Curtailment share" view in headless Chromium (Debian's, via Playwright).

The database is ``support.share``'s: the stack through the real pipeline, generation rows
as the ingestion stores them. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, Page

from support.api import Seeded
from support.browser import (
    DESKTOP,
    PHONE,
    READY,
    SHARE_READY,
    checked_page,
    open_view,
    shot,
)
from support.share import seed_share

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def seeded_ui(sqlite_database: str) -> Seeded:
    return seed_share(sqlite_database)


def open_share(page: Page, base_url: str, query: str) -> None:
    open_view(page, base_url, query)  # waits for the share view too


def test_day_share_chart_table_and_all_bids(browser: Browser, base_url: str) -> None:
    national = httpx.get(
        f"{base_url}/api/curtailment-share",
        params={"from": "2025-01-17", "to": "2025-01-17", "grain": "period"},
    ).json()
    farms = httpx.get(
        f"{base_url}/api/curtailment-share/farms", params={"from": "2025-01-17", "to": "2025-01-17"}
    ).json()
    summary = httpx.get(f"{base_url}/api/summary/daily/2025-01-17").json()
    with checked_page(browser, base_url, DESKTOP) as page:
        open_share(page, base_url, "?timeframe=day&date=2025-01-17")
        share = national["total"]["curtailmentShare"]
        assert share is not None
        assert f"{share * 100:.2f}%" in page.inner_text("#share-total")
        # 48 periods: generated and curtailed bars, and the share line
        assert page.locator("#chart-share .barlayer .trace").count() == 2
        assert page.locator("#chart-share .barlayer .trace").first.locator(".point").count() == 48
        assert page.locator("#chart-share .scatterlayer .trace").count() == 1
        body = page.locator("#share-table tbody tr")
        assert body.count() == len(farms["rows"])
        missing = [r for r in farms["rows"] if r["curtailmentShare"] is None]
        assert missing, "one lead party lacks a B1610 period"
        text = page.inner_text("#share-table")
        assert "B1610 figures for 47 of 48 periods" in text
        all_bids = page.inner_text("#all-bids")
        assert all_bids.startswith("All wind bids: ")
        assert f"{summary['allBidsCurtailedEnergyMwh']:,.0f}" in all_bids
        assert "/api/curtailment-share?" in (page.get_attribute("#share-csv", "href") or "")
        shot(page, "dashboard-share-day")


def test_missing_generation_is_shown_with_its_reason(browser: Browser, base_url: str) -> None:
    with checked_page(browser, base_url, DESKTOP) as page:
        open_share(page, base_url, "?timeframe=day&date=2025-01-18")
        total = page.inner_text("#share-total")
        assert "Share missing" in total and "AGWS failed: HTTP 503 after 5 attempts" in total
        assert "%" not in total
        assert "B1610 fetched_empty" in page.inner_text("#share-table")
        page.click("#tf-month")
        page.wait_for_selector(READY, state="attached", timeout=30_000)
        page.wait_for_selector(SHARE_READY, state="attached", timeout=30_000)
        assert "figures missing on" in page.inner_text("#share-total")
        assert page.locator("#chart-share .barlayer .trace").first.locator(".point").count() >= 1


def test_share_view_on_a_phone(browser: Browser, base_url: str) -> None:
    with checked_page(browser, base_url, PHONE, is_mobile=True, has_touch=True) as page:
        open_share(page, base_url, "?timeframe=day&date=2025-01-17")
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"the page scrolls sideways: {width}"
        panel = page.locator("#share-panel").bounding_box()
        chart = page.locator("#chart-share .main-svg").first.bounding_box()
        assert panel is not None and chart is not None
        assert (
            chart["x"] >= panel["x"] - 1
            and chart["x"] + chart["width"] <= panel["x"] + panel["width"] + 1
        )
        overflow = page.evaluate(
            "getComputedStyle(document.querySelector('#share-panel .table-wrap')).overflowX"
        )
        assert overflow == "auto"
        shot(page, "dashboard-share-phone")


def test_unpublished_b1610_is_shown_as_pending(
    browser: Browser, base_url: str, seeded_ui: Seeded
) -> None:
    """A date two days ago whose B1610 answered empty: the farm shares are pending, with the
    date Elexon should publish them from (the page reads the real clock). Written last: the
    module's other tests do not see the date."""
    from datetime import timedelta

    from curtailcoin.coverage import FETCHED_EMPTY
    from curtailcoin.db.engine import get_engine
    from curtailcoin.settlement import settlement_today
    from support.generation import store_generation

    day = settlement_today() - timedelta(days=2)
    with get_engine(seeded_ui.settings.database_url).begin() as conn:
        store_generation(conn, day, unit_fetch=(FETCHED_EMPTY, "B1610 answered no rows"))
    with checked_page(browser, base_url, DESKTOP) as page:
        open_share(page, base_url, f"?timeframe=day&date={day.isoformat()}")
        note = page.locator("#share-pending")
        assert note.is_visible()
        expected = (day + timedelta(days=6)).isoformat()
        assert f"{day.isoformat()} (expected from {expected})" in note.inner_text()
        assert "Not yet published" in note.inner_text()
        shot(page, "dashboard-share-pending")
