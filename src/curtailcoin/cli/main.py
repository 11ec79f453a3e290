"""Entry point: ``curtailcoin <command>``.

``main`` is the one place that turns what reaches the top into an exit code: click usage
errors (unknown option, missing argument, bad parameter) and a database that cannot be reached
become one ``error:`` line on stderr and exit code 2 instead of Typer's boxed panel or a
traceback; a source host that cannot be reached at all is one line and exit code 1; ``--help``
and the commands' own exit codes are unchanged.
"""

from __future__ import annotations

import sys

import typer

from curtailcoin.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, unreachable_database
from curtailcoin.cli.lazy import LazyGroup
from curtailcoin.errors import UnreachableSourceError

app = typer.Typer(
    name="curtailcoin",
    cls=LazyGroup,  # the commands (cli.lazy.COMMANDS) are imported when they run
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root() -> None:
    """How much Bitcoin could have been mined with GB wind energy that was curtailed."""


def _error(message: str, code: int) -> int:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return code


def run(args: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (one line on stderr for every usage error)."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="curtailcoin", standalone_mode=False)
    except typer.TyperException as exc:  # click's usage errors (Typer's vendored click)
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help is already printed
            return EXIT_BAD_INPUT
        message = exc.format_message().strip().rstrip(".")
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            message += f"; see '{ctx.command_path} --help'"
        return _error(message, getattr(exc, "exit_code", EXIT_BAD_INPUT))
    except typer.Abort:
        return _error("aborted", EXIT_FAILED)
    except UnreachableSourceError as exc:  # offline, or a wrong base URL: nothing was written
        return _error(str(exc), EXIT_FAILED)
    except Exception as exc:  # a database that cannot be reached, from any command
        unreachable = unreachable_database(exc)
        if unreachable is None:
            raise
        return _error(unreachable, EXIT_BAD_INPUT)
    return code if isinstance(code, int) else 0


def main() -> None:
    leave(run())


def leave(code: int) -> None:
    """Exit with ``code`` without the interpreter's teardown when nothing else runs.

    Tearing down the modules of a command that fetched and wrote (SQLAlchemy, httpx, pydantic,
    the date's objects) costs 0.1-0.5 s after the work is done. When the main thread is the only
    one left, the exit handlers run (logging's flush among them), the database engines close
    their connections (SQLite checkpoints its WAL), the output is flushed, and the process ends
    at once. Otherwise (a thread still running) the usual exit waits for it.
    """
    import threading

    if threading.active_count() > 1:
        sys.exit(code)
    import atexit
    import os

    atexit._run_exitfuncs()
    engine = sys.modules.get("curtailcoin.db.engine")
    if engine is not None:
        engine.dispose_all()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a closed pipe: the usual exit reports it
        sys.exit(code)
    os._exit(code)
