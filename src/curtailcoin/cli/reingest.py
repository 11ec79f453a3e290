"""``curtailcoin reingest DATE``: the seed's ``reingest-data.ts`` and complete reingestion.

The pipeline, the database and rich are imported inside the functions: ``reingest --help``
costs only Typer.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import typer

from curtailcoin.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    date_argument,
    fail,
    refuse_simulated,
    settings_and_logging,
)

if TYPE_CHECKING:
    from datetime import date

    from rich.text import Text
    from sqlalchemy import Engine

    from curtailcoin.config import Settings
    from curtailcoin.pipeline import ReingestResult


def failure_lines(result: ReingestResult) -> list[Text]:
    """One line per cause: periods that failed (or are incomplete) alike share a line.

    Incomplete periods are grouped by their reason without the per-period line counts.
    A cause shared by several periods is followed by where it was first seen; the ``--json``
    output keeps every period's message.
    """
    from rich.text import Text

    from curtailcoin.ingest import group_by_cause
    from curtailcoin.reconcile.source import compact_periods

    groups: dict[str, list[int]] = defaultdict(list)
    for period, error in result.failed_periods.items():
        groups[result.failure_causes.get(period, error)].append(period)
    lines = []
    for cause, periods in sorted(groups.items(), key=lambda item: min(item[1])):
        first = result.failed_periods[min(periods)]
        label = "period" if len(periods) == 1 else "periods"
        if len(periods) == 1 or first == cause:
            text = first
        else:  # the cause, then where it was first seen (the whole message when it differs)
            where = first.removesuffix(f": {cause}")
            text = f"{cause} (first: {where})"
        lines.append(Text.assemble((f"{label} {compact_periods(periods)} failed: ", "red"), text))
    for periods, reason in group_by_cause(result.incomplete_periods):
        label = "period" if len(periods) == 1 else "periods"
        lines.append(
            Text.assemble((f"{label} {compact_periods(periods)} incomplete: ", "yellow"), reason)
        )
    return lines


def print_results(result: ReingestResult) -> None:
    """A readable results table (the seed's ``printResults``)."""
    from rich.table import Table

    from curtailcoin.cli.common import console
    from curtailcoin.reconcile.source import compact_periods

    table = Table(title=f"Reingestion of {result.settlement_date.isoformat()}", show_header=False)
    table.add_column("item", style="bold")
    table.add_column("value", justify="right")
    table.add_row("Settlement periods", f"{result.periods_fetched} of {result.periods} fetched")
    table.add_row("Requests (retries)", f"{result.requests} ({result.retries})")
    table.add_row("Curtailment records", f"{result.records:,}")
    table.add_row("Farms (BM units)", f"{result.farms:,}")
    table.add_row("Curtailed energy", f"{result.curtailed_mwh:,.2f} MWh")
    table.add_row("Paid to farms", f"£{result.payment_gbp:,.2f}")
    for model, btc in result.bitcoin.items():
        table.add_row(f"Bitcoin ({model})", f"{btc:.8f} BTC")
    if result.bitcoin_skipped:
        table.add_row("Bitcoin", "skipped (--skip-bitcoin): stored values shown")
    if result.pending_periods:
        table.add_row("Pending (difficulty unknown)", ", ".join(map(str, result.pending_periods)))
    if result.failed_periods:
        table.add_row("FAILED periods", compact_periods(result.failed_periods))
    if result.incomplete_periods:
        table.add_row("INCOMPLETE periods", compact_periods(result.incomplete_periods))
    if result.generation is not None:
        for answer in (result.generation.national, result.generation.units):
            state = "pending: not yet published" if answer.pending else answer.status
            table.add_row(f"Generation {answer.dataset}", f"{state} ({answer.row_count:,} rows)")
    table.add_row("Fetch / write", f"{result.fetch_seconds:.2f} s / {result.write_seconds:.2f} s")
    table.add_row("Complete", "yes" if result.complete else "NO")
    console.print(table)
    if result.shrink_accepted:
        console.print(f"[yellow]applied on request (--accept-shrink):[/] {result.suspect_reason}")
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    for line in failure_lines(result):
        console.print(line, soft_wrap=True)


def print_verification(result: ReingestResult) -> None:
    """Per period and model: farm-periods with curtailment vs calculations present."""
    from rich.table import Table

    from curtailcoin.cli.common import console

    table = Table(title="Verification: every period and model")
    for column in ("Period", "Model", "Farm-periods", "Calculations", "BTC", "Status"):
        table.add_column(column, justify="right" if column != "Status" else "left")
    for row in result.verification:
        status = "pending" if row.pending else ("ok" if row.ok else "MISMATCH")
        table.add_row(
            str(row.settlement_period),
            row.miner_model,
            str(row.farm_periods),
            str(row.calculations),
            f"{row.bitcoin_mined:.8f}",
            status,
        )
    console.print(table)
    bad = [r for r in result.verification if not r.ok]
    console.print(
        f"{len(result.verification) - len(bad)} of {len(result.verification)} period-model "
        f"checks passed" + (f"; {len(bad)} did not" if bad else "")
    )


def _fetch_prices(engine: Engine, settings: Settings, day: date) -> dict[str, Any]:
    """The date's BTC prices, fetched with its data (``price_written_dates``: a price that
    cannot be had is reported missing with its reason, never the reingest's failure)."""
    import asyncio

    from curtailcoin.price_updates import price_written_dates
    from curtailcoin.prices import day_prices

    asyncio.run(price_written_dates(engine, settings, day, day))
    with engine.connect() as conn:
        have, missing = day_prices(conn, day)
    return {
        "date": day.isoformat(),
        **{c: {"price": p.price, "source": p.source} for c, p in have.items()},
        "missing": missing,
    }


def print_prices(prices: dict[str, Any]) -> None:
    """One line per currency: the stored price and its source, or why it is missing."""
    from curtailcoin.cli.common import console

    for currency, reason in prices["missing"].items():
        console.print(f"[yellow]price missing (BTC/{currency}):[/] {reason}", soft_wrap=True)
    for currency in ("GBP", "USD"):
        if currency in prices:
            entry = prices[currency]
            console.print(
                f"BTC/{currency} on {prices['date']}: {entry['price']:,.2f} ({entry['source']})"
            )


def reingest(
    date: str = typer.Argument(..., help="Settlement date, YYYY-MM-DD (Europe/London)."),
    skip_bitcoin: bool = typer.Option(
        False, "--skip-bitcoin", help="Do not recalculate Bitcoin (stored values are kept)."
    ),
    skip_verify: bool = typer.Option(False, "--skip-verify", help="Skip the verification step."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log each event to stderr."),
    models: str | None = typer.Option(
        None, "--models", help="Comma-separated miner models (default: the tracked models)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    complete: bool = typer.Option(
        False,
        "--complete",
        help="Complete reingestion: clear and reingest every period, compute every tracked "
        "model, verify every period and model, print the verification table.",
    ),
    accept_shrink: bool = typer.Option(
        False,
        "--accept-shrink",
        help="Apply Elexon's answer even when the drift guard finds it implausible (it would "
        "remove most of the stored date: every period empty, every payment zero, a measure "
        "falling by more than CURTAILCOIN_SHRINK_MAX_DROP).",
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Write into a demo (simulated) database even from an Elexon that is not a local "
        "test server.",
    ),
    no_generation: bool = typer.Option(
        False,
        "--no-generation",
        help="Do not fetch the date's wind generation (AGWS national, B1610 per BM unit); the "
        "stored generation is kept. By default it is fetched and stored with the stack; its "
        "failure is a warning, never the date's failure.",
    ),
) -> None:
    """Reingest one settlement date from Elexon and recompute its Bitcoin potential.

    Every period is fetched first; the date is then replaced in one transaction. If any period
    fails after retries, or Elexon's answer breaks its schema, nothing changes and the exit code
    is 1. A period stored with a needed figure null (soFlag, originalPrice) is reported
    incomplete (exit 1). An answer that would remove most of the stored date is held back (the
    date is *suspect*, exit 1) unless --accept-shrink. Exit 0 only when the date is complete;
    2 on bad input.
    """
    import asyncio

    from curtailcoin.cli.common import engine_for
    from curtailcoin.db.locks import DateLocks, LockBusyError
    from curtailcoin.miners import parse_models_option, resolve_models
    from curtailcoin.pipeline import reingest_date
    from curtailcoin.reference import known_models

    settings = settings_and_logging(verbose, "reingest")
    settlement_date = date_argument(date)  # parsed and checked against the calendar
    if complete and (skip_bitcoin or skip_verify):
        fail("--complete computes and verifies every model: drop --skip-bitcoin/--skip-verify")
    names = list(settings.tracked_models)
    try:
        if models is not None:
            extra = parse_models_option(models)
            names = list(dict.fromkeys([*names, *extra])) if complete else extra
        model_objects = resolve_models(names, known_models(settings.database_url))
    except ValueError as exc:
        fail(str(exc))
    refuse_simulated(settings, force)
    engine = engine_for(settings)  # reingest_date loads the reference data it needs

    async def locked() -> ReingestResult:
        # The per-date lock the reconciliation and the worker take: never two writers of a date.
        locks = DateLocks(engine)
        try:
            async with locks.hold(settlement_date, timeout_s=settings.lock_wait_s):
                return await reingest_date(
                    engine,
                    settings,
                    settlement_date,
                    models=model_objects,
                    skip_bitcoin=skip_bitcoin,
                    skip_verify=skip_verify,
                    clear_all_models=complete,
                    accept_shrink=accept_shrink,
                    generation=False if no_generation else None,
                )
        finally:
            locks.close()

    try:
        result = asyncio.run(locked())
    except LockBusyError as exc:
        fail(str(exc), EXIT_FAILED)
    prices = _fetch_prices(engine, settings, settlement_date) if result.written else None
    if result.suspect:
        day = settlement_date.isoformat()
        if as_json:
            print(json.dumps(result.to_json()))
        fail(
            f"{day} is suspect: {result.suspect_reason}; the stored data is kept; apply it with "
            f"curtailcoin reingest {day} --accept-shrink",
            EXIT_FAILED,
        )
    if as_json:
        print(json.dumps({**result.to_json(), **({"prices": prices} if prices else {})}))
    else:
        print_results(result)
        if prices is not None:
            print_prices(prices)
        if complete and result.verified:
            print_verification(result)
    raise typer.Exit(EXIT_OK if result.complete else EXIT_FAILED)
