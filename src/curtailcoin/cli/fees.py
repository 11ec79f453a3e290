"""``curtailcoin fees``: transaction fees per block (update from mempool.space, import a CSV) and
hashprice per day."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich import box
from rich.table import Table

from curtailcoin.cli.common import (
    EXIT_FAILED,
    console,
    date_argument,
    engine_for,
    fail,
    settings_and_logging,
)

app = typer.Typer(
    help="Transaction fees per block (mempool.space, CSV) and hashprice per day.",
    no_args_is_help=True,
)


@app.command("update")
def update_command(
    period: str = typer.Option(
        "3y", "--period", help="mempool.space period: 24h, 3d, 1w, 1m, 3m, 6m, 1y, 2y, 3y, all."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Fetch fees per block from mempool.space (blocks/fees/PERIOD) and store them.

    24h and 3d give each block; longer periods give time buckets (1w 5 min ... 3y 12 h, all 1
    day). The oldest, partial UTC day of a bounded period is not stored.
    """
    from curtailcoin.fees import FeeInputError, check_fee_period, update_fees
    from curtailcoin.sources.http import SourceError

    settings = settings_and_logging(verbose, "fees-update")
    try:
        check_fee_period(period)
    except FeeInputError as exc:
        fail(str(exc))
    engine = engine_for(settings)
    try:
        result = asyncio.run(update_fees(engine, settings, period))
    except SourceError as exc:
        fail(f"fee update failed: {exc}", EXIT_FAILED)
    span = f"{result.first_day} .. {result.last_day}" if result.first_day else "no rows"
    console.print(
        f"fees {result.period}: {result.fetched} rows fetched ({span}), {result.stored} stored"
    )
    if result.recent is not None:
        r = result.recent
        console.print(
            f"last {r.blocks} blocks ({r.start_block}..{r.end_block}): "
            f"{r.fee_btc_per_block:.8f} BTC fees per block (exact)"
        )
    elif result.recent_error:
        console.print(f"[yellow]recent exact totals unavailable[/]: {result.recent_error}")


@app.command("import")
def import_command(
    path: Path = typer.Argument(..., help="CSV: avg_height,timestamp,avg_fees_sats,period"),
) -> None:
    """Import fees per block from a CSV file (validated whole before anything is written)."""
    from curtailcoin.fees import FeeInputError, import_fees_csv

    settings = settings_and_logging(False, "fees-import")
    engine = engine_for(settings)
    try:
        result = import_fees_csv(engine, path)
    except FeeInputError as exc:
        fail(str(exc))
    console.print(f"imported {result.rows} fee rows ({result.first_day} .. {result.last_day})")


def _shown(value: float | None, digits: str) -> str:
    return "missing" if value is None else format(value, digits)


@app.command("hashprice")
def hashprice_command(
    start: str = typer.Option(..., "--from", help="First UTC day (YYYY-MM-DD)."),
    end: str = typer.Option(..., "--to", help="Last UTC day (YYYY-MM-DD)."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
) -> None:
    """Hashprice per UTC day: BTC and £ per TH/s per day, subsidy + fees.

    Difficulty and subsidy are time-weighted over the day; fees are the day's stored mean per
    block; £ at the day's stored BTC/GBP price. Missing data is shown as missing.
    """
    first = date_argument(start, "--from")
    last = date_argument(end, "--to")
    from curtailcoin.hashprice import check_range, hashprice_by_day
    from curtailcoin.pipeline import prepare_database

    try:
        check_range(first, last)
    except ValueError as exc:
        fail(str(exc))
    settings = settings_and_logging(False, "fees-hashprice")
    engine = engine_for(settings)
    prepare_database(engine)
    with engine.connect() as conn:
        days = hashprice_by_day(conn, first, last)
    if as_json:
        rows = [{**asdict(d), "day": d.day.isoformat(), "missing": list(d.missing)} for d in days]
        print(json.dumps({"from": first.isoformat(), "to": last.isoformat(), "days": rows}))
        return
    table = Table(
        title=f"Hashprice {first} .. {last}: subsidy + fees per TH/s per day",
        box=box.SIMPLE_HEAD,
        caption="D: difficulty in T (1e12); R: subsidy and F: fees in BTC per block; "
        "sats/TH/day with R + F, R only without fees; £ with R + F",
    )
    for name in (
        "date",
        "D (T)",
        "R",
        "F",
        "sats/TH/day",
        "R only",
        "£/TH/day",
    ):
        table.add_column(name, justify="left" if name == "date" else "right")
    for d in days:
        btc, subsidy_only = d.hashprice_btc_per_th_day, d.subsidy_hashprice_btc_per_th_day
        table.add_row(
            d.day.isoformat(),
            _shown(None if d.difficulty is None else d.difficulty / 1e12, ",.2f"),
            _shown(d.block_subsidy_btc, ".6g"),
            _shown(d.fees_btc_per_block, ".8f"),
            _shown(None if btc is None else btc * 1e8, ",.2f"),
            _shown(None if subsidy_only is None else subsidy_only * 1e8, ",.2f"),
            _shown(d.hashprice_gbp_per_th_day, ".4f"),
        )
    console.print(table)
    for d in days:
        for reason in d.missing:
            console.print(f"{d.day}: {reason}", soft_wrap=True, markup=False)
