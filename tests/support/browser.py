"""Helpers of the browser tests: the app under uvicorn, Debian's Chromium via Playwright, a page
that records console errors and every request (the dashboard must work offline), and the
fixtures the dashboard modules share (``seeded_ui``, ``base_url``, ``browser``, ``page``: a module
imports them by name and may define its own ``seeded_ui``).

Never downloads a browser: ``/usr/bin/chromium`` must be installed.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported where used: tests/conftest.py loads this module in every run
    from playwright.sync_api import Browser, Page

    from curtailcoin.config import Settings
    from support.api import Seeded

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
READY = "body[data-ready='1']"
SHARE_READY = "#share-panel[data-ready='1']"  # the curtailment-share view (share.js)
DESKTOP = {"width": 1440, "height": 1000}
PHONE = {"width": 390, "height": 844}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """The application under uvicorn on a free port; yields its base URL."""
    import uvicorn

    from curtailcoin.web import create_app

    port = _free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Start the server first: Playwright's sync API keeps an event loop running."""
    assert Path(CHROMIUM).exists(), "Debian's chromium is required (apt-get install chromium)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@contextmanager
def checked_page(
    browser: Browser, base_url: str, viewport: dict[str, int] | None = None, **options: object
) -> Iterator[Page]:
    """A page in a fresh context; fails on a console error or a request leaving ``base_url``."""
    context = browser.new_context(viewport=viewport or DESKTOP, accept_downloads=True, **options)  # type: ignore[arg-type]
    pg = context.new_page()
    problems: list[str] = []
    requests: list[str] = []
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.on("request", lambda r: requests.append(r.url))
    yield pg
    context.close()
    assert problems == [], problems
    outside = [u for u in requests if not u.startswith(base_url) and not u.startswith("data:")]
    assert outside == [], f"the pages must work offline; they requested {outside}"


def open_view(page: Page, base_url: str, query: str) -> float:
    """Open the dashboard at ``query`` and wait for its render; the seconds it took."""
    started = time.perf_counter()
    page.goto(f"{base_url}/{query}")
    page.wait_for_selector(READY, state="attached", timeout=30_000)
    elapsed = time.perf_counter() - started
    if page.locator("#share-panel").count():  # the dashboard's share view makes its own requests
        page.wait_for_selector(SHARE_READY, state="attached", timeout=30_000)
    return elapsed


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


# --- the fixtures of the dashboard modules ------------------------------------------------------


@pytest.fixture(scope="module")
def seeded_ui(sqlite_database: str) -> Seeded:
    """The seeded database the module's dashboard serves (a module may seed its own)."""
    from support.api import seed_database

    return seed_database(sqlite_database)


@pytest.fixture(scope="module")
def base_url(seeded_ui: Seeded) -> Iterator[str]:
    with serve(seeded_ui.settings) as url:
        yield url


@pytest.fixture(scope="module")
def browser(base_url: str) -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    with checked_page(browser, base_url) as pg:
        yield pg
