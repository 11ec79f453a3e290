"""``curtailcoin worker``, ``curtailcoin jobs status`` and ``curtailcoin backfill``."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import signal
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy import Engine

from curtailcoin.backfill import BackfillResult, BackfillStats, backfill, enqueue_range
from curtailcoin.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    checkpoint_dir_for,
    console,
    date_argument,
    engine_for,
    err_console,
    fail,
    refuse_simulated,
    settings_and_logging,
    whole_number,
)
from curtailcoin.config import Settings
from curtailcoin.db.dialect import backend, is_postgresql, is_sqlite
from curtailcoin.jobs.local import LocalScheduler, read_state
from curtailcoin.jobs.schedule import SCHEDULE, next_run
from curtailcoin.jobs.settings import get_worker_settings
from curtailcoin.jobs.work import DateOutcome
from curtailcoin.pipeline import BadInput, prepare_database, validate_range

jobs_app = typer.Typer(help="The task queue and the worker's schedule.", no_args_is_help=True)


def _route_library_logs(verbose: bool) -> None:
    """procrastinate's own log lines go to the same handlers as ours."""
    ours = logging.getLogger("curtailcoin")
    theirs = logging.getLogger("procrastinate")
    theirs.handlers = list(ours.handlers)
    theirs.setLevel(logging.INFO if verbose else logging.WARNING)
    theirs.propagate = False


# --- curtailcoin worker ---------------------------------------------------------------------


def worker(
    concurrency_text: str | None = typer.Option(
        None,
        "--concurrency",
        "-c",
        metavar="N",
        help="Jobs at once, 1..64 (PostgreSQL; default 2).",
    ),
    no_schedule: bool = typer.Option(
        False, "--no-schedule", help="Only run queued jobs; do not defer the periodic ones."
    ),
    burst: bool = typer.Option(
        False,
        "--burst",
        help="PostgreSQL: run queued jobs until the queue is empty, then exit. SQLite: run what "
        "is due now, then exit (for cron).",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also log procrastinate's INFO."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Work on a demo (simulated) database even from an Elexon that is not a local "
        "test server.",
    ),
) -> None:
    """Run the schedule and the queued dates until SIGTERM/SIGINT.

    PostgreSQL: a procrastinate worker; start several (on several machines) to scale out.
    SQLite: the same jobs on the same schedule, in this process, one at a time.
    """
    settings = settings_and_logging(True, "worker")
    concurrency = (
        None if concurrency_text is None else whole_number(concurrency_text, "--concurrency", 1, 64)
    )
    refuse_simulated(settings, force)
    _route_library_logs(verbose)
    wsettings = get_worker_settings()
    if not is_postgresql(settings.database_url):
        checkpoint_dir_for(settings)  # the in-process scheduler keeps its state there
    engine = engine_for(settings)
    prepare_database(engine)
    if is_postgresql(settings.database_url):
        from curtailcoin.jobs.runner import run_queue_worker

        with contextlib.suppress(KeyboardInterrupt):  # procrastinate handles SIGINT itself
            asyncio.run(
                run_queue_worker(
                    settings,
                    wsettings,
                    schedule=wsettings.schedule and not no_schedule and not burst,
                    concurrency=concurrency,
                    burst=burst,
                )
            )
        raise typer.Exit(EXIT_OK)
    if not is_sqlite(engine):
        fail(f"unsupported database {backend(engine)}: use PostgreSQL or SQLite")
    with _single_local_worker(engine) as got:
        if not got:
            fail(
                "another curtailcoin worker is already running on this SQLite database "
                "(SQLite runs one worker; use PostgreSQL to run several)",
                EXIT_FAILED,
            )
        ok = asyncio.run(_run_local(settings, no_schedule=no_schedule, burst=burst))
    raise typer.Exit(EXIT_OK if ok else EXIT_FAILED)


