"""``curtailcoin demo`` end to end through the installed entry point, and the simulated-data
guard: the label on every answer, the refusal of real data into a demo database, the offline
line that names the demo."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from curtailcoin.db.curtailment_tables import settlement_periods
from curtailcoin.db.engine import get_engine
from curtailcoin.settlement import settlement_today
from curtailcoin.simulated import is_local_url, is_simulated, mark_simulated
from support.entrypoint import CURTAILCOIN
from support.synthetic import generate


def _demo_env(tmp_path: Path) -> dict[str, str]:
    """No source is reachable: the demo must need none of them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CURTAILCOIN_")}
    env.update(
        {
            "CURTAILCOIN_ELEXON_BASE_URL": "http://curtailcoin-offline.invalid/bmrs/api/v1",
            "CURTAILCOIN_MEMPOOL_BASE_URL": "http://curtailcoin-offline.invalid/api",
            "CURTAILCOIN_COINGECKO_BASE_URL": "http://curtailcoin-offline.invalid/api/v3",
            "CURTAILCOIN_CONFIG_FILE": str(tmp_path / "none.toml"),
            "TMPDIR": str(tmp_path),
        }
    )
    return env


class Demo:
    """A running ``curtailcoin demo``: its process, URL and everything it printed."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [CURTAILCOIN, "demo", *args],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr: list[str] = []
        self._err = threading.Thread(target=self._drain, daemon=True)
        self._err.start()
        self.url = ""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # ends when the process exits without a URL
            found = re.search(r"http://\S+/", line)
            if found:
                self.url = found.group(0)
                break

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        self.stderr.extend(self.proc.stderr)

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=60)
        self._err.join(10)
        return code


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(["--days", "3", "--port", "0"], _demo_env(tmp_path), tmp_path)
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait(10)


@pytest.mark.slow
@pytest.mark.browser  # the dashboard of the demo, in Chromium
def test_demo_end_to_end(demo: Demo, tmp_path: Path) -> None:
    assert demo.url, "".join(demo.stderr)
    health = httpx.get(demo.url + "health", timeout=10)
    assert health.headers["x-curtailcoin-data"] == "simulated"
    assert health.json()["simulatedData"] is True
    data_range = httpx.get(demo.url + "api/data-range", timeout=10)
    body = data_range.json()
    assert data_range.headers["x-curtailcoin-data"] == "simulated" and body["simulatedData"]
    today = settlement_today()
    assert body["firstDate"] == (today - timedelta(days=2)).isoformat()
    assert body["lastDate"] == today.isoformat()
    # yesterday: complete, every figure there, none pending, valued at its own price
    day = (today - timedelta(days=1)).isoformat()
    mined = httpx.get(demo.url + f"api/mining-potential/daily/{day}", timeout=10)
    figures = mined.json()
    assert mined.headers["x-curtailcoin-data"] == "simulated"
    assert figures["dataStatus"]["state"] == "complete"
    assert figures["dataStatus"]["pendingPeriods"] == 0
    assert figures["curtailedEnergy"] > 0 and figures["bitcoinMined"] > 0
    for currency in ("GBP", "USD"):
        value = figures["value"][currency]["atDatePrice"]
        assert value["missingReason"] is None and value["amount"] > 0
    csv = httpx.get(demo.url + f"api/mining-potential/daily/{day}?format=csv", timeout=10)
    assert csv.headers["x-curtailcoin-data"] == "simulated"
    for page in ("", "about", "docs"):
        html = httpx.get(demo.url + page, timeout=10)
        assert html.headers["x-curtailcoin-data"] == "simulated"
        assert "SIMULATED DATA" in html.text and 'data-simulated="1"' in html.text
        assert "Price missing" not in html.text
    _dashboard_shows_every_figure(demo.url.rstrip("/"), day)
    workdirs = list(tmp_path.glob("curtailcoin-demo-*"))
    assert len(workdirs) == 1 and (workdirs[0] / "demo.db").is_file()
    assert demo.interrupt() == 0, "".join(demo.stderr)
    assert not any("Traceback" in line for line in demo.stderr), "".join(demo.stderr)
    assert not list(tmp_path.glob("curtailcoin-demo-*"))  # the throwaway database is gone


def _dashboard_shows_every_figure(base_url: str, day: str) -> None:
    """The dashboard in Chromium: the banner, and the day's cards with figures, none missing."""
    from support.browser import checked_page, chromium, open_view, shot

    with chromium() as browser, checked_page(browser, base_url) as page:
        open_view(page, base_url, f"?timeframe=day&date={day}")
        assert page.is_visible(".simulated-banner")
        assert "SIMULATED DATA" in page.inner_text(".simulated-banner")
        for card in ("energy", "btc", "value", "ratio"):
            text = page.inner_text(f"#card-{card} [data-k='value']")
            assert text not in ("", "—") and "missing" not in text.lower(), (card, text)
        assert page.inner_text("#card-value [data-k='value']").startswith("£")
        assert "Price missing" not in page.inner_text("body")
        shot(page, "demo-day")


