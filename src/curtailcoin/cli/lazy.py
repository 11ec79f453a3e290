"""Commands loaded when they run: ``curtailcoin --help`` imports none of them.

Importing every command module up front costs about a second (procrastinate, FastAPI,
SQLAlchemy, Alembic, rich tables) before the simplest command can answer. The root group knows
each command by name, where it lives and its one-line help; the module is imported only when
the command is resolved to run (or to print its own ``--help``). A test checks that each line
here equals the loaded command's own short help.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

import typer
import typer.core
import typer.main


@dataclass(frozen=True)
class LazyCommand:
    """``module:attribute`` of a command function or a Typer sub-app, and its short help."""

    target: str
    help: str

    def load(self, name: str) -> Any:
        module, _, attribute = self.target.partition(":")
        obj = getattr(import_module(module), attribute)
        parent = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        if isinstance(obj, typer.Typer):  # a group, even with one command (as add_typer makes)
            parent.add_typer(obj, name=name)
        else:
            parent.command(name)(obj)
            parent.callback()(lambda: None)  # two levels, so the command keeps its own name
        return typer.main.get_command(parent).commands[name]  # type: ignore[attr-defined]


COMMANDS: dict[str, LazyCommand] = {
    "reingest": LazyCommand(
        "curtailcoin.cli.reingest:reingest",
        "Reingest one settlement date from Elexon and recompute its Bitcoin potential.",
    ),
    "serve": LazyCommand(
        "curtailcoin.cli.serve:serve",
        "Serve the dashboard at / and the JSON API (OpenAPI docs at /docs).",
    ),
    "worker": LazyCommand(
        "curtailcoin.cli.worker:worker",
        "Run the schedule and the queued dates until SIGTERM/SIGINT.",
    ),
    "backfill": LazyCommand(
        "curtailcoin.cli.worker:backfill_command",
        "Reingest and calculate every date from START to END, resumably.",
    ),
    "demo": LazyCommand(
        "curtailcoin.cli.demo:demo",
        "Try it with no internet: simulated data from local test servers, then the dashboard.",
    ),
    "db": LazyCommand("curtailcoin.cli.db:app", "Database migrations."),
    "models": LazyCommand(
        "curtailcoin.cli.models:app", "Miner models: the shipped catalogue and your own."
    ),
    "bmunits": LazyCommand("curtailcoin.cli.refs:bmunits_app", "The BM unit registry."),
    "difficulty": LazyCommand("curtailcoin.cli.refs:difficulty_app", "Bitcoin difficulty epochs."),
    "prices": LazyCommand(
        "curtailcoin.cli.prices:app", "BTC prices (GBP, USD) per day, cached in the database."
    ),
    "fees": LazyCommand(
        "curtailcoin.cli.fees:app",
        "Transaction fees per block (mempool.space, CSV) and hashprice per day.",
    ),
    "jobs": LazyCommand(
        "curtailcoin.cli.worker:jobs_app", "The task queue and the worker's schedule."
    ),
    "testserver": LazyCommand(
        "curtailcoin.cli.testserver:app",
        "Run local test servers that speak the Elexon Insights, mempool.space and CoinGecko "
        "formats, with deterministic data and injectable faults (see docs/testservers.md).",
    ),
    "scenario": LazyCommand(
        "curtailcoin.cli.scenario:scenario",
        "A fleet of miners at a site, run only when it was curtailed: energy, BTC, £, payback.",
    ),
    "reconcile": LazyCommand(
        "curtailcoin.cli.reconcile:app",
        "Reconciliation: find and fix incomplete, missing, stale and drifted data.",
    ),
    "share": LazyCommand(
        "curtailcoin.cli.share:share",
        "Curtailment share: curtailed ÷ (wind generated + curtailed), national or per farm.",
    ),
    "export": LazyCommand(
        "curtailcoin.cli.export:app",
        "Export a table of any date range to CSV or Parquet, streamed.",
    ),
}


class LazyGroup(typer.core.TyperGroup):
    """The root group: lists :data:`COMMANDS` from the table, imports one when it is used."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in COMMANDS:
            if getattr(ctx, "_curtailcoin_listing", False):
                return typer.core.TyperCommand(cmd_name, help=COMMANDS[cmd_name].help)
            command = self.commands[cmd_name] = COMMANDS[cmd_name].load(cmd_name)
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The root help from the table alone (nothing is imported to list the commands)."""
        ctx._curtailcoin_listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            ctx._curtailcoin_listing = False