@contextlib.contextmanager
def _single_local_worker(engine: Engine) -> Iterator[bool]:
    """An exclusive lock file next to the SQLite database: one worker per database."""
    database = engine.url.database
    if not database or database == ":memory:":
        yield True
        return
    path = Path(f"{database}.worker.lock")
    with path.open("a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


async def _run_local(settings: Settings, *, no_schedule: bool, burst: bool) -> bool:
    wsettings = get_worker_settings()
    entries = () if no_schedule else wsettings.scheduled_entries()
    scheduler = LocalScheduler(settings, wsettings, entries=entries)
    logger = logging.getLogger("curtailcoin.jobs")
    if burst:
        now = scheduler.clock()
        before = now - timedelta(seconds=wsettings.periodic_max_delay_s)
        await scheduler.run_due(before, now)
        await scheduler.process_queue()
        await scheduler.aclose()
        scheduler.save_state()
        return not scheduler.failures
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, scheduler.stop)
    logger.info(
        "worker started",
        extra={"backend": "sqlite (in-process)", "entries": ",".join(e.name for e in entries)},
    )
    await scheduler.run_forever()
    logger.info("worker stopped", extra={"done": scheduler.done})
    return True


# --- curtailcoin jobs status ----------------------------------------------------------------


@jobs_app.command("status")
def jobs_status(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Queued, running, failed and done jobs (and the workers and the schedule)."""
    settings = settings_and_logging(False, "jobs")
    engine = engine_for(settings)
    now = datetime.now().astimezone()
    schedule = [
        {"job": e.name, "when": e.when, "next_run": next_run(e, now).isoformat()} for e in SCHEDULE
    ]
    suspects = _suspects(engine)
    if is_sqlite(engine):
        state = read_state(settings)
        payload: dict[str, Any] = {
            "backend": "sqlite (in-process)",
            "worker_state": state,
            "schedule": schedule,
            "suspect_dates": suspects,
        }
        if as_json:
            print(json.dumps(payload, default=str))
            return
        console.print("backend: SQLite — jobs run inside `curtailcoin worker` (one process)")
        if state is None:
            console.print("no worker state yet (the worker has not run with this checkpoint dir)")
        else:
            console.print(
                f"worker pid {state.get('pid')} updated {state.get('updated_at')}: "
                f"{state.get('done', 0)} dates done, {len(state.get('queued', []))} queued, "
                f"{len(state.get('failures', []))} recent failures"
            )
            for item in state.get("queued", []):
                console.print(f"  queued {item['date']} attempts={item['attempts']}")
            for item in state.get("failures", []):
                console.print(f"  [red]failed[/] {item['job']} {item['what']}: {item['error']}")
        _print_suspects(suspects)
        _print_schedule(schedule)
        return
    from curtailcoin.jobs.status import queue_status

    try:
        status = queue_status(engine, stalled_after_s=get_worker_settings().stalled_after_s)
    except Exception as exc:
        fail(f"cannot read the task queue: {exc}", EXIT_FAILED)
    status["schedule"] = schedule
    status["suspect_dates"] = suspects
    if as_json:
        print(json.dumps(status, default=str))
        return
    counts = status["counts"]
    console.print(
        f"queued {counts.get('queued', 0)} ({status['scheduled_later']} waiting for a retry "
        f"time) · running {counts.get('running', 0)} · failed {counts.get('failed', 0)} · "
        f"done {counts.get('done', 0)}"
    )
    table = Table(title="Jobs by task")
    for column in ("task", "queued", "running", "failed", "done"):
        table.add_column(column, justify="left" if column == "task" else "right")
    for task, by in sorted(status["by_task"].items()):
        table.add_row(task, *(str(by.get(w, 0)) for w in ("queued", "running", "failed", "done")))
    console.print(table)
    for job in status["running"]:
        flag = " [red]STALLED[/]" if job["stalled"] else ""
        console.print(
            f"running #{job['id']} {job['task']} {job['args']} attempt {job['attempts']} "
            f"worker {job['worker_id']} since {job['started_at']}{flag}"
        )
    for job in status["failed"]:
        console.print(
            f"[red]failed[/] #{job['id']} {job['task']} {job['args']} after {job['attempts']} "
            f"attempt(s) at {job['failed_at']}"
        )
    alive = [w for w in status["workers"] if w["alive"]]
    console.print(f"workers: {len(alive)} alive, {len(status['workers']) - len(alive)} silent")
    _print_suspects(suspects)
    _print_schedule(schedule)


def _suspects(engine: Engine) -> list[dict[str, Any]]:
    """The dates whose answer the drift guard held back (they wait for an operator)."""
    from curtailcoin.suspects import load_suspects

    try:
        with engine.connect() as conn:
            return [s.to_json() for s in load_suspects(conn)]
    except Exception as exc:  # an unmigrated database: say so instead of a traceback
        fail(f"cannot read the suspect dates: {exc}", EXIT_FAILED)


def _print_suspects(suspects: list[dict[str, Any]]) -> None:
    if not suspects:
        return
    console.print(f"[yellow]suspect dates: {len(suspects)}[/] (stored data kept; decide each)")
    for item in suspects:
        console.print(f"  [yellow]suspect[/] {item['date']}: {item['reason']}")
        console.print(f"    apply with: {item['apply_with']}")


def _print_schedule(schedule: list[dict[str, Any]]) -> None:
    table = Table(title="Schedule")
    for column in ("job", "when", "next run (UTC)"):
        table.add_column(column)
    for item in schedule:
        table.add_row(item["job"], item["when"], item["next_run"])
    console.print(table)


# --- curtailcoin backfill -------------------------------------------------------------------


def backfill_command(
    start: str = typer.Argument(..., help="First settlement date, YYYY-MM-DD."),
    end: str = typer.Argument(..., help="Last settlement date, YYYY-MM-DD (inclusive)."),
    concurrency_text: str = typer.Option(
        "4",
        "--concurrency",
        "-c",
        metavar="N",
        help="Dates in flight at once, 1..64 (sharing one request budget).",
    ),
    enqueue: bool = typer.Option(
        False, "--enqueue", help="PostgreSQL: queue one ingest_date job per date for the workers."
    ),
    restart: bool = typer.Option(
        False, "--restart", help="Ignore the checkpoint of an earlier run of this range."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log each event to stderr."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Write into a demo (simulated) database even from an Elexon that is not a local "
        "test server.",
    ),
    no_generation: bool = typer.Option(
        False,
        "--no-generation",
        help="Do not fetch wind generation (AGWS, B1610) with each date's stack (queued jobs "
        "follow the workers' CURTAILCOIN_FETCH_GENERATION).",
    ),
) -> None:
    """Reingest and calculate every date from START to END, resumably.

    Progress shows dates done, periods/s, ETA and failures. An interrupted run started again
    with the same range resumes from its checkpoint. Exit 0 when every date is complete, 1 when
    any failed, 2 on bad input (nothing written).
    """
    settings = settings_and_logging(verbose, "backfill")
    if no_generation:
        settings = settings.model_copy(update={"fetch_generation": False})
    first = date_argument(start, "START")
    last = date_argument(end, "END")
    concurrency = whole_number(concurrency_text, "--concurrency", 1, 64)
    try:
        validate_range(first, last)
    except BadInput as exc:
        fail(str(exc))
    refuse_simulated(settings, force)
    if enqueue:
        if not is_postgresql(settings.database_url):
            fail(
                "--enqueue needs PostgreSQL (CURTAILCOIN_DATABASE_URL); without it, drop "
                "--enqueue to backfill in this process"
            )
        engine_for(settings)
        try:
            queued, already = asyncio.run(enqueue_range(settings, first, last))
        except BadInput as exc:
            fail(str(exc))
        if as_json:
            print(json.dumps({"queued": queued, "already_queued": already}))
        else:
            console.print(
                f"queued {queued} date(s) for the workers; {already} already waiting in the queue"
            )
        raise typer.Exit(EXIT_OK)
    checkpoint_dir_for(settings)
    engine_for(settings)
    reporter = BackfillReporter((last - first).days + 1, interactive=err_console.is_terminal)
    try:
        with reporter:
            result = asyncio.run(
                backfill(
                    settings,
                    first,
                    last,
                    concurrency=concurrency,
                    restart=restart,
                    on_date=reporter.update,
                )
            )
    except BadInput as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        err_console.print(
            "interrupted: finished dates are saved; run the same command again to resume"
        )
        raise typer.Exit(EXIT_FAILED) from None
    if as_json:
        print(json.dumps(result.to_json()))
    else:
        _print_summary(result)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_FAILED)


class BackfillReporter:
    """A rich progress bar on a terminal; one line per date otherwise."""

    def __init__(self, total: int, *, interactive: bool) -> None:
        self.total = total
        self.interactive = interactive
        self.progress = Progress(
            TextColumn("[bold]backfill"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("dates"),
            TextColumn("{task.fields[rate]:>7.1f} periods/s"),
            TextColumn("[red]{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err_console,
            disable=not interactive,
        )
        self.task: TaskID | None = None

    def __enter__(self) -> BackfillReporter:
        self.progress.__enter__()
        self.task = self.progress.add_task("backfill", total=self.total, rate=0.0, failed=0)
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def update(self, day: date, outcome: DateOutcome | None, stats: BackfillStats) -> None:
        assert self.task is not None
        self.progress.update(
            self.task, completed=stats.settled, rate=stats.periods_per_s, failed=stats.failed
        )
        if self.interactive:
            if outcome is not None and not outcome.ok:
                self.progress.console.print(f"[red]{day} failed:[/] {outcome.error}")
            return
        if outcome is None:
            state = "skipped (done earlier)"
        elif outcome.ok:
            state = f"ok periods={outcome.periods_fetched} records={outcome.records}"
        else:
            state = f"FAILED {outcome.error}"
        print(
            f"backfill {day.isoformat()} {state} [{stats.settled}/{self.total}] "
            f"{stats.periods_per_s:.1f} periods/s failed={stats.failed}",
            file=sys.stderr,
            flush=True,
        )


def _print_summary(result: BackfillResult) -> None:
    stats = result.stats
    table = Table(title="Backfill summary", show_header=False)
    table.add_column("item", style="bold")
    table.add_column("value", justify="right")
    table.add_row("Dates", str(stats.total))
    table.add_row("Done", str(stats.done))
    table.add_row("Skipped (done in an earlier run)", str(stats.skipped))
    table.add_row("Failed", str(stats.failed))
    table.add_row("Periods fetched", f"{stats.periods:,}")
    table.add_row("Requests", f"{stats.requests:,}")
    table.add_row("Curtailment records", f"{stats.records:,}")
    table.add_row("Elapsed", f"{stats.elapsed_s:.1f} s")
    table.add_row("Periods/s", f"{stats.periods_per_s:.1f}")
    table.add_row("Dates without a BTC price", str(len(result.prices_missing)))
    console.print(table)
    for day, reason in sorted(result.failures.items()):
        console.print(f"[red]{day.isoformat()} failed:[/] {reason}")
    if result.prices_missing:
        day, reason = min(result.prices_missing.items())
        console.print(
            f"[yellow]{len(result.prices_missing)} date(s) without a BTC price[/] (first "
            f"{day.isoformat()}: {reason}); the data is stored, the value shows as missing"
        )
    if result.failures:
        console.print(
            f"run the same command again to retry the failed dates (checkpoint: "
            f"{result.checkpoint_path}); see docs/operations.md if a date keeps failing"
        )
