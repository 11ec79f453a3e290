"""Helpers shared by the CLI commands: settings, engine, one-line errors, exit codes.

Every bad input ends here as one line on stderr and exit code 2, before any fetch or write:
dates (``date_argument``), whole numbers (``whole_number``), the checkpoint directory
(``checkpoint_dir_for``) and a database that cannot be reached (``unreachable_database``, also
used by ``cli.main`` for any command that connects without ``engine_for``).

Imports are made where they are used, so that a command's ``--help`` costs only Typer (see
``cli.lazy``); ``console`` and ``err_console`` are made on first use.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Engine

    from curtailcoin.config import Settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

console: Console
err_console: Console
_consoles: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    """``console`` (stdout) and ``err_console`` (stderr), made when first imported."""
    if name not in ("console", "err_console"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name not in _consoles:
        from rich.console import Console

        _consoles[name] = Console(stderr=name == "err_console")
    return _consoles[name]


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print a one-line error on stderr and exit (2 = bad input, 1 = failure)."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    raise typer.Exit(code)


def settings_and_logging(verbose: bool = False, run_name: str = "run") -> Settings:
    from curtailcoin.config import get_settings
    from curtailcoin.logs import configure_logging

    settings = get_settings()
    level = "INFO" if verbose else settings.log_level
    configure_logging(level, settings.log_file, run_name)
    return settings


# -- database ------------------------------------------------------------------------------------


def shown_url(url: str) -> str:
    """The database URL without its password (it is printed)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)._replace(password=None).render_as_string(hide_password=False)
    except ArgumentError:
        return "(unparseable URL)"


def _connect_reason(exc: BaseException) -> str | None:
    """Why connecting failed, in a few words; None when ``exc`` is not a failure to connect.

    SQLAlchemy wraps a failed connect without a statement; psycopg's own connect failures
    (procrastinate's pool) are plain ``OperationalError``s without an SQLSTATE.
    """
    import sqlite3

    import psycopg
    from sqlalchemy.exc import OperationalError as SAOperationalError

    if isinstance(exc, SAOperationalError):
        if exc.statement is not None:
            return None
        exc = exc.orig if exc.orig is not None else exc
    if isinstance(exc, psycopg.OperationalError):
        if type(exc) is not psycopg.OperationalError or exc.sqlstate is not None:
            return None
    elif not isinstance(exc, sqlite3.OperationalError):
        return None
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    text = text.rpartition(" failed: ")[2] if " failed: " in text else text
    text = text.removeprefix("FATAL:").strip()
    return text[:1].lower() + text[1:]


def unreachable_database(exc: BaseException, url: str | None = None) -> str | None:
    """The one line every command prints when the database cannot be reached, or None when
    ``exc`` is some other error."""
    reason = _connect_reason(exc)
    if reason is None:
        return None
    from curtailcoin.config import get_settings

    shown = shown_url(url if url is not None else get_settings().database_url)
    return f"cannot reach database {shown} (CURTAILCOIN_DATABASE_URL): {reason}"


def engine_for(settings: Settings) -> Engine:
    """The migrated engine; an unreachable database is bad input (exit 2), a failed migration
    a failure (exit 1), each one line."""
    from curtailcoin.db.engine import get_engine

    try:
        return get_engine(settings.database_url)
    except Exception as exc:  # a one-line message instead of a traceback
        message = unreachable_database(exc, settings.database_url)
        if message is not None:
            fail(message)
        fail(f"cannot open database {shown_url(settings.database_url)}: {exc}", EXIT_FAILED)


def refuse_simulated(settings: Settings, force: bool) -> None:
    """A demo database takes data from a local test server only (exit 2, nothing written);
    ``--force`` lets a writer fetch from another Elexon into it (``curtailcoin.simulated``)."""
    from curtailcoin.simulated import refusal

    if force:
        return
    try:
        message = refusal(settings.database_url, settings.elexon_base_url)
    except Exception as exc:  # an unreachable database: the same line as engine_for's
        unreachable = unreachable_database(exc, settings.database_url)
        if unreachable is None:
            raise
        fail(unreachable)
    if message is not None:
        fail(message)


# -- files ---------------------------------------------------------------------------------------


def checkpoint_dir_for(settings: Settings) -> Path:
    """The checkpoint directory, created and proven writable before any work (exit 2)."""
    from curtailcoin.reconcile.checkpoints import CheckpointDirError, check_checkpoint_dir

    try:
        return check_checkpoint_dir(Path(settings.checkpoint_dir))
    except CheckpointDirError as exc:
        fail(str(exc))


# -- values --------------------------------------------------------------------------------------


def date_argument(text: str, what: str | None = None, now: datetime | None = None) -> date:
    """A settlement date: ``YYYY-MM-DD`` from the first settlement date to today."""
    from curtailcoin.pipeline import BadInput, validate_date
    from curtailcoin.settlement import parse_date

    try:
        day = parse_date(text)
        validate_date(day, now)
    except (ValueError, BadInput) as exc:
        fail(f"{what}: {exc}" if what else str(exc))
    return day


def whole_number(text: str | int, name: str, low: int, high: int | None = None) -> int:
    """An integer argument or option in ``low..high``, or one line naming it and the range."""
    allowed = f"{low}..{high}" if high is not None else f"{low} or more"
    try:
        value = int(str(text).strip())
    except ValueError:
        fail(f"invalid {name} {str(text)!r}: expected a whole number, allowed {allowed}")
    if value < low or (high is not None and value > high):
        fail(f"{name} {value} is not allowed: use {allowed}")
    return value
