"""The dashboard's layout in a browser page: boxes measured by ``fixtures/layout_geometry.js``.

Shared by the phone, desktop and print tests of the dashboard and of the sizing page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

SLACK_PX = 0.5  # sub-pixel rounding of bounding boxes

_GEOMETRY_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "layout_geometry.js"
GEOMETRY_JS = "\n".join(
    line
    for line in _GEOMETRY_FILE.read_text(encoding="utf-8").splitlines()
    if not line.startswith("//")
)


def inside(inner: list[float], outer: list[float]) -> bool:
    return (
        inner[0] >= outer[0] - SLACK_PX
        and inner[1] >= outer[1] - SLACK_PX
        and inner[2] <= outer[2] + SLACK_PX
        and inner[3] <= outer[3] + SLACK_PX
    )


def intersect(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def geometry(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(GEOMETRY_JS)
    return result


def assert_fits(page: Page, what: str, *, printing: bool = False) -> dict[str, Any]:
    """The layout assertions every width shares; the geometry, for more specific checks."""
    g = geometry(page)
    assert g["scrollWidth"] <= g["innerWidth"], f"{what}: page scrolls sideways: {g['scrollWidth']}"
    for chart in g["charts"]:
        for name, part in chart["parts"]:
            where = f"{what}: {chart['id']} {name} {part} outside {chart['card']}"
            assert inside(part, chart["card"]), where
    for card in g["cards"]:
        assert card["overflow"] <= 0, f"{what}: {card['id']}'s figure overflows its box"
        assert inside(card["text"], card["card"]), f"{what}: {card['id']}'s figure leaves its card"
    for table in g["tables"]:
        if printing:  # paper does not scroll: the table must fit
            assert not table["scrolls"], f"{what}: a table is wider than its card"
        else:
            assert table["overflowX"] == "auto", f"{what}: a table does not scroll inside its card"
        assert inside(table["wrap"], table["card"]), f"{what}: a table leaves its card"
    return g
