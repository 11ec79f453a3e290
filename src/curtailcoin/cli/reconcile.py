"""``curtailcoin reconcile``: the seed's daily check and unified reconciliation.

Exit codes: 0 all good, 1 something failed (the summary table says what and why), 2 bad input
(one line on stderr, nothing written).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine

from curtailcoin.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    checkpoint_dir_for,
    console,
    date_argument,
    engine_for,
    fail,
    settings_and_logging,
    whole_number,
)
from curtailcoin.config import Settings
from curtailcoin.db.engine import read_snapshot
from curtailcoin.ingest import group_by_cause
from curtailcoin.pipeline import (
    BadInput,
    max_days,
    prepare_database,
    resolve_model_keys,
    validate_date,
    validate_days,
)
from curtailcoin.reconcile.checkpoints import (
    DAILY_CHECKPOINT,
    RECONCILIATION_CHECKPOINT,
    reset_checkpoint,
)
from curtailcoin.reconcile.daily import run_daily_check
from curtailcoin.reconcile.fix import validate_spot_fix
from curtailcoin.reconcile.report import ReconciliationStatus
from curtailcoin.reconcile.source import compact_periods
from curtailcoin.reconcile.status import get_reconciliation_status
from curtailcoin.reconcile.unified import (
    DEFAULT_BATCH_SIZE,
    Analysis,
    RunSummary,
    add_source_drift,
    analyze_reconciliation_status,
    critical_date,
    process_date_range,
    reconcile_all,
    reconcile_date,
    spot_fix_date,
)
from curtailcoin.settlement import check_period, periods_in_day, settlement_today

app = typer.Typer(
    help="Reconciliation: find and fix incomplete, missing, stale and drifted data.",
    no_args_is_help=True,
)

JSON_HELP = "Print one JSON object on stdout."
VERBOSE_HELP = "Log each event to stderr."


# -- input ---------------------------------------------------------------------------------------

MAX_BATCH_SIZE = 64
"""Dates in flight at once, at most (as ``backfill --concurrency``)."""


def _date(text: str, what: str = "date") -> date:
    return date_argument(text, None if what == "date" else what)


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"invalid --now {text!r}: expected an ISO 8601 instant such as 2025-01-18T02:00Z")
    if value.tzinfo is None:
        fail(f"invalid --now {text!r}: give a time zone (e.g. Z)")
    instant = value.astimezone(UTC)
    try:
        validate_date(settlement_today(instant))
    except BadInput as exc:
        fail(f"--now {text}: {exc}")
    return instant


def _days(
    text: str, option: str = "--days", end: date | None = None, now: datetime | None = None
) -> int:
    """A count of days: 1 up to the days from the first settlement date to ``end``."""
    try:
        count = int(text.strip())
    except ValueError:
        fail(f"invalid {option} {text!r}: expected a whole number of days")
    try:
        validate_days(count, option, end, now)
    except BadInput as exc:
        fail(str(exc))
    return count


def _range_options(
    start: str | None, end: str | None, days: str | None
) -> tuple[date | None, date | None]:
    first = _date(start, "--start") if start else None
    last = _date(end, "--end") if end else None
    if days is not None:
        if first is not None:
            fail("use --days or --start, not both")
        last = last or settlement_today()
        first = last - timedelta(days=_days(days, end=last) - 1)
    if first and last and first > last:
        fail(f"--start {first.isoformat()} is after --end {last.isoformat()}: allowed START <= END")
    return first, last


def _accept_needs_source(accept_shrink: bool, no_source: bool) -> None:
    if accept_shrink and no_source:
        fail(
            "--accept-shrink applies Elexon's answer: it needs the source check (drop --no-source)"
        )


def _open(settings: Settings) -> Engine:
    engine = engine_for(settings)
    try:
        prepare_database(engine)
    except Exception as exc:
        fail(f"cannot prepare database: {exc}", EXIT_FAILED)
    return engine


# -- output --------------------------------------------------------------------------------------


def _print_status(status: ReconciliationStatus, limit: int = 40) -> None:
    data = status.to_json()
    overview = Table(title="Reconciliation status", show_header=False)
    overview.add_column("item", style="bold")
    overview.add_column("value", justify="right")
    span = f"{data['start']} … {data['end']}" if data["start"] else "no data"
    overview.add_row("Dates checked", f"{data['dates_checked']} ({span})")
    overview.add_row("Complete dates", str(data["dates_complete"]))
    overview.add_row("Incomplete dates", str(len(data["incomplete_dates"])))
    overview.add_row("Missing calculations", f"{data['missing_calculations']:,}")
    overview.add_row("Stale calculations", f"{data['stale_calculations']:,}")
    overview.add_row("Pending (difficulty unknown)", f"{data['pending_calculations']:,}")
    overview.add_row("Summary mismatches", str(data["summary_mismatches"]))
    overview.add_row("Period totals ≠ records", str(data["period_total_mismatches"]))
    overview.add_row("Stale period conditions", str(data["stale_condition_periods"]))
    drift = data["source_drift_periods"]
    overview.add_row("Source drift (periods)", "not checked" if drift is None else str(drift))
    overview.add_row("Suspect dates (answer held back)", str(data["suspect_count"]))
    overview.add_row("Completion", f"{data['completion_percentage']:.2f}%")
    overview.add_row("Checked in", f"{data['elapsed_s']:.2f} s")
    console.print(overview)
    bad = [r for r in status.per_date if not r.complete or r.pending or r.suspect]
    if bad:
        table = Table(title="Dates with problems")
        for column in ("Date", "Records", "Periods", "Missing", "Stale", "Pending", "Problems"):
            table.add_column(column, justify="left" if column in ("Date", "Problems") else "right")
        for r in bad[:limit]:
            table.add_row(
                r.settlement_date.isoformat(),
                f"{r.records:,}",
                f"{r.periods_fetched}/{r.periods_expected}",
                f"{r.missing:,}",
                f"{r.stale:,}",
                f"{r.pending:,}",
                ", ".join([*r.problems, *(["suspect"] if r.suspect else [])]) or "pending only",
            )
        console.print(table)
        if len(bad) > limit:
            console.print(f"… and {len(bad) - limit} more dates (use --json for all)")
        for r in bad[:limit]:  # why a date is incomplete: the stored reason of each period
            for periods, reason in group_by_cause(r.incomplete_reasons)[:3]:
                label = f"{r.settlement_date.isoformat()} period(s) {compact_periods(periods)}"
                console.print(Text.assemble((f"{label}: ", "yellow"), reason), soft_wrap=True)
    for m in status.summary_details[:10]:
        console.print(f"[yellow]summary mismatch:[/] {m.table} {m.key} {m.miner_model or ''}")
    for day, error in sorted(status.source_errors.items()):
        console.print(f"[red]source check failed for {day}:[/] {error}")
    for suspect in status.suspects:
        console.print(
            f"[yellow]suspect {suspect.settlement_date.isoformat()}:[/] {suspect.reason}; "
            f"apply with {suspect.accept_command}"
        )


def _print_analysis(analysis: Analysis) -> None:
    status = analysis.status
    if not status.per_date:
        console.print("No data stored yet: nothing to reconcile (try `reconcile range D1 D2`).")
        return
    if analysis.ok:
        console.print(
            f"[green]All {status.dates_checked} dates reconciled[/] "
            f"({status.to_json()['start']} … {status.to_json()['end']}); nothing to do."
        )
    for finding in analysis.findings:
        console.print(f"\n[bold]{finding.kind}[/]: {finding.count:,}")
        shown = ", ".join(finding.dates[:8]) + (" …" if len(finding.dates) > 8 else "")
        console.print(f"  dates: {shown}")
        console.print(f"  likely cause: {finding.cause}")
        for command in finding.commands:
            console.print(f"  fix: [cyan]{command}[/]")
    if analysis.long_running_queries:
        console.print(
            f"\n[yellow]{analysis.long_running_queries} database queries have been running for "
            "more than 5 minutes[/] (reported only; reconciliation never terminates sessions)"
        )


def _print_summary(summary: RunSummary, verbose: bool = False) -> None:
    table = Table(title=f"reconcile {summary.command}")
    for column in ("Date", "Result", "Found", "Actions", "Reason / remaining"):
        table.add_column(column)
    shown = 0
    for o in summary.outcomes:
        if o.status == "clean" and not verbose and len(summary.outcomes) > 20:
            continue
        shown += 1
        result = {
            "clean": "[green]clean",
            "fixed": "[green]fixed",
            "failed": "[red]FAILED",
            "suspect": "[yellow]SUSPECT",
        }.get(o.status, f"[yellow]{o.status}")
        table.add_row(
            o.settlement_date.isoformat(),
            result,
            ", ".join(o.before) or "-",
            "; ".join(o.actions) or "-",
            o.reason or (", ".join(o.after) if o.after else ("pending" if o.pending else "")),
        )
    if shown:
        console.print(table)
    if summary.earlier:
        console.print(
            f"{len(summary.earlier)} date(s) already done by the run this one resumes or by an "
            "earlier run today"
        )
    suspect = summary.suspect
    failed = {d: r for d, r in summary.failed.items() if d not in suspect}
    console.print(
        f"dates checked {len(summary.outcomes)}, clean {summary.count('clean')}, "
        f"fixed {summary.count('fixed')}, partial {summary.count('partial')}, "
        f"suspect {len(suspect)}, failed {len(failed)}; requests {summary.requests}, "
        f"retries {summary.retries}, timeouts {summary.timeouts}; {summary.elapsed_s:.1f} s"
    )
    for note in summary.notes:
        console.print(f"[yellow]note:[/] {note}")
    for day, reason in sorted(failed.items()):
        console.print(f"[red]{day} failed:[/] {reason}")
    for day, reason in sorted(suspect.items()):
        console.print(f"[yellow]{day} {reason}[/]")


def _finish(summary: RunSummary, as_json: bool, verbose: bool) -> None:
    if as_json:
        print(json.dumps(summary.to_json()))
    else:
        _print_summary(summary, verbose)
    raise typer.Exit(summary.exit_code)


def _run(work: Callable[[], Coroutine[Any, Any, RunSummary]]) -> RunSummary:
    try:
        return asyncio.run(work())
    except BadInput as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail(
            "interrupted: the checkpoint keeps the dates still pending; run the same command "
            "again to resume",
            EXIT_FAILED,
        )


# -- commands ------------------------------------------------------------------------------------


@app.command("status")
def status_command(
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    start: str | None = typer.Option(None, "--start", help="First date (default: first stored)."),
    end: str | None = typer.Option(None, "--end", help="Last date (default: last stored)."),
    days: str | None = typer.Option(None, "--days", help="Only the last N days (to --end)."),
    exact: bool = typer.Option(
        False, "--exact", help="Compare every calculation row (slower; same definitions)."
    ),
    source: bool = typer.Option(
        False, "--source", help="Also check every period of every date against Elexon."
    ),
    check: bool = typer.Option(False, "--check", help="Exit 1 when anything is wrong."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
) -> None:
    """Counts of incomplete dates, missing/stale/pending calculations, summary mismatches
    (and, with --source, source drift), overall and per date, with a completion percentage."""
    settings = settings_and_logging(verbose, "reconcile-status")
    first, last = _range_options(start, end, days)
    engine = _open(settings)
    status = _status(engine, settings, first, last, exact, source)
    if as_json:
        print(json.dumps(status.to_json()))
    else:
        _print_status(status)
    bad = bool(status.problem_dates) or bool(status.source_errors)
    raise typer.Exit(EXIT_FAILED if check and bad else EXIT_OK)


def _status(
    engine: Engine,
    settings: Settings,
    first: date | None,
    last: date | None,
    exact: bool,
    source: bool,
) -> ReconciliationStatus:
    try:
        models = [m.key for m in resolve_model_keys(engine, settings.tracked_models)]
    except BadInput as exc:
        fail(f"CURTAILCOIN_TRACKED_MODELS: {exc}")
    with read_snapshot(engine) as conn:
        status = get_reconciliation_status(conn, models, start=first, end=last, exact=exact)
    if source and status.per_date:
        asyncio.run(add_source_drift(engine, settings, status))
    return status


@app.command("analyze")
def analyze_command(
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    start: str | None = typer.Option(None, "--start", help="First date (default: first stored)."),
    end: str | None = typer.Option(None, "--end", help="Last date (default: last stored)."),
    days: str | None = typer.Option(None, "--days", help="Only the last N days (to --end)."),
    source: bool = typer.Option(
        False, "--source", help="Also check every period of every date against Elexon."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
) -> None:
    """What is wrong, the likely cause, and the exact commands that would fix it."""
    settings = settings_and_logging(verbose, "reconcile-analyze")
    first, last = _range_options(start, end, days)
    engine = _open(settings)
    status = _status(engine, settings, first, last, False, source)
    with engine.connect() as conn:
        analysis = analyze_reconciliation_status(conn, status)
        conn.rollback()
    if as_json:
        print(json.dumps(analysis.to_json()))
    else:
        _print_analysis(analysis)
    raise typer.Exit(EXIT_OK)


@app.command("run")
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
    first, last = _range_options(start, end, None)
    checkpoint_dir_for(settings)
    engine = _open(settings)
    summary = _run(
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
    _finish(summary, as_json, verbose)


@app.command("date")
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
    settlement_date = _date(day)
    _accept_needs_source(accept_shrink, no_source)
    checkpoint_dir_for(settings)
    engine = _open(settings)
    summary = _run(
        lambda: reconcile_date(
            engine,
            settings,
            settlement_date,
            source=not no_source,
            accept_shrink=accept_shrink,
        )
    )
    _finish(summary, as_json, verbose)


@app.command("range")
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
    a = _date(first, "D1")
    b = _date(last, "D2")
    if a > b:
        fail(f"D1 {a.isoformat()} is after D2 {b.isoformat()}: allowed D1 <= D2")
    size = whole_number(batch_size, "--batch-size", 1, MAX_BATCH_SIZE)
    checkpoint_dir_for(settings)
    _accept_needs_source(accept_shrink, no_source)
    engine = _open(settings)
    summary = _run(
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
    _finish(summary, as_json, verbose)


@app.command("critical")
def critical_command(
    day: str = typer.Argument(..., metavar="DATE", help="Settlement date, YYYY-MM-DD."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
) -> None:
    """Reprocess a troublesome date with extra care: one period at a time, longer timeouts,
    each period verified against the stack and the acceptance-volumes endpoint."""
    settings = settings_and_logging(verbose, "reconcile-critical")
    settlement_date = _date(day)
    checkpoint_dir_for(settings)
    engine = _open(settings)
    summary = _run(lambda: critical_date(engine, settings, settlement_date))
    _finish(summary, as_json, verbose)


@app.command(
    "spot-fix",
    # PERIOD may be written -1: it must reach the period check, not click's option parser.
    context_settings={"ignore_unknown_options": True},
)
def spot_fix_command(
    day: str = typer.Argument(..., metavar="DATE", help="Settlement date, YYYY-MM-DD."),
    period: str = typer.Argument(..., metavar="PERIOD", help="Settlement period (1..46/48/50)."),
    farm: str = typer.Argument(..., metavar="FARM", help="Farm: the Elexon BM unit id."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
) -> None:
    """Refetch one period and replace that farm's rows and everything derived from them."""
    settings = settings_and_logging(verbose, "reconcile-spot-fix")
    settlement_date = _date(day)
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
    engine = _open(settings)
    try:
        validate_spot_fix(engine, settlement_date, number, farm)
    except BadInput as exc:
        fail(str(exc))
    summary = _run(lambda: spot_fix_date(engine, settings, settlement_date, number, farm))
    if not as_json:
        for o in summary.outcomes:
            before, after = o.details.get("before"), o.details.get("after")
            if before is not None and after is not None:
                console.print(
                    f"{farm} period {number}: records {before['records']} → {after['records']}, "
                    f"MWh {before['curtailed_mwh']:.3f} → {after['curtailed_mwh']:.3f}, "
                    f"£ {before['payment_gbp']:.2f} → {after['payment_gbp']:.2f}"
                )
    _finish(summary, as_json, verbose)


@app.command("daily")
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
    instant = _instant(now) if now else None
    count = _days(days, now=instant)
    back = whole_number(lookback, "--lookback", 0, max_days(now=instant))
    checkpoint_dir_for(settings)
    engine = _open(settings)
    summary = _run(
        lambda: run_daily_check(
            engine, settings, days=count, force=force, lookback_days=back, now=instant
        )
    )
    _finish(summary, as_json, verbose)


@app.command("reset")
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