@pytest.mark.slow
def test_demo_keeps_the_given_database_and_refuses_real_writes(tmp_path: Path) -> None:
    path = tmp_path / "kept.db"
    env = _demo_env(tmp_path)
    running = Demo(["--days", "1", "--port", "0", "--database", str(path)], env, tmp_path)
    try:
        assert running.url, "".join(running.stderr)
        assert running.interrupt() == 0
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
    assert path.is_file()
    engine = get_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert is_simulated(conn)
        before = conn.execute(select(func.count()).select_from(settlement_periods)).scalar_one()
    real = {
        **env,
        "CURTAILCOIN_DATABASE_URL": f"sqlite:///{path}",
        "CURTAILCOIN_ELEXON_BASE_URL": "https://data.elexon.co.uk/bmrs/api/v1",
        "CURTAILCOIN_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
    }
    day = settlement_today().isoformat()
    for args in (["reingest", day], ["backfill", day, day], ["worker", "--burst"]):
        done = subprocess.run(
            [CURTAILCOIN, *args], env=real, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        (line,) = done.stderr.splitlines()
        assert line.startswith("error: the database holds simulated data") and "--force" in line
    with engine.connect() as conn:
        after = conn.execute(select(func.count()).select_from(settlement_periods)).scalar_one()
    assert after == before


@pytest.mark.slow
def test_demo_refuses_a_database_with_real_data(tmp_path: Path) -> None:
    path = tmp_path / "real.db"
    real = get_engine(f"sqlite:///{path}")
    yesterday = settlement_today() - timedelta(days=1)
    generate(real, yesterday, yesterday, ["S19J_PRO"])
    done = subprocess.run(
        [CURTAILCOIN, "demo", "--days", "1", "--port", "0", "--database", str(path)],
        env=_demo_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert "holds real data" in line and "--database" in line
    with real.connect() as conn:
        assert not is_simulated(conn)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "0"], "--days 0 is not allowed: use 1..366"),
        (["--days", "x"], "invalid --days 'x'"),
        (["--port", "70000"], "--port 70000 is not allowed: use 0..65535"),
        (["--database", "/no/such/dir/demo.db"], "directory /no/such/dir does not exist"),
        (["--host", "no-such-host.invalid"], "--host 'no-such-host.invalid' is not an interface"),
    ],
)
@pytest.mark.slow
def test_demo_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    done = subprocess.run(
        [CURTAILCOIN, "demo", *args],
        env=_demo_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: ") and message in line
    assert not list(tmp_path.glob("curtailcoin-demo-*"))


@pytest.mark.db
@pytest.mark.slow
def test_force_writes_into_a_demo_database_and_local_test_servers_may(
    source_env: dict[str, str], engine: Engine
) -> None:
    """The refusal is for a non-local Elexon only; --force overrides it."""
    with engine.begin() as conn:
        mark_simulated(conn, "test")
    day = (settlement_today() - timedelta(days=400)).isoformat()
    local = subprocess.run(
        [CURTAILCOIN, "reingest", day, "--skip-verify"],
        env=source_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert local.returncode == 0, local.stderr
    refused = {**source_env, "CURTAILCOIN_ELEXON_BASE_URL": "http://curtailcoin-offline.invalid/x"}
    done = subprocess.run(
        [CURTAILCOIN, "reingest", day], env=refused, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "simulated data" in done.stderr
    forced = subprocess.run(
        [CURTAILCOIN, "reingest", day, "--force"],
        env=refused,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # past the guard: the (unreachable) source is what stops it now, with the demo hint
    assert forced.returncode == 1, forced.stderr
    assert "does not resolve" in forced.stderr and "try `curtailcoin demo`" in forced.stderr


def test_local_urls() -> None:
    assert is_local_url("http://127.0.0.1:8081/bmrs/api/v1")
    assert is_local_url("http://localhost:1/x") and is_local_url("http://[::1]:5/x")
    assert not is_local_url("https://data.elexon.co.uk/bmrs/api/v1")
    assert not is_local_url("http://10.0.0.1/x")


@pytest.mark.slow
def test_offline_line_names_the_demo(tmp_path: Path) -> None:
    env = {
        **_demo_env(tmp_path),
        "CURTAILCOIN_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "CURTAILCOIN_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
    }
    day = (settlement_today() - timedelta(days=10)).isoformat()
    commands = (
        ["reingest", day],
        ["backfill", day, day],
        ["bmunits", "refresh"],
        ["difficulty", "refresh"],
        ["prices", "update", "--from", day, "--to", day],
        ["fees", "update"],
    )
    for args in commands:
        done = subprocess.run(
            [CURTAILCOIN, *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 1, (args, done.stderr)
        errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1, done.stderr
        assert "curtailcoin-offline.invalid" in errors[0]
        assert errors[0].endswith("no internet? try `curtailcoin demo`"), errors[0]


@pytest.mark.db
def test_api_of_a_demo_database(database_url: str, engine: Engine) -> None:
    """Header and flag on every answer; POST /api/ingest refuses a non-local Elexon (409)."""
    from fastapi.testclient import TestClient

    from curtailcoin.config import Settings
    from curtailcoin.web import create_app

    plain = Settings(database_url=database_url, api_token="t")
    with TestClient(create_app(plain)) as client:
        health = client.get("/health")
        assert "x-curtailcoin-data" not in health.headers
        assert health.json()["simulatedData"] is False
    with engine.begin() as conn:
        mark_simulated(conn, "test")
    real = Settings(
        database_url=database_url,
        api_token="t",
        elexon_base_url="https://data.elexon.co.uk/bmrs/api/v1",
    )
    with TestClient(create_app(real)) as client:
        for path in ("/health", "/api/data-range", "/api/prices?format=csv", "/", "/about"):
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert answer.headers["x-curtailcoin-data"] == "simulated", path
        assert client.get("/api/data-range").json()["simulatedData"] is True
        day = (settlement_today() - timedelta(days=3)).isoformat()
        refused = client.post(f"/api/ingest/{day}", headers={"Authorization": "Bearer t"})
        assert refused.status_code == 409 and "simulated data" in refused.json()["error"]
        assert "x-curtailcoin-data" in refused.headers
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(settlement_periods)).scalar_one() == 0
