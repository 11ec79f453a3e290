"""The "Site sizing" view (``/sizing``) in a real headless Chromium: it loads with the API's
figures, the size slider changes them, the CSV link downloads the monthly table, a missing
price is shown as missing, and the page fits a 390 px phone like the rest of the dashboard."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import text

from support.api import Seeded
from support.browser import PHONE, READY, checked_page, open_view, shot
from support.layout import assert_fits

pytestmark = pytest.mark.browser

HEAVY = date(2025, 1, 17)


@pytest.fixture(scope="module")
def lead(seeded_ui: Seeded) -> str:
    with seeded_ui.engine.connect() as conn:
        name = conn.execute(
            text(
                "SELECT lead_party_name FROM curtailment_records WHERE settlement_date = :d "
                "GROUP BY lead_party_name ORDER BY SUM(volume) ASC LIMIT 1"
            ),
            {"d": HEAVY},
        ).scalar_one()
    return str(name)


def _card(page: Page, name: str) -> str:
    return page.inner_text(f"#card-{name} [data-k='value']")


def _view(lead: str, **extra: str) -> str:
    params = {"site": lead, "from": "2025-01-17", "to": "2025-01-19", "minerModel": "S21"}
    params.update(extra)
    return "sizing?" + str(httpx.QueryParams(params))


def _scenario(base_url: str, lead: str, mw: str) -> dict[str, object]:
    answer = httpx.get(
        f"{base_url}/api/scenario",
        params={
            "leadParty": lead,
            "from": "2025-01-17",
            "to": "2025-01-19",
            "minerModel": "S21",
            "mw": mw,
            "capexPerMiner": "3000",
            "grain": "month",
        },
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_view_loads_with_the_api_figures(page: Page, base_url: str, lead: str) -> None:
    open_view(page, base_url, _view(lead, mw="20"))
    body = _scenario(base_url, lead, "20")
    total = body["total"]
    assert isinstance(total, dict)
    assert page.inner_text("#scope-title") == f"lead party {lead}"
    assert _card(page, "btc") == f"{total['btc']:,.4f} BTC"
    assert _card(page, "revenue").startswith("£")
    assert _card(page, "latest").startswith("£")
    assert "on 18 Jan 2025" in page.inner_text("#card-latest [data-k='sub']")
    assert _card(page, "util").endswith("%")
    assert _card(page, "payback") in ("Not within the range",) or "months" in _card(page, "payback")
    assert page.locator("#chart-sizing .scatterlayer .trace").count() == 3
    assert page.locator("#chart-monthly .barlayer .point").count() == 1  # January 2025
    assert page.locator("#chart-duration .scatterlayer .trace").count() == 1
    # 2025-01-19 has no price: the part of the BTC it holds is said to be missing
    assert "no BTC/GBP price stored for 2025-01-19" in page.inner_text("#banners")
    shot(page, "sizing-desktop")


def test_slider_changes_the_figures(page: Page, base_url: str, lead: str) -> None:
    open_view(page, base_url, _view(lead, mw="20"))
    before = _card(page, "btc")
    page.evaluate(
        "() => { const s = document.getElementById('size-input'); s.value = '1';"
        " s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change')); }"
    )
    page.wait_for_function("() => new URL(location.href).searchParams.get('mw') === '1'")
    page.wait_for_selector(READY, state="attached", timeout=30_000)
    total = _scenario(base_url, lead, "1")["total"]
    assert isinstance(total, dict)
    assert page.inner_text("#size-value") == "1 MW"
    assert _card(page, "btc") == f"{total['btc']:,.4f} BTC" != before
    assert "(0.00 MW)" not in page.inner_text("#scope-sub")


def test_csv_link_downloads_the_monthly_table(page: Page, base_url: str, lead: str) -> None:
    open_view(page, base_url, _view(lead, mw="20"))
    with page.expect_download() as info:
        page.click("#csv-download")
    path = info.value.path()
    assert path is not None
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
    assert [r["month"] for r in rows] == ["2025-01"]
    body = _scenario(base_url, lead, "20")
    total = body["total"]
    assert isinstance(total, dict)
    assert float(rows[0]["btc"]) == total["btc"]
    assert info.value.suggested_filename.endswith(".csv")


def test_missing_price_is_shown_as_missing(page: Page, base_url: str) -> None:
    open_view(page, base_url, "sizing?from=2025-10-26&to=2025-10-26&mw=50")
    assert page.inner_text("#scope-title") == "all wind"
    assert _card(page, "btc").endswith("BTC") and _card(page, "btc") != "—"
    assert _card(page, "revenue") == "Price missing"
    assert "no BTC/GBP price stored for 2025-10-26" in page.inner_text("#banners")


def test_phone_layout_fits(browser: Browser, base_url: str, lead: str) -> None:
    with checked_page(browser, base_url, PHONE, is_mobile=True, has_touch=True) as phone:
        open_view(phone, base_url, _view(lead, mw="20"))
        g = assert_fits(phone, "390 px /sizing")
        assert len(g["charts"]) == 3 and all(c["svgCount"] > 0 for c in g["charts"])
        shot(phone, "sizing-phone")
