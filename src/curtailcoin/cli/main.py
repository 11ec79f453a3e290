"""Entry point: ``curtailcoin <command>``."""

from __future__ import annotations

import typer

from curtailcoin.cli import db, models, refs
from curtailcoin.cli import prices as prices_cli
from curtailcoin.cli import reconcile as reconcile_cli
from curtailcoin.cli import testserver as testserver_cli
from curtailcoin.cli.reingest import reingest
from curtailcoin.cli.serve import serve
from curtailcoin.cli.worker import backfill_command, jobs_app, worker

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


def main() -> None:
    app()
