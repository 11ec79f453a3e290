"""``curtailcoin serve``: the dashboard and JSON API (FastAPI under uvicorn)."""

from __future__ import annotations

import typer

from curtailcoin.cli.common import EXIT_FAILED, console, engine_for, fail, settings_and_logging


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes."),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the dashboard at / and the JSON API (OpenAPI docs at /docs)."""
    import uvicorn

    settings = settings_and_logging(run_name="serve")
    engine_for(settings)  # migrate and check the database before listening
    if log_level.lower() not in {"critical", "error", "warning", "info", "debug", "trace"}:
        fail(f"invalid --log-level {log_level!r}: allowed critical, error, warning, info, debug")
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
