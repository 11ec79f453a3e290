"""The methodology page (``/about``): served from the installed package, linked from the
dashboard, showing the formula's constants as ``curtailcoin.mining`` defines them, every asset
local. Its layout on a phone and in print is checked in ``test_dashboard_phone.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from curtailcoin import mining
from curtailcoin.halvings import load_packaged_halvings
from curtailcoin.web import create_app
from support.api import make_settings


class _Refs(HTMLParser):
    """Every ``href`` and ``src`` of a page, by tag."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        elif tag in ("link", "script", "img", "iframe", "source") and (
            values.get("href") or values.get("src")
        ):
            self.assets.append(values.get("href") or values.get("src") or "")


def _refs(html: str) -> _Refs:
    parser = _Refs()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def client(sqlite_database: str) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(sqlite_database))) as c:
        yield c


def _constants() -> dict[str, float]:
    """The formula's constants, read from the module that computes with them."""
    return {k: v for k, v in vars(mining).items() if k.isupper() and isinstance(v, float)}


def test_about_renders_with_security_headers(client: TestClient) -> None:
    response = client.get("/about")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    text = response.text
    for heading in ("Sources", "The Bitcoin formula", "Signs", "SO-flagged bids and all wind bids"):
        assert heading in text
    for source in ("Elexon Insights", "/reference/bmunits/all", "mempool.space", "CoinGecko"):
        assert source in text


def test_about_shows_the_formula_constants_of_mining(client: TestClient) -> None:
    text = client.get("/about").text
    constants = _constants()
    assert constants, "mining.py defines the formula's constants"
    for name, value in constants.items():
        assert name in text, name
        assert f"{value:,.0f}" in text, f"{name} = {value:,.0f} is not on the page"
    formula = re.search(r'<pre class="formula">(.*?)</pre>', text, re.S)
    assert formula is not None
    # The operation order of mining._btc, with every constant by name.
    assert formula.group(1).splitlines()[0] == (
        "BTC = E × JOULES_PER_MWH / P × H × HASHES_PER_TH / (D × HASHES_PER_DIFFICULTY) × R"
    )
    energy, power, hashrate, difficulty, subsidy = 1.0, 3050.0, 100.0, 1.1e14, 3.125
    by_name = (
        energy
        * constants["JOULES_PER_MWH"]
        / power
        * hashrate
        * constants["HASHES_PER_TH"]
        / (difficulty * constants["HASHES_PER_DIFFICULTY"])
        * subsidy
    )
    assert by_name == mining.btc(energy, hashrate, power, difficulty, subsidy)


def test_about_lists_the_subsidy_schedule_and_published_figures(client: TestClient) -> None:
    text = client.get("/about").text
    for halving in load_packaged_halvings():
        assert f"{halving.height:,}" in text
        assert f"<td>{halving.subsidy_after_btc}</td>" in text
    # Published figures with their sources (SPEC §10, research notes §3, reference/elexon).
    for figure in (
        "8.3 TWh",
        "£393m",
        "6,143 GWh",
        "£169.0m",
        "6,155 GWh",
        "£176.5m",
        "61,591 MWh",
    ):
        assert figure in text, figure
    for source in ("REF", "wastedwind.energy", "RafiHowlader2004/uk-wind-curtailment"):
        assert source in text


def test_about_links_resolve_and_assets_are_local(client: TestClient) -> None:
    page = _refs(client.get("/about").text)
    assert page.assets and all(a.startswith("/") and not a.startswith("//") for a in page.assets)
    local = [link for link in page.links if link.startswith("/") and not link.startswith("//")]
    assert "/" in local and "/docs" in local
    assert all(not link.startswith("http") for link in page.links), "no link leaves the app"
    for link in set(local) | set(page.assets):
        assert client.get(link).status_code == 200, link
    ids = set(re.findall(r'id="([^"]+)"', client.get("/about").text))
    assert {link[1:] for link in page.links if link.startswith("#")} <= ids


def test_dashboard_header_links_to_about(client: TestClient) -> None:
    page = _refs(client.get("/").text)
    assert "/about" in page.links
    assert all(a.startswith("/") for a in page.assets)
