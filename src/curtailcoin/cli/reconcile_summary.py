"""A fixing ``reconcile`` command's run and its summary: one table of the dates, one line of
counts, the notes and reasons; or one JSON object. Exit code 1 when a date failed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

import typer
from rich.table import Table

from curtailcoin.cli.common import EXIT_FAILED, console, fail
from curtailcoin.pipeline import BadInput
from curtailcoin.reconcile.outcome import RunSummary

_RESULTS = {
    "clean": "[green]clean",
    "fixed": "[green]fixed",
    "failed": "[red]FAILED",
    "suspect": "[yellow]SUSPECT",
}


def print_summary(summary: RunSummary, verbose: bool = False) -> None:
    table = Table(title=f"reconcile {summary.command}")
    for column in ("Date", "Result", "Found", "Actions", "Reason / remaining"):
        table.add_column(column)
    shown = 0
    for o in summary.outcomes:
        if o.status == "clean" and not verbose and len(summary.outcomes) > 20:
            continue
        shown += 1
        table.add_row(
            o.settlement_date.isoformat(),
            _RESULTS.get(o.status, f"[yellow]{o.status}"),
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


def finish(summary: RunSummary, as_json: bool, verbose: bool) -> None:
    """Print the summary (table or JSON) and exit with its code."""
    if as_json:
        print(json.dumps(summary.to_json()))
    else:
        print_summary(summary, verbose)
    raise typer.Exit(summary.exit_code)


def run_fix(work: Callable[[], Coroutine[Any, Any, RunSummary]]) -> RunSummary:
    """Run a fixing command: bad input exits 2, an interrupt 1 (the checkpoint resumes it)."""
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
