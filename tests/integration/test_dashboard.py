"""The dashboard in a real headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright).

The application runs under uvicorn on a seeded SQLite database; screenshots are written to
``test-artifacts/`` for review. Never downloads a browser: Chromium must be installed.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from support.browser import READY, open_view, shot

pytestmark = pytest.mark.browser


def _after(page: Page, action: object) -> None:
    """Run an interaction and wait for the re-render it triggers."""
    assert callable(action)
    action()
    page.wait_for_selector(READY, state="attached", timeout=30_000)


def _card(page: Page, name: str) -> str:
    return page.inner_text(f"#card-{name} [data-k='value']")


def _points(page: Page, chart: str) -> int:
    return page.locator(f"#chart-{chart} .barlayer .point").count()


def _shot(page: Page, name: str) -> None:
    shot(page, f"dashboard-{name}")


def test_day_view_cards_charts_table(page: Page, base_url: str) -> None:
    api = httpx.get(f"{base_url}/api/mining-potential/daily/2025-01-17").json()
    grouped = httpx.get(
        f"{base_url}/api/farm-tables/grouped-data", params={"value": "2025-01-17"}
    ).json()
    elapsed = open_view(page, base_url, "?timeframe=day&date=2025-01-17")
    print(f"first render with charts: {elapsed:.2f} s")
    assert page.inner_text("#scope-title").startswith("17 Jan 2025")
    assert _card(page, "energy") == f"{api['curtailedEnergy']:,.0f} MWh"
    assert _card(page, "btc").endswith("BTC") and _card(page, "btc") != "—"
    assert _card(page, "value").startswith("£")
    assert "×" in _card(page, "ratio")
    assert page.locator("#chart-main .main-svg").count() > 0
    assert _points(page, "main") == 24  # one bar per local clock hour
    assert _points(page, "top") > 0
    assert page.locator("#chart-rate .scatterlayer .trace").count() == 2
    assert page.locator("#farm-table tbody tr.group").count() == len(grouped["farms"])
    assert not page.is_visible("#empty")
    _shot(page, "day")


def test_autumn_clock_change_has_25_hours(page: Page, base_url: str) -> None:
    open_view(page, base_url, "?timeframe=day&date=2025-10-26")
    assert _points(page, "main") == 25
    # No price stored for this date: shown as missing, never a made-up number.
    assert _card(page, "value") == "Price missing"
    assert "missing" in page.inner_text("#banners")


def test_switch_timeframe_model_and_farm(page: Page, base_url: str) -> None:
    open_view(page, base_url, "?timeframe=day&date=2025-01-17")
    btc_day = _card(page, "btc")
    _after(page, lambda: page.click("#tf-month"))
    assert page.inner_text("#scope-title").startswith("Jan 2025")
    assert _points(page, "main") >= 3  # daily bars (days with data)
    assert "Data incomplete" in page.inner_text("#banners")
    _shot(page, "month")
    _after(page, lambda: page.click("#tf-year"))
    assert page.inner_text("#scope-title").startswith("2025")
    assert page.locator("#chart-main .point").count() > 0
    _shot(page, "year")
    _after(page, lambda: page.click("#tf-day"))
    assert _card(page, "btc") == btc_day
    _after(page, lambda: page.select_option("#model-select", "S21_PRO"))
    assert "computed" in page.inner_text("#scope-sub")
    assert _card(page, "btc") != btc_day
    assert "minerModel=S21_PRO" in page.url
    options = page.locator("#farm-select option").all_inner_texts()
    assert options[0].startswith("All lead parties") and len(options) > 2
    lead = page.locator("#farm-select option").nth(1).get_attribute("value")
    assert lead
    _after(page, lambda: page.select_option("#farm-select", lead))
    assert lead in page.inner_text("#scope-title")
    assert page.locator("#farm-table tbody tr.group").count() == 1
    assert page.inner_text("#top-title") == f"BM units of {lead}"
    assert _points(page, "top") > 0
    _shot(page, "farm")


def test_table_expands_sorts_and_downloads_csv(page: Page, base_url: str) -> None:
    open_view(page, base_url, "?timeframe=day&date=2025-01-17")
    first = page.locator("#farm-table tbody tr.group").first
    units = int(first.locator("td").nth(1).inner_text())
    assert page.locator("#farm-table tbody tr.unit").count() == 0
    first.click()
    assert page.locator("#farm-table tbody tr.unit").count() == units
    assert first.get_attribute("aria-expanded") == "true"
    _shot(page, "table-expanded")
    page.click("#farm-table thead th[data-sort='payment']")
    assert page.get_attribute("#farm-table thead th[data-sort='payment']", "aria-sort") == (
        "descending"
    )
    cells = page.locator("#farm-table tbody tr.group td:nth-child(5)").all_inner_texts()
    values = [float(c.replace("£", "").replace(",", "").replace("−", "-")) for c in cells]
    assert values == sorted(values, reverse=True)
    with page.expect_download() as info:
        page.click("#csv-download")
    download = info.value
    content = Path(download.path()).read_text(encoding="utf-8")
    table = list(csv.DictReader(io.StringIO(content)))
    assert download.suggested_filename.endswith(".csv")
    assert {r["row_type"] for r in table} == {"lead_party", "bm_unit"}


def test_empty_and_incomplete_states(page: Page, base_url: str) -> None:
    open_view(page, base_url, "?timeframe=day&date=2024-06-01")
    assert page.is_visible("#empty")
    assert "No data for" in page.inner_text("#empty-title")
    assert "curtailcoin reingest 2024-06-01" in page.inner_text("#empty-text")
    assert not page.is_visible("#charts")
    _shot(page, "empty")
    open_view(page, base_url, "?timeframe=day&date=2025-01-19")
    banner = page.inner_text("#banners")
    assert "Data incomplete for this date" in banner and "10 of 48" in banner
    _shot(page, "incomplete")
