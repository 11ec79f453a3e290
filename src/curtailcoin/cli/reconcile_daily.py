"""``reconcile daily`` (the seed's daily check, as the worker runs it) and ``reconcile reset``
(the checkpoints deleted)."""

from __future__ import annotations

from pathlib import Path

import typer

from curtailcoin.cli.common import checkpoint_dir_for, console, settings_and_logging, whole_number
from curtailcoin.cli.reconcile_options import (
    JSON_HELP,
    VERBOSE_HELP,
    open_database,
    parse_days,
    parse_instant,
)
from curtailcoin.cli.reconcile_summary import finish, run_fix
from curtailcoin.pipeline import max_days
from curtailcoin.reconcile.checkpoints import (
    DAILY_CHECKPOINT,
    RECONCILIATION_CHECKPOINT,
    reset_checkpoint,
)
from curtailcoin.reconcile.daily import run_daily_check


def daily_command(
    days: str = typer.Option("2", "--days", help="Today and the previous DAYS−1 dates."),
    force: bool = typer.Option(
        False, "--force", help="Check dates the checkpoint marks processed today as well."
    ),
    lookback: str = typer.Option(
        "0", "--lookback", help="Also check this many recent days against the source."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
    now: str | None = typer.Option(
        None, "--now", hidden=True, help="Run as if the time were this UTC instant (replays)."
    ),
) -> None:
    """The daily check: the last days in the database and against Elexon; fix what is wrong."""
    settings = settings_and_logging(verbose, "reconcile-daily")
    instant = parse_instant(now) if now else None
    count = parse_days(days, now=instant)
    back = whole_number(lookback, "--lookback", 0, max_days(now=instant))
    checkpoint_dir_for(settings)
    engine = open_database(settings)
    summary = run_fix(
        lambda: run_daily_check(
            engine, settings, days=count, force=force, lookback_days=back, now=instant
        )
    )
    finish(summary, as_json, verbose)


def reset_command(
    daily: bool = typer.Option(False, "--daily", help="Reset the daily check's checkpoint."),
    both: bool = typer.Option(False, "--all", help="Reset both checkpoints."),
) -> None:
    """Delete the reconciliation checkpoint (the seed's ``resetCheckpoint``)."""
    settings = settings_and_logging(False, "reconcile-reset")
    checkpoint_dir_for(settings)
    names = [RECONCILIATION_CHECKPOINT] if not daily or both else []
    if daily or both:
        names.append(DAILY_CHECKPOINT)
    for name in names:
        path = Path(settings.checkpoint_dir) / name
        removed = reset_checkpoint(path)
        console.print(f"{path}: {'removed' if removed else 'none'}")
