"""Entry point: ``curtailcoin <command>``.

``main`` is the one place that turns what reaches the top into an exit code: click usage
errors (unknown option, missing argument, bad parameter) and a database that cannot be reached
become one ``error:`` line on stderr and exit code 2 instead of Typer's boxed panel or a
traceback; a source host that cannot be reached at all is one line and exit code 1; ``--help``
and the commands' own exit codes are unchanged.
"""

from __future__ import annotations

import sys

import psycopg
import typer
from sqlalchemy.exc import OperationalError

from curtailcoin.cli import db, models, refs
from curtailcoin.cli import prices as prices_cli
from curtailcoin.cli import reconcile as reconcile_cli
from curtailcoin.cli import testserver as testserver_cli
from curtailcoin.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, unreachable_database
from curtailcoin.cli.reingest import reingest
from curtailcoin.cli.serve import serve
from curtailcoin.cli.worker import backfill_command, jobs_app, worker
from curtailcoin.errors import UnreachableSourceError

app = typer.Typer(
    name="curtailcoin",
    help="How much Bitcoin could have been mined with GB wind energy that was curtailed.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("reingest")(reingest)
app.add_typer(db.app, name="db")
app.add_typer(models.app, name="models")
app.add_typer(refs.bmunits_app, name="bmunits")
app.add_typer(refs.difficulty_app, name="difficulty")
app.command("serve")(serve)
app.add_typer(prices_cli.app, name="prices")
app.command("worker")(worker)
app.add_typer(jobs_app, name="jobs")
app.command("backfill")(backfill_command)
app.add_typer(testserver_cli.app, name="testserver")
app.add_typer(reconcile_cli.app, name="reconcile")


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
    except (OperationalError, psycopg.OperationalError) as exc:
        unreachable = unreachable_database(exc)
        if unreachable is None:
            raise
        return _error(unreachable, EXIT_BAD_INPUT)
    return code if isinstance(code, int) else 0


def main() -> None:
    sys.exit(run())
