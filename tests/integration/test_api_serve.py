"""``curtailcoin serve`` runs the application on the configured database."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx
import pytest

from support.entrypoint import CURTAILCOIN

CLI = CURTAILCOIN


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_command_answers_health_docs_and_dashboard(env: dict[str, str]) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [CLI, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()
            try:
                health = httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "curtailcoin serve did not start"
                time.sleep(0.2)
        assert health.json()["status"] == "ok" and health.json()["database"] == "ok"
        assert "CurtailCoin" in httpx.get(f"{base}/", timeout=5).text
        assert httpx.get(f"{base}/openapi.json", timeout=5).json()["info"]["title"]
        plotly = httpx.get(f"{base}/vendor/plotly.min.js", timeout=10)
        assert plotly.status_code == 200 and b"plotly.js" in plotly.content[:200]
        assert httpx.post(f"{base}/api/ingest/2025-01-17", timeout=5).status_code == 403
        # The API docs work offline: Swagger UI comes from the installed package, no CDN.
        docs = httpx.get(f"{base}/docs", timeout=5).text
        assert "/vendor/swagger-ui/swagger-ui-bundle.js" in docs
        assert "cdn." not in docs and "https://" not in docs
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
            assert httpx.get(f"{base}/vendor/swagger-ui/{asset}", timeout=5).status_code == 200
    finally:
        process.terminate()
        process.wait(10)
