"""``curtailcoin bmunits`` and ``curtailcoin difficulty``: refresh reference data on demand."""

from __future__ import annotations

import asyncio

import typer

from curtailcoin.cli.common import EXIT_FAILED, console, engine_for, fail, settings_and_logging
from curtailcoin.pipeline import prepare_database
from curtailcoin.reference import refresh_difficulty
from curtailcoin.registry import refresh_registry
from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.sources.http import SourceError
from curtailcoin.sources.mempool import mempool_client

bmunits_app = typer.Typer(help="The BM unit registry.", no_args_is_help=True)
difficulty_app = typer.Typer(help="Bitcoin difficulty epochs.", no_args_is_help=True)


@bmunits_app.command("refresh")
def bmunits_refresh(verbose: bool = typer.Option(False, "--verbose", "-v")) -> None:
    """Refresh the registry from Elexon's /reference/bmunits/all now.

    A changed lead party is kept in the history from today; today's stored records move to it.
    """
    settings = settings_and_logging(verbose)
    engine = engine_for(settings)
    prepare_database(engine)

    async def run() -> int | None:
        async with ElexonClient.from_settings(settings) as client:
            return await refresh_registry(engine, client)

    try:
        count = asyncio.run(run())
    except (SourceError, ValueError) as exc:
        fail(f"BM unit refresh failed: {exc}", EXIT_FAILED)
    console.print(f"{count} BM units stored")


@difficulty_app.command("refresh")
def difficulty_refresh(verbose: bool = typer.Option(False, "--verbose", "-v")) -> None:
    """Merge mempool.space's difficulty adjustments into the epoch table now."""
    settings = settings_and_logging(verbose)
    engine = engine_for(settings)
    prepare_database(engine)

    async def run() -> int:
        async with mempool_client(settings) as client:
            return await refresh_difficulty(engine, client)

    try:
        changed = asyncio.run(run())
    except (SourceError, ValueError) as exc:
        fail(f"difficulty refresh failed: {exc}", EXIT_FAILED)
    console.print(f"{changed} epochs added or updated")
