"""``reconcile run``, ``date``, ``range``, ``critical`` and ``spot-fix``: the commands that fix
dates, resumably (the checkpoint in ``CURTAILCOIN_CHECKPOINT_DIR``).

Exit codes: 0 all good, 1 something failed (the summary table says what and why), 2 bad input
(one line on stderr, nothing written).
"""

from __future__ import annotations

import typer

from curtailcoin.cli.common import (
    checkpoint_dir_for,
    console,
    fail,
    settings_and_logging,
    whole_number,
)
from curtailcoin.cli.reconcile_options import (
    JSON_HELP,
    MAX_BATCH_SIZE,
    VERBOSE_HELP,
    accept_needs_source,
    open_database,
    parse_date,
    range_options,
)
from curtailcoin.cli.reconcile_summary import finish, run_fix
from curtailcoin.pipeline import BadInput
from curtailcoin.reconcile.commands import (
    DEFAULT_BATCH_SIZE,
    critical_date,
    process_date_range,
    reconcile_all,
    reconcile_date,
    spot_fix_date,
)
from curtailcoin.reconcile.spot_fix import validate_spot_fix
from curtailcoin.settlement import check_period, periods_in_day


def run_command(
    batch_size: str = typer.Option(
        str(DEFAULT_BATCH_SIZE), "--batch-size", help="Dates processed at the same time."
    ),
    start: str | None = typer.Option(None, "--start", help="First date (default: first stored)."),
    end: str | None = typer.Option(None, "--end", help="Last date (default: last stored)."),
    source: bool = typer.Option(
        False, "--source", help="Also check each problem date against Elexon before fixing it."
    ),
    no_resume: bool = typer.Option(
        False, "--no-resume", help="Start afresh even if an interrupted run's checkpoint exists."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
) -> None:
    """Find every date with a problem (set-based) and fix it, in parallel batches."""
    settings = settings_and_logging(verbose, "reconcile-run")
    size = whole_number(batch_size, "--batch-size", 1, MAX_BATCH_SIZE)
    first, last = range_options(start, end, None)
    checkpoint_dir_for(settings)
    engine = open_database(settings)
    summary = run_fix(
        lambda: reconcile_all(
            engine,
            settings,
            batch_size=size,
            start=first,
            end=last,
            source=source,
            resume=not no_resume,
        )
    )
    finish(summary, as_json, verbose)


def date_command(
    day: str = typer.Argument(..., metavar="DATE", help="Settlement date, YYYY-MM-DD."),
    no_source: bool = typer.Option(
        False, "--no-source", help="Skip the check of every period against Elexon."
    ),
    accept_shrink: bool = typer.Option(
        False,
        "--accept-shrink",
        help="Apply Elexon's answer even where the drift guard holds it back as suspect "
        "(it would remove most of the stored date). Needs the source check.",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
) -> None:
    """Check one date (every period against Elexon too) and fix whatever is wrong."""
    settings = settings_and_logging(verbose, "reconcile-date")
    settlement_date = parse_date(day)
    accept_needs_source(accept_shrink, no_source)
    checkpoint_dir_for(settings)
    engine = open_database(settings)
    summary = run_fix(
        lambda: reconcile_date(
            engine,
            settings,
            settlement_date,
            source=not no_source,
            accept_shrink=accept_shrink,
        )
    )
    finish(summary, as_json, verbose)


def range_command(
    first: str = typer.Argument(..., metavar="D1", help="First date, YYYY-MM-DD."),
    last: str = typer.Argument(..., metavar="D2", help="Last date, YYYY-MM-DD."),
    batch_size: str = typer.Option(
        str(DEFAULT_BATCH_SIZE), "--batch-size", help="Dates processed at the same time."
    ),
    no_source: bool = typer.Option(
        False, "--no-source", help="Skip the check of every period against Elexon."
    ),
    no_resume: bool = typer.Option(
        False, "--no-resume", help="Start afresh even if an interrupted run's checkpoint exists."
    ),
    accept_shrink: bool = typer.Option(
        False,
        "--accept-shrink",
        help="Apply Elexon's answer even where the drift guard holds it back as suspect "
        "(it would remove most of the stored date). Needs the source check.",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
) -> None:
    """Check and fix every date from D1 to D2, in parallel batches; resumable."""
    settings = settings_and_logging(verbose, "reconcile-range")
    a = parse_date(first, "D1")
    b = parse_date(last, "D2")
    if a > b:
        fail(f"D1 {a.isoformat()} is after D2 {b.isoformat()}: allowed D1 <= D2")
    size = whole_number(batch_size, "--batch-size", 1, MAX_BATCH_SIZE)
    checkpoint_dir_for(settings)
    accept_needs_source(accept_shrink, no_source)
    engine = open_database(settings)
    summary = run_fix(
        lambda: process_date_range(
            engine,
            settings,
            a,
            b,
            batch_size=size,
            source=not no_source,
            resume=not no_resume,
            accept_shrink=accept_shrink,
        )
    )
    finish(summary, as_json, verbose)


def critical_command(
    day: str = typer.Argument(..., metavar="DATE", help="Settlement date, YYYY-MM-DD."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
) -> None:
    """Reprocess a troublesome date with extra care: one period at a time, longer timeouts,
    each period verified against the stack and the acceptance-volumes endpoint."""
    settings = settings_and_logging(verbose, "reconcile-critical")
    settlement_date = parse_date(day)
    checkpoint_dir_for(settings)
    engine = open_database(settings)
    summary = run_fix(lambda: critical_date(engine, settings, settlement_date))
    finish(summary, as_json, verbose)


def spot_fix_command(
    day: str = typer.Argument(..., metavar="DATE", help="Settlement date, YYYY-MM-DD."),
    period: str = typer.Argument(..., metavar="PERIOD", help="Settlement period (1..46/48/50)."),
    farm: str = typer.Argument(..., metavar="FARM", help="Farm: the Elexon BM unit id."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
) -> None:
    """Refetch one period and replace that farm's rows and everything derived from them."""
    settings = settings_and_logging(verbose, "reconcile-spot-fix")
    settlement_date = parse_date(day)
    try:
        number = int(period.strip())
    except ValueError:
        fail(
            f"invalid settlement period {period!r}: expected a whole number, allowed "
            f"1..{periods_in_day(settlement_date)} on {settlement_date.isoformat()}"
        )
    try:
        check_period(settlement_date, number)
    except ValueError as exc:
        fail(str(exc))
    checkpoint_dir_for(settings)
    engine = open_database(settings)
    try:
        validate_spot_fix(engine, settlement_date, number, farm)
    except BadInput as exc:
        fail(str(exc))
    summary = run_fix(lambda: spot_fix_date(engine, settings, settlement_date, number, farm))
    if not as_json:
        for o in summary.outcomes:
            before, after = o.details.get("before"), o.details.get("after")
            if before is not None and after is not None:
                console.print(
                    f"{farm} period {number}: records {before['records']} → {after['records']}, "
                    f"MWh {before['curtailed_mwh']:.3f} → {after['curtailed_mwh']:.3f}, "
                    f"£ {before['payment_gbp']:.2f} → {after['payment_gbp']:.2f}"
                )
    finish(summary, as_json, verbose)
