"""``curtailcoin prices``: BTC prices in GBP and USD per day (update from sources, import CSV)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.table import Table

from curtailcoin.cli.common import (
    EXIT_FAILED,
    console,
    date_argument,
    engine_for,
    fail,
    settings_and_logging,
)
from curtailcoin.price_csv import import_csv
from curtailcoin.price_updates import check_update_range, update_prices
from curtailcoin.prices import PriceInputError, latest_prices

app = typer.Typer(
    help="BTC prices (GBP, USD) per day, cached in the database.", no_args_is_help=True
)


@app.command("update")
def update_command(
    start: str | None = typer.Option(
        None, "--from", help="First date (YYYY-MM-DD); default the day after the latest price."
    ),
    end: str | None = typer.Option(None, "--to", help="Last date (YYYY-MM-DD); default today."),
    force: bool = typer.Option(False, "--force", help="Refetch dates that already have a price."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Fetch daily prices from mempool.space (CoinGecko as fallback) and store them.

    A date's price is its UTC close; today's is the live price until the day closes.
    """
    settings = settings_and_logging(verbose, "prices-update")
    first = date_argument(start, "--from") if start is not None else None
    last = date_argument(end, "--to") if end is not None else None
    try:
        check_update_range(first, last)
    except PriceInputError as exc:
        fail(str(exc))
    engine = engine_for(settings)
    try:
        result = asyncio.run(update_prices(engine, settings, first, last, force=force))
    except PriceInputError as exc:
        fail(str(exc))
    table = Table(title=f"BTC prices {result.start} .. {result.end}", show_header=False)
    table.add_column("item", style="bold")
    table.add_column("value", justify="right")
    for source, count in sorted(result.stored.items()):
        table.add_row(f"stored from {source}", str(count))
    table.add_row("already priced (skipped)", str(result.skipped))
    table.add_row("dates without a price", str(len(result.failed)))
    console.print(table)
    for day, reason in result.failed.items():
        console.print(f"[red]{day}[/]: {reason}")
    with engine.connect() as conn:
        for currency, price in latest_prices(conn).items():
            if price is not None:
                label = " (live, provisional)" if price.provisional else ""
                console.print(
                    f"latest BTC/{currency}: {price.price:,.2f} on {price.price_date}{label} "
                    f"from {price.source}"
                )
    if result.failed:
        raise typer.Exit(EXIT_FAILED)


@app.command("import")
def import_command(
    path: Path = typer.Argument(..., help="CSV: date,currency,price[,source] or date,gbp,usd"),
) -> None:
    """Import daily prices from a CSV file (validated whole before anything is written)."""
    settings = settings_and_logging(False, "prices-import")
    engine = engine_for(settings)
    try:
        result = import_csv(engine, path)
    except PriceInputError as exc:
        fail(str(exc))
    console.print(
        f"imported {result.rows} prices for {result.dates} dates ({result.first} .. {result.last})"
    )
