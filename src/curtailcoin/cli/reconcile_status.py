"""``reconcile status`` and ``reconcile analyze``: the commands that read (nothing is written).

Exit codes: 0 (``status --check``: 1 when anything is wrong), 2 bad input.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import date

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine

from curtailcoin.cli.common import EXIT_FAILED, EXIT_OK, console, fail, settings_and_logging
from curtailcoin.cli.reconcile_options import (
    JSON_HELP,
    VERBOSE_HELP,
    open_database,
    range_options,
)
from curtailcoin.config import Settings
from curtailcoin.db.engine import read_snapshot
from curtailcoin.ingest import group_by_cause
from curtailcoin.pipeline import BadInput, resolve_model_keys
from curtailcoin.reconcile.analyze import Analysis, analyze_reconciliation_status
from curtailcoin.reconcile.commands import add_source_drift
from curtailcoin.reconcile.report import DateReport, ReconciliationStatus
from curtailcoin.reconcile.source import compact_periods
from curtailcoin.reconcile.status import get_reconciliation_status


def _print_reasons(reports: Sequence[DateReport]) -> None:
    """Why each date is incomplete (each period's stored reason), how its generation drifted,
    and which of its generation is only pending (not published yet)."""
    for r in reports:
        for periods, reason in group_by_cause(r.incomplete_reasons)[:3]:
            label = f"{r.settlement_date.isoformat()} period(s) {compact_periods(periods)}"
            console.print(Text.assemble((f"{label}: ", "yellow"), reason), soft_wrap=True)
        for dataset, detail in sorted(r.generation_drift.items()):
            line = f"{r.settlement_date.isoformat()} generation {dataset}: "
            console.print(Text.assemble((line, "yellow"), detail), soft_wrap=True)
        for dataset, detail in sorted(r.generation_pending.items()):
            line = f"{r.settlement_date.isoformat()} generation {dataset} pending: "
            console.print(Text.assemble((line, "cyan"), detail), soft_wrap=True)


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
    if data["generation_pending_dates"]:
        overview.add_row(
            "Generation pending (B1610 not yet published)",
            str(len(data["generation_pending_dates"])),
        )
    overview.add_row("Summary mismatches", str(data["summary_mismatches"]))
    overview.add_row("Period totals ≠ records", str(data["period_total_mismatches"]))
    overview.add_row("Stale period conditions", str(data["stale_condition_periods"]))
    drift = data["source_drift_periods"]
    overview.add_row("Source drift (periods)", "not checked" if drift is None else str(drift))
    if data["source_checked"]:
        drifted = data["generation_drift_dates"]
        overview.add_row("Generation drift (dates)", str(len(drifted)))
    overview.add_row("Suspect dates (answer held back)", str(data["suspect_count"]))
    overview.add_row("Completion", f"{data['completion_percentage']:.2f}%")
    overview.add_row("Checked in", f"{data['elapsed_s']:.2f} s")
    console.print(overview)
    bad = [
        r
        for r in status.per_date
        if not r.complete or r.pending or r.suspect or r.generation_pending
    ]
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
                ", ".join(
                    [
                        *r.problems,
                        *(["suspect"] if r.suspect else []),
                        *(["generation_pending"] if r.generation_pending else []),
                    ]
                )
                or "pending only",
            )
        console.print(table)
        if len(bad) > limit:
            console.print(f"… and {len(bad) - limit} more dates (use --json for all)")
    _print_reasons(bad[:limit])
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
    first, last = range_options(start, end, days)
    engine = open_database(settings)
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
        status = get_reconciliation_status(
            conn,
            models,
            start=first,
            end=last,
            exact=exact,
            generation=settings.fetch_generation,
        )
    if source and status.per_date:
        asyncio.run(add_source_drift(engine, settings, status))
    return status


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
    first, last = range_options(start, end, days)
    engine = open_database(settings)
    status = _status(engine, settings, first, last, False, source)
    with engine.connect() as conn:
        analysis = analyze_reconciliation_status(conn, status)
        conn.rollback()
    if as_json:
        print(json.dumps(analysis.to_json()))
    else:
        _print_analysis(analysis)
    raise typer.Exit(EXIT_OK)
