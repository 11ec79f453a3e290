"""``curtailcoin serve``: the dashboard and JSON API (FastAPI under uvicorn)."""

from __future__ import annotations

import typer

from curtailcoin.cli.common import (
    EXIT_FAILED,
    console,
    engine_for,
    fail,
    settings_and_logging,
    whole_number,
)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port_text: str = typer.Option("8000", "--port", metavar="PORT", help="TCP port, 1..65535."),
    workers_text: str = typer.Option(
        "1", "--workers", metavar="N", help="Worker processes, 1..64."
    ),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the dashboard at / and the JSON API (OpenAPI docs at /docs)."""
    import uvicorn

    settings = settings_and_logging(run_name="serve")
    port = whole_number(port_text, "--port", 1, 65535)
    workers = whole_number(workers_text, "--workers", 1, 64)
    if log_level.lower() not in {"critical", "error", "warning", "info", "debug", "trace"}:
        fail(f"invalid --log-level {log_level!r}: allowed critical, error, warning, info, debug")
    engine_for(settings)  # migrate and check the database before listening
    console.print(
        f"CurtailCoin dashboard on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)"
    )
    try:
        if workers > 1:
            uvicorn.run(
                "curtailcoin.web.app:create_app",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level=log_level.lower(),
            )
        else:
            from curtailcoin.web import create_app

            uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level.lower())
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", EXIT_FAILED)
