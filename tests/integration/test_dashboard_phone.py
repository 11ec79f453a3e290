"""The dashboard and the methodology page on a phone (390×844), on a desktop, and in print.

Geometry is read from the live layout in headless Chromium: the page never scrolls sideways,
every chart's SVG (and its legend and axis labels) stays inside its card, no card figure runs
out of its card, Plotly's mode bar never covers a legend, tables scroll inside their card, and
print media hides the controls. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from support.browser import (
    ARTIFACTS,
    DESKTOP,
    PHONE,
    READY,
    checked_page,
    open_view,
    shot,
)
from support.layout import assert_fits, geometry, intersect

pytestmark = pytest.mark.browser

VIEWS = [
    "?timeframe=day&date=2025-01-17",
    "?timeframe=month&date=2025-01",
    "?timeframe=year&date=2025",
]


@pytest.fixture
def phone(browser: Browser, base_url: str) -> Iterator[Page]:
    with checked_page(browser, base_url, PHONE, is_mobile=True, has_touch=True) as pg:
        yield pg


@pytest.fixture
def desktop(browser: Browser, base_url: str) -> Iterator[Page]:
    with checked_page(browser, base_url, DESKTOP) as pg:
        yield pg


def _assert_modebar_clear(page: Page, what: str) -> None:
    """Hover each chart (the mode bar shows on hover) and check it misses the legend."""
    for chart_id in ("chart-main", "chart-top", "chart-rate"):
        page.hover(f"#{chart_id}", position={"x": 20, "y": 20})
        chart = next(c for c in geometry(page)["charts"] if c["id"] == chart_id)
        assert chart["svgCount"] > 0, f"{what}: {chart_id} not drawn"
        if chart["modebar"] and chart["legend"]:
            assert not intersect(chart["modebar"], chart["legend"]), (
                f"{what}: {chart_id}: mode bar {chart['modebar']} covers legend {chart['legend']}"
            )


@pytest.mark.parametrize("query", VIEWS)
def test_phone_layout_fits(phone: Page, base_url: str, query: str) -> None:
    open_view(phone, base_url, query)
    g = assert_fits(phone, f"390 px {query}")
    assert len(g["charts"]) == 4 and all(c["svgCount"] > 0 for c in g["charts"])
    # The farm table is wider than a phone: it scrolls inside its card, the page does not.
    assert g["tables"] and g["tables"][0]["scrolls"]
    _assert_modebar_clear(phone, f"390 px {query}")
    shot(phone, f"phone-{query.split('&')[0].split('=')[1]}")


def test_phone_card_figures_wrap_or_scale(phone: Page, base_url: str) -> None:
    open_view(phone, base_url, VIEWS[0])
    # The widest figures the formatters produce (a year of GB curtailment, a payment in £).
    phone.evaluate(
        """() => {
      document.querySelector("#card-energy .card-value").textContent = "8,300,000 MWh";
      document.querySelector("#card-payment .card-value").textContent = "630,662 MWh";
      document.querySelector("#card-btc .card-value").textContent = "1,234.5 BTC";
      document.querySelector("#card-value .card-value").textContent = "−£999.9k";
    }"""
    )
    assert_fits(phone, "390 px, widest figures")


def test_rotation_and_desktop_resize_keep_charts_in_cards(desktop: Page, base_url: str) -> None:
    open_view(desktop, base_url, VIEWS[0])
    g = assert_fits(desktop, "1440 px")
    assert all(c["legend"] is not None for c in g["charts"])
    _assert_modebar_clear(desktop, "1440 px")
    # The same page narrowed to a phone and widened again: charts follow their containers.
    for width, height in ((390, 844), (844, 390), (1440, 1000)):
        desktop.set_viewport_size({"width": width, "height": height})
        desktop.wait_for_timeout(400)  # a resize is applied on the next animation frame
        assert_fits(desktop, f"resized to {width} px")
        _assert_modebar_clear(desktop, f"resized to {width} px")


def test_print_hides_controls_and_fits_the_page(desktop: Page, base_url: str) -> None:
    open_view(desktop, base_url, VIEWS[0])
    desktop.emulate_media(media="print")
    desktop.wait_for_timeout(400)
    for selector in (".filters", "#csv-download", "#main-csv", ".ghost-link", "#table-filter"):
        assert not desktop.is_visible(selector), f"{selector} is shown in print"
    g = assert_fits(desktop, "print", printing=True)
    body_width = desktop.evaluate("document.querySelector('main').clientWidth")
    panels = desktop.evaluate(
        "[...document.querySelectorAll('.charts .panel, .table-panel')]"
        ".map((p) => p.getBoundingClientRect().width)"
    )
    assert all(w >= body_width - 1 for w in panels), "charts and tables print full width"
    style = "(s) => { const c = getComputedStyle(document.querySelector(s));"
    style += " return [c.backgroundColor, c.color, c.breakBefore]; }"
    assert desktop.evaluate(style, "body")[:2] == ["rgb(255, 255, 255)", "rgb(0, 0, 0)"]
    assert desktop.evaluate(style, "#charts")[2] == "page"
    assert len(g["charts"]) == 4
    shot(desktop, "dashboard-print")
    desktop.pdf(path=str(ARTIFACTS / "dashboard-print.pdf"))


def test_dashboard_links_the_methodology_page(desktop: Page, base_url: str) -> None:
    open_view(desktop, base_url, VIEWS[0])
    desktop.click("#about-link")
    desktop.wait_for_selector("#formula", timeout=30_000)
    assert desktop.url == f"{base_url}/about"
    desktop.click("#dashboard-link")
    desktop.wait_for_selector(READY, state="attached", timeout=30_000)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_about_page_fits_and_prints(
    browser: Browser, base_url: str, viewport: dict[str, int]
) -> None:
    with checked_page(browser, base_url, viewport) as pg:
        pg.goto(f"{base_url}/about")
        g = assert_fits(pg, f"/about at {viewport['width']} px")
        assert len(g["tables"]) >= 3
        formula = pg.evaluate(
            "(() => { const f = document.querySelector('.formula');"
            " const p = f.closest('.panel').getBoundingClientRect();"
            " const r = f.getBoundingClientRect();"
            " return r.right <= p.right + 0.5 && getComputedStyle(f).overflowX === 'auto'; })()"
        )
        assert formula, "the formula scrolls inside its card"
        shot(pg, f"about-{viewport['width']}")
        pg.emulate_media(media="print")
        assert not pg.is_visible(".ghost-link") and not pg.is_visible(".toc")
        assert_fits(pg, "/about in print", printing=True)
