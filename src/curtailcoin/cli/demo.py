"""``curtailcoin demo``: simulated data end to end, no network (``curtailcoin.demo``).

The order matters for "nothing written on bad input": every option is checked, and the
dashboard's port bound, before a server starts or a file is made. Ctrl-C (or SIGTERM) at any
point stops the web server and the test servers and removes the temporary directory (the
database too, unless it was given with ``--database``); the exit code is then 0.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer

from curtailcoin.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    engine_for,
    err_console,
    fail,
    settings_and_logging,
    whole_number,
)

if TYPE_CHECKING:
    from curtailcoin.config import Settings
    from curtailcoin.demo import DemoResult


def _database_path(text: str) -> Path:
    """A SQLite file to keep: its directory must exist; it may exist (an earlier demo's)."""
    path = Path(text).expanduser().resolve()
    if path.exists() and not path.is_file():
        fail(f"--database {text}: is not a file; give a SQLite file path")
    if not path.parent.is_dir():
        fail(f"--database {text}: directory {path.parent} does not exist")
    return path


def _listen(host: str, port: int) -> socket.socket:
    """The dashboard's socket, bound before anything else happens (port 0: any free port)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        fail(f"--host {host!r} is not an interface of this machine: {exc.strerror}")
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", EXIT_FAILED)
    return sock


def _interrupt(_sig: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def demo(
    days_text: str = typer.Option(
        "60", "--days", metavar="N", help="Settlement dates to simulate, ending today, 1..366."
    ),
    port_text: str = typer.Option(
        "8000", "--port", metavar="PORT", help="Dashboard port, 0..65535 (0: any free port)."
    ),
    database: str | None = typer.Option(
        None,
        "--database",
        metavar="PATH",
        help="Keep the simulated data in this SQLite file (default: a temporary file, removed "
        "on exit). Refused if it holds real data.",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface the dashboard listens on."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log each event to stderr."),
) -> None:
    """Try it with no internet: simulated data from local test servers, then the dashboard.

    Starts the project's Elexon, mempool.space and CoinGecko test servers in this process,
    backfills the last N days into a throwaway SQLite database flagged as simulated (with
    difficulty, prices and fees), serves the dashboard and prints its URL. Every page and API
    answer is labelled simulated. Ctrl-C stops everything (exit 0).
    """
    from curtailcoin.demo import MAX_DAYS

    days = whole_number(days_text, "--days", 1, MAX_DAYS)
    port = whole_number(port_text, "--port", 0, 65535)
    kept = _database_path(database) if database is not None else None
    sock = _listen(host, port)
    # Both signals stop the demo the same way, even where the shell started it with SIGINT
    # ignored (a background job).
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    workdir = Path(tempfile.mkdtemp(prefix="curtailcoin-demo-"))
    try:
        _run(days, kept or workdir / "demo.db", workdir, sock, host, verbose)
    except KeyboardInterrupt:
        err_console.print("demo stopped")
    finally:
        sock.close()
        shutil.rmtree(workdir, ignore_errors=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    raise typer.Exit(EXIT_OK)


def _run(
    days: int, path: Path, workdir: Path, sock: socket.socket, host: str, verbose: bool
) -> None:
    import asyncio

    from curtailcoin.config import get_settings
    from curtailcoin.demo import claim_database, demo_range, populate, running_servers
    from curtailcoin.pipeline import BadInput

    start, end = demo_range(days)
    with running_servers() as servers:
        os.environ.update(
            {
                **servers.env(),
                "CURTAILCOIN_DATABASE_URL": f"sqlite:///{path}",
                "CURTAILCOIN_CHECKPOINT_DIR": str(workdir / "checkpoints"),
            }
        )
        get_settings.cache_clear()
        settings = settings_and_logging(verbose, "demo")
        engine_for(settings)
        try:
            claim_database(settings)
        except BadInput as exc:
            fail(str(exc))
        err_console.print(
            f"simulating {days} settlement date(s), {start} .. {end}, from local test servers "
            f"(no network)",
            soft_wrap=True,
        )
        from curtailcoin.cli.worker import BackfillReporter

        reporter = BackfillReporter(days, interactive=err_console.is_terminal)
        with reporter:
            result = asyncio.run(populate(settings, start, end, on_date=reporter.update))
        _print_result(result, path)
        _serve(settings, sock, host)


def _print_result(result: DemoResult, path: Path) -> None:
    stats = result.backfill.stats
    err_console.print(
        f"stored {stats.done} date(s), {stats.records:,} curtailment records, "
        f"{result.fee_rows:,} fee rows in {path} (flagged: simulated data)",
        soft_wrap=True,
    )
    for problem in result.problems:
        err_console.print(f"[yellow]warning:[/] {problem}", soft_wrap=True)


def _serve(settings: Settings, sock: socket.socket, host: str) -> None:
    import uvicorn

    from curtailcoin.web import create_app

    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    # plain print, flushed: a script or a test reads the URL from a pipe
    print(f"CurtailCoin demo (SIMULATED DATA) on http://{shown}:{port}/", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    # In a thread uvicorn leaves the signals alone: Ctrl-C reaches this thread, which asks the
    # server to finish its requests and stop, then waits for it.
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="demo-web")
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.5)
    finally:
        server.should_exit = True
        thread.join()
