"""Helpers shared by the CLI commands: settings, engine, one-line errors, exit codes."""

from __future__ import annotations

import sys
from datetime import date
from typing import NoReturn

import typer
from rich.console import Console
from sqlalchemy import Engine

from curtailcoin.config import Settings, get_settings
from curtailcoin.db.engine import get_engine
from curtailcoin.logs import configure_logging
from curtailcoin.settlement import parse_date

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print a one-line error on stderr and exit (2 = bad input, 1 = failure)."""
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def settings_and_logging(verbose: bool = False, run_name: str = "run") -> Settings:
    settings = get_settings()
    level = "INFO" if verbose else settings.log_level
    configure_logging(level, settings.log_file, run_name)
    return settings


def engine_for(settings: Settings) -> Engine:
    try:
        return get_engine(settings.database_url)
    except Exception as exc:  # a one-line message instead of a traceback
        fail(f"cannot open database {settings.database_url!r}: {exc}", EXIT_FAILED)


def date_argument(text: str) -> date:
    try:
        return parse_date(text)
    except ValueError as exc:
        fail(str(exc))
